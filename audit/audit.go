package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Event types. The list grows with the product; types are stable strings.
const (
	UserCreated        = "user.created"
	DeviceEnrolled     = "device.enrolled"
	DeviceRevoked      = "device.revoked"
	KeyGenerated       = "key.generated"
	CertificateIssued  = "certificate.issued"
	CertificateRevoked = "certificate.revoked"
	IntegratorCreated  = "integrator.created"
	PINFailed          = "pin.failed"
	PINLocked          = "pin.locked"
	PINChanged         = "pin.changed"
	UserBlocked        = "user.blocked"
	UserReactivated    = "user.reactivated"
	UserExported       = "user.exported"
	UserErased         = "user.erased"
	RequestCreated     = "request.created"
	RequestApproved    = "request.approved"
	RequestRefused     = "request.refused"
	RequestCancelled   = "request.cancelled"
	RequestExpired     = "request.expired"
	SignatureIntent    = "signature.intent"
	RequestSigned      = "request.signed"
	// SignaturesMade records each consumption of an authorization (CSC signHash, signDoc).
	SignaturesMade = "signatures.made"
	// SigningResumed records that a replica took over the signing of an approved request
	// whose signer stopped (a crash); its detail gives the attempt number.
	SigningResumed = "signing.resumed"
	RequestFailed  = "request.failed"
	// AuditPruned records that entries older than the retention period were deleted;
	// its detail names the anchor (the last deleted entry's seq and hash).
	AuditPruned = "audit.pruned"
	// RetentionApplied records what a retention run deleted or pseudonymized (counts).
	RetentionApplied = "retention.applied"
)

// Event is what a caller records.
type Event struct {
	Type      string
	Actor     string // "integrator:ID", "device:ID", "operator", "system"
	RequestID string
	Subject   string            // the id the event is about (user, device, certificate serial...)
	Detail    map[string]string // ids and codes only, never personal data
}

// Entry is a stored, chained event.
type Entry struct {
	Seq      int64
	Time     time.Time
	Event    Event
	PrevHash []byte
	Hash     []byte
	// Seal is an HMAC, made inside the HSM, over the entry's seq and hash: someone who
	// can write the database but not use the HSM cannot rewrite the chain consistently.
	Seal []byte
}

// Canonical returns the bytes hashed for the entry: a length-prefixed encoding of every
// field in a fixed order (detail keys sorted), independent of any JSON library.
func (e Entry) Canonical() []byte {
	var b bytes.Buffer
	put := func(s string) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		b.Write(n[:])
		b.WriteString(s)
	}
	put("paraphe-audit-v1")
	put(fmt.Sprint(e.Seq))
	put(e.Time.UTC().Format(time.RFC3339Nano))
	put(e.Event.Type)
	put(e.Event.Actor)
	put(e.Event.RequestID)
	put(e.Event.Subject)
	keys := make([]string, 0, len(e.Event.Detail))
	for k := range e.Event.Detail {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	put(fmt.Sprint(len(keys)))
	for _, k := range keys {
		put(k)
		put(e.Event.Detail[k])
	}
	put(hex.EncodeToString(e.PrevHash))
	return b.Bytes()
}

// ComputeHash returns SHA-256 of the canonical encoding.
func (e Entry) ComputeHash() []byte {
	s := sha256.Sum256(e.Canonical())
	return s[:]
}

// Store appends entries one at a time. Append must run build with the current last entry
// (found=false on an empty log) and insert what it returns, with no other append in
// between: a transaction holding a lock on SQLite, an advisory lock on PostgreSQL.
type Store interface {
	AppendAudit(ctx context.Context, build func(last Entry, found bool) (Entry, error)) (Entry, error)
	AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]Entry, error)
}

// Anchor stands for the entries deleted at the start of the log once their retention
// period ended: the seq and hash of the last deleted entry. The first remaining entry
// must follow it, so verification starts from a trusted point instead of entry 1.
type Anchor struct {
	Seq      int64
	Hash     []byte
	Seal     []byte // the last deleted entry's seal
	PrunedAt time.Time
}

// AnchorStore is implemented by stores whose oldest entries may be pruned. Verify uses
// it when the Store has it; found is false while nothing was ever pruned.
type AnchorStore interface {
	AuditAnchor(ctx context.Context) (a Anchor, found bool, err error)
}

// Sealer computes seals; the production one is an HMAC-SHA256 inside the HSM.
type Sealer interface {
	Seal(ctx context.Context, data []byte) ([]byte, error)
}

// sealInput is what a seal covers: a domain label, the seq and the entry's hash (which
// covers everything else, the previous hash included).
func sealInput(seq int64, hash []byte) []byte {
	b := make([]byte, 0, 32+8+len(hash))
	b = append(b, "paraphe-audit-seal-v1\x00"...)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	return append(b, hash...)
}

// Log records events into a Store.
type Log struct {
	store  Store
	now    func() time.Time
	sealer Sealer
}

// Deps are the Log's collaborators. The log has nothing to tune.
type Deps struct {
	Store Store
	// Sealer, when set, seals every entry the log appends, and the log checks every
	// seal when it verifies; nil: entries are chained but not sealed.
	Sealer Sealer
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// New returns a Log.
func New(d Deps) *Log {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Log{store: d.Store, now: d.Now, sealer: d.Sealer}
}

// Record appends an event and returns the stored entry.
func (l *Log) Record(ctx context.Context, ev Event) (Entry, error) {
	if ev.Type == "" {
		return Entry{}, errors.New("audit: event without type")
	}
	e, err := l.store.AppendAudit(ctx, func(last Entry, found bool) (Entry, error) {
		e := Entry{Seq: 1, Time: l.now().UTC().Truncate(time.Microsecond), Event: ev}
		if found {
			e.Seq = last.Seq + 1
			e.PrevHash = last.Hash
		}
		e.Hash = e.ComputeHash()
		if l.sealer != nil {
			seal, err := l.sealer.Seal(ctx, sealInput(e.Seq, e.Hash))
			if err != nil {
				return e, fmt.Errorf("seal: %w", err)
			}
			e.Seal = seal
		}
		return e, nil
	})
	if err != nil {
		return Entry{}, fmt.Errorf("audit: append %s: %w", ev.Type, err)
	}
	return e, nil
}

// BrokenError names the first entry where the chain does not hold.
type BrokenError struct {
	Seq    int64
	Reason string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit: chain broken at entry %d: %s", e.Seq, e.Reason)
}

// Verify walks the whole log and returns the number of entries checked, or a
// *BrokenError for the first entry that is out of sequence, does not hold the previous
// entry's hash, or whose own hash does not match its content. When old entries were
// pruned (see AnchorStore), the first remaining entry must follow the anchor.
func (l *Log) Verify(ctx context.Context) (int64, error) {
	var (
		prev  Entry
		count int64
		after int64
	)
	if as, ok := l.store.(AnchorStore); ok {
		a, found, err := as.AuditAnchor(ctx)
		if err != nil {
			return 0, fmt.Errorf("audit: read anchor: %w", err)
		}
		if found {
			if err := l.checkSeal(ctx, a.Seq, a.Hash, a.Seal); err != nil {
				return 0, sealFailure(a.Seq, "the anchor of the pruned entries ", err)
			}
			prev = Entry{Seq: a.Seq, Hash: a.Hash}
		}
	}
	for {
		batch, err := l.store.AuditEntries(ctx, after, 1000)
		if err != nil {
			return count, fmt.Errorf("audit: read: %w", err)
		}
		for _, e := range batch {
			switch {
			case e.Seq != prev.Seq+1:
				return count, &BrokenError{Seq: e.Seq, Reason: fmt.Sprintf("sequence jumps from %d", prev.Seq)}
			case !bytes.Equal(e.PrevHash, prev.Hash):
				return count, &BrokenError{Seq: e.Seq, Reason: "previous-hash does not match the entry before"}
			case !bytes.Equal(e.Hash, e.ComputeHash()):
				return count, &BrokenError{Seq: e.Seq, Reason: "content does not match its hash"}
			}
			if err := l.checkSeal(ctx, e.Seq, e.Hash, e.Seal); err != nil {
				return count, sealFailure(e.Seq, "the entry ", err)
			}
			prev = e
			count++
			after = e.Seq
		}
		if len(batch) < 1000 {
			return count, nil
		}
	}
}

// Actor helpers keep actor strings uniform.
func Integrator(id string) string { return "integrator:" + id }

// Device names a device actor.
func Device(id string) string { return "device:" + id }

// Operator is the actor of CLI commands.
const Operator = "operator"

// System is the actor of the service's own work (expiry, signing).
const System = "system"

// errSeal says why a seal does not hold.
type errSeal string

func (e errSeal) Error() string { return string(e) }

// sealFailure is a *BrokenError for a bad seal, and the error itself when the seal could
// not be checked (the HSM did not answer): that says nothing about the log.
func sealFailure(seq int64, what string, err error) error {
	var es errSeal
	if errors.As(err, &es) {
		return &BrokenError{Seq: seq, Reason: what + string(es)}
	}
	return fmt.Errorf("audit: entry %d: %w", seq, err)
}

// checkSeal checks a seal when the log has a sealer; without one, seals are not checked.
func (l *Log) checkSeal(ctx context.Context, seq int64, hash, seal []byte) error {
	if l.sealer == nil {
		return nil
	}
	if len(seal) == 0 {
		return errSeal("has no seal")
	}
	want, err := l.sealer.Seal(ctx, sealInput(seq, hash))
	if err != nil {
		return fmt.Errorf("seal cannot be checked: %w", err)
	}
	if !hmac.Equal(want, seal) {
		return errSeal("has a seal the HSM did not make")
	}
	return nil
}
