package verify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paraphe/paraphe/internal/corpus"
)

const corpusDir = "../../shared/corpus/signed"

func readManifest(t *testing.T) []corpus.File {
	t.Helper()
	files, err := corpus.Manifest(corpusDir)
	if errors.Is(err, corpus.ErrAbsent) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCorpusKnownOutcomes checks every corpus file against its expected outcome.
func TestCorpusKnownOutcomes(t *testing.T) {
	files := readManifest(t)
	anchors, err := LoadAnchors(filepath.Join(corpusDir, "trust", "pyhanko-testing-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cf := range files {
		t.Run(cf.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir, cf.Name))
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Anchors: anchors}
			if strings.HasPrefix(cf.Name, "pyhanko__") {
				opts.At = time.Date(2020, 11, 1, 0, 0, 0, 0, time.UTC)
			}
			start := time.Now()
			rep, err := New(opts).ValidatePDF(context.Background(), data)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if took > 10*time.Second {
				t.Errorf("took %v", took)
			}
			var sigs []string
			for _, s := range rep.Signatures {
				sigs = append(sigs, string(s.Indication)+"/"+string(s.SubIndication)+" "+string(s.Level)+" mods="+itoa(len(s.ModificationsAfterSigning)))
			}
			t.Logf("RESULT %s\t%s/%s\t[%s]\texpected: %s", cf.Name, rep.Indication, rep.SubIndication, strings.Join(sigs, "; "), cf.Expected)
			exp := cf.Expected
			switch {
			case strings.HasPrefix(exp, "VALID"):
				if rep.Indication == TotalFailed {
					t.Errorf("intact file reported TOTAL_FAILED: %+v", rep)
				}
			case strings.HasPrefix(exp, "ROBUSTNESS"):
			default:
				if rep.Indication == TotalPassed {
					t.Errorf("%s reported TOTAL_PASSED", exp)
				}
			}
			if strings.HasPrefix(exp, "MODIFIED-AFTER-SIGNING") || strings.HasPrefix(exp, "SHADOW-ATTACK") {
				n := 0
				for _, s := range rep.Signatures {
					n += len(s.ModificationsAfterSigning)
				}
				if n == 0 {
					t.Errorf("%s: no modification reported", exp)
				}
			}
		})
	}
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}
