// Package testenv tells tests what to do when an outside tool they need (SoftHSM2,
// openssl, pdfsig, qpdf, certutil) is missing: skip on a developer's machine, fail in CI.
// CI (CI=true) installs every tool through make test, so a missing one there is a broken
// setup, and a skip would let the suite pass without testing anything.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (the environment variable CI is "true").
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips tb, or fails it in CI, saying what is missing.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		tb.Fatalf("%s (CI=true: make test installs it, so its absence is an error)", msg)
		return
	}
	tb.Skip(msg)
}

// Tool returns the path of an outside program, or skips (fails in CI) when it is not in
// PATH.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, "%s not installed: skipping the check that needs it", name)
	}
	return p
}
