// FuzzDriver.c — hands a Swift harness's command line and test function to libFuzzer, which `-sanitize=fuzzer`
// links in.
#include "FuzzDriver.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

int orpo_fuzz_main(int argc, char **argv, orpo_fuzz_callback callback) {
  return LLVMFuzzerRunDriver(&argc, &argv, callback);
}
