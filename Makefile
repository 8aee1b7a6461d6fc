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

golden: ## rewrite golden files; review the diff like code
	$(GO) test ./... -run Golden -update

demo: build ## sanitize a bundled sample Graph response (until the exporter exists)
	@echo "DEMO MODE: demo salt and key, never use them for real data" >&2
	M365EXPORT_SALT=demo-salt M365EXPORT_ENCRYPTION_KEY=demo-key \
	  $(BIN) sanitize --connector outlook-mail \
	  --path '/v1.0/users/0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c/mailFolders/SentItems/messages' \
	  < testdata/demo/sentitems.json

clean:
	rm -rf bin out
