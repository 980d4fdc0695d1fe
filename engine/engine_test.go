package engine_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paraphe/paraphe/blob"
	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/engine"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/pdf"
	"github.com/paraphe/paraphe/tsa"
)

// memKeys keeps software keys by label: the CA's keys (ca.Keys) and the users' signing
// keys (engine.Keys, by reference).
type memKeys struct {
	mu    sync.Mutex
	keys  map[string]crypto.Signer
	opens atomic.Int32
}

var errNoKey = errors.New("memkeys: no such key")

func (m *memKeys) FindKey(_ context.Context, label string) (crypto.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[label]; ok {
		return k, nil
	}
	return nil, errNoKey
}

func (m *memKeys) GenerateKey(_ context.Context, label string) (crypto.Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[label] = k
	return k, nil
}

func (m *memKeys) SigningKey(ctx context.Context, ref hsm.KeyRef) (crypto.Signer, error) {
	m.opens.Add(1)
	return m.FindKey(ctx, ref.String())
}

type serials struct{ n atomic.Int64 }

func (s *serials) NextTimestampSerial(context.Context) (*big.Int, error) {
	return big.NewInt(s.n.Add(1)), nil
}

// world is a development CA, a user with an EC key and one with an RSA key, and a TSA
// served over loopback HTTP.
type world struct {
	keys     *memKeys
	ca       *ca.Authority
	ec, rsa  *x509.Certificate
	tsa      *tsa.Client
	tsaCalls *atomic.Int32
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	keys := &memKeys{keys: map[string]crypto.Signer{}}
	a, err := ca.Open(ctx, filepath.Join(t.TempDir(), "ca"), keys, ca.Config{
		BaseURL: "http://127.0.0.1:9", Logger: slog.New(slog.DiscardHandler),
		IsKeyNotFound: func(err error) bool { return errors.Is(err, errNoKey) },
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{keys: keys, ca: a}
	ecKey, err := keys.GenerateKey(ctx, "user-ec")
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys.keys["user-rsa"] = rsaKey
	for _, u := range []struct {
		dst *(*x509.Certificate)
		pub crypto.PublicKey
		sn  string
	}{{&w.ec, ecKey.Public(), "Dupont"}, {&w.rsa, rsaKey.Public(), "Martin"}} {
		if *u.dst, err = a.IssueUser(ctx, ca.IssueRequest{Subject: ca.UserSubject{GivenName: "Ada", Surname: u.sn, SerialNumber: "PAR-" + u.sn}, PublicKey: u.pub}); err != nil {
			t.Fatal(err)
		}
	}
	tsaKey, err := keys.GenerateKey(ctx, "tsa")
	if err != nil {
		t.Fatal(err)
	}
	tsaCert, err := a.IssueTSA(ctx, tsaKey.Public(), "Engine Test TSA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := tsa.NewServer(tsaKey, tsaCert, a.Chain(), &serials{}, tsa.ServerConfig{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w.tsaCalls = new(atomic.Int32)
	hs := httptest.NewServer(countingHandler{srv, w.tsaCalls})
	t.Cleanup(hs.Close)
	roots := x509.NewCertPool()
	roots.AddCert(a.Root())
	if w.tsa, err = tsa.NewClient(tsa.Config{URLs: []string{hs.URL}}, roots, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

type countingHandler struct {
	*tsa.Server
	n *atomic.Int32
}

func (h countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.n.Add(1)
	h.Server.ServeHTTP(w, r)
}

// fixedDSS is a revocation source that answers the same data whatever it is asked,
// remembering the certificates it was asked about.
type fixedDSS struct {
	asked []*x509.Certificate
	fail  error
}

func (f *fixedDSS) ForCertificates(_ context.Context, certs []*x509.Certificate) (pdf.DSS, error) {
	f.asked = certs
	if f.fail != nil {
		return pdf.DSS{}, f.fail
	}
	var d pdf.DSS
	for _, c := range certs {
		d.Certs = append(d.Certs, c.Raw)
	}
	return d, nil
}

func digestOf(h crypto.Hash, s string) engine.Digest {
	w := h.New()
	w.Write([]byte(s))
	return engine.Digest{Hash: h, Value: w.Sum(nil)}
}

func TestOpen(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	e := engine.New(engine.Deps{Keys: w.keys})
	tests := []struct {
		name string
		ref  hsm.KeyRef
		cert *x509.Certificate
		want error
	}{
		{"matching", hsm.LabelRef("user-ec"), w.ec, nil},
		{"another person's certificate", hsm.LabelRef("user-ec"), w.rsa, engine.ErrKeyMismatch},
		{"unknown key", hsm.LabelRef("nobody"), w.ec, errNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Open(ctx, tt.ref, tt.cert)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := engine.New(engine.Deps{}).Open(ctx, hsm.LabelRef("user-ec"), w.ec); !errors.Is(err, engine.ErrUnsupported) {
		t.Fatalf("Open without keys = %v", err)
	}
}

func TestRaw(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	e := engine.New(engine.Deps{Keys: w.keys})
	for _, u := range []struct {
		ref  string
		cert *x509.Certificate
	}{{"user-ec", w.ec}, {"user-rsa", w.rsa}} {
		t.Run(u.ref, func(t *testing.T) {
			s, err := e.Open(ctx, hsm.LabelRef(u.ref), u.cert)
			if err != nil {
				t.Fatal(err)
			}
			ds := []engine.Digest{digestOf(crypto.SHA256, "a"), digestOf(crypto.SHA384, "b"), digestOf(crypto.SHA512, "c")}
			sigs, err := s.Raw(ctx, ds)
			if err != nil || len(sigs) != len(ds) {
				t.Fatalf("Raw = %d signatures, %v", len(sigs), err)
			}
			for i, d := range ds {
				var ok bool
				switch pub := u.cert.PublicKey.(type) {
				case *ecdsa.PublicKey:
					ok = ecdsa.VerifyASN1(pub, d.Value, sigs[i])
				case *rsa.PublicKey:
					ok = rsa.VerifyPKCS1v15(pub, d.Hash, d.Value, sigs[i]) == nil
				}
				if !ok {
					t.Errorf("signature %d does not verify", i)
				}
			}
			if _, err := s.Raw(ctx, []engine.Digest{{Hash: crypto.SHA256, Value: make([]byte, 20)}}); err == nil {
				t.Error("a 20-byte SHA-256 digest was signed")
			}
		})
	}
}

func TestCMS(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	d := digestOf(crypto.SHA256, "contract")
	tests := []struct {
		name    string
		tsa     bool
		level   engine.Level
		want    error
		stamped bool
	}{
		{"B-B", false, engine.LevelBB, nil, false},
		{"B-T", true, engine.LevelBT, nil, true},
		{"B-T without TSA", false, engine.LevelBT, engine.ErrUnsupported, false},
		{"B-LT is not for CMS", true, engine.LevelBLT, engine.ErrUnsupported, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deps := engine.Deps{Keys: w.keys, Chain: w.ca.Chain()}
			if tt.tsa {
				deps.TSA = w.tsa
			}
			e := engine.New(deps)
			s, err := e.Open(ctx, hsm.LabelRef("user-ec"), w.ec)
			if err != nil {
				t.Fatal(err)
			}
			out, err := e.CMS(ctx, s, tt.level, w.ec.NotBefore, []engine.Digest{d})
			if !errors.Is(err, tt.want) {
				t.Fatalf("CMS = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				return
			}
			if tt.stamped && w.tsaCalls.Load() == 0 {
				t.Fatal("the TSA was never asked")
			}
			sd, err := cades.Parse(out[0])
			if err != nil {
				t.Fatal(err)
			}
			if got := len(sd.Signers) == 1 && len(sd.Signers[0].SignatureTimestamps) > 0; len(sd.Signers) != 1 || got != tt.stamped {
				t.Fatalf("signers %d, time-stamped %v", len(sd.Signers), got)
			}
		})
	}
}

// samplePDF is the repository's test document.
func samplePDF(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "contract.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// prepare writes the prepared revision of src under key.
func prepare(t *testing.T, files *blob.Dir, key string, src []byte) pdf.Prepared {
	t.Helper()
	ctx := context.Background()
	bw, err := files.Create(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pdf.Prepare(ctx, bytes.NewReader(src), int64(len(src)), bw, sha256.New(), pdf.PrepareRequest{Name: "Ada", ContentsSize: 32768})
	if err != nil {
		t.Fatal(err)
	}
	if err := bw.Commit(); err != nil {
		t.Fatal(err)
	}
	return *p
}

func readBlob(t *testing.T, files *blob.Dir, key string) []byte {
	t.Helper()
	f, err := files.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPAdES(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	src := samplePDF(t)
	tests := []struct {
		level     engine.Level
		revisions int  // signatures and document time-stamps in the result
		dss       bool // validation data asked for
	}{
		{engine.LevelBB, 1, false},
		{engine.LevelBT, 1, false},
		{engine.LevelBLT, 1, true},
		{engine.LevelBLTA, 2, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.level), func(t *testing.T) {
			dir := t.TempDir()
			files, err := blob.NewDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			vd := &fixedDSS{}
			e := engine.New(engine.Deps{Keys: w.keys, Files: files, TSA: w.tsa, Validation: vd, Chain: w.ca.Chain()})
			s, err := e.Open(ctx, hsm.LabelRef("user-ec"), w.ec)
			if err != nil {
				t.Fatal(err)
			}
			var docs []engine.PDF
			for i := range 2 {
				src := fmt.Sprintf("r/%d.prepared.pdf", i)
				docs = append(docs, engine.PDF{Prepared: prepare(t, files, src, samplePDF(t)), Source: src, Dest: fmt.Sprintf("r/%d.pdf", i)})
			}
			cms, err := e.PAdES(ctx, s, tt.level, docs)
			if err != nil || len(cms) != 2 {
				t.Fatalf("PAdES = %d, %v", len(cms), err)
			}
			for i, d := range docs {
				out := readBlob(t, files, d.Dest)
				if !bytes.HasPrefix(out, src) {
					t.Fatalf("document %d: the original is not a prefix of the signed file", i)
				}
				sigs, err := pdf.Signatures(ctx, bytes.NewReader(out), int64(len(out)))
				if err != nil || len(sigs) != tt.revisions {
					t.Fatalf("document %d: %d signatures, %v", i, len(sigs), err)
				}
				if got := bytes.Contains(out, []byte("/DSS")); got != tt.dss {
					t.Fatalf("document %d: /DSS present = %v, want %v", i, got, tt.dss)
				}
			}
			if tt.dss && (len(vd.asked) < 3 || !vd.asked[0].Equal(w.ec)) {
				t.Fatalf("validation data asked for %d certificates", len(vd.asked))
			}
			// Only the prepared files and the results remain: no step file.
			var names []string
			_ = filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
				if err == nil && !de.IsDir() {
					names = append(names, filepath.Base(p))
				}
				return nil
			})
			for _, n := range names {
				if strings.Contains(n, ".signed") || strings.Contains(n, ".dss") || strings.Contains(n, ".doc-timestamp") {
					t.Fatalf("step file left: %v", names)
				}
			}
		})
	}
}

// TestPAdESAllOrNothing checks that a failure on the second document leaves no signed
// file for the first.
func TestPAdESAllOrNothing(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	files, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	vd := &fixedDSS{}
	e := engine.New(engine.Deps{Keys: w.keys, Files: files, TSA: w.tsa, Validation: vd, Chain: w.ca.Chain()})
	s, err := e.Open(ctx, hsm.LabelRef("user-ec"), w.ec)
	if err != nil {
		t.Fatal(err)
	}
	docs := []engine.PDF{
		{Prepared: prepare(t, files, "r/0.prepared.pdf", samplePDF(t)), Source: "r/0.prepared.pdf", Dest: "r/0.pdf"},
		{Prepared: prepare(t, files, "r/1.prepared.pdf", samplePDF(t)), Source: "r/missing.pdf", Dest: "r/1.pdf"},
	}
	if _, err := e.PAdES(ctx, s, engine.LevelBB, docs); err == nil {
		t.Fatal("signed with a missing prepared file")
	}
	if _, err := files.Open(ctx, "r/0.pdf"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("first document's signed file: %v", err)
	}
	vd.fail = errors.New("no revocation source")
	docs[1].Source = "r/1.prepared.pdf"
	if _, err := e.PAdES(ctx, s, engine.LevelBLT, docs); err == nil || !strings.Contains(err.Error(), "no revocation source") {
		t.Fatalf("B-LT without validation data = %v", err)
	}
	if err := engine.New(engine.Deps{Keys: w.keys}).Check(engine.LevelBB, true); !errors.Is(err, engine.ErrUnsupported) {
		t.Fatalf("PDF mode without files = %v", err)
	}
}

// TestCMSBatch signs many digests of mixed hashes in parallel: each CMS is in the order
// of its digest and verifies with it; at B-T each has its own time-stamp; one bad digest
// fails the whole call and names its index; a cancelled call signs nothing more.
func TestCMSBatch(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	hashes := []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}
	ds := make([]engine.Digest, 40)
	for i := range ds {
		ds[i] = digestOf(hashes[i%len(hashes)], fmt.Sprint("contract ", i))
	}
	for _, par := range []int{1, 4} {
		for _, level := range []engine.Level{engine.LevelBB, engine.LevelBT} {
			t.Run(fmt.Sprintf("%s/parallel %d", level, par), func(t *testing.T) {
				e := engine.New(engine.Deps{Keys: w.keys, Chain: w.ca.Chain(), TSA: w.tsa, Parallel: par})
				s, err := e.Open(ctx, hsm.LabelRef("user-rsa"), w.rsa)
				if err != nil {
					t.Fatal(err)
				}
				before := w.tsaCalls.Load()
				out, err := e.CMS(ctx, s, level, w.rsa.NotBefore, ds)
				if err != nil {
					t.Fatal(err)
				}
				for i, sd := range verifyCMS(t, out, ds) {
					if stamped := len(sd.Signers[0].SignatureTimestamps) == 1; stamped != (level == engine.LevelBT) {
						t.Fatalf("document %d: time-stamped %v at %s", i, stamped, level)
					}
				}
				if level == engine.LevelBT && int(w.tsaCalls.Load()-before) != len(ds) {
					t.Errorf("%d time-stamps for %d documents", w.tsaCalls.Load()-before, len(ds))
				}
			})
		}
	}
	e := engine.New(engine.Deps{Keys: w.keys, Chain: w.ca.Chain(), Parallel: 4})
	s, err := e.Open(ctx, hsm.LabelRef("user-ec"), w.ec)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]engine.Digest(nil), ds...)
	bad[17].Value = bad[17].Value[:5]
	if _, err := e.CMS(ctx, s, engine.LevelBB, time.Time{}, bad); err == nil || !strings.Contains(err.Error(), "document 17") {
		t.Errorf("CMS with a short digest = %v, want an error naming document 17", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.CMS(cctx, s, engine.LevelBB, time.Time{}, ds); !errors.Is(err, context.Canceled) {
		t.Errorf("CMS with a cancelled context = %v, want context.Canceled", err)
	}
}

// batchingKey is a key that offers a batch signer (engine.Batcher), as hsm.Key does; its
// batch signers count their signatures and can be told to fail one.
type batchingKey struct {
	crypto.Signer
	batches atomic.Int32
	signed  atomic.Int32
	failAt  int32 // 1-based signature of a batch that fails; 0: none
}

func (k *batchingKey) Batch() crypto.Signer {
	k.batches.Add(1)
	return &batchSigner{k: k}
}

type batchSigner struct {
	k *batchingKey
	n atomic.Int32
}

func (b *batchSigner) Public() crypto.PublicKey { return b.k.Public() }

func (b *batchSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if b.n.Add(1) == b.k.failAt {
		return nil, errors.New("batch check failed")
	}
	b.k.signed.Add(1)
	return b.k.Signer.Sign(r, digest, opts)
}

// TestBatcher: CMS and Raw sign a whole batch through one batch signer of the key
// (shared by the batch's hashes), and a signature the batch signer refuses fails the
// whole batch.
func TestBatcher(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	key := &batchingKey{Signer: w.keys.keys["user-ec"]}
	w.keys.keys["user-batch"] = key
	e := engine.New(engine.Deps{Keys: w.keys, Chain: w.ca.Chain(), Parallel: 4})
	s, err := e.Open(ctx, hsm.LabelRef("user-batch"), w.ec)
	if err != nil {
		t.Fatal(err)
	}
	ds := []engine.Digest{digestOf(crypto.SHA256, "a"), digestOf(crypto.SHA384, "b"), digestOf(crypto.SHA256, "c"), digestOf(crypto.SHA512, "d")}
	out, err := e.CMS(ctx, s, engine.LevelBB, time.Time{}, ds)
	if err != nil {
		t.Fatal(err)
	}
	verifyCMS(t, out, ds)
	if b, n := key.batches.Load(), key.signed.Load(); b != 1 || int(n) != len(ds) {
		t.Fatalf("CMS: %d batch signers, %d signatures through them; want 1 and %d", b, n, len(ds))
	}
	if _, err := s.Raw(ctx, ds); err != nil || key.batches.Load() != 2 || int(key.signed.Load()) != 2*len(ds) {
		t.Fatalf("Raw: %v, %d batch signers, %d signatures", err, key.batches.Load(), key.signed.Load())
	}
	key.failAt = 3
	if out, err := e.CMS(ctx, s, engine.LevelBB, time.Time{}, ds); err == nil || out != nil {
		t.Fatalf("CMS with a refused signature = %d results, %v; want none and an error", len(out), err)
	}
	if out, err := s.Raw(ctx, ds); err == nil || out != nil {
		t.Fatalf("Raw with a refused signature = %d results, %v; want none and an error", len(out), err)
	}
}

// verifyCMS parses each CMS of out and verifies it over its digest; it returns the parsed
// signatures.
func verifyCMS(t *testing.T, out [][]byte, ds []engine.Digest) []*cades.SignedData {
	t.Helper()
	sds := make([]*cades.SignedData, len(ds))
	for i, d := range ds {
		sd, err := cades.Parse(out[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sd.Verify(d.Value); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		sds[i] = sd
	}
	return sds
}
