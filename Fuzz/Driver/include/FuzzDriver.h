// FuzzDriver.h — runs libFuzzer from a Swift harness's main.swift (SwiftPM renames an executable's entry point on
// Linux, so libFuzzer's own main cannot be used).
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef int (*orpo_fuzz_callback)(const uint8_t *data, size_t size);

/// libFuzzer's driver (LLVMFuzzerRunDriver) on the command line given: flags, corpus folders, crash files.
int orpo_fuzz_main(int argc, char **argv, orpo_fuzz_callback callback);
