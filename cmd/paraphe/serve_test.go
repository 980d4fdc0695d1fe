package main

import (
	"context"
	"strings"
	"testing"
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
