package hsm

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode"
)

// KeyRef is an opaque reference to a user's signing key: what CreateSigningKey hands
// back, and what Signer and DestroySigningKey take. Callers store its bytes as they are
// (a byte column) and never look inside; only this package knows the forms it takes.
//
// Today a KeyRef holds the key's label on the token, so the labels stored before KeyRef
// existed are valid references as they are (see LabelRef). Another form (a key wrapped
// under a token key, kept outside the token) will start with a byte below 0x20, which no
// label holds.
type KeyRef []byte

// LabelRef returns the reference of the key stored on the token under label. It exists
// for keys recorded by label before KeyRef (stores migrating their old label column)
// and for tests.
func LabelRef(label string) KeyRef { return KeyRef(label) }

// ErrBadKeyRef is returned for a reference that is empty or of a form this version does
// not know.
var ErrBadKeyRef = errors.New("hsm: malformed key reference")

// label returns the token label of a label reference.
func (r KeyRef) label() (string, error) {
	if len(r) == 0 || r[0] < 0x20 || len(r) > maxLabelLen {
		return "", ErrBadKeyRef
	}
	for _, c := range string(r) {
		if !unicode.IsPrint(c) {
			return "", ErrBadKeyRef
		}
	}
	return string(r), nil
}

// maxLabelLen bounds a label reference: CKA_LABEL has no limit in PKCS#11, but the
// labels this package makes are short, and a bound keeps a corrupt column from being
// sent to the module as a search template.
const maxLabelLen = 200

// String returns a short printable name of the key for logs and audit entries: the
// label for a label reference, a digest prefix otherwise. It holds no secret.
func (r KeyRef) String() string {
	if l, err := r.label(); err == nil {
		return l
	}
	sum := sha256.Sum256(r)
	return "ref-" + hex.EncodeToString(sum[:8])
}

// CreateKeyRequest describes a user's signing key to create.
type CreateKeyRequest struct {
	// Name identifies the key on the token (its label when it is stored there); it must
	// be unique, printable, and at most 200 bytes.
	Name string
	Type KeyType // ECP256 or RSA3072
	// Storage is where the key is kept: StorageToken ("" too) or StorageWrapped.
	Storage KeyStorage
}

// CreatedKey is what CreateSigningKey hands back: the reference to store, and the public
// key for the certificate request.
type CreatedKey struct {
	Ref    KeyRef
	Public crypto.PublicKey
}

// CreateSigningKey creates a user's signing key pair and returns the reference to store
// for it. On the token (StorageToken) the key is a token object (see GenerateKey for its
// attributes) and the reference names it. Wrapped (StorageWrapped), the pair is generated
// as session objects, the private key wrapped inside the token under the key-encryption
// key (WrapKeyLabel, CKM_AES_KEY_WRAP_PAD; the private key extractable only for that, and
// only towards trusted keys where the module lets the key-encryption key be trusted), and
// both destroyed: the reference carries the blob and the public key, and the token keeps
// no object for the user.
//
// On the token, CreateSigningKey does not search for an existing key of that name, as
// GenerateKey does: the caller gives a name of its own that no other key has (Paraphe's
// hold the user's id and the time to the microsecond), and the search reads every
// object of the token (SoftHSM2 opens each object's file): it made enrolling the N-th
// user cost time in proportion to N. Generations run side by side on the pool's
// sessions. A name given twice leaves two keys, which FindKey reports as
// ErrAmbiguousKey.
func (t *Token) CreateSigningKey(ctx context.Context, req CreateKeyRequest) (CreatedKey, error) {
	if err := req.Storage.Validate(); err != nil {
		return CreatedKey{}, err
	}
	ref := LabelRef(req.Name)
	if _, err := ref.label(); err != nil {
		return CreatedKey{}, fmt.Errorf("hsm: create signing key: name must be 1 to %d printable bytes", maxLabelLen)
	}
	if req.Storage == StorageWrapped {
		return t.createWrapped(ctx, req)
	}
	k, err := t.generateKey(ctx, GenerateKeyRequest{Label: req.Name, Type: req.Type}, false)
	if err != nil {
		return CreatedKey{}, err
	}
	return CreatedKey{Ref: ref, Public: k.Public()}, nil
}

// Signer opens the signing key that ref refers to. It fails with ErrBadKeyRef for a
// malformed reference, and like FindKey when the key is missing.
func (t *Token) Signer(ctx context.Context, ref KeyRef) (*Key, error) {
	if w, pub, ok, err := parseWrapped(ref); ok {
		if err != nil {
			return nil, err
		}
		return t.wrappedSigner(w, pub, ref)
	}
	label, err := ref.label()
	if err != nil {
		return nil, err
	}
	return t.FindKey(ctx, label)
}

// DestroySigningKey destroys the key that ref refers to (see DeleteKey). A wrapped key
// has nothing on the token: it is gone once its reference is dropped.
func (t *Token) DestroySigningKey(ctx context.Context, ref KeyRef) error {
	if _, _, ok, err := parseWrapped(ref); ok {
		return err
	}
	label, err := ref.label()
	if err != nil {
		return err
	}
	return t.DeleteKey(ctx, label)
}
