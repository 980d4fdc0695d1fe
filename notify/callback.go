package notify

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrBadCallbackURL is wrapped by every refusal of a callback URL or of the address it
// resolves to.
var ErrBadCallbackURL = errors.New("notify: bad callback URL")

// MaxCallbackURLLength is the longest callback URL accepted, in bytes. It matches the
// column that stores it and is far above what any real endpoint needs.
const MaxCallbackURLLength = 2048

// CallbackPolicy says which networks integrator callbacks may reach. The zero value
// allows public addresses only, the production setting; development allows loopback.
//
// Link-local (169.254.0.0/16 and fe80::/10, where cloud metadata services answer),
// unspecified, multicast, broadcast and reserved addresses are always refused.
type CallbackPolicy struct {
	// AllowLoopback accepts 127.0.0.0/8, ::1 and the names localhost and *.localhost.
	AllowLoopback bool
	// AllowPrivate accepts RFC 1918, RFC 6598 shared (100.64.0.0/10) and IPv6
	// unique-local (fc00::/7) addresses.
	AllowPrivate bool
}

// ValidateCallbackURL checks a callback URL supplied by an integrator: http or https,
// a host, no user information, no fragment, at most MaxCallbackURLLength bytes, and an
// IP literal or localhost name that p allows. Other host names are resolved only when
// the webhook is sent, by a dialer that applies p to every address it connects to, so a
// name that later resolves to a refused network (DNS rebinding) is still refused.
// Errors wrap ErrBadCallbackURL.
func ValidateCallbackURL(raw string, p CallbackPolicy) error {
	if len(raw) > MaxCallbackURLLength {
		return fmt.Errorf("%w: longer than %d bytes", ErrBadCallbackURL, MaxCallbackURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: does not parse", ErrBadCallbackURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme must be http or https", ErrBadCallbackURL)
	}
	if u.Opaque != "" || u.Host == "" {
		return fmt.Errorf("%w: host required", ErrBadCallbackURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: user information not allowed", ErrBadCallbackURL)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%w: fragment not allowed", ErrBadCallbackURL)
	}
	if port := u.Port(); port != "" {
		if len(port) > 5 || port == "0" || portNumber(port) > 65535 {
			return fmt.Errorf("%w: bad port", ErrBadCallbackURL)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("%w: bad port", ErrBadCallbackURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: host required", ErrBadCallbackURL)
	}
	if strings.Contains(host, "%") {
		return fmt.Errorf("%w: IPv6 zones not allowed", ErrBadCallbackURL)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.checkAddr(ip)
	}
	if strings.HasPrefix(u.Host, "[") {
		return fmt.Errorf("%w: bad IPv6 literal", ErrBadCallbackURL)
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		// RFC 6761: these names always mean the loopback interface.
		if !p.AllowLoopback {
			return fmt.Errorf("%w: loopback host not allowed", ErrBadCallbackURL)
		}
		return nil
	}
	if !validHostName(name) {
		return fmt.Errorf("%w: bad host name", ErrBadCallbackURL)
	}
	return nil
}

// portNumber returns the value of a port of 1 to 5 digits, or a value above 65535 when
// it is not one.
func portNumber(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 1 << 20
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// validHostName accepts DNS names of letters, digits, hyphens and underscores in
// dot-separated labels of 1 to 63 bytes, 253 bytes at most; anything else (spaces,
// percent-encoding, an all-numeric last label that a resolver might read as an IPv4
// address such as "127.1") is refused.
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != "" && !strings.HasPrefix(last, "0x")
}

// Special-purpose ranges beyond those the netip predicates name.
var (
	privateRanges = []netip.Prefix{
		netip.MustParsePrefix("100.64.0.0/10"), // RFC 6598 shared address space (carrier NAT)
	}
	alwaysRefused = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // "this network"; 0.0.0.0 reaches the local host on Linux
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
		netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
		netip.MustParsePrefix("100::/64"),        // discard-only
		netip.MustParsePrefix("2001:db8::/32"),   // documentation
		netip.MustParsePrefix("192.0.2.0/24"),    // documentation
		netip.MustParsePrefix("198.51.100.0/24"), // documentation
		netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	}
	nat64 = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64: the last 4 bytes are an IPv4 address
	// IPv4-compatible IPv6 (deprecated, RFC 4291 2.5.5.1): ::a.b.c.d carries an IPv4
	// address in its last 4 bytes; :: and ::1 are the unspecified and loopback addresses.
	v4compat = netip.MustParsePrefix("::/96")
	// 6to4 (RFC 3056): 2002:AABB:CCDD::/48 routes to the IPv4 address AA.BB.CC.DD.
	sixToFour = netip.MustParsePrefix("2002::/16")
	// Teredo (RFC 4380): 2001:0::/32 tunnels to an IPv4 address hidden (inverted) in the
	// last 4 bytes, through a relay. No webhook receiver lives there: always refused.
	teredo = netip.MustParsePrefix("2001::/32")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address stands for (IPv4-mapped,
// NAT64, IPv4-compatible, 6to4), so that the policy judges the real destination; other
// addresses come back as they are.
func embeddedIPv4(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	b := ip.As16()
	switch {
	case !ip.Is6():
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:]))
	case v4compat.Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte(b[12:]))
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6]))
	}
	return ip
}

// checkAddr applies the policy to one address.
func (p CallbackPolicy) checkAddr(ip netip.Addr) error {
	if ip.Zone() != "" {
		return fmt.Errorf("%w: IPv6 zones not allowed", ErrBadCallbackURL)
	}
	if teredo.Contains(ip) {
		return fmt.Errorf("%w: Teredo address %s not allowed", ErrBadCallbackURL, ip)
	}
	ip = embeddedIPv4(ip)
	switch {
	case !ip.IsValid():
		return fmt.Errorf("%w: no address", ErrBadCallbackURL)
	case ip.IsUnspecified():
		return fmt.Errorf("%w: unspecified address %s", ErrBadCallbackURL, ip)
	case ip.IsMulticast():
		return fmt.Errorf("%w: multicast address %s", ErrBadCallbackURL, ip)
	case ip.IsLinkLocalUnicast():
		return fmt.Errorf("%w: link-local address %s", ErrBadCallbackURL, ip)
	case ip.IsLoopback():
		if !p.AllowLoopback {
			return fmt.Errorf("%w: loopback address %s not allowed", ErrBadCallbackURL, ip)
		}
		return nil
	}
	for _, r := range alwaysRefused {
		if r.Contains(ip) {
			return fmt.Errorf("%w: reserved address %s", ErrBadCallbackURL, ip)
		}
	}
	private := ip.IsPrivate()
	for _, r := range privateRanges {
		private = private || r.Contains(ip)
	}
	if private && !p.AllowPrivate {
		return fmt.Errorf("%w: private address %s not allowed", ErrBadCallbackURL, ip)
	}
	return nil
}

// dialControl is a net.Dialer Control function that refuses to connect to an address
// the policy does not allow. It runs after name resolution, on the very address about
// to be connected, for every address tried.
func (p CallbackPolicy) dialControl(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: network %s not allowed", ErrBadCallbackURL, network)
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadCallbackURL, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadCallbackURL, err)
	}
	return p.checkAddr(ip)
}
