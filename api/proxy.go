package api

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"
)

// hsts asks browsers to use https only, for a year, once they reached the service over
// https: the PIN and the device's calls never go out in the clear afterwards.
const hsts = "max-age=31536000"

// parseProxies reads the trusted proxies (addresses or CIDR prefixes).
func parseProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("api: trusted proxy %q is neither an address nor a prefix", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// secureScheme decides whether a request reached the service over https: TLS here, or,
// behind a TLS proxy, X-Forwarded-Proto: https from one of the trusted proxies. The
// header is removed from every other request, so nothing further on can believe it.
func (s *server) secureScheme(proxies []netip.Prefix) gin.HandlerFunc {
	return func(c *gin.Context) {
		proto := c.GetHeader("X-Forwarded-Proto")
		c.Request.Header.Del("X-Forwarded-Proto")
		secure := c.Request.TLS != nil
		if !secure && s.BehindTLSProxy && proto != "" && fromProxy(c.Request.RemoteAddr, proxies) {
			secure = strings.EqualFold(strings.TrimSpace(strings.Split(proto, ",")[0]), "https")
		}
		if secure {
			c.Request.URL.Scheme = "https"
			c.Header("Strict-Transport-Security", hsts)
		} else {
			c.Request.URL.Scheme = "http"
		}
		c.Next()
	}
}

func fromProxy(remote string, proxies []netip.Prefix) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
