# m365export — see README.md.
SHELL     := /bin/bash
GO        ?= go
BIN       := bin/m365export
SHARED    ?= ../shared
GOFLAGS_T ?= -short -count=1 -timeout 20m
# The linters are pinned in the separate tools module (tools/go.mod), so the
# main module does not gain their dependencies; built into a gitignored dir.
TOOLS_BIN := $(CURDIR)/.cache/bin
# golangci-lint's exit status when it reports findings (CI overrides it for now).
LINT_ISSUES_EXIT_CODE ?= 1

.PHONY: all build image test duckdb race bench chaos compat demo golden docs tools lint deadcode clean

all: build test

build: ## build bin/m365export
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/export

# The image's version label and m365export/jobs.Version (the revision label
# comes from the binary's VCS stamp).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

image: ## multi-platform OCI image (linux/amd64, linux/arm64) without Docker: bin/image (OCI layout) and bin/image.tar
	$(GO) run ./cmd/mkimage -out bin/image -tar bin/image.tar -version $(VERSION)

test: duckdb ## hermetic tests (no network beyond loopback); installs DuckDB's npm package for the analysts' check
	$(GO) test $(GOFLAGS_T) ./...

duckdb: testdata/duckdb/node_modules/.installed ## DuckDB's npm package, which the Parquet tests read the output with

testdata/duckdb/node_modules/.installed: testdata/duckdb/package-lock.json
	cd testdata/duckdb && npm ci --no-audit --no-fund --loglevel=error
	touch $@

race: duckdb
	$(GO) test -race $(GOFLAGS_T) ./...

bench: ## issue 7's benchmarks side by side: one table, figures in bench/results.json (~10 min)
	$(GO) run ./bench/cmd/benchreport -out bench/results.json

chaos: build ## 20 SIGKILL/SIGTERM crash trials, each re-run must equal the emulator's ground truth
	$(GO) test ./jobs -run '^TestChaos_KillAndRerunIsExact$$' -count=1 -timeout 15m -v \
		-args -chaos.trials=20 -chaos.users=40 -chaos.bin=$(abspath $(BIN)) | tee /tmp/m365export-chaos.log | grep -E '^(--- |FAIL|ok|chaos:)' ; \
		status=$${PIPESTATUS[0]}; grep -E '^ *chaos: [0-9]+/[0-9]+ ' /tmp/m365export-chaos.log | tail -2 | sed 's/^ *//'; exit $$status

compat: ## compare the sanitizer with psoxy's published examples (needs ../shared)
	$(GO) run ./rules/compattool -fixtures $(SHARED)/fixtures/psoxy -known rules/testdata/compat-known-diffs.txt

golden: ## rewrite golden files (the packages that own goldens); review the diff like code
	$(GO) test ./rules ./jobs ./jobs/tables ./sources/graphsim -run Golden -count=1 -update

docs: ## the data dictionary: every table and column, with its Graph source
	$(GO) run ./jobs/tables/cmd/docgen > jobs/tables/data-dictionary.md
	@echo "wrote jobs/tables/data-dictionary.md"

demo: build ## export every connector from the built-in Graph emulator into ./out (DEMO salt and key)
	rm -rf out .m365export-state
	$(BIN) --demo --connector all --log-format text --log-level warn
	@echo "Parquet files:" && find out -name '*.parquet' | sort | head -20 && echo "(…)"

tools: ## build golangci-lint and deadcode at the versions pinned in tools/go.mod (cold ~6 min, then cached)
	cd tools && $(GO) build -o $(TOOLS_BIN)/ \
		-ldflags "-X main.version=$$($(GO) list -m -f '{{.Version}}' github.com/golangci/golangci-lint/v2)" \
		github.com/golangci/golangci-lint/v2/cmd/golangci-lint golang.org/x/tools/cmd/deadcode

lint: tools ## golangci-lint (.golangci.yml) over the main module; bench/sdkbaseline and tools are separate modules
	$(TOOLS_BIN)/golangci-lint run --issues-exit-code=$(LINT_ISSUES_EXIT_CODE) ./...

deadcode: tools ## functions unreachable from the commands (with and without the tests as roots); a report, never fails
	@echo "== unreachable from main packages and tests (deadcode -test) =="; $(TOOLS_BIN)/deadcode -test ./...
	@echo "== unreachable from main packages only (deadcode) =="; $(TOOLS_BIN)/deadcode ./...

clean:
	rm -rf bin out .m365export-state .cache
