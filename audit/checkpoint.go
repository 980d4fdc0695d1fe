package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Checkpoint is a signed statement of the log's head: "at Time, entry Seq had hash Hash".
// The log itself cannot show that entries were cut from its end; a checkpoint kept
// outside the database (evidence records carry one, operators can file more) can: the
// entry it names must still be there, with the same hash.
type Checkpoint struct {
	Seq       int64
	Hash      []byte
	Time      time.Time
	Signature []byte // ECDSA (ASN.1) by the HSM's checkpoint key over checkpointDigest
}

// ErrBadCheckpoint is a checkpoint whose signature is not the checkpoint key's.
var ErrBadCheckpoint = errors.New("audit: bad checkpoint")

// HeadStore reads the newest entry.
type HeadStore interface {
	LastAuditEntry(ctx context.Context) (Entry, bool, error)
}

func checkpointDigest(seq int64, hash []byte, t time.Time) []byte {
	h := sha256.New()
	h.Write([]byte("paraphe-audit-checkpoint-v1\x00"))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(seq))
	binary.BigEndian.PutUint64(b[8:], uint64(t.UTC().UnixNano()))
	h.Write(b[:])
	h.Write(hash)
	return h.Sum(nil)
}

// NewCheckpoint signs the current head of the log with key (kept in the HSM).
func (l *Log) NewCheckpoint(ctx context.Context, key crypto.Signer, now time.Time) (Checkpoint, error) {
	hs, ok := l.store.(HeadStore)
	if !ok {
		return Checkpoint{}, errors.New("audit: the store cannot read the head")
	}
	head, found, err := hs.LastAuditEntry(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: head: %w", err)
	}
	if !found {
		return Checkpoint{}, errors.New("audit: the log is empty")
	}
	cp := Checkpoint{Seq: head.Seq, Hash: head.Hash, Time: now.UTC().Truncate(time.Microsecond)}
	if cp.Signature, err = key.Sign(nil, checkpointDigest(cp.Seq, cp.Hash, cp.Time), crypto.SHA256); err != nil {
		return Checkpoint{}, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return cp, nil
}

// VerifyCheckpoint checks a checkpoint's signature with the checkpoint key's public half,
// then that the log still holds the entry it names with the same hash. An entry pruned
// by retention (at or before the anchor) cannot be compared and is accepted.
func (l *Log) VerifyCheckpoint(ctx context.Context, cp Checkpoint, pub crypto.PublicKey) error {
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || !ecdsa.VerifyASN1(ec, checkpointDigest(cp.Seq, cp.Hash, cp.Time), cp.Signature) {
		return fmt.Errorf("%w: checkpoint of entry %d: the signature is not the checkpoint key's", ErrBadCheckpoint, cp.Seq)
	}
	if as, ok := l.store.(AnchorStore); ok {
		a, found, err := as.AuditAnchor(ctx)
		if err != nil {
			return fmt.Errorf("audit: read anchor: %w", err)
		}
		if found && cp.Seq <= a.Seq {
			return nil
		}
	}
	es, err := l.store.AuditEntries(ctx, cp.Seq-1, 1)
	if err != nil {
		return fmt.Errorf("audit: read: %w", err)
	}
	if len(es) == 0 || es[0].Seq != cp.Seq {
		return &BrokenError{Seq: cp.Seq, Reason: "a signed checkpoint names this entry, which the log no longer has (entries were cut)"}
	}
	if !bytes.Equal(es[0].Hash, cp.Hash) {
		return &BrokenError{Seq: cp.Seq, Reason: "the entry's hash differs from the one a signed checkpoint names"}
	}
	return nil
}
