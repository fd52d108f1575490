# warden: build, install, test, bench, lint.
PREFIX ?= $(HOME)/.local
CARGO ?= cargo

.PHONY: build install test bench lint fmt clean

build:
	$(CARGO) build --release --workspace

install: build
	install -d "$(PREFIX)/bin" "$(PREFIX)/lib/warden"
	install -m 0755 target/release/libwarden.so "$(PREFIX)/lib/warden/libwarden.so"
	install -m 0755 target/release/warden "$(PREFIX)/bin/warden"
	@echo "installed $(PREFIX)/bin/warden and $(PREFIX)/lib/warden/libwarden.so"

# The end-to-end tests run the real binaries, so build them before the tests start.
test:
	$(CARGO) build --workspace
	$(CARGO) test --workspace

bench:
	$(CARGO) bench -p warden --bench engine

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
