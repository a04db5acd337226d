// FuzzDriver.c — hands a Swift harness's command line and test function to libFuzzer, which `-sanitize=fuzzer`
// links in.
#include "FuzzDriver.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

int orpo_fuzz_main(int argc, char **argv, orpo_fuzz_callback callback) {
  return LLVMFuzzerRunDriver(&argc, &argv, callback);
}

// LeakSanitizer reads its built-in suppressions here. One entry, not ours to fix: swift-corelibs-foundation's
// _CFRegularExpressionCreate frees the UTF-16 copy of a pattern longer than 256 units only when compilation fails,
// so each successful NSRegularExpression of a long pattern leaks twice its length (Fuzz/Tokenizer found it with a
// 394-character Split regex; seed Fuzz/Corpus/Tokenizer/regression-long-split-regex-leak.json). Sources/Support/RegexCache.swift
// compiles each distinct pattern once, which bounds the leak in the product.
const char *__lsan_default_suppressions(void) {
  return "leak:_CFRegularExpressionCreate\n";
}
