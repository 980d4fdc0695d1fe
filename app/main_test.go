package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/paraphe/paraphe/app"
	"github.com/paraphe/paraphe/config"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/internal/testenv"
)

// The whole service, once per test binary: a SoftHSM2 token is bound to the process by
// SOFTHSM2_CONF, so every test shares one data folder and makes its own integrators and
// users in it.
var (
	testEnv *app.Env
	testSrv *httptest.Server
	testSvc *app.Service
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := hsm.FindSoftHSMModule(); err != nil {
		fmt.Println("SKIP app end-to-end tests: SoftHSM2 is not installed (apt-get install softhsm2):", err)
		if testenv.InCI() {
			fmt.Println("FAIL: CI=true and SoftHSM2 is missing; make test installs it")
			return 1
		}
		return 0
	}
	dir, err := os.MkdirTemp("", "paraphe-app-test-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Default(filepath.Join(dir, "data"))
	cfg.Listen = srv.Listener.Addr().String()
	// Every simulated device shares one address: per-address limits would turn the
	// tests' many enrollments into 429s (the limiter has its own tests in api).
	cfg.RateLimits = config.RateLimits{}
	// a foreign root CA in trustDir: the validation API must trust it
	trust := filepath.Join(dir, "trust")
	if foreign, err = newForeignPKI(trust); err != nil {
		fmt.Println("foreign PKI:", err)
		return 1
	}
	cfg.TrustDir = trust
	// another root CA, known only from an EU trusted list (trustedLists:)
	tl := filepath.Join(dir, "tl")
	if listed, err = newListedPKI(tl, filepath.Join(dir, "listed-pki")); err != nil {
		fmt.Println("listed PKI:", err)
		return 1
	}
	cfg.TrustedLists = []string{tl}
	svc, err := app.Build(ctx, cfg, app.NewLogger("error"))
	if err != nil {
		fmt.Println("build:", err)
		return 1
	}
	defer svc.Close()
	srv.Config.Handler = svc.Handler
	srv.Start()
	defer srv.Close()
	testEnv, testSrv, testSvc = svc.Env, srv, svc
	return m.Run()
}

// startBuilt builds a second server on cfg beside the shared one, serves it over
// httptest and runs its workers; all of it stops at the end of the test, or when the
// returned function is called (it waits for the workers to end).
func startBuilt(t *testing.T, cfg config.Config, log *slog.Logger) (*app.Service, *httptest.Server, func()) {
	t.Helper()
	svc, err := app.Build(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler)
	wctx, stop := context.WithCancel(context.Background())
	workers := make(chan struct{})
	go func() { svc.RunWorkers(wctx, log); close(workers) }()
	var once sync.Once
	end := func() {
		once.Do(func() {
			stop()
			<-workers
			srv.Close()
			svc.Close()
		})
	}
	t.Cleanup(end)
	return svc, srv, end
}
