package pdf

import "errors"

// Sentinel errors. Callers branch on them with errors.Is; the API maps each
// to a problem+json answer (ErrNotPDF → 415, the others → 422), and the
// wrapped message says what exactly was found.
var (
	// ErrNotPDF means the input does not start with a PDF header.
	ErrNotPDF = errors.New("pdf: not a PDF file")
	// ErrEncrypted means the document is encrypted (/Encrypt in the
	// trailer). Encrypted documents are refused, with or without a user
	// password: new objects would have to be encrypted with the document key.
	ErrEncrypted = errors.New("pdf: document is encrypted")
	// ErrCertifiedNoChanges means the document carries a certification
	// signature (DocMDP) with permission P=1: no change, not even a new
	// signature, is allowed.
	ErrCertifiedNoChanges = errors.New("pdf: document is certified and allows no changes")
	// ErrBroken means the document's structure is damaged beyond what this
	// package repairs (no catalog, page tree loop, unreadable objects).
	ErrBroken = errors.New("pdf: document is broken")
	// ErrLimit means reading the document needed more work than this
	// package allows one operation (object reads, decoded bytes): the
	// document is too complex, or hostile. It is always wrapped together
	// with ErrBroken.
	ErrLimit = errors.New("pdf: document exceeds the reader's limits")
	// ErrFieldNotFound means the requested signature field does not exist,
	// is not a signature field, or is already signed.
	ErrFieldNotFound = errors.New("pdf: signature field not found")
	// ErrContentsTooLarge means the CMS does not fit the space reserved for
	// /Contents when the file was prepared.
	ErrContentsTooLarge = errors.New("pdf: signature does not fit the reserved space")
	// ErrInvalidRequest means a PrepareRequest, Appearance or DSS is not
	// usable (bad page, rectangle or size).
	ErrInvalidRequest = errors.New("pdf: invalid request")
)
