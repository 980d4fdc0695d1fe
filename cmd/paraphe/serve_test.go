package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paraphe/paraphe/hsm"
)

// TestServeRefusesPlainHTTPOutsideLoopback: the check comes before anything is opened.
func TestServeRefusesPlainHTTPOutsideLoopback(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "0.0.0.0:0"},
		{"--listen", ":0"},
		{"--listen", "0.0.0.0:0", "--tls-cert", "x.pem"},
	} {
		err := cmdServe(context.Background(), append(args, "--data", t.TempDir()))
		if err == nil || !(strings.Contains(err.Error(), "plain HTTP") || strings.Contains(err.Error(), "keyFile")) {
			t.Errorf("serve %v: %v, want a refusal", args, err)
		}
	}
}

// TestServeTLS issues a development server certificate, serves with it and checks what a
// phone's browser gets: a chain to the development root, HTTP/2, HSTS; TLS 1.1 refused.
func TestServeTLS(t *testing.T) {
	if _, err := hsm.FindSoftHSMModule(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("SoftHSM2 is not installed")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cert, key := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	ctx := context.Background()
	if err := cmdCAServerCert(ctx, []string{"--data", data, "--cert", cert, "--key", key, "localhost", "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	rootPEM, err := os.ReadFile(filepath.Join(data, "ca", "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(sctx, []string{"--data", data, "--listen", addr, "--tls-cert", cert, "--tls-key", key})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var resp *http.Response
	for i := 0; ; i++ {
		resp, err = client.Get("https://localhost:" + strings.Split(addr, ":")[1] + "/app/")
		if err == nil {
			break
		}
		if i > 300 {
			t.Fatalf("no https answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("HTTP %d over %s, TLS %v", resp.StatusCode, resp.Proto, resp.TLS)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS over https")
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}}, Timeout: 5 * time.Second}
	if _, err := old.Get("https://" + addr + "/healthz"); err == nil {
		t.Fatal("TLS 1.1 was accepted")
	}
}
