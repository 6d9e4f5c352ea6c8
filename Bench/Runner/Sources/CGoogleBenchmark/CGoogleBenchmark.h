// Google Benchmark's C++ header, for hinix-bench (see module.modulemap).
#ifdef __cplusplus
#include <benchmark/benchmark.h>
#endif
