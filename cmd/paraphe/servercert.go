package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"

	"github.com/paraphe/paraphe/app"
)

// cmdCAServerCert issues a development TLS server certificate from the development CA
// for the host names and addresses given, with a fresh P-256 key written beside it
// (mode 0600): paraphe serve --tls-cert CERT --tls-key KEY then serves the phone app to
// a phone on the local network that trusts the development root (paraphe ca root).
func cmdCAServerCert(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ca server-cert", flag.ContinueOnError)
	var c common
	c.register(fs)
	certFile := fs.String("cert", "server.pem", "where to write the certificate chain (PEM)")
	keyFile := fs.String("key", "server-key.pem", "where to write the private key (PEM, mode 0600)")
	hosts, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if len(hosts) == 0 {
		return usagef("usage: paraphe ca server-cert [--cert FILE] [--key FILE] HOST-OR-IP...")
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	// The one operator command that creates a missing CA, as before the first start of
	// a TLS server (README): its URLs are those of the configuration (publicURL).
	warnNewDataFolder(cfg.DataDir)
	e, err := app.InitCA(ctx, cfg, app.NewLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer e.Close()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	cert, err := e.CA.IssueServer(ctx, key.Public(), hosts)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	chain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.CA.Issuing().Raw})...)
	if err := os.WriteFile(*keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("ca server-cert: %w", err)
	}
	if err := os.WriteFile(*certFile, chain, 0o644); err != nil {
		return fmt.Errorf("ca server-cert: %w", err)
	}
	return printJSON(map[string]any{"cert": *certFile, "key": *keyFile, "hosts": hosts, "notAfter": cert.NotAfter,
		"next": "paraphe serve --tls-cert " + *certFile + " --tls-key " + *keyFile + "; on the phone, trust the root from: paraphe ca root"})
}
