// CZstd — Debian's libzstd (libzstd-dev), for Parquet's ZSTD pages. Only ZSTD_decompress and its error helpers
// are used.
#include <zstd.h>
