package app_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paraphe/paraphe/internal/testenv"
	"github.com/paraphe/paraphe/verify"
)

func pdfRequest(t *testing.T, key, signer, level string, files ...[]byte) apiResp {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("signer", signer)
	mw.WriteField("level", level)
	mw.WriteField("reason", "Employment contract")
	for i, f := range files {
		w, _ := mw.CreateFormFile("file", "contract-"+string(rune('a'+i))+".pdf")
		w.Write(f)
	}
	mw.Close()
	return call(t, key, "POST", "/v1/signature-requests", mw.FormDataContentType(), b.Bytes())
}

// TestPDFModeLevels signs the fixture at every level and validates each result with
// Paraphe's own validator against the development root.
func TestPDFModeLevels(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("..", "testdata", "contract.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	key := newIntegrator(t, "notary")
	dev := newSigner(t)
	v := verify.New(verify.Options{Anchors: []*x509.Certificate{testEnv.CA.Root()}})
	want := map[string]verify.Level{"B-B": "PAdES-BASELINE-B", "B-T": "PAdES-BASELINE-T", "B-LT": "PAdES-BASELINE-LT", "B-LTA": "PAdES-BASELINE-LTA"}
	for _, level := range []string{"B-B", "B-T", "B-LT", "B-LTA"} {
		t.Run(level, func(t *testing.T) {
			r := pdfRequest(t, key, dev.State().UserID, level, in)
			if r.Status != 201 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			m := r.json(t)
			id, icon := m["id"].(string), m["icon"].(map[string]any)["id"].(string)
			if st, err := dev.Approve(context.Background(), id, icon, testPIN); err != nil || st != "signed" {
				t.Fatalf("approve: %s %v", st, err)
			}
			out := call(t, key, "GET", "/v1/signature-requests/"+id+"/documents/0", "", nil)
			if out.Status != 200 || !bytes.HasPrefix(out.Body, in[:8]) || !bytes.Equal(out.Body[:len(in)], in) {
				t.Fatalf("download: %d, not an incremental update of the input", out.Status)
			}
			rep, err := v.ValidatePDF(context.Background(), out.Body)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Indication != verify.TotalPassed {
				t.Fatalf("validation: %+v", rep)
			}
			var got verify.Level
			for _, s := range rep.Signatures {
				if s.Kind == verify.KindSignature {
					got = s.Level
				}
			}
			if got != want[level] {
				t.Fatalf("level %s, want %s", got, want[level])
			}
		})
	}
}

func TestPDFModeRefusals(t *testing.T) {
	key := newIntegrator(t, "refusals")
	dev := newSigner(t)
	uid := dev.State().UserID
	good, _ := os.ReadFile(filepath.Join("..", "testdata", "contract.pdf"))
	tests := []struct {
		name string
		file []byte
		want int
	}{
		{"not a PDF", []byte("hello, not a PDF\n"), 415},
		{"truncated", good[:len(good)/3], 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := countRequests(t)
			r := pdfRequest(t, key, uid, "B-B", tc.file)
			if r.Status != tc.want {
				t.Fatalf("HTTP %d, want %d: %s", r.Status, tc.want, r.Body)
			}
			if countRequests(t) != before {
				t.Fatal("a refused upload stored a request")
			}
		})
	}
	entries, _ := os.ReadDir(filepath.Join(testEnv.Cfg.DataDir, "blobs", "uploads"))
	if len(entries) != 0 {
		t.Fatalf("uploads left behind: %d", len(entries))
	}
}

// TestPDFModeVisibleAppearance signs with a visible box on page 2 and checks the result
// still validates (the box is part of the signed revision).
func TestPDFModeVisibleAppearance(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join("..", "testdata", "contract.pdf"))
	key := newIntegrator(t, "visible")
	dev := newSigner(t)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range map[string]string{"signer": dev.State().UserID, "level": "B-B", "location": "Bruxelles",
		"appearancePage": "2", "appearanceRect": "300,80,560,160"} {
		mw.WriteField(k, v)
	}
	w, _ := mw.CreateFormFile("file", "contract.pdf")
	w.Write(in)
	mw.Close()
	r := call(t, key, "POST", "/v1/signature-requests", mw.FormDataContentType(), b.Bytes())
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	m := r.json(t)
	id, icon := m["id"].(string), m["icon"].(map[string]any)["id"].(string)
	if _, err := dev.Approve(context.Background(), id, icon, testPIN); err != nil {
		t.Fatal(err)
	}
	out := call(t, key, "GET", "/v1/signature-requests/"+id+"/documents/0", "", nil)
	// The appearance's text is drawn with an embedded CID font (glyph ids, not Latin-1
	// bytes), so it is read back the way a person's viewer reads it: pdftotext.
	pdftotext := testenv.Tool(t, "pdftotext")
	signed := filepath.Join(t.TempDir(), "visible.pdf")
	if err := os.WriteFile(signed, out.Body, 0o600); err != nil {
		t.Fatal(err)
	}
	txt, err := exec.Command(pdftotext, "-q", "-f", "2", "-l", "2", signed, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(txt)), " "), "Qualified electronic signature") {
		t.Fatalf("no visible appearance text on page 2 of the signed file; pdftotext gives %q", txt)
	}
	if dir := os.Getenv("PARAPHE_KEEP_PDF"); dir != "" {
		os.WriteFile(filepath.Join(dir, "visible.pdf"), out.Body, 0o644)
	}
	v := verify.New(verify.Options{Anchors: []*x509.Certificate{testEnv.CA.Root()}})
	rep, err := v.ValidatePDF(context.Background(), out.Body)
	if err != nil || rep.Indication != verify.TotalPassed {
		t.Fatalf("validation: %v %+v", err, rep)
	}
	// A bad rectangle is a clear 400.
	b.Reset()
	mw = multipart.NewWriter(&b)
	mw.WriteField("signer", dev.State().UserID)
	mw.WriteField("level", "B-B")
	mw.WriteField("appearancePage", "1")
	mw.WriteField("appearanceRect", "a,b")
	w, _ = mw.CreateFormFile("file", "contract.pdf")
	w.Write(in)
	mw.Close()
	if r := call(t, key, "POST", "/v1/signature-requests", mw.FormDataContentType(), b.Bytes()); r.Status != 400 {
		t.Fatalf("bad rectangle: %d", r.Status)
	}
}

// TestOnlineRevocation: a B-B file carries no revocation data; with live checking the
// validator asks the development CA's OCSP responder named in the certificate.
func TestOnlineRevocation(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join("..", "testdata", "contract.pdf"))
	key := newIntegrator(t, "online")
	dev := newSigner(t)
	r := pdfRequest(t, key, dev.State().UserID, "B-B", in)
	m := r.json(t)
	id, icon := m["id"].(string), m["icon"].(map[string]any)["id"].(string)
	if _, err := dev.Approve(context.Background(), id, icon, testPIN); err != nil {
		t.Fatal(err)
	}
	out := call(t, key, "GET", "/v1/signature-requests/"+id+"/documents/0", "", nil)
	anchors := []*x509.Certificate{testEnv.CA.Root()}
	detail := func(online bool) string {
		rep, err := verify.New(verify.Options{Anchors: anchors, Online: online}).ValidatePDF(context.Background(), out.Body)
		if err != nil || rep.Indication != verify.TotalPassed {
			t.Fatalf("validation (online %v): %v %+v", online, err, rep)
		}
		for _, c := range rep.Signatures[0].Checks {
			if c.Name == "signer-revocation" {
				return c.Detail
			}
		}
		t.Fatal("no signer-revocation check")
		return ""
	}
	if d := detail(false); !strings.Contains(d, "offline") {
		t.Fatalf("offline: %q", d)
	}
	if d := detail(true); !strings.Contains(d, "fetched online") {
		t.Fatalf("online: %q", d)
	}
}
