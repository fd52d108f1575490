# warden: build, install, test, bench, lint.
PREFIX ?= $(HOME)/.local
CARGO ?= cargo

.PHONY: build install uninstall test bench lint fmt clean

build:
	$(CARGO) build --release --workspace

install: build
	install -d "$(PREFIX)/bin" "$(PREFIX)/lib/warden"
	install -m 0755 target/release/libwarden.so "$(PREFIX)/lib/warden/libwarden.so"
	install -m 0755 target/release/warden "$(PREFIX)/bin/warden"
	@echo "installed $(PREFIX)/bin/warden and $(PREFIX)/lib/warden/libwarden.so"

# The end-to-end tests run the real binaries, so build them before the tests start, and the
# real Codex CLI pinned in tests/package-lock.json, so install it when it is missing or older
# than the lock file (the stamp is written only after `npm ci` succeeded).
NPM ?= npm
CODEX_STAMP ?= tests/node_modules/.warden-npm-ci

test: $(CODEX_STAMP)
	$(CARGO) build --workspace
	$(CARGO) test --workspace

$(CODEX_STAMP): tests/package-lock.json
	cd tests && $(NPM) ci --no-audit --no-fund
	touch "$@"

# Release binaries first: the exec benchmark measures the library and daemon users install.
# The engine and daemon benchmarks leave their results in $(BENCH_OUT), where the exec
# benchmark, run last, reads them back for its table of targets.
BENCH_OUT := target/bench
bench:
	$(CARGO) build --release --workspace
	rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT)
	CRITERION_HOME=$(CURDIR)/$(BENCH_OUT)/criterion $(CARGO) bench -p warden --bench engine -- --warm-up-time 1 --measurement-time 3
	$(CARGO) bench -p warden --bench preflight > $(BENCH_OUT)/preflight.txt && cat $(BENCH_OUT)/preflight.txt
	$(CARGO) bench -p warden-tests --bench exec_overhead -- --results $(CURDIR)/$(BENCH_OUT)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
