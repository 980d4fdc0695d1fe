package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsValidate(t *testing.T) {
	c, err := Load("", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "http://127.0.0.1:8080" {
		t.Fatal(c.BaseURL())
	}
}

func TestExampleFileLoads(t *testing.T) {
	t.Setenv("PARAPHE_DATABASE_URL", "postgres://x@127.0.0.1/db")
	// The example names secret files that do not exist here; read it without them.
	b, err := os.ReadFile("../configs/paraphe.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(write(t, strings.ReplaceAll(strings.ReplaceAll(string(b), "databaseURLFile:", "#"), "secretFile:", "#")), "")
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.Requests.DefaultExpiry) != 5*time.Minute || c.HSM.TokenLabel != "paraphe" || c.DatabaseURL != "postgres://x@127.0.0.1/db" {
		t.Fatalf("%+v", c)
	}
}

func TestStrictAndInvalid(t *testing.T) {
	tests := []struct {
		name, yaml string
		loadErr    bool
	}{
		{"unknown key", "listn: 127.0.0.1:1\n", true},
		{"bad duration", "requests:\n  defaultExpiry: soon\n", true},
		{"bad listen", "listen: nowhere\n", false},
		{"bad key type", "keyType: DSA\n", false},
		{"expiry above max", "requests:\n  defaultExpiry: 2h\n  maxExpiry: 1h\n", false},
		{"too few icons", "requests:\n  iconChoices: 2\n", false},
		{"bad public URL", "publicURL: ftp://x\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(write(t, tc.yaml), t.TempDir())
			if tc.loadErr {
				if err == nil {
					t.Fatal("loaded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Validate() == nil {
				t.Fatal("validated")
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	tests := []struct {
		listen string
		tls    bool
		proxy  bool
		ok     bool
	}{
		{"127.0.0.1:8080", false, false, true},
		{"[::1]:8080", false, false, true},
		{"localhost:8080", false, false, true},
		{"127.3.2.1:8080", false, false, true},
		{"0.0.0.0:8080", false, false, false},
		{":8080", false, false, false},
		{"192.168.1.20:8443", false, false, false},
		{"paraphe.example:80", false, false, false},
		{"0.0.0.0:8443", true, false, true},
		{"0.0.0.0:8080", false, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.listen, func(t *testing.T) {
			c := Default(t.TempDir())
			c.Listen, c.BehindTLSProxy = tc.listen, tc.proxy
			if tc.tls {
				c.TLS = TLS{CertFile: "cert.pem", KeyFile: "key.pem"}
			}
			if err := c.CheckListen(); (err == nil) != tc.ok {
				t.Fatalf("CheckListen = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	c := Default(t.TempDir())
	c.TLS.CertFile = "cert.pem"
	if c.Validate() == nil {
		t.Fatal("a certificate without its key validates")
	}
}

// TestDefaultValues: the embedded defaults, now read from the packages that own them,
// are the values the configuration has always documented.
func TestDefaultValues(t *testing.T) {
	c := Default("/data")
	tests := []struct {
		name      string
		got, want any
	}{
		{"requests.defaultExpiry", c.Requests.DefaultExpiry, Duration(5 * time.Minute)},
		{"requests.maxExpiry", c.Requests.MaxExpiry, Duration(time.Hour)},
		{"requests.iconChoices", c.Requests.IconChoices, 4},
		{"requests.maxPending", c.Requests.MaxPending, 5},
		{"limits.jsonBody", c.Limits.JSONBody, int64(1 << 20)},
		{"limits.pdfBody", c.Limits.PDFBody, int64(50_000_000)},
		{"retention.resultGrace", c.Retention.ResultGrace, Duration(7 * 24 * time.Hour)},
		{"retention.resultMaxAge", c.Retention.ResultMaxAge, Duration(30 * 24 * time.Hour)},
		{"retention.pseudonymizeAfter", c.Retention.PseudonymizeAfter, Duration(90 * 24 * time.Hour)},
		{"retention.evidenceKeep", c.Retention.EvidenceKeep, Duration(3653 * 24 * time.Hour)},
		{"retention.interval", c.Retention.Interval, Duration(time.Hour)},
		{"webPush.subject", c.WebPush.Subject, "mailto:operator@paraphe.invalid"},
		{"webPush.ttl", c.WebPush.TTL, Duration(5 * time.Minute)},
		{"country", c.Country, "BE"},
		{"listen", c.Listen, "127.0.0.1:8080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("%v, want %v", tc.got, tc.want)
			}
		})
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
