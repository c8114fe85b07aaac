# memdb — build, run, test. See README.md.
GO      ?= go
BIN     := bin
# Packages that start goroutines: the race detector runs on these (and on
# the store's one contract for another goroutine: an Order merged off the loop).
RACE_PKGS := ./net/... ./host/... ./client/... ./disk/... ./cmd/...

# Chromium, for the dashboard's browser test and make screenshot.
CHROMIUM := ./scripts/need.sh chromium "the dashboard's browser test" chromium chromium fonts-dejavu-core

.PHONY: all build run test lint race e2e bench fuzz clean java java-test java-deps java-jdk screenshot

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
	@./scripts/need.sh redis-tools "the redis-cli and redis-benchmark tests" "redis-cli redis-benchmark" redis-tools
	@$(CHROMIUM)
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -timeout 20m -race $(RACE_PKGS)
	$(GO) test -count=1 -race -run TestOrderMergedOffLoop ./node/store/
	$(GO) test -count=1 -timeout 20m -tags mutants -run TestMutantsCaught ./scenarios/
	$(GO) test -count=1 -timeout 20m -tags mutants ./cmd/memdb-sim/
	$(MAKE) --no-print-directory java-test

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

# The Java client (java/): no Maven Central here, so it builds with javac
# and tests with JUnit 5's console launcher, both from Debian packages,
# installed when missing (CI runs as root on a clean machine).
JAVA_VERSION := 0.1.0
JAVA_OUT     := java/target
JAR          := $(JAVA_OUT)/memdb-client-$(JAVA_VERSION).jar
JUNIT_DIR    := /usr/share/java
JUNIT        := $(JUNIT_DIR)/junit-platform-console-standalone.jar
JUNIT_API    := $(JUNIT_DIR)/junit-jupiter-api.jar:$(JUNIT_DIR)/apiguardian-api.jar:$(JUNIT_DIR)/opentest4j.jar

# Installs what a target needs from Debian when it is missing: the JDK for
# java, the JDK and JUnit 5's console launcher for java-test.
define apt_install
	@if $(1); then \
	  echo "installing $(2) with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $(2) >/dev/null || { \
	    echo "error: could not install $(2): install them (as root) and run make again" >&2; exit 1; }; \
	fi
endef

java-jdk:
	$(call apt_install,! command -v javac >/dev/null 2>&1 || ! command -v jar >/dev/null 2>&1,openjdk-17-jdk-headless)

java-deps:
	$(call apt_install,! command -v javac >/dev/null 2>&1 || ! command -v jar >/dev/null 2>&1 || [ ! -f $(JUNIT) ],openjdk-17-jdk-headless junit5)

# The jar users take: $(JAR), no dependencies.
java: java-jdk
	rm -rf $(JAVA_OUT)/classes && mkdir -p $(JAVA_OUT)/classes
	javac -Xlint:all -Werror --release 17 -encoding UTF-8 -d $(JAVA_OUT)/classes $$(find java/src/main -name '*.java')
	printf 'Automatic-Module-Name: io.memdb.client\nImplementation-Version: $(JAVA_VERSION)\n' >$(JAVA_OUT)/MANIFEST.MF
	jar --create --file $(JAR) --manifest $(JAVA_OUT)/MANIFEST.MF -C $(JAVA_OUT)/classes .
	@echo "built $(JAR)"

# The Java tests: the codec, hash and ring against java/testdata/golden.txt
# (which go test ./java keeps current), then a real 3-node cluster from bin/memdbd.
java-test: java-deps
	$(MAKE) --no-print-directory java
	$(GO) build -o $(BIN)/ ./cmd/memdbd
	$(GO) test -count=1 -run TestTLSFiles ./java -tls.out $(CURDIR)/$(JAVA_OUT)/tls
	rm -rf $(JAVA_OUT)/test-classes && mkdir -p $(JAVA_OUT)/test-classes
	javac -Xlint:all -Werror --release 17 -encoding UTF-8 -cp $(JAVA_OUT)/classes:$(JUNIT_API) \
	  -d $(JAVA_OUT)/test-classes $$(find java/src/test -name '*.java')
	cd java && java -Dmemdb.bin=../$(BIN) -Dmemdb.golden=testdata/golden.txt -Dmemdb.tls=target/tls -jar $(JUNIT) \
	  -cp target/classes:target/test-classes --scan-classpath --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests

# The dashboard's picture in README.md: a 3-node cluster under load for
# 40 s, node 1's dashboard shot by headless chromium (installed when
# missing) into docs/dashboard.png.
screenshot:
	@$(CHROMIUM)
	@command -v chromium >/dev/null || { echo "error: chromium is not installed and could not be: install it and run make screenshot again" >&2; exit 1; }
	@mkdir -p docs
	MEMDB_DASHBOARD_PNG=$(CURDIR)/docs/dashboard.png MEMDB_DASHBOARD_LOAD=40s \
	  $(GO) test -count=1 -run '^TestDashboard$$' -v ./e2e/

clean:
	rm -rf $(BIN) .memdb out $(JAVA_OUT)
