# m365export — see README.md.
GO        ?= go
BIN       := bin/m365export
SHARED    ?= ../shared
GOFLAGS_T ?= -short -count=1

.PHONY: all build test race bench compat demo golden docs lint clean

all: build test

build: ## build bin/m365export
	$(GO) build -o $(BIN) ./cmd/export

test: ## hermetic tests (no network beyond loopback)
	$(GO) test $(GOFLAGS_T) ./...

race:
	$(GO) test -race $(GOFLAGS_T) ./...

bench: ## benchmarks; figures in bench/results.json
	$(GO) test -run '^$$' -bench . -benchmem ./...

compat: ## compare the sanitizer with psoxy's published examples (needs ../shared)
	$(GO) run ./rules/compattool -fixtures $(SHARED)/fixtures/psoxy -known rules/testdata/compat-known-diffs.txt

golden: ## rewrite golden files (the packages that own goldens); review the diff like code
	$(GO) test ./rules ./jobs ./jobs/tables ./sources/graph/graphsim -run Golden -count=1 -update

docs: ## the data dictionary: every table and column, with its Graph source
	$(GO) run ./jobs/tables/cmd/docgen > jobs/tables/data-dictionary.md
	@echo "wrote jobs/tables/data-dictionary.md"

demo: build ## export all five connectors from the built-in Graph emulator into ./out (DEMO salt and key)
	rm -rf out .m365export-state
	$(BIN) --demo --connector entra-id,outlook-cal,outlook-mail,msft-teams,msft-copilot --log-format text --log-level warn
	@echo "Parquet files:" && find out -name '*.parquet' | sort | head -20 && echo "(…)"

clean:
	rm -rf bin out .m365export-state
