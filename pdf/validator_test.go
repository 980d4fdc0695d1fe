package pdf

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestIndependentValidator runs the shared pdf.js + PKI.js checker
// (/work/shared/validators) on a B-B, counter-signed, DSS and document
// timestamped file. It needs the checker installed with npm: set
// PDF_VALIDATOR_DIR to a copy of /work/shared/validators with node_modules.
func TestIndependentValidator(t *testing.T) {
	dir := os.Getenv("PDF_VALIDATOR_DIR")
	if dir == "" {
		t.Skip("PDF_VALIDATOR_DIR not set (a copy of /work/shared/validators after npm install)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Skipf("validator not installed in %s", dir)
	}
	node := requireTool(t, "node")
	p := getPKI(t)
	in := makePDF(2, 0, "Validator")
	one, _ := sign(t, in, 0, PrepareRequest{SigningTime: time.Now()})
	two, _ := sign(t, one, 1, PrepareRequest{SigningTime: time.Now(), Appearance: &Appearance{Page: 1, Rect: [4]float64{10, 10, 200, 60}, Lines: []string{"Émilie Martin"}}})
	lta, _ := sign(t, two, 0, PrepareRequest{DocTimestamp: true})
	path := writeTemp(t, "lta.pdf", lta)
	out, err := exec.Command(node, filepath.Join(dir, "pades-verify.mjs"), path, "--trust", p.rootPEM).Output()
	if err != nil {
		t.Fatalf("checker failed: %v\n%s", err, out)
	}
	var rep struct {
		Signatures []struct {
			Kind                string `json:"kind"`
			Valid               bool   `json:"valid"`
			ChainTrusted        bool   `json:"chainTrusted"`
			CoversWholeDocument bool   `json:"coversWholeDocument"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("checker output: %v\n%s", err, out)
	}
	var sigs, dts int
	for _, s := range rep.Signatures {
		if !s.Valid {
			t.Errorf("checker: %s not valid\n%s", s.Kind, out)
		}
		switch s.Kind {
		case "signature":
			sigs++
			if !s.ChainTrusted {
				t.Errorf("checker: signature chain not trusted\n%s", out)
			}
		case "document-timestamp":
			dts++
			if !s.CoversWholeDocument {
				t.Errorf("checker: document timestamp does not cover the file\n%s", out)
			}
		}
	}
	if sigs != 2 || dts != 1 {
		t.Fatalf("checker found %d signatures and %d document timestamps, want 2 and 1\n%s", sigs, dts, out)
	}
}
