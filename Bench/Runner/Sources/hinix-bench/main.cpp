// hinix-bench: the Google Benchmark runner over the CHinix shim.
//
// Every shim benchmark (BM_Shim_*) has a plain-libc floor (BM_Floor_*) of the
// same shape in the same binary: judge the shim by Shim/Floor in one run,
// with --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
// (scripts/bench does this and prints the ratios). BM_Ref_* are reference
// mechanisms without a shim counterpart. Cross-process benchmarks name their
// CPU placement (cpu:same, cpu:split, cpu:any).
//
// Flags of its own, besides Google Benchmark's:
//   --hinix_iteration_scale=X   multiply the fixed iteration counts (default 1)
//   --hinix_callgrind=MODE:N    run N pairs for callgrind and exit (callgrind.cpp)
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common.h"

int main(int argc, char **argv) {
  // Take out our own flags before Google Benchmark sees the arguments.
  int kept = 1;
  const char *callgrind = nullptr;
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (strncmp(arg, "--hinix_iteration_scale=", 24) == 0) {
      hb::g_iteration_scale = atof(arg + 24);
      if (!(hb::g_iteration_scale > 0)) {
        fprintf(stderr, "hinix-bench: --hinix_iteration_scale needs a positive number\n");
        return 2;
      }
    } else if (strncmp(arg, "--hinix_callgrind=", 18) == 0) {
      callgrind = arg + 18;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  argv[argc] = nullptr;
  if (callgrind) return hb::RunCallgrindMode(callgrind);

  // Line-buffered even into a pipe, so that scripts/bench can show progress
  // (the console reporter writes through std::cout, synced with stdio).
  setvbuf(stdout, nullptr, _IOLBF, 0);
  hb::RegisterLocalBenchmarks();
  hb::RegisterCrossProcessBenchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  hb::AddHostContext();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
