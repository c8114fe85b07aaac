# memdb — build, run, test. See README.md.
GO      ?= go
BIN     := bin
# Packages that start goroutines: the race detector runs on these.
RACE_PKGS := ./net/... ./host/... ./client/... ./disk/... ./cmd/...

.PHONY: all build run test lint race e2e bench fuzz clean

all: build

# memdb-sim is built again with the planted bugs, for `memdb-sim mutants`;
# memdbd and memdb never have them.
build:
	$(GO) build -o $(BIN)/ ./cmd/...
	$(GO) build -tags mutants -o $(BIN)/memdb-sim ./cmd/memdb-sim

# Starts three local nodes in the foreground; Ctrl-C stops them cleanly.
run: build
	./scripts/run-local.sh 3

# The whole suite, as CI runs it; then the planted bugs (node/mutant.go),
# which only a build with the mutants tag contains: the CI seeds must catch
# every one.
test: lint
	@./scripts/redis-tools.sh
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race $(RACE_PKGS)
	$(GO) test -count=1 -tags mutants -run TestMutantsCaught ./scenarios/
	$(GO) test -count=1 -tags mutants ./cmd/memdb-sim/

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags mutants ./node/ ./scenarios/ ./cmd/memdb-sim/
	$(GO) test -run 'TestNodeIsDeterministic|TestLintCatches' ./node/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./net/ ./client/ ./sim/ ./node/...

# Short fuzzing sessions of the wire decoder and the RESP parser (their seed
# corpora run in `make test`).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./net/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./net/resp/

clean:
	rm -rf $(BIN) .memdb out
