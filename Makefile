# Paraphe — build, run and test.
#   make run    start the service on embedded defaults (data in ./data)
#   make test   install missing Debian packages (when root) and run every test
SHELL := /bin/bash
GO ?= go
BIN := bin
DATA ?= ./data
LISTEN ?= 127.0.0.1:8080
DEB_PACKAGES := softhsm2 openssl poppler-utils qpdf libnss3-tools sqlite3 jq curl python3-cryptography python3-yaml opensc nodejs chromium redis-server
export CGO_ENABLED := 1

.PHONY: all build run test test-short race vet fmt bench deps clean acceptance lint web web-deps test-browser

all: build

build: web
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/paraphe ./cmd/paraphe
	$(GO) build -trimpath -o $(BIN)/paraphe-device ./cmd/paraphe-device

# web builds the phone web app (/app/) and the demo page (/demo) from web/src with esbuild
# into web/dist, which the binary embeds. web/dist is committed (a Go build alone works,
# with no Node.js) and TestDistUpToDate checks that it is what the sources give.
web: web-deps
	cd web && node build.mjs

# web-deps installs the locked front-end tools (esbuild, playwright-core, axe-core) from
# web/package-lock.json, again only when the lock file changed.
web-deps:
	@cd web && if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund; fi

# test-browser drives the app and the demo page in Debian's Chromium (web/e2e): every
# screen, axe-core on each, screenshots in web/e2e/shots.
test-browser: build
	cd web && node --test --test-concurrency=1 e2e/

# deps installs the Debian packages the service and the tests need, when run as root
# and something is missing; otherwise it only says what is missing. npm is asked for
# only when no npm command is there: Debian's nodejs lacks it, NodeSource's nodejs
# brings its own and conflicts with Debian's npm package. It starts Redis
# when it is installed and not running.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (run make as root, or apt-get install them)"; fi; \
	fi
	@# The shared rate-limit tests use the machine's Redis on 127.0.0.1:6379; start it
	@# (in-memory, no dump file) when it is installed but not running.
	@if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
	  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null; fi

run: deps build
	$(BIN)/paraphe serve --data $(DATA) --listen $(LISTEN)

vet:
	$(GO) vet ./...
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# test runs the whole suite; the packages with concurrency run under the race detector.
test: deps web-deps vet
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./hsm/ ./store/ ./notify/ ./signer/ ./api/ ./icons/ ./app/ ./tsa/
	$(MAKE) test-browser

# lint runs what CI checks beyond the tests (.ci/lint): go mod tidy changes nothing, gofmt,
# go vet, staticcheck, govulncheck (pinned versions, installed into .tools/).
lint: deps
	bash .ci/lint

# bench measures Paraphe against raw PKCS#11 and pdfsign in one run (docs/performance.md);
# make bench BENCHFLAGS="--quick --json" for the short run as one JSON object.
bench: build
	$(BIN)/paraphe bench $(BENCHFLAGS)

clean:
	rm -rf $(BIN)
