# The front door: `make demo` and `make test` install what they need.
CARGO ?= cargo
BIN := target/debug/git-buildkit
# What the tests and the demo run: the real tools a user has.
TEST_DEBS := git git-flow dpkg-dev lintian xz-utils zstd gzip gpgv sqv apt binutils python3
DEMO_DEBS := git dpkg-dev lintian xz-utils apt gpgv
BENCH_DEBS := git dpkg-dev xz-utils reprepro aptly gnupg gpgv

.PHONY: all build test demo bench lint man deps-test deps-demo deps-bench clean

all: build

build:
	$(CARGO) build --locked

deps-test:
	@scripts/ensure-debs $(TEST_DEBS)

deps-demo:
	@scripts/ensure-debs $(DEMO_DEBS)

deps-bench:
	@scripts/ensure-debs $(BENCH_DEBS)

test: deps-test
	$(CARGO) test --locked --all-targets

demo: deps-demo build
	@scripts/demo

# Side by side with the peer tools: dpkg-deb (scripts/bench), reprepro and
# aptly (scripts/bench-repo). BENCH=deb or BENCH=repo runs one of them.
bench: deps-bench
	$(CARGO) build --locked --release
	@if [ "$${BENCH:-all}" != repo ]; then scripts/bench; fi
	@if [ "$${BENCH:-all}" != deb ]; then scripts/bench-repo; fi

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

# Regenerates man/ from the clap definitions (a test checks it is current).
man: build
	rm -rf man && $(BIN) man man >/dev/null

clean:
	$(CARGO) clean
