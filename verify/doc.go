// Package verify validates signed PDFs (PAdES, and legacy adbe.pkcs7.*
// signatures) and detached CMS signatures (hash mode) for the compliance
// team, and reports per ETSI EN 319 102-1: TOTAL_PASSED, TOTAL_FAILED or
// INDETERMINATE with a sub-indication, per signature and document timestamp,
// in revision order, the worst deciding the document's indication.
//
// PDFs are read by package pdf (pdf.Open, the same parser that signs, with
// its limits and repair): revisions are the prefixes of the file ending at
// each %%EOF, each read through its own cross-reference chain
// (Reader.Revision), so that what a signature covers can be compared with
// what the final file shows. pdfdoc.go only adds lenient accessors (an
// unreadable object reads as null).
//
// Rules kept here:
//   - The byte range starts at 0, its gap is exactly the /Contents hex string
//     of the signature dictionary as the signed revision holds it, and it
//     ends at a revision's %%EOF. Anything else is FORMAT_FAILURE.
//   - The CMS is parsed strictly by package cades (a BER outer encoding is
//     re-encoded to DER first; the signed attributes are never re-encoded),
//     and must be detached except for adbe.pkcs7.sha1.
//   - An algorithm that cannot be checked gives INDETERMINATE, never
//     TOTAL_FAILED. SHA-1 signatures are INDETERMINATE
//     (CRYPTO_CONSTRAINTS_FAILURE_NO_POE). Checked: ECDSA on P-256/384/521
//     and on brainpoolP256r1/384r1/512r1 (DER or plain r||s values, BSI
//     TR-03111), RSA PKCS#1 v1.5 and RSASSA-PSS, Ed25519 (RFC 8419). A key
//     on another curve is INDETERMINATE (CRYPTO_CONSTRAINTS_FAILURE).
//   - Chains are verified by crypto/x509, except chains with brainpool keys,
//     which it cannot use: those are walked here (chain.go: issuer name and
//     signature, CA basic constraints, validity, critical extensions; no
//     name constraints nor policy processing), at most eight certificates.
//     CRLs and OCSP responses signed with a brainpool key are checked (the
//     OCSP ones by ocspbrainpool.go, as x/crypto/ocsp refuses them; the
//     responder is the issuer or a certificate it issued for OCSP signing).
//   - Certificates are checked at the best-proven time: Options.At, else a
//     valid signature timestamp's time, else a later valid document
//     timestamp's, else now. Revocation data comes from the file's /DSS and
//     the CMS (offline); missing data is reported in the checks, not failed.
//   - signer.qualified is read from the certificate: qcStatements
//     QcCompliance, QcSSCD and QcType-esign, and a qualified policy of
//     ETSI EN 319 411-2.
//   - Every change after a signature is listed and classified. DSS,
//     document timestamps, later signatures, metadata, and form filling (and
//     annotations) where DocMDP permits are allowed. Changes to page content,
//     the page tree, fonts, existing annotations or appearances shared with
//     anything else, and to signature dictionaries are not allowed and give
//     TOTAL_FAILED (FORMAT_FAILURE); other unclassified changes give
//     INDETERMINATE (SIG_CONSTRAINTS_FAILURE).
//   - Every input is answered: a validation stops at Options.Timeout
//     (8 s by default, within the 10 s the contract promises) and within
//     package pdf's budgets, shared by all revisions of one file (xref
//     sections, objects read, bytes decoded, nesting: pdf.ErrLimit, with
//     the pdf.Limits of the context); what cannot be analysed is
//     INDETERMINATE (GENERIC). The context is checked between /DSS entries,
//     revocation entries, signatures and revisions and inside the parser,
//     and ValidatePDFAt returns only once its worker has stopped (at most
//     workerGrace, 2 s, after the deadline): nothing keeps burning CPU
//     after the answer.
//   - At most maxDSSEntries (2,000) entries of each /DSS array are read,
//     and an entry listed again (the same object, or the same bytes) once:
//     each costs a decode and, per certificate checked, a parse and a
//     signature check (CRLs are parsed once per validation).
//   - The document is read through io.ReaderAt (ValidatePDFAt): the API
//     validates a temporary file, never a copy of the upload in memory;
//     byte ranges are hashed and %%EOF markers found block by block.
//   - Nothing is logged; document content never leaves the report.
//
// A Validator holds no mutable state and is safe for concurrent use; each
// validation works on its own copies of parsed structures.
package verify
