package notify

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

var (
	prod = CallbackPolicy{}
	dev  = CallbackPolicy{AllowLoopback: true}
	lan  = CallbackPolicy{AllowPrivate: true}
	all  = CallbackPolicy{AllowLoopback: true, AllowPrivate: true}
)

func TestValidateCallbackURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxCallbackURLLength-len("https://example.com/"))
	tests := []struct {
		name string
		url  string
		p    CallbackPolicy
		ok   bool
	}{
		{"https public name", "https://hooks.example.com/paraphe?token=abc", prod, true},
		{"http with port", "http://hooks.example.com:8080/cb", prod, true},
		{"public IPv4", "https://93.184.215.14/cb", prod, true},
		{"public IPv6", "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/cb", prod, true},
		{"trailing dot name", "https://example.com./cb", prod, true},
		{"underscore label", "https://my_host.example.com/cb", prod, true},
		{"upper-case scheme", "HTTPS://example.com/cb", prod, true},
		{"exactly the maximum length", long, prod, true},
		{"one byte too long", long + "a", prod, false},

		{"ftp", "ftp://example.com/cb", prod, false},
		{"javascript", "javascript:alert(1)", prod, false},
		{"file", "file:///etc/passwd", prod, false},
		{"no scheme", "example.com/cb", prod, false},
		{"scheme-relative", "//example.com/cb", prod, false},
		{"empty", "", prod, false},
		{"no host", "https:///cb", prod, false},
		{"opaque", "https:example.com", prod, false},
		{"userinfo", "https://user:pass@example.com/cb", prod, false},
		{"user only", "https://user@example.com/cb", prod, false},
		{"fragment", "https://example.com/cb#x", prod, false},
		{"empty fragment", "https://example.com/cb#", prod, false},
		{"space in host", "https://exa mple.com/cb", prod, false},
		{"control character", "https://example.com/\x00", prod, false},
		{"percent-encoded host", "https://%65xample.com/cb", prod, false},
		{"non-ASCII host", "https://bücher.example/cb", prod, false},
		{"port zero", "https://example.com:0/cb", prod, false},
		{"port too big", "https://example.com:65536/cb", prod, false},
		{"empty port", "https://example.com:/cb", prod, false},
		{"bad label", "https://-bad.example.com/cb", prod, false},
		{"empty label", "https://a..example.com/cb", prod, false},
		{"numeric short IPv4", "http://127.1/cb", all, false},
		{"decimal IPv4", "http://2130706433/cb", all, false},
		{"hex IPv4", "http://0x7f.0x0.0x0.0x1/cb", all, false},
		{"IPv6 zone", "http://[fe80::1%25eth0]/cb", all, false},

		{"loopback refused in production", "http://127.0.0.1:8080/cb", prod, false},
		{"loopback allowed in development", "http://127.0.0.1:8080/cb", dev, true},
		{"other loopback address", "http://127.8.9.10/cb", dev, true},
		{"IPv6 loopback refused", "http://[::1]/cb", prod, false},
		{"IPv6 loopback allowed", "http://[::1]:9/cb", dev, true},
		{"IPv4-mapped loopback refused", "http://[::ffff:127.0.0.1]/cb", prod, false},
		{"localhost refused", "http://localhost:8080/cb", prod, false},
		{"localhost allowed", "http://localhost:8080/cb", dev, true},
		{"LOCALHOST. refused", "http://LOCALHOST./cb", prod, false},
		{"sub.localhost refused", "http://app.localhost/cb", prod, false},
		{"sub.localhost allowed", "http://app.localhost/cb", dev, true},
		{"10/8 refused", "http://10.1.2.3/cb", dev, false},
		{"10/8 allowed", "http://10.1.2.3/cb", lan, true},
		{"172.16/12 refused", "http://172.20.0.1/cb", prod, false},
		{"172.32 is public", "http://172.32.0.1/cb", prod, true},
		{"192.168/16 refused", "http://192.168.1.1/cb", prod, false},
		{"carrier NAT refused", "http://100.64.0.1/cb", prod, false},
		{"carrier NAT allowed", "http://100.64.0.1/cb", lan, true},
		{"unique local IPv6 refused", "http://[fd00::1]/cb", prod, false},
		{"unique local IPv6 allowed", "http://[fd00::1]/cb", lan, true},
		{"NAT64 of private refused", "http://[64:ff9b::10.0.0.1]/cb", prod, false},
		{"NAT64 of public allowed", "http://[64:ff9b::93.184.215.14]/cb", prod, true},
		{"IPv4-mapped private refused", "http://[::ffff:192.168.0.1]/cb", prod, false},
		{"link-local metadata always refused", "http://169.254.169.254/latest/meta-data", all, false},
		{"IPv6 link-local always refused", "http://[fe80::1]/cb", all, false},
		{"unspecified always refused", "http://0.0.0.0:8080/cb", all, false},
		{"IPv6 unspecified always refused", "http://[::]:8080/cb", all, false},
		{"this-network always refused", "http://0.1.2.3/cb", all, false},
		{"multicast always refused", "http://224.0.0.1/cb", all, false},
		{"IPv6 multicast always refused", "http://[ff02::1]/cb", all, false},
		{"broadcast always refused", "http://255.255.255.255/cb", all, false},
		{"documentation range refused", "http://192.0.2.1/cb", all, false},
		{"IPv4-compatible loopback refused", "http://[::127.0.0.1]/cb", prod, false},
		{"IPv4-compatible private refused", "http://[::10.0.0.1]/cb", prod, false},
		{"IPv4-compatible metadata always refused", "http://[::169.254.169.254]/cb", all, false},
		{"IPv4-compatible public allowed", "http://[::93.184.215.14]/cb", prod, true},
		{"IPv4-mapped metadata always refused", "http://[::ffff:169.254.169.254]/cb", all, false},
		{"IPv4-mapped hex loopback refused", "http://[::ffff:7f00:1]/cb", prod, false},
		{"6to4 of loopback refused", "http://[2002:7f00:1::1]/cb", prod, false},
		{"6to4 of private refused", "http://[2002:c0a8:101::1]/cb", prod, false},
		{"6to4 of metadata always refused", "http://[2002:a9fe:a9fe::1]/cb", all, false},
		{"6to4 of public allowed", "http://[2002:5db8:d70e::1]/cb", prod, true},
		{"Teredo always refused", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/cb", all, false},
		{"Teredo of loopback refused", "http://[2001:0:53aa:64c:0:0:80ff:fffe]/cb", dev, false},
		{"next to Teredo is public", "http://[2001:4860:4860::8888]/cb", prod, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateCallbackURL(tc.url, tc.p)
			if tc.ok && err != nil {
				t.Fatalf("ValidateCallbackURL(%q, %+v) = %v, want nil", tc.url, tc.p, err)
			}
			if !tc.ok {
				if err == nil {
					t.Fatalf("ValidateCallbackURL(%q, %+v) = nil, want an error", tc.url, tc.p)
				}
				if !errors.Is(err, ErrBadCallbackURL) {
					t.Fatalf("error %v does not wrap ErrBadCallbackURL", err)
				}
				if strings.Contains(err.Error(), "pass") {
					t.Fatalf("error %q repeats user information", err)
				}
			}
		})
	}
}

func TestDialControl(t *testing.T) {
	tests := []struct {
		addr string
		p    CallbackPolicy
		ok   bool
	}{
		{"93.184.215.14:443", prod, true},
		{"[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", prod, true},
		{"127.0.0.1:80", prod, false},
		{"127.0.0.1:80", dev, true},
		{"[::1]:80", dev, true},
		{"[::ffff:127.0.0.1]:80", prod, false},
		{"10.0.0.1:80", dev, false},
		{"10.0.0.1:80", lan, true},
		{"192.168.0.10:80", prod, false},
		{"[fd12::1]:80", prod, false},
		{"169.254.169.254:80", all, false},
		{"0.0.0.0:80", all, false},
		{"[::]:80", all, false},
		{"[::7f00:1]:80", prod, false},
		{"[::a00:1]:80", lan, true},
		{"[2002:a00:1::1]:80", prod, false},
		{"[2002:a00:1::1]:80", lan, true},
		{"[2001:0:4136:e378:8000:63bf:3fff:fdd2]:80", all, false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			network := "tcp4"
			if strings.HasPrefix(tc.addr, "[") {
				network = "tcp6"
			}
			err := tc.p.dialControl(network, tc.addr, nil)
			if (err == nil) != tc.ok {
				t.Fatalf("dialControl(%s, %+v) = %v, want ok=%v", tc.addr, tc.p, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrBadCallbackURL) {
				t.Fatalf("error %v does not wrap ErrBadCallbackURL", err)
			}
		})
	}
	if err := all.dialControl("udp4", "93.184.215.14:53", nil); err == nil {
		t.Fatal("dialControl accepted udp")
	}
}

// TestDialerRefusesPrivate dials through the webhook client's own dialer: the refusal
// happens before any packet is sent, so the unroutable private address answers at once.
func TestDialerRefusesPrivate(t *testing.T) {
	tests := []struct {
		name string
		url  string
		p    CallbackPolicy
	}{
		{"private address", "http://10.255.255.1:9/cb", dev},
		{"link-local metadata", "http://169.254.169.254/latest/meta-data", all},
		// A name passes validation; what it resolves to is checked when dialling, which
		// is what stops a name rebound to a refused network.
		{"name resolving to loopback", "http://localhost:9/cb", prod},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newWebhookClient(tc.p, 5*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, tc.url, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err == nil {
				_ = resp.Body.Close()
				t.Fatalf("POST %s succeeded", tc.url)
			}
			if !errors.Is(err, ErrBadCallbackURL) {
				t.Fatalf("POST %s: %v, want ErrBadCallbackURL", tc.url, err)
			}
			if ctx.Err() != nil || time.Since(start) > 2*time.Second {
				t.Fatalf("refusal took %v: the dialer tried to connect", time.Since(start))
			}
		})
	}
}

func FuzzValidateCallbackURL(f *testing.F) {
	for _, s := range []string{"https://example.com/cb", "http://127.0.0.1:8080/cb", "http://[::1]/x", "http://localhost/",
		"https://u:p@example.com/", "http://10.0.0.1/#f", "http://[64:ff9b::a00:1]/", "ftp://x/", "http://127.1/"} {
		f.Add(s, false, false)
		f.Add(s, true, true)
	}
	f.Fuzz(func(t *testing.T, raw string, loopback, private bool) {
		p := CallbackPolicy{AllowLoopback: loopback, AllowPrivate: private}
		err := ValidateCallbackURL(raw, p)
		if err != nil {
			if !errors.Is(err, ErrBadCallbackURL) {
				t.Fatalf("error %v does not wrap ErrBadCallbackURL", err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("accepted %q that does not parse: %v", raw, perr)
		}
		if len(raw) > MaxCallbackURLLength || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			strings.Contains(raw, "#") {
			t.Fatalf("accepted %q", raw)
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			if err := p.dialControl("tcp6", net.JoinHostPort(ip.String(), "443"), nil); err != nil {
				t.Fatalf("accepted %q whose address the dialer refuses: %v", raw, err)
			}
		}
	})
}
