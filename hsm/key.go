package hsm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/miekg/pkcs11"
)

// KeyType names a kind of signing key.
type KeyType string

// Key types GenerateKey can create. FindKey also reports EC-P384, EC-P521
// and RSA-<bits> for keys made elsewhere.
const (
	ECP256  KeyType = "EC-P256"
	RSA3072 KeyType = "RSA-3072"
)

// minRSABits is the smallest RSA key FindKey accepts: below 2048 bits RSA is
// no longer allowed for qualified signatures (ETSI TS 119 312).
const minRSABits = 2048

// idLen is the length of the random CKA_ID shared by the two halves of a key
// pair: 16 bytes make collisions negligible.
const idLen = 16

// namedCurve ties a curve to the DER of its OID as in CKA_EC_PARAMS.
type namedCurve struct {
	typ    KeyType
	curve  elliptic.Curve
	params []byte
}

var curves = []namedCurve{
	{ECP256, elliptic.P256(), []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}},
	{"EC-P384", elliptic.P384(), []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}},
	{"EC-P521", elliptic.P521(), []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23}},
}

// GenerateKeyRequest describes a key pair to create.
type GenerateKeyRequest struct {
	Label string  // CKA_LABEL of both halves; the URI "object" attribute
	Type  KeyType // ECP256 or RSA3072
}

// Key is a crypto.Signer whose private half stays in the token. Its public
// key is read from the token when the Key is found or generated. Key is safe
// for concurrent use; it stops working when its Token is closed.
type Key struct {
	tok   *Token
	label string
	id    []byte
	typ   KeyType
	pub   crypto.PublicKey

	mu   sync.Mutex
	priv pkcs11.ObjectHandle // cached; looked up again by label if invalid

	// wrapped, when set, holds the key outside the token: it is unwrapped for each
	// signature (signWrapped) and priv is unused.
	wrapped *wrappedKey
}

var _ crypto.Signer = (*Key)(nil)

// Public returns the *ecdsa.PublicKey or *rsa.PublicKey of the key.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Label returns the key's label (the URI "object" attribute).
func (k *Key) Label() string { return k.label }

// Type returns the kind of key.
func (k *Key) Type() KeyType { return k.typ }

// VerifiesSignatures reports that SignContext checks every signature against the public
// key before returning it (cades.VerifyingSigner), so callers need not check it again.
func (k *Key) VerifiesSignatures() bool { return true }

// GenerateKey creates a key pair inside the token. The private key is
// CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, and may only
// sign; both halves carry req.Label and one random CKA_ID. It fails with
// ErrKeyExists if a private key with that label exists. Concurrent calls in
// one process are serialized; two processes racing on one label may both
// succeed, which FindKey then reports as ErrAmbiguousKey.
func (t *Token) GenerateKey(ctx context.Context, req GenerateKeyRequest) (*Key, error) {
	return t.generateKey(ctx, req, true)
}

// generateKey is GenerateKey; with checkExisting false it does not search the token for
// a private key of that label first, and runs beside other generations (see
// CreateSigningKey).
func (t *Token) generateKey(ctx context.Context, req GenerateKeyRequest, checkExisting bool) (*Key, error) {
	if req.Label == "" {
		return nil, errors.New("hsm: generate key: empty label")
	}
	id := make([]byte, idLen)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("hsm: generate key: %w", err)
	}
	pubT, privT, mech, err := keyPairTemplates(req.Type, req.Label, id, true)
	if err != nil {
		return nil, err
	}
	privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false))

	if checkExisting {
		t.objMu.Lock()
		defer t.objMu.Unlock()
	}
	var key *Key
	err = t.withSessionOnce(ctx, func(h pkcs11.SessionHandle) error {
		if checkExisting {
			objs, err := t.findObjects(h, privateKeyTemplate(req.Label), 1)
			if err != nil {
				return err
			}
			if len(objs) > 0 {
				return fmt.Errorf("%w: %q", ErrKeyExists, req.Label)
			}
		}
		pubH, privH, err := t.p.GenerateKeyPair(h, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, pubT, privT)
		if err != nil {
			return fmt.Errorf("hsm: C_GenerateKeyPair: %w", err)
		}
		key, err = t.loadKey(h, req.Label, privH, pubH)
		if err != nil {
			// Do not leave half-usable objects behind.
			_ = t.p.DestroyObject(h, privH)
			_ = t.p.DestroyObject(h, pubH)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// keyPairTemplates returns the templates and mechanism that generate a key pair of type
// typ labelled label with CKA_ID id, on the token or as session objects. The private key
// is private, sensitive and may only sign; its CKA_EXTRACTABLE is left to the caller.
func keyPairTemplates(typ KeyType, label string, id []byte, token bool) (pubT, privT []*pkcs11.Attribute, mech uint, err error) {
	common := func(class uint) []*pkcs11.Attribute {
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, token),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		}
	}
	pubT = append(common(pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
	)
	privT = append(common(pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	)
	switch typ {
	case ECP256:
		mech = pkcs11.CKM_EC_KEY_PAIR_GEN
		pubT = append(pubT,
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, curves[0].params))
		privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC))
	case RSA3072:
		mech = pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN
		pubT = append(pubT,
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 3072),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
		privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA))
	default:
		return nil, nil, 0, fmt.Errorf("hsm: generate key: unsupported key type %q", typ)
	}
	return pubT, privT, mech, nil
}

// privateKeyTemplate matches private keys labelled label.
func privateKeyTemplate(label string) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	}
}

// publicKeyTemplate matches public keys with that CKA_ID.
func publicKeyTemplate(id []byte) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
}

// FindKey returns the key whose private half is labelled label (the
// "object" attribute of its RFC 7512 URI): ErrKeyNotFound when none,
// ErrAmbiguousKey when more than one private key matches. The public half is
// the public key object with the same CKA_ID (for RSA, the private key's
// own modulus and exponent when that object is missing).
func (t *Token) FindKey(ctx context.Context, label string) (*Key, error) {
	if k := t.cachedKey(label); k != nil {
		return k, nil
	}
	var key *Key
	err := t.withSession(ctx, func(h pkcs11.SessionHandle) error {
		var err error
		key, err = t.lookupKey(h, label)
		return err
	})
	if err != nil {
		return nil, err
	}
	t.cacheKey(key)
	return key, nil
}

// lookupKey finds the private key labelled label and its public half.
func (t *Token) lookupKey(h pkcs11.SessionHandle, label string) (*Key, error) {
	priv, err := t.findOne(h, privateKeyTemplate(label), label)
	if err != nil {
		return nil, err
	}
	return t.loadKey(h, label, priv, 0)
}

// loadKey builds a Key from its private handle, reading the public key from
// pubH, or (pubH == 0) from the public key object sharing the private key's
// CKA_ID.
func (t *Token) loadKey(h pkcs11.SessionHandle, label string, priv, pubH pkcs11.ObjectHandle) (*Key, error) {
	a, err := t.attributes(h, priv, pkcs11.CKA_ID, pkcs11.CKA_KEY_TYPE)
	if err != nil {
		return nil, err
	}
	k := &Key{tok: t, label: label, id: a[pkcs11.CKA_ID], priv: priv}
	keyType, err := ulong(a[pkcs11.CKA_KEY_TYPE])
	if err != nil {
		return nil, fmt.Errorf("hsm: key %q: CKA_KEY_TYPE: %w", label, err)
	}
	if pubH == 0 {
		objs, err := t.findObjects(h, publicKeyTemplate(k.id), 2)
		if err != nil {
			return nil, err
		}
		switch {
		case len(objs) == 1:
			pubH = objs[0]
		case len(objs) > 1:
			return nil, fmt.Errorf("%w: %d public keys share the CKA_ID of %q", ErrAmbiguousKey, len(objs), label)
		case keyType == pkcs11.CKK_RSA:
			pubH = priv // RSA private keys carry the modulus and public exponent.
		default:
			return nil, fmt.Errorf("hsm: key %q: no public key with its CKA_ID", label)
		}
	}
	switch keyType {
	case pkcs11.CKK_EC:
		pa, err := t.attributes(h, pubH, pkcs11.CKA_EC_PARAMS, pkcs11.CKA_EC_POINT)
		if err != nil {
			return nil, err
		}
		k.typ, k.pub, err = parseECPublic(pa[pkcs11.CKA_EC_PARAMS], pa[pkcs11.CKA_EC_POINT])
		if err != nil {
			return nil, fmt.Errorf("hsm: key %q: %w", label, err)
		}
	case pkcs11.CKK_RSA:
		pa, err := t.attributes(h, pubH, pkcs11.CKA_MODULUS, pkcs11.CKA_PUBLIC_EXPONENT)
		if err != nil {
			return nil, err
		}
		n := new(big.Int).SetBytes(pa[pkcs11.CKA_MODULUS])
		e := new(big.Int).SetBytes(pa[pkcs11.CKA_PUBLIC_EXPONENT])
		if n.BitLen() < minRSABits {
			return nil, fmt.Errorf("hsm: key %q: RSA modulus of %d bits, want at least %d", label, n.BitLen(), minRSABits)
		}
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
			return nil, fmt.Errorf("hsm: key %q: unusable RSA public exponent", label)
		}
		k.pub = &rsa.PublicKey{N: n, E: int(e.Int64())}
		k.typ = KeyType(fmt.Sprintf("RSA-%d", n.BitLen()))
	default:
		return nil, fmt.Errorf("hsm: key %q: unsupported CKA_KEY_TYPE %#x", label, keyType)
	}
	return k, nil
}

// parseECPublic decodes CKA_EC_PARAMS and CKA_EC_POINT (a DER OCTET STRING
// holding the uncompressed point; some modules give the bare point).
func parseECPublic(params, point []byte) (KeyType, *ecdsa.PublicKey, error) {
	for _, c := range curves {
		if !bytes.Equal(params, c.params) {
			continue
		}
		var raw []byte
		if rest, err := asn1.Unmarshal(point, &raw); err == nil && len(rest) == 0 {
			point = raw
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(c.curve, point)
		if err != nil {
			return "", nil, fmt.Errorf("CKA_EC_POINT: %w", err)
		}
		return c.typ, pub, nil
	}
	return "", nil, errors.New("unsupported curve in CKA_EC_PARAMS")
}

// ulong decodes a CK_ULONG attribute value (native byte order).
func ulong(b []byte) (uint, error) {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b)), nil
	case 4:
		return uint(binary.NativeEndian.Uint32(b)), nil
	default:
		return 0, fmt.Errorf("CK_ULONG of %d bytes", len(b))
	}
}

// DeleteKey destroys the private key labelled label and every public key
// sharing its CKA_ID. It returns ErrKeyNotFound or ErrAmbiguousKey like
// FindKey.
func (t *Token) DeleteKey(ctx context.Context, label string) error {
	t.objMu.Lock()
	defer t.objMu.Unlock()
	t.forget(label)
	return t.withSessionOnce(ctx, func(h pkcs11.SessionHandle) error {
		priv, err := t.findOne(h, privateKeyTemplate(label), label)
		if err != nil {
			return err
		}
		a, err := t.attributes(h, priv, pkcs11.CKA_ID)
		if err != nil {
			return err
		}
		var pubs []pkcs11.ObjectHandle
		if id := a[pkcs11.CKA_ID]; len(id) > 0 {
			if pubs, err = t.findObjects(h, publicKeyTemplate(id), 0); err != nil {
				return err
			}
		}
		if err := t.p.DestroyObject(h, priv); err != nil {
			return fmt.Errorf("hsm: C_DestroyObject private key %q: %w", label, err)
		}
		for _, o := range pubs {
			if err := t.p.DestroyObject(h, o); err != nil {
				return fmt.Errorf("hsm: C_DestroyObject public key %q: %w", label, err)
			}
		}
		return nil
	})
}

// Sign signs digest with the key; see SignContext. rand is ignored: the
// token draws its own randomness. It waits for a free session without a
// deadline: prefer SignContext.
func (k *Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), digest, opts)
}

// digestInfoPrefix holds the DER prefix of a PKCS#1 v1.5 DigestInfo
// (RFC 8017, section 9.2, note 1) for each supported hash.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// pssHash gives the PKCS#11 hash mechanism and MGF1 of each supported hash.
var pssHash = map[crypto.Hash][2]uint{
	crypto.SHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256},
	crypto.SHA384: {pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384},
	crypto.SHA512: {pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512},
}

// SignContext signs digest, the hash of the message computed with
// opts.HashFunc() (SHA-256, SHA-384 or SHA-512; the length must match).
// ECDSA keys return an ASN.1 DER signature (CKM_ECDSA); RSA keys sign with
// PKCS#1 v1.5 (CKM_RSA_PKCS over the DigestInfo) or, when opts is a
// *rsa.PSSOptions, with RSASSA-PSS (CKM_RSA_PKCS_PSS, MGF1 with the same
// hash; PSSSaltLengthAuto and PSSSaltLengthEqualsHash both mean a salt as
// long as the hash). ctx bounds the wait for a session; C_Sign itself runs
// to completion. The signature is verified with the public key before it is
// returned.
func (k *Key) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.sign(ctx, digest, opts, true)
}

// sign is SignContext; verifyECDSA false leaves out the full check of an ECDSA signature
// against the public key (a BatchSigner decides which ones it checks). RSA signatures
// and the structure of ECDSA signatures are always checked.
func (k *Key) sign(ctx context.Context, digest []byte, opts crypto.SignerOpts, verifyECDSA bool) ([]byte, error) {
	if opts == nil {
		return nil, errors.New("hsm: sign: nil SignerOpts")
	}
	hash := opts.HashFunc()
	if _, ok := digestInfoPrefix[hash]; !ok {
		return nil, fmt.Errorf("hsm: sign: unsupported hash %v", hash)
	}
	if len(digest) != hash.Size() {
		return nil, fmt.Errorf("hsm: sign: digest is %d bytes, %v needs %d", len(digest), hash, hash.Size())
	}
	var (
		mech  *pkcs11.Mechanism
		input []byte
	)
	switch k.pub.(type) {
	case *ecdsa.PublicKey:
		if _, ok := opts.(*rsa.PSSOptions); ok {
			return nil, errors.New("hsm: sign: PSS options for an ECDSA key")
		}
		mech, input = pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil), digest
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			salt := pss.SaltLength
			switch {
			case salt == rsa.PSSSaltLengthAuto || salt == rsa.PSSSaltLengthEqualsHash:
				salt = hash.Size()
			case salt < 0:
				return nil, fmt.Errorf("hsm: sign: invalid PSS salt length %d", salt)
			}
			hm := pssHash[hash]
			mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.NewPSSParams(hm[0], hm[1], uint(salt)))
			input = digest
		} else {
			mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)
			input = append(append([]byte{}, digestInfoPrefix[hash]...), digest...)
		}
	default:
		return nil, fmt.Errorf("hsm: sign: unsupported public key %T", k.pub)
	}

	raw, err := k.signRaw(ctx, mech, input)
	if err != nil {
		return nil, err
	}

	switch pub := k.pub.(type) {
	case *ecdsa.PublicKey:
		sig, err := ecdsaDER(pub, raw)
		if err != nil {
			return nil, err
		}
		if verifyECDSA && !ecdsa.VerifyASN1(pub, digest, sig) {
			return nil, fmt.Errorf("hsm: sign: token returned an ECDSA signature that does not verify with key %q", k.label)
		}
		return sig, nil
	case *rsa.PublicKey:
		var verr error
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			verr = rsa.VerifyPSS(pub, hash, digest, raw, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: pss.Hash})
		} else {
			verr = rsa.VerifyPKCS1v15(pub, hash, digest, raw)
		}
		if verr != nil {
			return nil, fmt.Errorf("hsm: sign: token returned an RSA signature that does not verify with key %q: %w", k.label, verr)
		}
		return raw, nil
	}
	return nil, errors.New("hsm: sign: unreachable")
}

// signRaw runs C_SignInit and C_Sign. When the cached private key handle is
// no longer valid (the module was re-initialized, a network HSM failed
// over), the key is looked up again by label; it must still have the same
// CKA_ID, so that a key replaced under the same label is never used in
// place of the one whose public key the caller holds.
func (k *Key) signRaw(ctx context.Context, mech *pkcs11.Mechanism, input []byte) ([]byte, error) {
	if k.wrapped != nil {
		return k.signWrapped(ctx, mech, input)
	}
	t := k.tok
	var sig []byte
	err := t.withSession(ctx, func(h pkcs11.SessionHandle) error {
		k.mu.Lock()
		priv := k.priv
		k.mu.Unlock()
		err := t.p.SignInit(h, []*pkcs11.Mechanism{mech}, priv)
		if isRV(err, pkcs11.CKR_KEY_HANDLE_INVALID) || isRV(err, pkcs11.CKR_OBJECT_HANDLE_INVALID) {
			fresh, lerr := t.lookupKey(h, k.label)
			if lerr != nil {
				return fmt.Errorf("hsm: sign: key %q: %w", k.label, lerr)
			}
			if !bytes.Equal(fresh.id, k.id) {
				return fmt.Errorf("hsm: sign: key %q was replaced in the token (CKA_ID changed); find it again", k.label)
			}
			k.mu.Lock()
			k.priv = fresh.priv
			k.mu.Unlock()
			priv = fresh.priv
			err = t.p.SignInit(h, []*pkcs11.Mechanism{mech}, priv)
		}
		if err != nil {
			return fmt.Errorf("hsm: C_SignInit: %w", err)
		}
		sig, err = t.p.Sign(h, input)
		if err != nil {
			return fmt.Errorf("hsm: C_Sign: %w", err)
		}
		return nil
	})
	return sig, err
}

// ecdsaDER converts the r||s output of CKM_ECDSA to an ASN.1 DER
// ECDSA-Sig-Value. It refuses an output of the wrong length and values r or s
// outside [1, n-1] (n the order of the curve), which no valid signature has:
// a truncated, zeroed or garbled output never leaves this package, whether or
// not the signature is then verified in full.
func ecdsaDER(pub *ecdsa.PublicKey, raw []byte) ([]byte, error) {
	params := pub.Curve.Params()
	size := (params.BitSize + 7) / 8
	if len(raw) != 2*size {
		return nil, fmt.Errorf("hsm: sign: ECDSA signature of %d bytes, want %d", len(raw), 2*size)
	}
	r := new(big.Int).SetBytes(raw[:size])
	s := new(big.Int).SetBytes(raw[size:])
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(params.N) >= 0 || s.Cmp(params.N) >= 0 {
		return nil, errors.New("hsm: sign: token returned an ECDSA signature with r or s out of range")
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	if err != nil {
		return nil, fmt.Errorf("hsm: sign: encoding ECDSA signature: %w", err)
	}
	return der, nil
}
