package tsa

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/paraphe/paraphe/cades"
)

// Media types of RFC 3161 section 3.4.
const (
	// ContentTypeQuery is the media type of a DER TimeStampReq.
	ContentTypeQuery = "application/timestamp-query"
	// ContentTypeReply is the media type of a DER TimeStampResp.
	ContentTypeReply = "application/timestamp-reply"
)

// maxRequestBytes caps the body ServeHTTP reads. A TimeStampReq with a
// SHA-512 imprint, a policy and a 160-bit nonce is under 150 bytes and this
// server accepts no extensions, so 4 KiB is generous while keeping floods of
// large bodies cheap.
const maxRequestBytes = 4 << 10

// maxSerialBits is the largest serial number clients must accept (RFC 3161
// section 2.4.2: "up to 160 bits").
const maxSerialBits = 160

// ErrServerFailure reports a failure of the server itself (serial numbers,
// signer), as opposed to a bad request. Respond wraps it.
var ErrServerFailure = errors.New("tsa: server failure")

// Serials hands out timestamp serial numbers. They must be positive, at most
// 160 bits, and unique across restarts and replicas (persisted).
// Implementations must be safe for concurrent use.
type Serials interface {
	NextTimestampSerial(ctx context.Context) (*big.Int, error)
}

// ServerConfig tunes a Server; the zero value gives the defaults.
type ServerConfig struct {
	// Policy is the TSA policy OID written into every token; nil means DevPolicy.
	Policy asn1.ObjectIdentifier
	// Accuracy is the accuracy stated in every token; 0 means one second.
	// Between one microsecond and one hour.
	Accuracy time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives server-side failures; nil means slog.Default().
	Logger *slog.Logger
}

// Server is an RFC 3161 time-stamping authority. It is safe for concurrent
// use provided its crypto.Signer and Serials are.
type Server struct {
	signer   crypto.Signer
	cert     *x509.Certificate
	chain    []*x509.Certificate
	serials  Serials
	policy   asn1.ObjectIdentifier
	accuracy time.Duration
	now      func() time.Time
	log      *slog.Logger
	hash     crypto.Hash // digest of the TSTInfo and of the signed attributes
}

// NewServer returns a TSA signing with signer (an HSM key), whose
// certificate cert must hold signer's public key and a critical extended key
// usage timeStamping only. chain lists the issuing CAs included with cert
// when a request asks for certificates.
func NewServer(signer crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, serials Serials, cfg ServerConfig) (*Server, error) {
	if signer == nil || cert == nil || serials == nil {
		return nil, errors.New("tsa: server needs a signer, a certificate and serials")
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("tsa: certificate public key does not match the signer")
	}
	if err := checkTSACertificate(cert); err != nil {
		return nil, fmt.Errorf("tsa: TSA certificate: %w", err)
	}
	for i, c := range chain {
		if c == nil || len(c.Raw) == 0 {
			return nil, fmt.Errorf("tsa: chain certificate %d is empty", i)
		}
	}
	s := &Server{signer: signer, cert: cert, chain: chain, serials: serials,
		policy: cfg.Policy, accuracy: cfg.Accuracy, now: cfg.Now, log: cfg.Logger, hash: crypto.SHA256}
	if s.policy == nil {
		s.policy = DevPolicy
	}
	if len(s.policy) < 2 {
		return nil, fmt.Errorf("tsa: invalid policy %v", s.policy)
	}
	if s.accuracy == 0 {
		s.accuracy = time.Second
	}
	if s.accuracy < time.Microsecond || s.accuracy > time.Hour {
		return nil, fmt.Errorf("tsa: accuracy %v outside 1µs..1h", s.accuracy)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if k, ok := cert.PublicKey.(*ecdsa.PublicKey); ok {
		switch k.Curve {
		case elliptic.P384():
			s.hash = crypto.SHA384
		case elliptic.P521():
			s.hash = crypto.SHA512
		}
	}
	return s, nil
}

// request is a parsed TimeStampReq (RFC 3161 section 2.4.1).
type request struct {
	imprintDER []byte
	hash       crypto.Hash
	digest     []byte
	policy     asn1.ObjectIdentifier
	nonce      *big.Int
	certReq    bool
}

// rejection is a client mistake: a failure bit and a short text.
type rejection struct {
	fail FailureInfo
	text string
}

func reject(f FailureInfo, text string) *rejection { return &rejection{f, text} }

// parseRequest reads a DER TimeStampReq. Explicit certReq FALSE (not DER,
// it being the DEFAULT) is tolerated.
func parseRequest(der []byte) (*request, *rejection) {
	s := cryptobyte.String(der)
	var body, imprint, alg, imprintDER cryptobyte.String
	var version int64
	var hashOIDv asn1.ObjectIdentifier
	r := &request{}
	if !s.ReadASN1(&body, casn1.SEQUENCE) || !s.Empty() {
		return nil, reject(FailBadDataFormat, "not a DER TimeStampReq")
	}
	if !body.ReadASN1Int64WithTag(&version, casn1.INTEGER) || version != 1 {
		return nil, reject(FailBadDataFormat, "version must be 1")
	}
	if !body.ReadASN1Element(&imprintDER, casn1.SEQUENCE) {
		return nil, reject(FailBadDataFormat, "bad messageImprint")
	}
	r.imprintDER = imprintDER
	outer := imprintDER
	if !outer.ReadASN1(&imprint, casn1.SEQUENCE) ||
		!imprint.ReadASN1(&alg, casn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&hashOIDv) ||
		!imprint.ReadASN1Bytes(&r.digest, casn1.OCTET_STRING) || !imprint.Empty() {
		return nil, reject(FailBadDataFormat, "bad messageImprint")
	}
	if !alg.Empty() { // parameters: absent or NULL
		var null cryptobyte.String
		if !alg.ReadASN1(&null, casn1.NULL) || !null.Empty() || !alg.Empty() {
			return nil, reject(FailBadDataFormat, "bad hash algorithm parameters")
		}
	}
	if r.hash = hashFromOID(hashOIDv); r.hash == 0 {
		return nil, reject(FailBadAlg, "unsupported hash algorithm "+hashOIDv.String()+" (SHA-256, SHA-384, SHA-512 accepted)")
	}
	if len(r.digest) != r.hash.Size() {
		return nil, reject(FailBadDataFormat, "imprint length does not match the hash algorithm")
	}
	if body.PeekASN1Tag(casn1.OBJECT_IDENTIFIER) && !body.ReadASN1ObjectIdentifier(&r.policy) {
		return nil, reject(FailBadDataFormat, "bad reqPolicy")
	}
	if body.PeekASN1Tag(casn1.INTEGER) {
		r.nonce = new(big.Int)
		if !body.ReadASN1Integer(r.nonce) {
			return nil, reject(FailBadDataFormat, "bad nonce")
		}
	}
	if body.PeekASN1Tag(casn1.BOOLEAN) && !body.ReadASN1Boolean(&r.certReq) {
		return nil, reject(FailBadDataFormat, "bad certReq")
	}
	if body.PeekASN1Tag(casn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, reject(FailUnacceptedExtension, "request extensions are not supported")
	}
	if !body.Empty() {
		return nil, reject(FailBadDataFormat, "trailing data in TimeStampReq")
	}
	return r, nil
}

// Respond answers req, a DER TimeStampReq, with a DER TimeStampResp: granted
// with a token, or a rejection naming the client's mistake (badAlg,
// badDataFormat, unacceptedPolicy, unacceptedExtension) with a nil error.
// When the server itself fails (serial numbers, signer, ctx), Respond returns
// a systemFailure response together with an error wrapping ErrServerFailure,
// so that callers can both answer and log.
func (s *Server) Respond(ctx context.Context, req []byte) ([]byte, error) {
	r, rej := parseRequest(req)
	if rej == nil && r.policy != nil && !r.policy.Equal(s.policy) {
		rej = reject(FailUnacceptedPolicy, "unknown policy "+r.policy.String())
	}
	if rej != nil {
		return encodeResponse(statusRejection, rej.text, rej.fail, nil)
	}
	token, err := s.issue(ctx, r)
	if err != nil {
		resp, encErr := encodeResponse(statusRejection, "system failure", FailSystemFailure, nil)
		return resp, errors.Join(fmt.Errorf("%w: %w", ErrServerFailure, err), encErr)
	}
	return encodeResponse(statusGranted, "", -1, token)
}

// issue makes a token for r.
func (s *Server) issue(ctx context.Context, r *request) ([]byte, error) {
	serial, err := s.serials.NextTimestampSerial(ctx)
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	if serial == nil || serial.Sign() <= 0 || serial.BitLen() > maxSerialBits {
		return nil, fmt.Errorf("serial number %v is not positive or exceeds %d bits", serial, maxSerialBits)
	}
	info := tstInfo{policy: s.policy, imprintDER: r.imprintDER, serial: serial, genTime: s.now(),
		accuracy: s.accuracy, nonce: r.nonce, tsaName: s.cert.RawSubject}
	content, err := info.marshal()
	if err != nil {
		return nil, err
	}
	h := s.hash.New()
	h.Write(content)
	sreq := cades.SignRequest{Digest: h.Sum(nil), Hash: s.hash, Signer: s.signer,
		Certificate: s.cert, Chain: s.chain, ContentType: cades.OIDTSTInfo}
	attrs, err := cades.SignedAttributes(sreq)
	if err != nil {
		return nil, err
	}
	sig, err := cades.SignAttributes(ctx, sreq, attrs)
	if err != nil {
		return nil, err
	}
	detached, err := cades.Assemble(sreq, attrs, sig, nil)
	if err != nil {
		return nil, err
	}
	return attachContent(detached, content, r.certReq)
}

// ServeHTTP answers POST requests of type application/timestamp-query with
// an application/timestamp-reply (RFC 3161 section 3.4): 200 for granted and
// rejected requests alike, 503 with a systemFailure response when the server
// fails, 405/415/413/400 for requests that are not time-stamp queries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != ContentTypeQuery {
		http.Error(w, "content type must be "+ContentTypeQuery, http.StatusUnsupportedMediaType)
		return
	}
	der, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	status := http.StatusOK
	resp, err := s.Respond(r.Context(), der)
	if err != nil {
		s.log.ErrorContext(r.Context(), "tsa: time-stamp failed", "err", err)
		status = http.StatusServiceUnavailable
		if resp == nil {
			http.Error(w, "time-stamping unavailable", status)
			return
		}
	}
	w.Header().Set("Content-Type", ContentTypeReply)
	w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
	w.WriteHeader(status)
	w.Write(resp) //nolint:errcheck // the client may be gone; nothing to do
}
