package verify

import "time"

// Indication is a main status indication of ETSI EN 319 102-1 section 5.1.3.
type Indication string

// The main indications, from best to worst.
const (
	TotalPassed   Indication = "TOTAL_PASSED"
	Indeterminate Indication = "INDETERMINATE"
	TotalFailed   Indication = "TOTAL_FAILED"
)

// SubIndication is a sub-indication of ETSI EN 319 102-1 (table 5), plus
// NO_SIGNATURE_FOUND for a document that holds no signature at all.
type SubIndication string

// The sub-indications this validator gives.
const (
	FormatFailure                 SubIndication = "FORMAT_FAILURE"
	HashFailure                   SubIndication = "HASH_FAILURE"
	SigCryptoFailure              SubIndication = "SIG_CRYPTO_FAILURE"
	Revoked                       SubIndication = "REVOKED"
	SigConstraintsFailure         SubIndication = "SIG_CONSTRAINTS_FAILURE"
	ChainConstraintsFailure       SubIndication = "CHAIN_CONSTRAINTS_FAILURE"
	CertificateChainGeneral       SubIndication = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
	CryptoConstraintsFailure      SubIndication = "CRYPTO_CONSTRAINTS_FAILURE"
	CryptoConstraintsFailureNoPOE SubIndication = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
	NoSigningCertificateFound     SubIndication = "NO_SIGNING_CERTIFICATE_FOUND"
	NoCertificateChainFound       SubIndication = "NO_CERTIFICATE_CHAIN_FOUND"
	RevokedNoPOE                  SubIndication = "REVOKED_NO_POE"
	OutOfBoundsNoPOE              SubIndication = "OUT_OF_BOUNDS_NO_POE"
	NotYetValid                   SubIndication = "NOT_YET_VALID"
	TryLater                      SubIndication = "TRY_LATER"
	SignedDataNotFound            SubIndication = "SIGNED_DATA_NOT_FOUND"
	NoSignatureFound              SubIndication = "NO_SIGNATURE_FOUND"
	Generic                       SubIndication = "GENERIC"
)

// Level is the PAdES baseline level a signature reaches (ETSI EN 319 142-1).
type Level string

// The levels. LevelNone is for signatures that are not PAdES baseline
// (adbe.pkcs7.* legacy formats, no signing-certificate attribute) and for
// document timestamps.
const (
	LevelNone Level = "NONE"
	LevelB    Level = "PAdES-BASELINE-B"
	LevelT    Level = "PAdES-BASELINE-T"
	LevelLT   Level = "PAdES-BASELINE-LT"
	LevelLTA  Level = "PAdES-BASELINE-LTA"
)

// Kinds of report entries.
const (
	KindSignature         = "signature"
	KindDocumentTimestamp = "document-timestamp"
	// KindCMS is the kind of the entry of a detached CMS (hash mode).
	KindCMS = "cms"
)

// Report is the validation report of one document. Its JSON form is the
// contract of ARCHITECTURE.md ("Validation report"); fields beyond the
// contract's (checks, docMDP, revision, ...) are additions.
type Report struct {
	// Indication is the worst indication of the entries.
	Indication Indication `json:"indication"`
	// SubIndication goes with the worst entry's indication.
	SubIndication SubIndication `json:"subIndication,omitempty"`
	// Signatures holds signatures and document timestamps, oldest first.
	Signatures []Signature `json:"signatures"`
	// ValidationTime is when the validation ran.
	ValidationTime time.Time `json:"validationTime"`
	// Document describes the input (size, revisions, SHA-256).
	Document DocumentInfo `json:"document"`
	// Notes are remarks about the document as a whole.
	Notes []string `json:"notes,omitempty"`
}

// DocumentInfo describes the validated input.
type DocumentInfo struct {
	// Size in bytes.
	Size int `json:"size"`
	// SHA256 is the hex SHA-256 of the input.
	SHA256 string `json:"sha256"`
	// Revisions is the number of revisions (%%EOF markers) of a PDF.
	Revisions int `json:"revisions,omitempty"`
}

// Signature is one entry of the report: a signature or a document timestamp.
type Signature struct {
	// Field is the signature field's full name, or "" for a detached CMS.
	Field string `json:"field"`
	// Kind is "signature", "document-timestamp" or "cms".
	Kind string `json:"kind"`
	// Indication and SubIndication are this entry's result.
	Indication    Indication    `json:"indication"`
	SubIndication SubIndication `json:"subIndication,omitempty"`
	// Level is the PAdES baseline level reached.
	Level Level `json:"level"`
	// SubFilter is the signature dictionary's /SubFilter.
	SubFilter string `json:"subFilter,omitempty"`
	// Signer describes the signing certificate (the TSA's for a document timestamp).
	Signer Signer `json:"signer"`
	// SigningTime is the best-proven signing time: the signature timestamp's
	// time when valid, else the claimed time (/M or signing-time), else nil.
	SigningTime *time.Time `json:"signingTime"`
	// ClaimedSigningTime is the time the signer claims (/M or signing-time).
	ClaimedSigningTime *time.Time `json:"claimedSigningTime,omitempty"`
	// Timestamp is the signature timestamp, when present.
	Timestamp *Timestamp `json:"timestamp,omitempty"`
	// CoversWholeDocument is true when the byte range ends at the end of the file.
	CoversWholeDocument bool `json:"coversWholeDocument"`
	// Revision is the 1-based revision the entry signs.
	Revision int `json:"revision,omitempty"`
	// DocMDP is the certification permission (1, 2 or 3) when this entry is
	// a certification signature.
	DocMDP int `json:"docMDP,omitempty"`
	// Reason and Location are the signature dictionary's claims.
	Reason   string `json:"reason,omitempty"`
	Location string `json:"location,omitempty"`
	// DigestAlgorithm and SignatureAlgorithm name the algorithms used.
	DigestAlgorithm    string `json:"digestAlgorithm,omitempty"`
	SignatureAlgorithm string `json:"signatureAlgorithm,omitempty"`
	// ModificationsAfterSigning lists every change made after this entry.
	ModificationsAfterSigning []Modification `json:"modificationsAfterSigning"`
	// Checks lists each check made and its outcome, in order.
	Checks []Check `json:"checks"`
}

// Signer describes a certificate.
type Signer struct {
	// Subject is the certificate subject (RFC 2253 string).
	Subject string `json:"subject"`
	// CommonName is the subject's common name, when present.
	CommonName string `json:"commonName,omitempty"`
	// SerialNumber is the certificate serial number, hexadecimal.
	SerialNumber string `json:"serialNumber"`
	// Issuer is the issuer's subject.
	Issuer string `json:"issuer,omitempty"`
	// Qualified is true when the certificate is a qualified certificate for
	// electronic signatures with the key in a QSCD (qcStatements QcCompliance,
	// QcSSCD and QcType esign, and a qualified certificate policy).
	Qualified bool `json:"qualified"`
	// NotBefore and NotAfter are the certificate's validity period.
	NotBefore *time.Time `json:"notBefore,omitempty"`
	NotAfter  *time.Time `json:"notAfter,omitempty"`
	// TrustedList, when an EU trusted list covers the issuer, says which
	// list and service decided Qualified.
	TrustedList *TrustedListGrant `json:"trustedList,omitempty"`
}

// TrustedListGrant names the trusted list entry that decided a signer's
// qualified status (ETSI TS 119 612).
type TrustedListGrant struct {
	// List is the list's file; Territory and SequenceNumber identify it.
	List           string `json:"list"`
	Territory      string `json:"territory"`
	SequenceNumber int    `json:"sequenceNumber"`
	// Provider and Service name the trust service that issued the
	// certificate.
	Provider string `json:"provider"`
	Service  string `json:"service"`
	// Status is the service's status URI at the validation time, in force
	// since StatusSince.
	Status      string    `json:"status"`
	StatusSince time.Time `json:"statusSince"`
	// Qualifiers are the qualifiers (QCWithSSCD, QCForESig, ...) whose
	// criteria the certificate meets.
	Qualifiers []string `json:"qualifiers,omitempty"`
}

// Timestamp describes an RFC 3161 timestamp.
type Timestamp struct {
	// Time is the time the TSA asserts.
	Time time.Time `json:"time"`
	// TSA is the TSA certificate's subject.
	TSA string `json:"tsa"`
	// Valid is true when the imprint matches, the token's signature verifies
	// and the TSA chains to a trust anchor.
	Valid bool `json:"valid"`
	// Detail says why the timestamp is not valid.
	Detail string `json:"detail,omitempty"`
}

// Modification is one change made after a signature.
type Modification struct {
	// Kind names the change: dss, document-timestamp, signature, form-fill,
	// annotation, page-content, page-tree, font, signature-dictionary,
	// catalog, metadata, object, trailing-data.
	Kind string `json:"kind"`
	// Allowed is true when the change is permitted after signing.
	Allowed bool `json:"allowed"`
	// Detail says in plain words what changed.
	Detail string `json:"detail"`
	// Revision is the 1-based revision that made the change.
	Revision int `json:"revision,omitempty"`
}

// Check is one check and its outcome.
type Check struct {
	// Name is the check, such as "byte-range" or "certificate-chain".
	Name string `json:"name"`
	// Passed is the outcome.
	Passed bool `json:"passed"`
	// Detail says what was found.
	Detail string `json:"detail,omitempty"`
}

func rank(i Indication) int {
	switch i {
	case TotalPassed:
		return 0
	case Indeterminate:
		return 1
	}
	return 2
}

// ExitCode is the command-line exit code of the contract: 0 TOTAL_PASSED,
// 1 TOTAL_FAILED, 3 INDETERMINATE.
func (r *Report) ExitCode() int {
	switch r.Indication {
	case TotalPassed:
		return 0
	case TotalFailed:
		return 1
	}
	return 3
}

// summarize sets the report's indication to the worst of its entries.
func (r *Report) summarize() {
	if len(r.Signatures) == 0 {
		r.Indication, r.SubIndication = Indeterminate, NoSignatureFound
		return
	}
	r.Indication, r.SubIndication = TotalPassed, ""
	for _, s := range r.Signatures {
		if rank(s.Indication) > rank(r.Indication) {
			r.Indication, r.SubIndication = s.Indication, s.SubIndication
		}
	}
}

// result accumulates an entry's outcome: the worst indication wins, the
// first sub-indication of that indication is kept.
type result struct {
	sig *Signature
}

func (r result) check(name string, passed bool, detail string) {
	r.sig.Checks = append(r.sig.Checks, Check{Name: name, Passed: passed, Detail: detail})
}

func (r result) set(ind Indication, sub SubIndication) {
	if rank(ind) > rank(r.sig.Indication) {
		r.sig.Indication, r.sig.SubIndication = ind, sub
	}
}

// fail records a failed check with its indication.
func (r result) fail(name string, ind Indication, sub SubIndication, detail string) {
	r.check(name, false, detail)
	r.set(ind, sub)
}
