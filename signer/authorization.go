package signer

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/engine"
	"github.com/paraphe/paraphe/errkind"
)

// An authorization is a request of the raw format: the signer approves its digests on the
// phone exactly as for any request, but approving signs nothing. The request then reads
// "authorized" until the integrator has consumed every digest it covers (it then reads
// "signed"), or its time runs out, or the signer's account changes. Each digest
// occurrence is signed at most once: a consumption first reserves the occurrences it
// asks for in one conditional update of the store, so two replicas racing on one
// authorization sign once, then signs them, then stores the results.

// AuthorizationStore is what authorizations need from storage beyond Store.
type AuthorizationStore interface {
	// ReserveDocuments reserves, for each digest in order, one document occurrence of an
	// authorized request whose authorization lasts past now, that is neither reserved
	// nor signed; all of them or none. It returns the reserved indexes in the order of
	// digests, or ErrNotCovered (a digest with no free occurrence) or ErrNotAuthorized.
	ReserveDocuments(ctx context.Context, requestID string, digests [][]byte, now time.Time) ([]int, error)
	// ReleaseDocuments frees reserved occurrences that were not signed.
	ReleaseDocuments(ctx context.Context, requestID string, indexes []int) error
	// CompleteDocuments stores the results of reserved occurrences, and moves the request
	// authorized → signed when no occurrence is left unsigned; it reports that move.
	CompleteDocuments(ctx context.Context, requestID string, indexes []int, results [][]byte, at time.Time) (bool, error)
	// ExpiredAuthorizations lists authorized requests whose authorization ended by now,
	// and whether each had at least one occurrence signed.
	ExpiredAuthorizations(ctx context.Context, now time.Time) ([]ExpiredAuthorization, error)
}

// ExpiredAuthorization is an authorization whose time ran out.
type ExpiredAuthorization struct {
	RequestID string
	Used      bool // some of its signatures were made
}

// Errors of authorizations.
var (
	// ErrNotAuthorized: the request is not an authorization the signer approved, or it
	// ended (used up, expired, cancelled).
	ErrNotAuthorized = errkind.New(errkind.Forbidden, "signer: no live authorization")
	// ErrNotCovered: a digest is not among the authorization's free occurrences.
	ErrNotCovered = errkind.New(errkind.Forbidden, "signer: digest not covered by the authorization")
	// ErrWrongCertificate: the authorization's signer no longer has that certificate.
	ErrWrongCertificate = errkind.New(errkind.Conflict, "signer: the signer's current certificate is another one")
)

// maxDescription bounds what the phone shows as the authorization's description: CSC
// allows up to 500 characters.
const maxDescription = 500

func checkDescription(d string) error {
	if !utf8.ValidString(d) || utf8.RuneCountInString(d) > maxDescription {
		return invalidf("description must be at most %d characters", maxDescription)
	}
	if strings.ContainsFunc(d, unsafeRune) {
		return invalidf("description contains control, bidirectional or invisible characters")
	}
	return nil
}

// authorize records the signer's approval of an authorization: which digests (the
// request's documents), how many signatures (one per document), for whom (the request's
// integrator and user), until when.
func (s *Service) authorize(ctx context.Context, dev *device.Device, r *Request, in ApproveInput) (*Request, error) {
	now := s.now().UTC()
	ok, err := s.store.Transition(ctx, r.ID, []Status{StatusPending}, Change{To: StatusAuthorized, DeviceID: dev.ID,
		ChosenIcon: in.Icon, ClientIP: in.ClientIP, At: now, Until: now.Add(s.cfg.AuthorizationTTL)})
	if err != nil {
		return nil, fmt.Errorf("signer: authorize: %w", err)
	}
	if !ok {
		return nil, ErrNotPending
	}
	s.record(ctx, audit.Event{Type: audit.RequestApproved, Actor: audit.Device(dev.ID), RequestID: r.ID,
		Detail: map[string]string{"signatures": fmt.Sprint(len(r.Documents))}})
	s.notify.RequestChanged(ctx, r.UserID, r.ID, string(StatusAuthorized))
	return s.store.Request(ctx, r.ID)
}

// ConsumeInput asks for signatures under an authorization.
type ConsumeInput struct {
	IntegratorID string
	RequestID    string
	// CertificateSerial, when set, must be the serial (lowercase hex) of the signer's
	// current certificate: the credential the integrator names.
	CertificateSerial string
	// Hash is the digests' algorithm; it must be the authorization's.
	Hash    crypto.Hash
	Digests [][]byte
}

// SignFunc makes the signatures of reserved documents with the signer's key and
// certificate, and returns one result per document, in order. The result is kept with
// the request as the evidence of that signature.
type SignFunc func(ctx context.Context, key crypto.Signer, cert *x509.Certificate, docs []Document) ([][]byte, error)

// RawSignatures is a SignFunc that returns raw signature values over the documents'
// digests: ASN.1 DER Ecdsa-Sig-Value for ECDSA keys, PKCS #1 v1.5 for RSA keys.
func RawSignatures(ctx context.Context, key crypto.Signer, _ *x509.Certificate, docs []Document) ([][]byte, error) {
	return engine.Raw(ctx, key, digestsOf(docs))
}

// Authorization returns one of the integrator's authorizations, its expiry settled.
func (s *Service) Authorization(ctx context.Context, integratorID, id string) (*Request, error) {
	r, err := s.Get(ctx, integratorID, id)
	if err != nil {
		return nil, err
	}
	if r.Format != FormatRaw {
		return nil, ErrNotFound
	}
	return r, nil
}

// Consume signs digests under an authorization: it checks the authorization is live and
// belongs to the integrator, that the signer can still sign with the named certificate,
// reserves one free occurrence of each digest (all or none: a refused call consumes
// nothing), records the intent in the audit log, lets sign make the signatures, and
// stores them. The authorization reads "signed" once every occurrence is used.
func (s *Service) Consume(ctx context.Context, in ConsumeInput, sign SignFunc) ([][]byte, error) {
	if s.auths == nil {
		return nil, ErrNotAuthorized
	}
	r, err := s.Authorization(ctx, in.IntegratorID, in.RequestID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if r.Status != StatusAuthorized || r.AuthorizedUntil == nil || !now.Before(*r.AuthorizedUntil) {
		return nil, ErrNotAuthorized
	}
	if len(in.Digests) == 0 {
		return nil, invalidf("no digest to sign")
	}
	if len(r.Documents) == 0 || in.Hash != r.Documents[0].Hash {
		return nil, fmt.Errorf("%w: the authorization covers digests of another algorithm", ErrNotCovered)
	}
	for i, d := range in.Digests {
		if len(d) != in.Hash.Size() {
			return nil, fmt.Errorf("%w: digest %d is not a %s digest", ErrNotCovered, i, HashName(in.Hash))
		}
	}
	id, cert, err := s.activeSigner(ctx, r.UserID)
	if err != nil {
		return nil, err
	}
	if in.CertificateSerial != "" && !strings.EqualFold(in.CertificateSerial, cert.SerialNumber.Text(16)) {
		return nil, ErrWrongCertificate
	}
	idx, err := s.auths.ReserveDocuments(ctx, r.ID, in.Digests, now)
	if err != nil {
		return nil, err
	}
	// From here the occurrences are ours: the work is owed to the reservation, not to
	// the connection that asked for it.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SignTimeout)
	defer cancel()
	out, err := s.consume(sctx, r, id, cert, idx, sign)
	if err != nil {
		if rerr := s.auths.ReleaseDocuments(sctx, r.ID, idx); rerr != nil {
			s.log.Error("reservation not released", "requestId", r.ID, "err", rerr)
		}
		return nil, err
	}
	return out, nil
}

func (s *Service) consume(ctx context.Context, r *Request, id Identity, cert *x509.Certificate, idx []int, sign SignFunc) ([][]byte, error) {
	docs := make([]Document, len(idx))
	for i, j := range idx {
		docs[i] = r.Documents[j]
	}
	key, err := s.engine.Open(ctx, id.KeyRef, cert)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	// Intent before the HSM is used: if the log cannot say what is about to be signed,
	// nothing is signed.
	if _, err := s.audit.Record(ctx, audit.Event{Type: audit.SignatureIntent, Actor: audit.System, RequestID: r.ID,
		Subject: r.UserID, Detail: map[string]string{"certificate": cert.SerialNumber.Text(16), "documents": fmt.Sprint(len(idx)),
			"indexes": joinInts(idx)}}); err != nil {
		return nil, err
	}
	out, err := sign(ctx, key.Key, cert, docs)
	if err != nil {
		return nil, err
	}
	if len(out) != len(docs) {
		return nil, fmt.Errorf("signer: %d results for %d documents", len(out), len(docs))
	}
	done, err := s.auths.CompleteDocuments(ctx, r.ID, idx, out, s.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("signer: store signatures: %w", err)
	}
	s.record(ctx, audit.Event{Type: audit.SignaturesMade, Actor: audit.System, RequestID: r.ID, Subject: r.UserID,
		Detail: map[string]string{"documents": fmt.Sprint(len(idx)), "indexes": joinInts(idx)}})
	if done {
		s.settled(ctx, r, StatusSigned, audit.Event{Type: audit.RequestSigned, Actor: audit.System,
			Detail: map[string]string{"documents": fmt.Sprint(len(r.Documents))}})
	}
	return out, nil
}

func joinInts(v []int) string {
	var b strings.Builder
	for i, n := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, n)
	}
	return b.String()
}

// expireAuthorizations ends the authorizations whose time ran out: "signed" when some of
// their signatures were made (those results stay), "expired" otherwise.
func (s *Service) expireAuthorizations(ctx context.Context) error {
	if s.auths == nil {
		return nil
	}
	ex, err := s.auths.ExpiredAuthorizations(ctx, s.now().UTC())
	if err != nil {
		return fmt.Errorf("signer: expire authorizations: %w", err)
	}
	for _, e := range ex {
		r, err := s.store.Request(ctx, e.RequestID)
		if err != nil {
			return fmt.Errorf("signer: expire authorizations: %w", err)
		}
		to, typ := StatusExpired, audit.RequestExpired
		if e.Used {
			to, typ = StatusSigned, audit.RequestSigned
		}
		if _, err := s.settle(ctx, r, []Status{StatusAuthorized}, Change{To: to, Reason: ReasonAuthorizationExpired},
			audit.Event{Type: typ, Actor: audit.System, Detail: map[string]string{"reason": ReasonAuthorizationExpired}}); err != nil {
			return err
		}
	}
	return nil
}
