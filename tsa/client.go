package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/errkind"
)

// defaultTimeout bounds one attempt at one TSA: public TSAs answer in well
// under a second, and a user waits for the signature.
const defaultTimeout = 10 * time.Second

// maxResponseBytes caps the TimeStampResp read from a TSA. A token with its
// certificate chain is a few kilobytes; 1 MiB leaves room for long chains
// and embedded revocation data while bounding what a broken or hostile TSA
// can make this process hold in memory.
const maxResponseBytes = 1 << 20

// maxClockSkew is how far genTime may lie outside the interval between
// sending the request and receiving the answer. Synchronized clocks differ
// by well under a second; five minutes (the Kerberos default tolerance)
// still catches a TSA whose clock is plainly wrong.
const maxClockSkew = 5 * time.Minute

// Retries of a TSA that answers 429 (too many requests) or 503 (unavailable):
// it is alive but busy, so it is asked again after a pause that doubles from
// retryBase (or what its Retry-After asks, up to retryMaxWait), at most
// maxRetries times and never past the caller's deadline, before the next TSA
// is tried. Three retries over about 1.5 s ride out a burst limit measured
// per second without holding a signer for long.
const (
	maxRetries   = 3
	retryBase    = 200 * time.Millisecond
	retryMaxWait = 2 * time.Second
)

// nonceBytes is the size of the random nonce: 128 bits, so that a replayed
// or mixed-up response is never accepted by chance.
const nonceBytes = 16

// Errors callers may branch on with errors.Is. Each failed attempt wraps
// one of the last five; ErrAllFailed wraps them all.
var (
	// ErrAllFailed reports that no configured TSA produced an acceptable
	// token. It wraps each URL's error (errors.Join), and
	// cades.ErrTimestampUnavailable.
	ErrAllFailed = errkind.New(errkind.Upstream, "tsa: every time-stamping authority failed")
	// ErrInvalidDigest reports a digest or hash the client does not send.
	ErrInvalidDigest = errors.New("tsa: unsupported hash or digest length")
	// ErrInvalidNonce reports a caller's nonce the client does not send.
	ErrInvalidNonce = errors.New("tsa: invalid nonce")
	// ErrHTTP reports a transport failure, an HTTP status other than 200, a
	// wrong content type or an oversized answer.
	ErrHTTP = errors.New("tsa: http exchange failed")
	// ErrRejected reports a TSA answer with a status other than granted.
	ErrRejected = errors.New("tsa: request rejected")
	// ErrInvalidResponse reports an answer that is not a well-formed
	// response or token, whose signature does not verify, or whose genTime
	// is implausible.
	ErrInvalidResponse = errors.New("tsa: invalid response")
	// ErrMismatch reports a token that is not for this request: message
	// imprint, nonce or policy differ.
	ErrMismatch = errors.New("tsa: token does not match the request")
	// ErrCertificate reports a TSA certificate that is unacceptable: wrong
	// extended key usage, not valid at genTime, or not chaining to the roots.
	ErrCertificate = errors.New("tsa: unacceptable TSA certificate")
)

// Config configures a Client.
type Config struct {
	// URLs of the TSAs, tried in order.
	URLs []string `yaml:"urls"`
	// Timeout bounds each attempt; 0 means 10 seconds.
	Timeout time.Duration `yaml:"timeout"`
	// Policy is an optional TSA policy OID ("1.2.3") to request; tokens under
	// another policy are then refused.
	Policy string `yaml:"policy"`
}

// Validate checks c: at least one absolute http(s) URL, a non-negative
// timeout and a well-formed policy OID.
func (c Config) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("tsa: no TSA URL configured")
	}
	for _, s := range c.URLs {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("tsa: invalid TSA URL %q", s)
		}
	}
	if c.Timeout < 0 {
		return fmt.Errorf("tsa: negative timeout %v", c.Timeout)
	}
	if c.Policy != "" {
		if _, err := ParseOID(c.Policy); err != nil {
			return err
		}
	}
	return nil
}

// Responder answers a DER TimeStampReq with a DER TimeStampResp without
// HTTP; *Server is one.
type Responder interface {
	Respond(ctx context.Context, req []byte) ([]byte, error)
}

// Client obtains RFC 3161 timestamp tokens, trying each configured TSA in
// turn. It implements cades.Timestamper and is safe for concurrent use.
type Client struct {
	urls    []*url.URL
	local   map[string]Responder // by sameURL key: TSAs of this process, asked in-process
	timeout time.Duration
	policy  asn1.ObjectIdentifier
	roots   *x509.CertPool
	http    *http.Client
	now     func() time.Time
}

var _ cades.Timestamper = (*Client)(nil)

// NewClient returns a client for cfg. roots are the trust anchors of TSA
// certificates; nil checks no chain, only the token signature and the TSA
// certificate's profile. httpClient nil means a client of its own with the
// default transport.
func NewClient(cfg Config, roots *x509.CertPool, httpClient *http.Client) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{timeout: cfg.Timeout, roots: roots, http: httpClient, now: time.Now}
	for _, s := range cfg.URLs {
		u, _ := url.Parse(s) // checked by Validate
		c.urls = append(c.urls, u)
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	if cfg.Policy != "" {
		c.policy, _ = ParseOID(cfg.Policy)
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	return c, nil
}

// WithLocal returns a copy of c that asks r directly, in-process, wherever
// the TSA at rawURL is configured: the service's own TSA then costs no HTTP
// exchange and no per-address rate limit. The token is checked exactly as
// one received over HTTP.
func (c *Client) WithLocal(rawURL string, r Responder) *Client {
	u, err := url.Parse(rawURL)
	if err != nil {
		return c
	}
	cp := *c
	cp.local = map[string]Responder{}
	for k, v := range c.local {
		cp.local[k] = v
	}
	cp.local[sameURL(u)] = r
	return &cp
}

// sameURL is the key under which two spellings of one TSA URL meet: scheme
// and host in lower case, the default port dropped, the path without a
// trailing slash.
func sameURL(u *url.URL) string {
	host := strings.ToLower(u.Host)
	scheme := strings.ToLower(u.Scheme)
	host = strings.TrimSuffix(host, map[string]string{"http": ":80", "https": ":443"}[scheme])
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// Timestamp returns a timestamp token (the DER ContentInfo of the TSA's
// SignedData) over digest, computed with hash (SHA-256, SHA-384 or
// SHA-512). It asks each TSA in order and returns the first token that
// passes every check listed in the package documentation; if none does, the
// error wraps ErrAllFailed and each TSA's error, prefixed by its URL
// (credentials redacted). The caller's ctx bounds the whole call; once it
// is done no further TSA is tried.
func (c *Client) Timestamp(ctx context.Context, digest []byte, hash crypto.Hash) ([]byte, error) {
	return c.TimestampWithNonce(ctx, digest, hash, nil)
}

// TimestampWithNonce is Timestamp with the caller's nonce in the request, for a caller
// that checks the token itself (CSC's signatures/timestamp); the token must carry that
// nonce, as it must carry the client's own random one when nonce is nil. The nonce must
// be positive and at most 256 bits long.
func (c *Client) TimestampWithNonce(ctx context.Context, digest []byte, hash crypto.Hash, nonce *big.Int) ([]byte, error) {
	if nonce != nil && (nonce.Sign() <= 0 || nonce.BitLen() > 256) {
		return nil, fmt.Errorf("%w: the nonce must be a positive number of at most 256 bits", ErrInvalidNonce)
	}
	if _, ok := hashOID(hash); !ok || len(digest) != hash.Size() {
		return nil, fmt.Errorf("%w: %v with %d bytes", ErrInvalidDigest, hash, len(digest))
	}
	var errs []error
	for _, u := range c.urls {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("tsa: %w", err))
			break
		}
		token, err := c.tryRetrying(ctx, u, digest, hash, nonce)
		if err == nil {
			return token, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", u.Redacted(), err))
	}
	return nil, fmt.Errorf("%w: %w: %w", ErrAllFailed, cades.ErrTimestampUnavailable, errors.Join(errs...))
}

// busyError is an answer 429 or 503: the TSA is alive and asks to be asked
// again later.
type busyError struct {
	status     int
	retryAfter time.Duration // 0 when the TSA gave none
}

func (e *busyError) Error() string { return fmt.Sprintf("HTTP status %d", e.status) }

// tryRetrying asks one TSA, again after a pause when it says it is busy
// (see maxRetries), as long as the caller's deadline leaves time for it.
func (c *Client) tryRetrying(ctx context.Context, u *url.URL, digest []byte, hash crypto.Hash, nonce *big.Int) ([]byte, error) {
	wait := retryBase
	for attempt := 0; ; attempt++ {
		token, err := c.try(ctx, u, digest, hash, nonce)
		var busy *busyError
		if err == nil || attempt == maxRetries || !errors.As(err, &busy) {
			return token, err
		}
		pause := wait
		if busy.retryAfter > 0 {
			pause = min(busy.retryAfter, retryMaxWait)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < pause {
			return nil, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait *= 2
	}
}

// retryAfter reads a Retry-After header given in seconds (RFC 9110,
// section 10.2.3); the HTTP-date form and nonsense give 0.
func retryAfter(h string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(min(n, 3600)) * time.Second
}

// expectation is what a response must match.
type expectation struct {
	digest      []byte
	hash        crypto.Hash
	nonce       *big.Int
	policy      asn1.ObjectIdentifier
	sent, recvd time.Time
}

// try asks one TSA, with the given nonce or, when it is nil, a random one.
func (c *Client) try(ctx context.Context, u *url.URL, digest []byte, hash crypto.Hash, nonce *big.Int) ([]byte, error) {
	if nonce == nil {
		nb := make([]byte, nonceBytes)
		if _, err := rand.Read(nb); err != nil {
			return nil, fmt.Errorf("tsa: nonce: %w", err)
		}
		nonce = new(big.Int).SetBytes(nb)
	}
	exp := expectation{digest: digest, hash: hash, nonce: nonce, policy: c.policy}
	tsq, err := (&timestamp.Request{HashAlgorithm: hash, HashedMessage: digest, Certificates: true,
		Nonce: exp.nonce, TSAPolicyOID: c.policy}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("tsa: encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if r, ok := c.local[sameURL(u)]; ok {
		exp.sent = c.now()
		body, err := r.Respond(ctx, tsq)
		if err != nil {
			return nil, fmt.Errorf("%w: in-process TSA: %w", ErrHTTP, err)
		}
		exp.recvd = c.now()
		return c.checkResponse(body, exp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(tsq))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHTTP, err)
	}
	req.Header.Set("Content-Type", ContentTypeQuery)
	req.Header.Set("Accept", ContentTypeReply)
	exp.sent = c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHTTP, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // lets the connection be reused
		return nil, fmt.Errorf("%w: %w", ErrHTTP, &busyError{status: resp.StatusCode, retryAfter: retryAfter(resp.Header.Get("Retry-After"))})
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP status %d", ErrHTTP, resp.StatusCode)
	}
	// application/timestamp-response is the name some older TSAs still use.
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil ||
		(mt != ContentTypeReply && mt != "application/timestamp-response") {
		return nil, fmt.Errorf("%w: content type %q", ErrHTTP, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read response: %w", ErrHTTP, err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("%w: response larger than %d bytes", ErrHTTP, maxResponseBytes)
	}
	exp.recvd = c.now()
	return c.checkResponse(body, exp)
}

// checkResponse returns the token of a DER TimeStampResp after checking it
// against exp.
func (c *Client) checkResponse(der []byte, exp expectation) ([]byte, error) {
	r, err := parseResponse(der)
	if err != nil {
		return nil, err
	}
	if r.status != statusGranted && r.status != statusGrantedWithMods {
		return nil, fmt.Errorf("%w: %s", ErrRejected, r.statusError())
	}
	if r.token == nil {
		return nil, fmt.Errorf("%w: granted without a token", ErrInvalidResponse)
	}
	// Two independent parsers: cades (strict DER, version, genTime) and
	// digitorus/timestamp (the whole TSTInfo, nonce included).
	tst, err := cades.ParseTimestampToken(r.token)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	info, err := timestamp.Parse(r.token)
	if err != nil {
		return nil, fmt.Errorf("%w: token: %w", ErrInvalidResponse, err)
	}
	if tst.Hash != exp.hash || info.HashAlgorithm != exp.hash ||
		!bytes.Equal(tst.HashedMessage, exp.digest) || !bytes.Equal(info.HashedMessage, exp.digest) {
		return nil, fmt.Errorf("%w: message imprint differs", ErrMismatch)
	}
	if info.Nonce == nil || info.Nonce.Cmp(exp.nonce) != 0 {
		return nil, fmt.Errorf("%w: nonce differs", ErrMismatch)
	}
	if exp.policy != nil && !tst.Policy.Equal(exp.policy) {
		return nil, fmt.Errorf("%w: policy %v, requested %v", ErrMismatch, tst.Policy, exp.policy)
	}
	sd := tst.SignedData
	if len(sd.Signers) != 1 {
		return nil, fmt.Errorf("%w: %d signers", ErrInvalidResponse, len(sd.Signers))
	}
	si := &sd.Signers[0]
	cert, err := sd.SignerCertificate(si)
	if err != nil {
		return nil, fmt.Errorf("%w: TSA certificate not in the token: %w", ErrInvalidResponse, err)
	}
	if len(si.SigningCertificateV2) == 0 {
		if err := checkESSCertID(si, cert); err != nil {
			return nil, err
		}
	}
	if si.Hash == 0 || !si.Hash.Available() {
		return nil, fmt.Errorf("%w: digest algorithm %v", ErrInvalidResponse, si.DigestAlgorithm.Algorithm)
	}
	h := si.Hash.New()
	h.Write(sd.Content)
	if err := sd.VerifySigner(si, cert, h.Sum(nil)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	if err := checkTSACertificate(cert); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	gt := tst.GenTime
	if gt.Before(exp.sent.Add(-maxClockSkew)) || gt.After(exp.recvd.Add(maxClockSkew)) {
		return nil, fmt.Errorf("%w: genTime %s too far from now", ErrInvalidResponse, gt.Format(time.RFC3339))
	}
	if gt.Before(cert.NotBefore) || gt.After(cert.NotAfter) {
		return nil, fmt.Errorf("%w: not valid at genTime %s", ErrCertificate, gt.Format(time.RFC3339))
	}
	if c.roots != nil {
		inter := x509.NewCertPool()
		for _, ic := range sd.Certificates {
			if ic != cert {
				inter.AddCert(ic)
			}
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: c.roots, Intermediates: inter, CurrentTime: gt,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
		}
	}
	return r.token, nil
}
