package pdf

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"io"
)

// PostSignInstructions say what follows the signature of a PDF, each as one more
// incremental update (the model is pyHanko's PostSignInstructions): validation data in
// a document security store (PAdES B-LT), then a document time-stamp over everything
// before it (B-LTA). The zero value adds nothing (B-B and B-T).
type PostSignInstructions struct {
	// ValidationData, when not nil, is written to /DSS: the certificates, OCSP
	// responses and CRLs a validator needs years later, when the responders may be gone.
	ValidationData *DSS
	// DocTimestamper, when not nil, time-stamps the document's SHA-256 byte-range
	// digest in a last revision (/Type /DocTimeStamp).
	DocTimestamper DocTimestamper
	// DocTimestampSize is the DER space reserved for the token; zero means
	// DefaultDocTimestampSize.
	DocTimestampSize int
}

// DocTimestamper makes an RFC 3161 time-stamp token over a digest.
type DocTimestamper interface {
	Timestamp(ctx context.Context, digest []byte, hash crypto.Hash) ([]byte, error)
}

// DefaultDocTimestampSize is the space reserved for a document time-stamp token: a token
// carries the TSA's certificate chain, often 5 to 8 KB; 24 KB leaves room for long
// chains without ever rewriting the file.
const DefaultDocTimestampSize = 24576

// StepOutput is where a step writes the new file: written in sequence, then patched in
// place (the time-stamp token goes into its placeholder).
type StepOutput interface {
	io.Writer
	io.WriterAt
}

// PostSignStep is one incremental update after the signature. Apply copies src (size
// bytes) to dst and appends the update; on error dst must be discarded.
type PostSignStep struct {
	Name  string // "dss" or "doc-timestamp", for error messages and file names
	Apply func(ctx context.Context, src io.ReaderAt, size int64, dst StepOutput) error
}

// Steps returns the steps of the instructions, in the order they must run. The caller
// keeps the files: each step reads the output of the one before.
func (in PostSignInstructions) Steps() []PostSignStep {
	var out []PostSignStep
	if dss := in.ValidationData; dss != nil {
		out = append(out, PostSignStep{Name: "dss", Apply: func(ctx context.Context, src io.ReaderAt, size int64, dst StepOutput) error {
			_, err := AddDSS(ctx, src, size, dst, *dss)
			return err
		}})
	}
	if ts := in.DocTimestamper; ts != nil {
		n := in.DocTimestampSize
		if n == 0 {
			n = DefaultDocTimestampSize
		}
		out = append(out, PostSignStep{Name: "doc-timestamp", Apply: func(ctx context.Context, src io.ReaderAt, size int64, dst StepOutput) error {
			p, err := Prepare(ctx, src, size, dst, sha256.New(), PrepareRequest{DocTimestamp: true, ContentsSize: n})
			if err != nil {
				return err
			}
			tok, err := ts.Timestamp(ctx, p.Digest, crypto.SHA256)
			if err != nil {
				return fmt.Errorf("pdf: document time-stamp: %w", err)
			}
			return Embed(dst, p, tok)
		}})
	}
	return out
}
