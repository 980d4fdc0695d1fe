package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/paraphe/paraphe/hsm"
)

// p256Params is the DER of the P-256 OID, as CKA_EC_PARAMS wants it.
var p256Params = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}

// sha256DigestInfo is the DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256: with
// CKM_RSA_PKCS the caller supplies it, as Paraphe's hsm package does.
var sha256DigestInfo = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// rawToken is the token opened straight through miekg/pkcs11, without Paraphe's pool.
type rawToken struct {
	p        *pkcs11.Ctx
	slot     uint
	main     pkcs11.SessionHandle // holds the session keys; closed last
	finalize bool
}

// openRaw loads the module of cfg, logs in with the PIN in cfg.PINFile and returns the
// token. No Paraphe Token may be open: the raw context finalizes the module on close.
func openRaw(cfg hsm.Config) (*rawToken, error) {
	pin, err := os.ReadFile(cfg.PINFile)
	if err != nil {
		return nil, fmt.Errorf("bench: raw pkcs11: %w", err)
	}
	p := pkcs11.New(cfg.Module)
	if p == nil {
		return nil, fmt.Errorf("bench: raw pkcs11: cannot load %s", cfg.Module)
	}
	t := &rawToken{p: p, finalize: true}
	if err := p.Initialize(); err != nil {
		if !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			p.Destroy()
			return nil, fmt.Errorf("bench: raw pkcs11: C_Initialize: %w", err)
		}
		t.finalize = false
	}
	slots, err := p.GetSlotList(true)
	if err != nil {
		t.close()
		return nil, fmt.Errorf("bench: raw pkcs11: C_GetSlotList: %w", err)
	}
	found := false
	for _, s := range slots {
		info, err := p.GetTokenInfo(s)
		if err == nil && strings.TrimRight(info.Label, " \x00") == cfg.TokenLabel {
			t.slot, found = s, true
			break
		}
	}
	if !found {
		t.close()
		return nil, fmt.Errorf("bench: raw pkcs11: no token labelled %q", cfg.TokenLabel)
	}
	if t.main, err = p.OpenSession(t.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION); err != nil {
		t.close()
		return nil, fmt.Errorf("bench: raw pkcs11: C_OpenSession: %w", err)
	}
	if err := p.Login(t.main, pkcs11.CKU_USER, strings.TrimRight(string(pin), "\r\n")); err != nil &&
		!errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
		t.close()
		return nil, fmt.Errorf("bench: raw pkcs11: C_Login: %w", err)
	}
	return t, nil
}

func (t *rawToken) close() {
	if t.main != 0 {
		t.p.CloseSession(t.main) // destroys the session keys
	}
	if t.finalize {
		t.p.Finalize()
	}
	t.p.Destroy()
}

// generate makes a key pair of the same kind Paraphe makes for users: private,
// sensitive, not extractable. A token key (onToken) is stored in the token as users'
// keys are, and must be destroyed by the caller; a session key lives in memory until
// the main session closes.
func (t *rawToken) generate(keyType string, onToken bool) (priv, pub pkcs11.ObjectHandle, err error) {
	label := fmt.Sprintf("paraphe-bench-raw-%s-%d", keyType, time.Now().UnixNano())
	privT := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, onToken),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
	}
	pubT := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, onToken),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
	}
	var mech *pkcs11.Mechanism
	switch keyType {
	case P256:
		mech = pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)
		pubT = append(pubT, pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, p256Params))
	case RSA3072:
		mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)
		pubT = append(pubT, pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 3072),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
	default:
		return 0, 0, fmt.Errorf("bench: raw pkcs11: unknown key type %q", keyType)
	}
	pub, priv, err = t.p.GenerateKeyPair(t.main, []*pkcs11.Mechanism{mech}, pubT, privT)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: raw pkcs11: C_GenerateKeyPair %s: %w", keyType, err)
	}
	return priv, pub, nil
}

// signInput returns the mechanism and the bytes C_Sign gets for a SHA-256 digest, the
// same as Paraphe sends: the bare digest for ECDSA, DigestInfo || digest for RSA.
func signInput(keyType string) (*pkcs11.Mechanism, []byte) {
	d := sha256.Sum256([]byte("paraphe bench"))
	if keyType == RSA3072 {
		return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil), append(append([]byte{}, sha256DigestInfo...), d[:]...)
	}
	return pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil), d[:]
}

// throughput signs with key from n sessions, one goroutine each, for d and returns the
// signatures per second.
func (t *rawToken) throughput(ctx context.Context, keyType string, key pkcs11.ObjectHandle, n int, d time.Duration) (float64, error) {
	mech, in := signInput(keyType)
	sessions := make([]pkcs11.SessionHandle, n)
	for i := range sessions {
		h, err := t.p.OpenSession(t.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			for _, s := range sessions[:i] {
				t.p.CloseSession(s)
			}
			return 0, fmt.Errorf("bench: raw pkcs11: C_OpenSession: %w", err)
		}
		sessions[i] = h
	}
	defer func() {
		for _, s := range sessions {
			t.p.CloseSession(s)
		}
	}()
	var (
		ops      atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	start := time.Now()
	for _, h := range sessions {
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				if err := t.p.SignInit(h, []*pkcs11.Mechanism{mech}, key); err != nil {
					errMu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("bench: raw pkcs11: C_SignInit: %w", err))
					errMu.Unlock()
					return
				}
				if _, err := t.p.Sign(h, in); err != nil {
					errMu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("bench: raw pkcs11: C_Sign: %w", err))
					errMu.Unlock()
					return
				}
				ops.Add(1)
			}
		})
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(ops.Load()) / elapsed.Seconds(), nil
}

func cmpErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}

// rawResult is the best raw throughput of a key type and the sessions that gave it,
// for a key stored in the token (as users' keys are: the baseline) and for a session
// key (in memory: what the token does without its object store).
type rawResult struct {
	oneSessionOpsPerSec float64 // token key, one session: the CSC batch's baseline
	opsPerSec           float64
	sessions            int
	sessionOpsPerSec    float64
}

// measureRaw measures raw throughput for each key type with each session count in
// counts, keeping the best, with a token key and then with a session key.
func measureRaw(ctx context.Context, cfg hsm.Config, counts []int, d time.Duration) (map[string]rawResult, error) {
	t, err := openRaw(cfg)
	if err != nil {
		return nil, err
	}
	defer t.close()
	out := map[string]rawResult{}
	for _, kt := range []string{P256, RSA3072} {
		var res rawResult
		for _, onToken := range []bool{true, false} {
			priv, pub, err := t.generate(kt, onToken)
			if err != nil {
				return nil, err
			}
			best, n, err := t.best(ctx, kt, priv, counts, d)
			if onToken && err == nil {
				res.oneSessionOpsPerSec, err = t.throughput(ctx, kt, priv, 1, d)
			}
			if onToken {
				t.p.DestroyObject(t.main, priv)
				t.p.DestroyObject(t.main, pub)
				res.opsPerSec, res.sessions = best, n
			} else {
				res.sessionOpsPerSec = best
			}
			if err != nil {
				return nil, err
			}
		}
		out[kt] = res
	}
	return out, nil
}

// best returns the best throughput over the session counts, and the count.
func (t *rawToken) best(ctx context.Context, kt string, key pkcs11.ObjectHandle, counts []int, d time.Duration) (float64, int, error) {
	// A short warm-up: the first signatures of a key pay for loading it.
	if _, err := t.throughput(ctx, kt, key, 1, 50*time.Millisecond); err != nil {
		return 0, 0, err
	}
	var best float64
	var bestN int
	for _, n := range counts {
		v, err := t.throughput(ctx, kt, key, n, d)
		if err != nil {
			return 0, 0, err
		}
		if v > best {
			best, bestN = v, n
		}
	}
	return best, bestN, nil
}
