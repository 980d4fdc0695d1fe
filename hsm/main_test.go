package hsm

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/paraphe/paraphe/internal/testenv"
)

// testCfg opens the one SoftHSM2 token that TestMain creates for the whole
// package; skipReason is set when it could not be created.
var (
	testCfg    Config
	testDir    string
	skipReason string
)

const testTokenLabel = "paraphe-test"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := FindSoftHSMModule(); err != nil {
		skipReason = "SoftHSM2 is not installed, skipping HSM tests: " + err.Error()
		fmt.Fprintln(os.Stderr, skipReason)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "hsm-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	testDir = dir
	testCfg, err = InitSoftHSM(ctx, dir, testTokenLabel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating the SoftHSM2 test token:", err)
		return 1
	}
	testCfg.Sessions = 4
	return m.Run()
}

// openToken opens the test token with the given pool size (0: the test
// default) and closes it when the test ends.
func openToken(tb testing.TB, sessions int) *Token {
	tb.Helper()
	if skipReason != "" {
		testenv.Missing(tb, "%s", skipReason)
	}
	cfg := testCfg
	if sessions > 0 {
		cfg.Sessions = sessions
	}
	tok, err := Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := tok.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return tok
}

// uniqueLabel returns a label no other test uses.
func uniqueLabel(tb testing.TB, prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, tb.Name(), time.Now().UnixNano())
}
