package verify

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const corpusDir = "../../shared/corpus/signed"

type corpusFile struct{ name, expected string }

func readManifest(t *testing.T) []corpusFile {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "MANIFEST.tsv"))
	if err != nil {
		t.Skipf("corpus absent: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusFile
	for _, row := range rows[1:] {
		if len(row) < 6 {
			t.Fatalf("manifest row %v", row)
		}
		out = append(out, corpusFile{row[0], row[5]})
	}
	return out
}

// TestCorpusKnownOutcomes checks every corpus file against its expected outcome.
func TestCorpusKnownOutcomes(t *testing.T) {
	files := readManifest(t)
	anchors, err := LoadAnchors(filepath.Join(corpusDir, "trust", "pyhanko-testing-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cf := range files {
		t.Run(cf.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir, cf.name))
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Anchors: anchors}
			if strings.HasPrefix(cf.name, "pyhanko__") {
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
			t.Logf("RESULT %s\t%s/%s\t[%s]\texpected: %s", cf.name, rep.Indication, rep.SubIndication, strings.Join(sigs, "; "), cf.expected)
			exp := cf.expected
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
