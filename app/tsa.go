package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/tsa"
)

// tsaKeyLabel names the built-in TSA's key in the HSM.
const tsaKeyLabel = "paraphe-tsa"

// tsaRenewBefore renews the TSA certificate well before it ends: a time-stamp made near
// the end of its certificate's life is worth little to a validator years later.
const tsaRenewBefore = 180 * 24 * time.Hour

// openTSA opens the built-in time-stamping authority: its key in the HSM (created on
// first use) and its certificate from the development CA (issued on first use, renewed
// before it ends, recorded in the store so that OCSP answers for it). It needs the CA.
func (e *Env) openTSA(ctx context.Context) error {
	key, err := e.Keys.FindOrGenerateKey(ctx, tsaKeyLabel)
	if err != nil {
		return fmt.Errorf("tsa key: %w", err)
	}
	path := filepath.Join(e.Cfg.DataDir, "ca", "tsa.pem")
	cert, err := readPEMCert(path)
	if err != nil || !samePublicKey(cert, key.Public()) || time.Until(cert.NotAfter) < tsaRenewBefore {
		if cert, err = e.CA.IssueTSA(ctx, key.Public(), "Paraphe Development TSA"); err != nil {
			return fmt.Errorf("tsa certificate: %w", err)
		}
		if err := writePEMCert(path, cert); err != nil {
			return err
		}
	}
	if err := e.Store.RecordCertificate(ctx, device.Certificate{Serial: cert.SerialNumber.Text(16), DER: cert.Raw,
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter}); err != nil {
		return fmt.Errorf("tsa certificate: %w", err)
	}
	scfg := tsa.ServerConfig{Logger: e.Log, Accuracy: time.Duration(e.Cfg.TSA.ServerAccuracy)}
	if e.Cfg.TSA.ServerPolicy != "" {
		if scfg.Policy, err = tsa.ParseOID(e.Cfg.TSA.ServerPolicy); err != nil {
			return fmt.Errorf("config: tsa.serverPolicy: %w", err)
		}
	}
	srv, err := tsa.NewServer(key, cert, e.CA.Chain(), e.Store, scfg)
	if err != nil {
		return err
	}
	e.TSA = srv
	e.TSACert = cert
	return nil
}

func readPEMCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return x509.ParseCertificate(blk.Bytes)
}

func writePEMCert(path string, cert *x509.Certificate) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func samePublicKey(cert *x509.Certificate, pub any) bool {
	k, ok := cert.PublicKey.(interface{ Equal(x any) bool })
	return ok && k.Equal(pub)
}

// timestamper is the RFC 3161 client signatures use: the configured TSAs, in order, or by
// default this server's own TSA, checked against the development root. When this
// process opened the built-in TSA (Build), wherever this server's own /tsa is among them
// it is asked in-process: the server's own time-stamps must not queue behind, or be
// refused by, the per-address limit of /tsa. Elsewhere (operator commands) every TSA is
// asked over HTTP.
func (e *Env) timestamper() (*tsa.Client, error) {
	urls := e.Cfg.TSA.URLs
	own := strings.TrimRight(e.Cfg.BaseURL(), "/") + "/tsa"
	var roots *x509.CertPool
	if len(urls) == 0 {
		urls = []string{own}
		roots = x509.NewCertPool()
		roots.AddCert(e.CA.Root())
	}
	c, err := tsa.NewClient(tsa.Config{URLs: urls, Timeout: time.Duration(e.Cfg.TSA.Timeout), Policy: e.Cfg.TSA.Policy}, roots, nil)
	if err != nil {
		return nil, err
	}
	if e.TSA != nil {
		c = c.WithLocal(own, e.TSA)
	}
	return c, nil
}

// servesBuiltinTSA reports whether POST /tsa is public: when no TSA is configured (the
// built-in one is then the one used), or when this server's own /tsa is among those
// configured.
func (e *Env) servesBuiltinTSA() bool {
	own := strings.TrimRight(e.Cfg.BaseURL(), "/") + "/tsa"
	return len(e.Cfg.TSA.URLs) == 0 || slices.Contains(e.Cfg.TSA.URLs, own)
}
