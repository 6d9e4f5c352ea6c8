// hinix-bench: the Google Benchmark runner over the CHinix shim.
#include <benchmark/benchmark.h>

#include <mqueue.h>
#include <unistd.h>

#include "CHinix.h"

// The plain-libc floor for an eventfd write+read pair.
static void BM_Floor_EventfdWriteRead(benchmark::State& state) {
  int fd = CHinix_eventfd(0, CHinix_EFD_CLOEXEC);
  uint64_t value = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(write(fd, &value, sizeof value));
    benchmark::DoNotOptimize(read(fd, &value, sizeof value));
  }
  close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Floor_EventfdWriteRead);

BENCHMARK_MAIN();
