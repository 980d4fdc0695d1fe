package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paraphe/paraphe/internal/corpus"
)

const corpusDir = "/work/shared/corpus/unsigned"

// designRefusals are SIGN-OK files this package refuses on purpose:
// encrypted documents (even with an empty user password) are refused with
// ErrEncrypted, since new objects would need the document's key.
var designRefusals = map[string]error{
	"dss__edition_protected_signing_allowed_no_field.pdf": ErrEncrypted,
}

var sentinels = []error{ErrNotPDF, ErrEncrypted, ErrCertifiedNoChanges, ErrBroken}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

var fieldNameRE = regexp.MustCompile(`Signature Field Name: (.*)`)

// TestCorpus signs every file of the shared corpus and checks its expected
// outcome: signed files pass qpdf --check where the input did, pdfsig
// reports the new signature valid and trusted and every signature valid
// before still valid; rejected files give a sentinel error; nothing takes
// more than 10 s.
func TestCorpus(t *testing.T) {
	files, err := corpus.Manifest(corpusDir)
	if errors.Is(err, corpus.ErrAbsent) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	signedOK, rejected := 0, 0
	for _, cf := range files {
		file, outcome := cf.Name, cf.Expected
		t.Run(file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(corpusDir, file))
			if err != nil {
				t.Fatal(err)
			}
			mustReject := strings.HasPrefix(outcome, "REJECT")
			either := strings.Contains(outcome, "or clean rejection") || strings.Contains(outcome, "must respect permissions") || strings.Contains(outcome, "unless password")
			mustSign := !mustReject && !either
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			out, name, err := corpusSign(ctx, t, in)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			if want, ok := designRefusals[file]; ok {
				if !errors.Is(err, want) {
					t.Fatalf("want refusal %v by design, got %v", want, err)
				}
				rejected++
				return
			}
			switch {
			case err != nil && !isSentinel(err):
				t.Fatalf("error is not a clean sentinel: %v (outcome %q)", err, outcome)
			case err != nil && mustSign:
				t.Fatalf("refused (%v), expected %q", err, outcome)
			case err == nil && mustReject:
				t.Fatalf("signed, expected %q", outcome)
			case err != nil:
				t.Logf("refused: %v", err)
				rejected++
				return
			}
			signedOK++
			checkCorpusOutput(t, in, out, name)
		})
	}
	t.Logf("corpus: %d signed, %d refused", signedOK, rejected)
}

// corpusSign signs into the first empty signature field when there is one,
// else with a new visible field on page 1.
func corpusSign(ctx context.Context, t *testing.T, in []byte) ([]byte, string, error) {
	info, err := Inspect(ctx, bytes.NewReader(in), int64(len(in)))
	if err != nil {
		return nil, "", err
	}
	req := PrepareRequest{SigningTime: time.Now(), Reason: "corpus", ContentsSize: 8192}
	if len(info.SignatureFields) > 0 {
		req.Field = info.SignatureFields[0]
	} else {
		req.Appearance = &Appearance{Page: 1, Rect: [4]float64{36, 36, 236, 86}, Lines: []string{"Signed by Émilie Dupont", "for the corpus test"}}
	}
	var buf bytes.Buffer
	prep, err := Prepare(ctx, bytes.NewReader(in), int64(len(in)), io.Writer(&buf), sha256.New(), req)
	if err != nil {
		return nil, "", err
	}
	out, _ := sign(t, in, 0, req)
	if int64(len(out)) != prep.Size {
		t.Fatalf("two prepares of the same input differ in size")
	}
	return out, prep.Field, nil
}

func checkCorpusOutput(t *testing.T, in, out []byte, field string) {
	din, err1 := open(context.Background(), bytes.NewReader(in), int64(len(in)))
	dout, err2 := open(context.Background(), bytes.NewReader(out), int64(len(out)))
	if err1 != nil || err2 != nil {
		t.Fatalf("reopening: %v, %v", err1, err2)
	}
	if info, ok := din.trailer.Get("Info").(Ref); ok && dout.trailer.Get("Info") != info {
		t.Errorf("/Info %v lost (now %v)", info, dout.trailer.Get("Info"))
	}
	if dout.repaired && !din.repaired {
		t.Errorf("the output needs repair, the input did not")
	}
	inPath := writeTemp(t, "in.pdf", in)
	outPath := writeTemp(t, "out.pdf", out)
	if _, err := exec.LookPath("qpdf"); err == nil {
		if okIn, _ := qpdfCheck(t, inPath); okIn {
			if ok, msg := qpdfCheck(t, outPath); !ok {
				t.Errorf("qpdf --check passes on the input, fails on the output:\n%s", msg)
			}
		}
	}
	if _, err := exec.LookPath("pdfsig"); err != nil {
		return
	}
	before := map[string]bool{}
	for _, r := range runPdfsig(t, inPath) {
		if m := fieldNameRE.FindStringSubmatch(r.raw); m != nil {
			before[strings.TrimSpace(m[1])] = r.valid
		}
	}
	found := false
	for _, r := range runPdfsig(t, outPath) {
		m := fieldNameRE.FindStringSubmatch(r.raw)
		if m == nil {
			continue
		}
		fn := strings.TrimSpace(m[1])
		if fn == field {
			found = true
			if r.subFilter != "ETSI.CAdES.detached" || !r.valid || !r.trusted || !r.totalDocument {
				t.Errorf("pdfsig: the new signature is not a valid, trusted, whole-document CAdES signature:\n%s", r.raw)
			}
			continue
		}
		if before[fn] && !r.valid {
			t.Errorf("pdfsig: signature %q was valid and is not any more:\n%s", fn, r.raw)
		}
	}
	if !found {
		t.Errorf("pdfsig does not list the new signature %q", field)
	}
}
