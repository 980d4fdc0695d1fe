package ca

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
)

// maxCertFile bounds what readCertFile reads: a PEM certificate of this CA is
// about 1 KiB; 64 KiB leaves room for RSA keys and comments.
const maxCertFile = 64 << 10

// readCertFile reads exactly one PEM CERTIFICATE from path. A missing file
// gives an error wrapping os.ErrNotExist.
func readCertFile(path string) (*x509.Certificate, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	if info.Size() > maxCertFile {
		return nil, fmt.Errorf("ca: %s: larger than %d bytes", path, maxCertFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("ca: %s: no PEM CERTIFICATE block", path)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, fmt.Errorf("ca: %s: more than one PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ca: %s: %w", path, err)
	}
	return cert, nil
}

// writeCertFile writes cert as PEM to path atomically (temporary file, sync,
// rename), so that a crash never leaves a half-written certificate.
func writeCertFile(path string, cert *x509.Certificate) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("ca: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := pem.Encode(tmp, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}); err != nil {
		tmp.Close()
		return fmt.Errorf("ca: write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil { // certificates are public
		tmp.Close()
		return fmt.Errorf("ca: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("ca: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ca: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("ca: write %s: %w", path, err)
	}
	return nil
}

// Exists reports whether dir holds a CA: its root certificate. Open creates a CA where
// none exists, fixing in its certificates the URLs of Config.BaseURL; a caller that
// cannot know the URL the server will publish checks Exists first.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, fileRoot))
	return err == nil
}
