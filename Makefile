# Makefile — the two commands README.md opens with (`make run`, `make test`) and their building blocks.
# Every target runs the set-up first; it is idempotent and takes well under a second once done.
SWIFT ?= swift
CONFIG ?= release
BIN := .build/$(CONFIG)/orpo

.PHONY: setup build run test quickstart static carry clean fuzz asan

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build -c $(CONFIG) --product orpo

# The main job: the default ORPO training run (README's first command), replacing the previous one in runs/default.
run: build
	$(BIN) train --overwrite-output-dir

# Serial: tests share libtorch's global RNG and its thread pool (2 cores). scripts/test-deps.sh installs what
# only the tests need (chromium, for the curation page's and the compare report's browser tests); quick once installed.
test: setup
	@bash scripts/test-deps.sh
	$(SWIFT) test --no-parallel
	$(MAKE) quickstart

# Examples/ORPOQuickstart, a package that depends on this one, built the way a package that requires orpo-swift by
# URL builds it: libtorch through pkg-config (ORPO_LIBTORCH=pkg-config, no unsafe flags), found at run time through
# LD_LIBRARY_PATH. Run on the tiny test model for 3 steps; it must leave a PEFT adapter behind.
QUICKSTART_RUN := $(CURDIR)/.build/quickstart-run
quickstart: setup
	rm -rf $(QUICKSTART_RUN)
	cd Examples/ORPOQuickstart && ORPO_LIBTORCH=pkg-config PKG_CONFIG_PATH=$(CURDIR)/.torch/pkgconfig \
	  LD_LIBRARY_PATH=$(CURDIR)/.torch/site/torch/lib \
	  $(SWIFT) run ORPOQuickstart --model $(CURDIR)/Tests/TrainingTests/Fixtures/orpo \
	  --data $(CURDIR)/Tests/TrainingTests/Fixtures/orpo/data.jsonl --steps 3 --output $(QUICKSTART_RUN)
	test -s $(QUICKSTART_RUN)/adapter/adapter_model.safetensors
	test -s $(QUICKSTART_RUN)/adapter/adapter_config.json

# A static binary (Swift stdlib linked in) to carry to another machine; libtorch is found through
# LD_LIBRARY_PATH there, or beside the binary in ../lib/torch. Built without Hub downloads (ORPO_NO_NETWORK: the
# machines it is carried to have no network), so it does not link FoundationNetworking and its libcurl.
static: setup
	$(SWIFT) build -c release --product orpo --static-swift-stdlib -Xswiftc -DORPO_NO_NETWORK

# The static binary, stripped and xz-compressed into .carry/ (git-ignored): ~20 MB, small enough to carry to a GPU
# machine with its own PyTorch (the uncompressed binary is ~80 MB). See README "GPUs".
carry: static
	mkdir -p .carry
	strip -o .carry/orpo .build/release/orpo
	xz -T2 -6 -f .carry/orpo
	@ls -la .carry/orpo.xz

# libFuzzer harnesses (Fuzz/README.md) for the GGUF, safetensors, JSON, tokenizer.json, Jinja and Parquet parsers, built
# in .build-fuzz with -sanitize=fuzzer,address (declared only under ORPO_FUZZ=1: `swift build` never sees them). Each
# runs FUZZ_SECONDS (0: no limit) or FUZZ_RUNS executions, whichever ends first, from the committed seeds in
# Fuzz/Corpus/<name>; inputs it finds collect in .build-fuzz/corpus/<name>, a crash or leak in .build-fuzz/crashes/<name>
# (and the make fails). `make fuzz FUZZ=JSON FUZZ_SECONDS=0 FUZZ_RUNS=10000000` is one harness's long run.
# FUZZ_TIMEOUT is libFuzzer's -timeout, in wall-clock seconds: raise it on a loaded machine (a starved process under
# `nice -n 19` can spend more than 10 s of wall time on a 30 ms input, and libFuzzer then reports a timeout).
FUZZ ?= JSON GGUF SafeTensors Tokenizer ChatTemplate Parquet
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 10000000
FUZZ_TIMEOUT ?= 10
fuzz: setup
	for h in $(FUZZ); do \
	  ORPO_FUZZ=1 $(SWIFT) build -c release --build-path .build-fuzz --product Fuzz$$h \
	    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld || exit 1; \
	done
	for h in $(FUZZ); do \
	  mkdir -p .build-fuzz/corpus/$$h .build-fuzz/crashes/$$h && \
	  .build-fuzz/release/Fuzz$$h -max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=.build-fuzz/crashes/$$h/ .build-fuzz/corpus/$$h Fuzz/Corpus/$$h || exit 1; \
	done

# The whole test suite once under AddressSanitizer, in its own build folder .build-asan (debug): every Swift module,
# the tests and the orpo executable the CLI tests start are instrumented; libtorch, libgomp and the C/C++ shims
# (CTorch, CZlib, CZstd) are not. ASAN_OPTIONS: detect_leaks=0, because LeakSanitizer's exit-time report lists what
# libtorch and libgomp keep for the process's lifetime (thread pools, allocator caches, registries) and the Swift
# runtime's metadata caches, none of it ours; leaks in our parsers are what the fuzz harnesses' LeakSanitizer checks.
# About 20 min to build and 15 min to test on 2 cores shared with other builds (5 Dec 2026).
ASAN_OPTIONS ?= detect_leaks=0
asan: setup
	@bash scripts/test-deps.sh
	$(SWIFT) build --build-tests --build-path .build-asan -Xswiftc -sanitize=address
	ASAN_OPTIONS=$(ASAN_OPTIONS) $(SWIFT) test --skip-build --build-path .build-asan --no-parallel

clean:
	rm -rf .build
