package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"time"
)

// serverValidity is how long a development server certificate lives: 397 days, the most
// browsers accept for a TLS server certificate.
const serverValidity = 397 * 24 * time.Hour

// maxServerNames bounds the names of one server certificate: a development server has
// a host name or two and an address or two.
const maxServerNames = 16

// IssueServer issues a TLS server certificate (extendedKeyUsage serverAuth) for a key
// that the caller holds, naming each host as a DNS name or an IP address. It is for
// development: a phone that trusts the development root can then open the app over
// https on the local network (service workers and WebCrypto need a secure context).
func (a *Authority) IssueServer(ctx context.Context, pub crypto.PublicKey, hosts []string) (*x509.Certificate, error) {
	if len(hosts) == 0 || len(hosts) > maxServerNames {
		return nil, fmt.Errorf("%w: give 1 to %d host names or addresses", ErrInvalidRequest, maxServerNames)
	}
	if err := a.checkLeafKey(pub); err != nil {
		return nil, err
	}
	serial, ski, err := identifiers(pub)
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               a.caName(hosts[0]),
		NotBefore:             now.Add(-backdate),
		NotAfter:              clamp(now.Add(serverValidity), a.issuing.NotAfter),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		SubjectKeyId:          ski,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(h, "."))
		if !validDNSName(name) {
			return nil, fmt.Errorf("%w: %q is neither a host name nor an IP address", ErrInvalidRequest, h)
		}
		tmpl.DNSNames = append(tmpl.DNSNames, name)
	}
	return a.issue(ctx, tmpl, pub)
}

// validDNSName accepts letters, digits and hyphens in dot-separated labels of 1 to 63
// characters, and a leading "*." wildcard label.
func validDNSName(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
