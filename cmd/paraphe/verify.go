package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paraphe/paraphe/app"
	"github.com/paraphe/paraphe/pdf"
	"github.com/paraphe/paraphe/tsl"
	"github.com/paraphe/paraphe/verify"
)

// maxVerifyFile bounds the file read by paraphe verify: the API accepts PDFs
// of up to 50 MB by default; the CLI allows twice that.
const maxVerifyFile = 100 << 20

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// cmdVerify validates a signed PDF: paraphe verify FILE [--json] [--html]
// [--trust FILE]... [--trusted-list FILE|DIR]... [--at TIME] [--data DIR]. Exit 0 TOTAL_PASSED,
// 1 TOTAL_FAILED, 3 INDETERMINATE, 2 usage, I/O error or not a PDF.
func cmdVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var c common
	c.register(fs)
	jsonOut := fs.Bool("json", false, "print the validation report as JSON")
	htmlOut := fs.Bool("html", false, "print the validation report as an HTML page")
	var trust stringList
	fs.Var(&trust, "trust", "PEM file of trust anchors (repeatable); the data folder's root CA is always trusted")
	at := fs.String("at", "", "validation time (RFC 3339, or YYYY-MM-DD); default: the best-proven time")
	var lists stringList
	fs.Var(&lists, "trusted-list", "EU trusted list (XML file, or a folder of them), its operator's certificate as NAME.pem beside NAME.xml (repeatable)")
	online := fs.Bool("online", false, "ask issuers (OCSP, then CRL) about certificates the file carries no revocation data for")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 1, "verify [--json] [--trust FILE] [--at TIME] [--data DIR] FILE"); err != nil {
		return err
	}
	opts := verify.Options{Online: *online}
	if *at != "" {
		t, err := parseTime(*at)
		if err != nil {
			return usagef("verify: --at %q: want RFC 3339 or YYYY-MM-DD", *at)
		}
		opts.At = t
	}
	cfg, err := c.load()
	if err != nil {
		return exitError{code: 2, err: err}
	}
	root := filepath.Join(cfg.DataDir, "ca", "root.pem")
	if _, err := os.Stat(root); err == nil {
		trust = append([]string{root}, trust...)
	}
	extra, err := cfg.TrustFiles()
	if err != nil {
		return exitError{code: 2, err: err}
	}
	trust = append(trust, extra...)
	if len(trust) > 0 {
		if opts.Anchors, err = verify.LoadAnchors(trust...); err != nil {
			return exitError{code: 2, err: err}
		}
	}
	lists = append(lists, cfg.TrustedLists...)
	if len(lists) > 0 {
		if opts.TrustedLists, err = tsl.Load(ctx, lists, tsl.Options{}); err != nil {
			return exitError{code: 2, err: fmt.Errorf("verify: %w", err)}
		}
	}
	f, size, err := openLimited(pos[0], maxVerifyFile)
	if err != nil {
		return exitError{code: 2, err: fmt.Errorf("verify: %w", err)}
	}
	defer f.Close()
	rep, err := verify.New(opts).ValidatePDFAt(pdf.WithLimits(ctx, app.PDFLimits(cfg.Limits.PDF)), f, size)
	if err != nil {
		return exitError{code: 2, err: err}
	}
	switch {
	case *jsonOut:
		err = printJSON(rep)
	case *htmlOut:
		err = verify.WriteHTML(os.Stdout, rep)
	default:
		err = verify.WriteText(os.Stdout, rep)
	}
	if err != nil {
		return exitError{code: 2, err: err}
	}
	if code := rep.ExitCode(); code != 0 {
		msg := string(rep.Indication)
		if rep.SubIndication != "" {
			msg += "/" + string(rep.SubIndication)
		}
		if len(trust) == 0 && len(lists) == 0 && code == 3 && rep.SubIndication != verify.NoSignatureFound {
			msg += noTrustHint
		}
		return exitError{code: code, err: errors.New("verify: " + msg)}
	}
	return nil
}

// noTrustHint ends the message of a verification that had no trust anchor
// at all: without one no chain can be validated, and a newcomer should learn
// how to give one rather than read a bare INDETERMINATE.
const noTrustHint = "; no trust anchor was given: pass --trust FILE (PEM of the signer's root CA), --trusted-list FILE|DIR (EU trusted lists) or --data DIR (a Paraphe data folder, whose root CA is trusted)"

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}

func openLimited(path string, limit int64) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	if err == nil && st.Size() > limit {
		err = fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}
