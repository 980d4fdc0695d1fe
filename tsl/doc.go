// Package tsl reads EU trusted lists (ETSI TS 119 612, "TSL"): the national
// lists of qualified trust service providers and the EU list of lists
// (LOTL) that points to them. Package verify uses them for trust anchors and
// for the qualified status of a signer's certificate.
//
// Rules:
//   - No network here: lists are files the operator keeps up to date
//     (paraphe trusted-lists fetch can refresh them). A list is used only
//     when its enveloped XML signature (XMLDSig, verified by
//     github.com/russellhaering/goxmldsig) verifies with a certificate of
//     its operator: one given beside the list (NAME.pem next to NAME.xml,
//     or Options.Signers), or one that an already verified list of lists
//     names for the list's territory, as DSS does. A list whose signature
//     does not verify is refused, never half-used.
//   - Only what the signature covers is read: the list is parsed from the
//     element goxmldsig returns as verified, not from the file's bytes, so
//     nothing outside the signed element (signature wrapping) is believed.
//   - Trust anchors are the certificates of services of type CA/QC (and,
//     for timestamps, TSA/QTST: the time-stamping unit itself) whose
//     status was granted (or, before eIDAS, accredited or under
//     supervision) at the time asked about; history instances give the
//     status at earlier times.
//   - The qualified status of a signer certificate follows ETSI TS 119 615
//     in a simplified form: the issuing service granted at signing time, the
//     certificate qualified (QcCompliance, or the Qualifier QCStatement),
//     for electronic signatures (QCForESig, or the certificate's QcType),
//     with the key in a QSCD (QCWithSSCD/QCWithQSCD, else the certificate's
//     QcSSCD; QCNoSSCD/QCNoQSCD win). Qualifiers apply when their
//     CriteriaList (policy sets, key usage bits; assert all, atLeastOne or
//     none) matches the certificate.
//   - Signature values: RSA and ECDSA; an ECDSA value in the XMLDSig
//     encoding (r||s) is turned into DER before goxmldsig checks it (it
//     only reads DER), outside SignedInfo so nothing signed changes.
//   - Limits: a list file is read up to 64 MiB (the largest national
//     lists are a few MiB), a folder up to 500 lists (the EU has about 30),
//     so that a wrong path cannot make the reader take the machine.
//
// A Set is read-only once loaded and safe for concurrent use.
package tsl
