# The front door: `make demo` and `make test` install what they need.
# rustup's cargo when there is one: Debian's (which make test installs for the
# rust-cli template's test, issue 15) is too old to build git-buildkit and
# must not shadow it on a PATH that lists /usr/bin first.
CARGO ?= $(firstword $(wildcard $(if $(CARGO_HOME),$(CARGO_HOME)/bin/cargo) $(HOME)/.cargo/bin/cargo) cargo)
BIN := target/debug/git-buildkit
# What the tests and the demo run: the real tools a user has.
# qemu-utils is listed before qemu-system-x86 on purpose: see scripts/ensure-debs.
VM_DEBS := qemu-utils qemu-system-x86 mmdebstrap e2fsprogs
# gcc, g++ and the -dev packages: the compiled programs of the debhelper tests;
# libdebhelper-perl: debhelper's own snippets, which the systemd test compares with (issue 12).
# python3-pip/-setuptools/-wheel/-venv: Debian's pip builds and fetches the wheels of the Python tests (issue 13).
# python3-pytest and cargo: the python-app and rust-cli templates' tests run with Debian's (issue 15).
# apache2-bin (no service in it) and nginx (unpacked, not installed: see
# TEST_UNPACKED): the production serving snippets are tested on them (issue 16).
TEST_DEBS := git git-flow dpkg-dev lintian xz-utils zstd gzip gpgv sqv apt binutils python3 strace bubblewrap gcc g++ libc6-dev zlib1g-dev libssl-dev libyaml-dev gdb libdebhelper-perl debian-archive-keyring python3-pip python3-setuptools python3-wheel python3-venv python3-pytest cargo apache2-bin libpcre2-8-0 libcrypt1 libssl3 $(VM_DEBS)
# Unpacked into target/test-debs, never installed: installing nginx would
# start (and enable) its service on every address.
TEST_UNPACKED := nginx
DEMO_DEBS := git dpkg-dev lintian xz-utils apt gpgv bubblewrap gcc libc6-dev zlib1g-dev python3-pip python3-setuptools python3-wheel python3-venv $(VM_DEBS)
# apt-cacher-ng itself is unpacked by scripts/bench-proxy (installing it would
# start its service on every address); these are the libraries it needs.
ACNG_LIBS := libevent-2.1-7 libevent-pthreads-2.1-7 libc-ares2 libfuse2 libwrap0 libssl3
BENCH_DEBS := git dpkg-dev xz-utils reprepro aptly gnupg gpgv bc python3 eatmydata python3-pip python3-setuptools python3-wheel python3-venv dh-python dh-virtualenv debhelper $(ACNG_LIBS) $(VM_DEBS)

.PHONY: all build test demo bench lint man deps-test deps-demo deps-bench clean soak fuzz

all: build

build:
	$(CARGO) build --locked

deps-test:
	@scripts/ensure-debs $(TEST_DEBS)
	@scripts/ensure-moto
	@scripts/unpack-debs target/test-debs $(TEST_UNPACKED)

deps-demo:
	@scripts/ensure-debs $(DEMO_DEBS)
	@scripts/ensure-moto

deps-bench:
	@scripts/ensure-debs $(BENCH_DEBS)
	@scripts/ensure-moto

test: deps-test
	$(CARGO) test --locked --all-targets

# kill -9 at 200 random points of `repo add` while apt-get updates in a loop
# (BUILDKIT_SOAK_ROUNDS=N for more); prints the counts, which must all be 0.
soak: deps-test
	$(CARGO) test --locked --test cli repo::crash::soak -- --ignored --nocapture

# The property tests of src/proptests/ for about an hour (FUZZ_SECONDS),
# in rounds of FUZZ_CASES cases per property, each round with a new seed.
FUZZ_SECONDS ?= 3600
FUZZ_CASES ?= 50000
fuzz:
	$(CARGO) test --locked --release --lib --no-run
	@end=$$(( $$(date +%s) + $(FUZZ_SECONDS) )); round=0; \
	while [ $$(date +%s) -lt $$end ]; do \
		round=$$((round + 1)); echo "fuzz round $$round"; \
		PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release --lib proptests:: -- --quiet || exit 1; \
	done

demo: deps-demo build
	@scripts/demo

# Side by side with the peer tools: dpkg-deb (scripts/bench), reprepro and
# aptly (scripts/bench-repo); tag -> VM verdict (scripts/bench-vm); the
# caching apt proxy and apt-cacher-ng (scripts/bench-proxy); Depends from
# ELF files and dpkg-shlibdeps (scripts/bench-shlibs); tag → promoted release
# through staging and the VM upgrade test (scripts/bench-gated, no peer);
# repo push to S3 and aptly's S3 publish on one moto server (scripts/bench-s3);
# index sizes on real Debian stanzas against the archive's (scripts/bench-index).
# BENCH=deb, repo, index, vm, proxy, shlibs, python, gated or s3 runs one of them.
bench: deps-bench
	$(CARGO) build --locked --release
	@case "$${BENCH:-all}" in all|deb) scripts/bench ;; esac
	@case "$${BENCH:-all}" in all|repo) scripts/bench-repo ;; esac
	@case "$${BENCH:-all}" in all|index) scripts/bench-index ;; esac
	@case "$${BENCH:-all}" in all|vm) scripts/bench-vm ;; esac
	@case "$${BENCH:-all}" in all|proxy) scripts/bench-proxy ;; esac
	@case "$${BENCH:-all}" in all|shlibs) scripts/bench-shlibs ;; esac
	@case "$${BENCH:-all}" in all|python) scripts/bench-python ;; esac
	@case "$${BENCH:-all}" in all|gated) scripts/bench-gated ;; esac
	@case "$${BENCH:-all}" in all|s3) scripts/bench-s3 ;; esac

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

# Regenerates man/ from the clap definitions (a test checks it is current).
man: build
	rm -rf man && $(BIN) man man >/dev/null

clean:
	$(CARGO) clean
