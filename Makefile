# The front door. `make` builds build/kroll, `make test` builds and runs every test through
# CTest, `make demo` runs the main walk-through, `make bench` measures (tests/bench/). Missing Debian packages are installed first.
# `make` also assembles the model-server images (complete roots, build/examples/images/). The
# runtime follows KROLL_RUNTIME (the server reads it; the demo's server inherits it), e.g.
# `KROLL_RUNTIME=runc make demo` or `KROLL_RUNTIME=runc make test` runs the pods as containers.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Warnings are errors (CI builds with this); WERROR=OFF for a compiler newer than Debian 12's.
WERROR ?= ON

.PHONY: all deps test-deps bench-deps build test demo demo-progressive bench clean asan fmt fuzz

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKROLL_WERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build test-deps
	cd $(BUILD) && ctest --output-on-failure -j 2

demo: build
	@$(BUILD)/kroll demo

# Setup and the progressive-delivery phases (Argo Rollouts: canary, abort, blue/green analysis).
demo-progressive: build
	@$(BUILD)/kroll demo --progressive

bench-deps:
	@scripts/install-deps.sh --bench

# Figures as a table and in $(BUILD)/bench.json; BENCH_QUICK=1 for a short run (README,
# "Benchmarks"). Never run in parallel with other benchmarks you want to trust.
bench: build bench-deps
	@KROLL_BUILD=$(CURDIR)/$(BUILD) tests/bench/run.sh

asan: deps test-deps
	@cmake -S . -B build-asan -DKROLL_SANITIZE=ON -DKROLL_WERROR=$(WERROR) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan-suppressions.txt:print_suppressions=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 2

# Every tests/fuzz/fuzz_NAME.c for FUZZ_SECONDS each with a random seed. The corpus grows under
# $(BUILD)/fuzz-corpus/NAME across runs; inputs that crash are kept in $(BUILD)/fuzz-findings/NAME.
FUZZ_SECONDS ?= 600
fuzz: test-deps
	@fails=0; for f in tests/fuzz/fuzz_*.c; do \
		n=$${f#tests/fuzz/fuzz_}; n=$${n%.c}; arts=$(CURDIR)/$(BUILD)/fuzz-findings/$$n; \
		mkdir -p "$$arts"; before=$$(ls "$$arts" | wc -l); \
		line=$$(FUZZ_SEED=0 FUZZ_RUNS=-1 FUZZ_SECONDS=$(FUZZ_SECONDS) \
			FUZZ_CORPUS=$(CURDIR)/$(BUILD)/fuzz-corpus/$$n FUZZ_ARTIFACTS=$$arts \
			bash tests/fuzz/run.sh $$n 2>&1 | tee $(CURDIR)/$(BUILD)/fuzz-$$n.log | tail -n 1) || fails=1; \
		found=$$(( $$(ls "$$arts" | wc -l) - before )); \
		echo "$$line; corpus $$(ls $(CURDIR)/$(BUILD)/fuzz-corpus/$$n | wc -l) inputs; $$found new findings"; \
		[ $$found = 0 ] || fails=1; \
	done; exit $$fails

clean:
	rm -rf $(BUILD) build-asan
