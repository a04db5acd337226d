// CZlib — the system zlib, for Parquet's GZIP pages. inflateInit2 is a macro, so it is wrapped here.
#include <zlib.h>

// Starts inflating a gzip or zlib stream (windowBits 15 + 32: detect the header).
static inline int czlib_inflate_init(z_stream *stream) { return inflateInit2(stream, 15 + 32); }
