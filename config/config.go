// Package config owns the service's configuration: one YAML file decoded strictly
// (unknown keys are an error), embedded defaults that need no file at all, and
// environment overrides for containers. No other package reads configuration globally:
// each gets its typed part from cmd.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/paraphe/paraphe/api"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/retention"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/webpush"
)

// Config is the whole configuration.
type Config struct {
	// DataDir holds the SQLite file, the SoftHSM token, the CA certificates (public).
	DataDir string `yaml:"dataDir"`
	// Listen is the HTTP listen address.
	Listen string `yaml:"listen"`
	// TLS serves HTTPS (TLS 1.2 and up, HTTP/2) with a PEM certificate and key.
	TLS TLS `yaml:"tls"`
	// BehindTLSProxy says that a TLS-terminating proxy stands in front: plain HTTP may
	// then be served on a non-loopback address, and X-Forwarded-Proto is believed from
	// TrustedProxies (only).
	BehindTLSProxy bool `yaml:"behindTLSProxy"`
	// PublicURL is the base URL certificates and devices use to reach this service;
	// empty means http://<listen>.
	PublicURL string `yaml:"publicURL"`
	// DatabaseURL selects PostgreSQL (postgres://...); empty means SQLite in DataDir.
	DatabaseURL string `yaml:"databaseURL"`
	// DatabaseURLFile reads DatabaseURL from a file (it may hold a password).
	DatabaseURLFile string `yaml:"databaseURLFile"`
	// HSM selects a PKCS#11 token; an empty module means the embedded SoftHSM2 token
	// created under DataDir/hsm on first start.
	HSM hsm.Config `yaml:"hsm"`
	// KeyType of the users' signing keys: EC-P256 (default) or RSA-3072.
	KeyType hsm.KeyType `yaml:"keyType"`
	// KeyStorage is where users' signing keys are kept: "token" (default: each key a token
	// object) or "wrapped" (each key wrapped under a token key and stored as a blob, so the
	// token holds a fixed number of objects whatever the number of users).
	KeyStorage hsm.KeyStorage `yaml:"keyStorage"`
	// Country is the default countryName of user certificates.
	Country string `yaml:"country"`
	// Requests tunes signature requests.
	Requests Requests `yaml:"requests"`
	// Limits caps request bodies.
	Limits Limits `yaml:"limits"`
	// Blobs selects where PDF mode keeps documents: "dir" (a folder under DataDir) or
	// "database" (the store, for replicas that share no folder). Empty: "database" with
	// PostgreSQL, "dir" with SQLite.
	Blobs string `yaml:"blobs"`
	// TSA lists the time-stamping authorities used for B-T and up, tried in order; empty
	// means this server's built-in TSA (development).
	TSA TSA `yaml:"tsa"`
	// TrustDir holds PEM files of further trust anchors for validation (qualified CAs of
	// the EU trusted lists an operator accepts); the development root is always trusted.
	TrustDir string `yaml:"trustDir"`
	// TrustedLists are EU trusted list files or folders of them (ETSI TS 119 612, XML,
	// each with its operator's certificate as NAME.pem beside NAME.xml, or pointed to by
	// a list of lists among them). Validation takes as anchors the CA/QC services granted
	// at the signing time and reads the qualified status from them. Read at start: the
	// operator keeps the files up to date (paraphe trusted-lists fetch) and restarts.
	TrustedLists []string `yaml:"trustedLists"`
	// Push forwards device notifications to a push gateway (APNs/FCM relay); off when
	// URL is empty.
	Push Push `yaml:"push"`
	// WebPush sends each new request to the signer's browsers (the phone web app) through
	// their push services, signed with a VAPID key kept in the HSM.
	WebPush WebPush `yaml:"webPush"`
	// Demo serves the integrator's demo page at /demo (paraphe serve --demo).
	Demo bool `yaml:"demo"`
	// RateLimits caps request rates (token buckets; 0 turns one off).
	RateLimits RateLimits `yaml:"rateLimits"`
	// Webhooks sets which callback URLs integrators may give.
	Webhooks Webhooks `yaml:"webhooks"`
	// Development says this server is a development one: loopback callback URLs are
	// accepted and GET /metrics is public on the main address. Unset, it follows the
	// HSM: the embedded SoftHSM2 token (no hsm.module) is development only, a real HSM
	// module means production. See IsDevelopment.
	Development *bool `yaml:"development"`
	// Metrics says where GET /metrics (Prometheus) is served; see Metrics.
	Metrics Metrics `yaml:"metrics"`
	// Retention sets how long results, personal details and evidence are kept.
	Retention Retention `yaml:"retention"`
	// TrustedProxies whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trustedProxies"`
	// LogLevel: debug, info, warn, error.
	LogLevel string `yaml:"logLevel"`
}

// Requests tunes signature requests.
type Requests struct {
	DefaultExpiry Duration `yaml:"defaultExpiry"`
	MaxExpiry     Duration `yaml:"maxExpiry"`
	IconChoices   int      `yaml:"iconChoices"`
	// MaxPending caps the pending requests one integrator may have for one signer at a
	// time (push-bombing defence); each integrator has its own count, so one cannot
	// lock a signer out of another's requests.
	MaxPending int `yaml:"maxPending"`
}

// Push configures the push gateway hook. The secret signs each POST like webhooks.
type Push struct {
	URL        string `yaml:"url"`
	SecretFile string `yaml:"secretFile"`
}

// TLS names the server certificate and key files (PEM). The key file may be the
// certificate file when it holds both.
type TLS struct {
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
}

// Enabled reports whether HTTPS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// CheckListen refuses plain HTTP on an address other hosts can reach: PINs travel in
// approval bodies, and browsers give the app its key store and service worker only in a
// secure context. Loopback is fine (the browser treats it as secure; a local proxy or
// test harness sits there), and so is a server behind a TLS-terminating proxy.
func (c Config) CheckListen() error {
	if c.TLS.Enabled() || c.BehindTLSProxy {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("config: listen %q: %w", c.Listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("config: refusing to serve plain HTTP on %s, which other hosts can reach: give a certificate (--tls-cert, --tls-key) or say that a TLS proxy stands in front (--behind-tls-proxy)", c.Listen)
}

// WebPush configures Web Push (RFC 8030, 8291, 8292). Endpoints are URLs that browsers
// (so, outsiders) choose: like webhooks, loopback and private hosts are refused unless
// allowed; plain http only for loopback.
type WebPush struct {
	// Disabled turns Web Push off (no VAPID key is made).
	Disabled bool `yaml:"disabled"`
	// Subject is the VAPID contact (mailto: or https: URL) push services may use.
	Subject string `yaml:"subject"`
	// TTL is how long a push service keeps an undelivered message.
	TTL           Duration `yaml:"ttl"`
	AllowLoopback bool     `yaml:"allowLoopback"`
	AllowPrivate  bool     `yaml:"allowPrivate"`
}

// RateLimits are requests per second with a burst, per integrator API key, per client
// address on the public POST endpoints (enrollment, account blocking, the TSA), and per
// enrolled device on the device calls.
type RateLimits struct {
	PerKey         float64 `yaml:"perKey"`
	PerKeyBurst    int     `yaml:"perKeyBurst"`
	PerIP          float64 `yaml:"perIP"`
	PerIPBurst     int     `yaml:"perIPBurst"`
	TSAPerIP       float64 `yaml:"tsaPerIP"`
	TSABurst       int     `yaml:"tsaBurst"`
	PerDevice      float64 `yaml:"perDevice"`
	PerDeviceBurst int     `yaml:"perDeviceBurst"`
	// DevicePerIP and DevicePerIPBurst limit the device routes per client address,
	// before the call is authenticated: a caller without a device key cannot make the
	// server read bodies and check signatures without end. Generous, for phones behind
	// one address (an office, a carrier's NAT).
	DevicePerIP      float64 `yaml:"devicePerIP"`
	DevicePerIPBurst int     `yaml:"devicePerIPBurst"`
	// PKIPerIP and PKIBurst limit /ocsp, /crl and /crl/root per client address.
	PKIPerIP float64 `yaml:"pkiPerIP"`
	PKIBurst int     `yaml:"pkiBurst"`
	// RedisURL (redis://host:port/db), when set, keeps the buckets in Redis, shared by
	// every replica; otherwise replicas on PostgreSQL share them there.
	RedisURL string `yaml:"redisURL"`
}

// TSA configures the RFC 3161 client, and the built-in TSA.
type TSA struct {
	URLs    []string `yaml:"urls"`
	Timeout Duration `yaml:"timeout"`
	// Policy is the policy OID the client asks for (empty: the TSA's default).
	Policy string `yaml:"policy"`
	// ServerPolicy is the policy OID of the built-in TSA's tokens (empty: its
	// development OID); ServerAccuracy the accuracy it states (default 1s).
	ServerPolicy   string   `yaml:"serverPolicy"`
	ServerAccuracy Duration `yaml:"serverAccuracy"`
}

// Webhooks sets the callback URL policy. Hosts on loopback or private networks are
// refused unless allowed: a callback must not become a way into the operator's network.
type Webhooks struct {
	// AllowLoopback accepts loopback callbacks; only a development server may (unset:
	// yes in development, no otherwise).
	AllowLoopback *bool `yaml:"allowLoopback"`
	AllowPrivate  bool  `yaml:"allowPrivate"`
}

// Metrics places GET /metrics, whose counters (PIN failures, webhook outcomes, request
// rates) are for the operator, not the public. With Listen, metrics are served on that
// address only (a port the public cannot reach) and no longer on the main one; with
// TokenFile, a scraper must send "Authorization: Bearer TOKEN" (the file's content).
// Without either, a development server serves them openly on the main address (the
// acceptance checks read them there) and a production server does not serve them.
type Metrics struct {
	Listen    string `yaml:"listen"`
	TokenFile string `yaml:"tokenFile"`
}

// IsDevelopment reports whether the server runs in development mode: as configured by
// development, else whenever the embedded SoftHSM2 token is the HSM.
func (c Config) IsDevelopment() bool {
	if c.Development != nil {
		return *c.Development
	}
	return c.HSM.Module == ""
}

// LoopbackCallbacks reports whether integrators' callback URLs may be on loopback:
// only in development mode, where webhooks.allowLoopback may still turn it off.
func (c Config) LoopbackCallbacks() bool {
	if !c.IsDevelopment() {
		return false
	}
	return c.Webhooks.AllowLoopback == nil || *c.Webhooks.AllowLoopback
}

// PublicMetrics reports whether GET /metrics is served on the main address without a
// token: in development mode, when neither metrics.listen nor metrics.tokenFile is set.
func (c Config) PublicMetrics() bool {
	return c.IsDevelopment() && c.Metrics.Listen == "" && c.Metrics.TokenFile == ""
}

// MetricsToken reads metrics.tokenFile; empty when none is configured.
func (c Config) MetricsToken() (string, error) {
	if c.Metrics.TokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(c.Metrics.TokenFile)
	if err != nil {
		return "", fmt.Errorf("config: metrics.tokenFile: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return "", errors.New("config: metrics.tokenFile must hold a token of at least 16 characters")
	}
	return tok, nil
}

// Retention sets the retention periods (durations such as "168h" or "7d"); see package
// retention for what each one deletes.
type Retention struct {
	// ResultGrace: results are deleted this long after the integrator's first download.
	ResultGrace Duration `yaml:"resultGrace"`
	// ResultMaxAge: results are deleted this long after the request ended at most.
	ResultMaxAge Duration `yaml:"resultMaxAge"`
	// PseudonymizeAfter: client IPs and document names of finished requests go then.
	PseudonymizeAfter Duration `yaml:"pseudonymizeAfter"`
	// EvidenceKeep: evidence (finished requests) and audit entries are kept this long.
	EvidenceKeep Duration `yaml:"evidenceKeep"`
	// Interval between retention runs in the server.
	Interval Duration `yaml:"interval"`
}

// Limits caps request bodies (in bytes), the validations running at once, and the
// work of every PDF parse.
type Limits struct {
	JSONBody int64 `yaml:"jsonBody"`
	PDFBody  int64 `yaml:"pdfBody"`
	// Validations caps the validations running at once (POST /v1/validations answers
	// 429 beyond); 0 takes the default (4).
	Validations int `yaml:"validations"`
	// PDF bounds every PDF parse: creation, validation, B-LT extension.
	PDF PDFLimits `yaml:"pdf"`
}

// PDFLimits bound the work of one PDF parse (package pdf, Limits); 0 takes the
// default. Hostile documents reach them and are refused (422 at creation,
// INDETERMINATE at validation).
type PDFLimits struct {
	// Objects caps object numbers (default 1,000,000).
	Objects int `yaml:"objects"`
	// Revisions caps the cross-reference sections followed (default 1024).
	Revisions int `yaml:"revisions"`
	// StreamBytes caps one stream, raw or decoded (default 48 MiB).
	StreamBytes int64 `yaml:"streamBytes"`
	// DecodedBytes caps the bytes decoded by one parse, all steps counted (default 256 MiB).
	DecodedBytes int64 `yaml:"decodedBytes"`
	// CacheBytes caps the decoded object streams kept for later reads (default 32 MiB).
	CacheBytes int64 `yaml:"cacheBytes"`
	// ObjectReads caps the objects parsed by one parse (default 2,000,000).
	ObjectReads int `yaml:"objectReads"`
	// Elements caps the elements (numbers, names, array items, ...) parsed by one
	// parse: the memory of parsed objects (default 8,000,000, about 200 MiB).
	Elements int64 `yaml:"elements"`
}

// Duration is a time.Duration written as "5m" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := parseDuration(s)
	if err != nil {
		return fmt.Errorf("config: %q is not a duration: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// parseDuration is time.ParseDuration that also takes a whole number of days ("90d"),
// the unit retention periods are written in.
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days < 0 || days > 100*366 {
			return 0, fmt.Errorf("config: %q: days must be a whole number up to 36600", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// Default returns the embedded defaults for a data folder. The defaults of a service
// are set in its package (its Config's withDefaults, from exported Default values) and
// read from there: this function restates no value a service already defaults to.
// What only the configuration decides (listen address, rate limits, log level) is set
// here.
func Default(dataDir string) Config {
	r := retention.DefaultConfig()
	return Config{
		DataDir:    dataDir,
		Listen:     "127.0.0.1:8080",
		KeyType:    hsm.ECP256,
		KeyStorage: hsm.StorageToken,
		Country:    device.DefaultCountry,
		Requests: Requests{
			DefaultExpiry: Duration(signer.DefaultTTL),
			MaxExpiry:     Duration(signer.DefaultMaxTTL),
			IconChoices:   signer.DefaultIconChoices,
			MaxPending:    signer.DefaultMaxPending,
		},
		Limits: Limits{JSONBody: api.DefaultJSONBody, PDFBody: api.DefaultPDFBody},
		Retention: Retention{
			ResultGrace:       Duration(r.ResultGrace),
			ResultMaxAge:      Duration(r.ResultMaxAge),
			PseudonymizeAfter: Duration(r.PseudonymizeAfter),
			EvidenceKeep:      Duration(r.EvidenceKeep),
			Interval:          Duration(r.Interval),
		},
		// Loopback callbacks: allowed in development mode only (LoopbackCallbacks).
		// Same for Web Push endpoints: tests and development use a loopback push service.
		WebPush: WebPush{Subject: webpush.DefaultSubject, TTL: Duration(webpush.DefaultTTL), AllowLoopback: true},
		// Integrators get room for batch jobs; the public endpoints, which an attacker can
		// reach without credentials (enrollment guesses, blocking others' accounts), get
		// a few calls per second per address; the TSA serves this server's own signing. A
		// phone makes a call or two per screen: 10 per second with a burst of 40 never
		// slows a person, and caps what a stolen device key can throw at the server.
		RateLimits: RateLimits{PerKey: 500, PerKeyBurst: 1000, PerIP: 5, PerIPBurst: 20, TSAPerIP: 200, TSABurst: 400,
			PerDevice: 10, PerDeviceBurst: 40, DevicePerIP: 100, DevicePerIPBurst: 400,
			// Revocation answers are cached, but each new question (an unknown serial)
			// costs an HSM signature: 50 a second per address is far more than a
			// validator checking a few chains needs.
			PKIPerIP: 50, PKIBurst: 100},
		LogLevel: "info",
	}
}

// Load reads the YAML file at path (if not empty) over the defaults, strictly, then
// applies environment overrides (PARAPHE_DATABASE_URL, PARAPHE_LISTEN, PARAPHE_PUBLIC_URL).
func Load(path, dataDir string) (Config, error) {
	c := Default(dataDir)
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("config: %s: %w", path, err)
		}
		if dataDir != "" && c.DataDir == "" {
			c.DataDir = dataDir
		}
	}
	if v := os.Getenv("PARAPHE_DATABASE_URL"); v != "" {
		c.DatabaseURL = v
	}
	if v := os.Getenv("PARAPHE_LISTEN"); v != "" {
		c.Listen = v
	}
	if v := os.Getenv("PARAPHE_PUBLIC_URL"); v != "" {
		c.PublicURL = v
	}
	if v := os.Getenv("PARAPHE_BEHIND_TLS_PROXY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("config: PARAPHE_BEHIND_TLS_PROXY=%q is not a boolean", v)
		}
		c.BehindTLSProxy = b
	}
	if c.DatabaseURLFile != "" && c.DatabaseURL == "" {
		b, err := os.ReadFile(c.DatabaseURLFile)
		if err != nil {
			return c, fmt.Errorf("config: databaseURLFile: %w", err)
		}
		c.DatabaseURL = string(bytes.TrimSpace(b))
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return c, fmt.Errorf("config: data dir: %w", err)
	}
	c.DataDir = abs
	return c, nil
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("config: listen %q: %w", c.Listen, err))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("config: publicURL %q must be an http(s) URL", c.PublicURL))
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("config: tls needs both certFile and keyFile"))
	}
	if c.BehindTLSProxy && c.TLS.Enabled() {
		errs = append(errs, errors.New("config: behindTLSProxy and tls exclude each other"))
	}
	if !c.IsDevelopment() && c.Webhooks.AllowLoopback != nil && *c.Webhooks.AllowLoopback {
		errs = append(errs, errors.New("config: webhooks.allowLoopback needs development mode (development: true)"))
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			errs = append(errs, fmt.Errorf("config: metrics.listen %q: %w", c.Metrics.Listen, err))
		} else if c.Metrics.Listen == c.Listen {
			errs = append(errs, errors.New("config: metrics.listen must differ from listen"))
		}
	}
	if c.KeyType != hsm.ECP256 && c.KeyType != hsm.RSA3072 {
		errs = append(errs, fmt.Errorf("config: keyType must be %s or %s", hsm.ECP256, hsm.RSA3072))
	}
	if u := c.RateLimits.RedisURL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "redis" && p.Scheme != "rediss") || p.Host == "" {
			errs = append(errs, errors.New("config: rateLimits.redisURL must be a redis:// or rediss:// URL with a host (redis://host:port/db)"))
		}
	}
	if err := c.KeyStorage.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("config: keyStorage: %w", err))
	}
	if c.HSM.Module != "" {
		if err := c.HSM.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	r := c.Requests
	if r.DefaultExpiry <= 0 || r.MaxExpiry < r.DefaultExpiry {
		errs = append(errs, errors.New("config: requests.defaultExpiry must be positive and not above maxExpiry"))
	}
	if r.IconChoices < 3 || r.IconChoices > 9 {
		errs = append(errs, errors.New("config: requests.iconChoices must be between 3 and 9"))
	}
	if r.MaxPending < 1 {
		errs = append(errs, errors.New("config: requests.maxPending must be at least 1"))
	}
	if c.Limits.JSONBody < 1024 || c.Limits.PDFBody < 1024 {
		errs = append(errs, errors.New("config: limits must be at least 1024 bytes"))
	}
	if p := c.Limits.PDF; c.Limits.Validations < 0 || p.Objects < 0 || p.Revisions < 0 || p.StreamBytes < 0 || p.DecodedBytes < 0 || p.CacheBytes < 0 || p.ObjectReads < 0 || p.Elements < 0 {
		errs = append(errs, errors.New("config: limits.validations and limits.pdf must not be negative (0 takes the default)"))
	}
	rt := c.Retention
	if rt.ResultGrace <= 0 || rt.ResultMaxAge <= 0 || rt.PseudonymizeAfter <= 0 || rt.EvidenceKeep <= 0 || rt.Interval <= 0 {
		errs = append(errs, errors.New("config: retention periods must be positive"))
	} else if rt.EvidenceKeep < rt.ResultMaxAge || rt.EvidenceKeep < rt.PseudonymizeAfter {
		errs = append(errs, errors.New("config: retention.evidenceKeep must not be shorter than resultMaxAge and pseudonymizeAfter"))
	}
	if c.Blobs != "" && c.Blobs != "dir" && c.Blobs != "database" {
		errs = append(errs, errors.New(`config: blobs must be "dir" or "database"`))
	}
	if len(c.Country) != 2 {
		errs = append(errs, errors.New("config: country must be a two-letter code"))
	}
	return errors.Join(errs...)
}

// BaseURL is the public URL of the service.
func (c Config) BaseURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	return "http://" + c.Listen
}

// TrustFiles lists the PEM files of TrustDir (*.pem, *.crt), sorted.
func (c Config) TrustFiles() ([]string, error) {
	if c.TrustDir == "" {
		return nil, nil
	}
	var out []string
	for _, pat := range []string{"*.pem", "*.crt"} {
		m, err := filepath.Glob(filepath.Join(c.TrustDir, pat))
		if err != nil {
			return nil, fmt.Errorf("config: trustDir: %w", err)
		}
		out = append(out, m...)
	}
	if _, err := os.Stat(c.TrustDir); err != nil {
		return nil, fmt.Errorf("config: trustDir: %w", err)
	}
	sort.Strings(out)
	return out, nil
}
