// hinix-bench: `--hinix_callgrind=MODE:N`, a fixed number of operation pairs
// outside Google Benchmark, for counting user-space instructions:
//
//   valgrind --tool=callgrind --toggle-collect=hinix_cg_run \
//     hinix-bench --hinix_callgrind=mq-floor:100000
//
// Only hinix_cg_run (and what it calls) is counted, so queue creation and the
// lazy binding of the first libc call are outside it when a warm-up pair runs
// first. MODE: mq-floor, mq-shim (one 64-byte mq_send + mq_receive pair),
// eventfd-floor, eventfd-shim (one write + read pair), loop (the empty loop).
#include <cstdlib>

#include "common.h"

namespace hb {
namespace {

constexpr size_t kSize = 64;

template <class Ops>
long MqPairs(mqd_t q, char *buf, long n) {
  long failures = 0;
  for (long i = 0; i < n; ++i) {
    unsigned prio;
    failures += Ops::mq_send(q, buf, kSize, 0) != 0;
    failures += Ops::mq_receive(q, buf, kSize, &prio) < 0;
  }
  return failures;
}

template <class Ops>
long EventfdPairs(int fd, long n) {
  long failures = 0;
  for (long i = 0; i < n; ++i) {
    uint64_t value = 1;
    failures += Ops::eventfd_write(fd, value) != 0;
    failures += Ops::eventfd_read(fd, &value) != 0;
  }
  return failures;
}

long EmptyLoop(long n) {
  long failures = 0;
  for (long i = 0; i < n; ++i) {
    benchmark::DoNotOptimize(failures);
  }
  return failures;
}

}  // namespace
}  // namespace hb

// The one function callgrind collects in. noinline, C linkage: a stable name.
extern "C" __attribute__((noinline)) long hinix_cg_run(int mode, mqd_t q, int fd, char *buf, long n) {
  switch (mode) {
    case 0: return hb::MqPairs<hb::FloorOps>(q, buf, n);
    case 1: return hb::MqPairs<hb::ShimOps>(q, buf, n);
    case 2: return hb::EventfdPairs<hb::FloorOps>(fd, n);
    case 3: return hb::EventfdPairs<hb::ShimOps>(fd, n);
    default: return hb::EmptyLoop(n);
  }
}

namespace hb {

int RunCallgrindMode(const char *spec) {
  std::string s(spec);
  size_t colon = s.find(':');
  std::string mode_name = s.substr(0, colon);
  long n = colon == std::string::npos ? 100000 : std::atol(s.c_str() + colon + 1);
  int mode;
  if (mode_name == "mq-floor") mode = 0;
  else if (mode_name == "mq-shim") mode = 1;
  else if (mode_name == "eventfd-floor") mode = 2;
  else if (mode_name == "eventfd-shim") mode = 3;
  else if (mode_name == "loop") mode = 4;
  else {
    fprintf(stderr, "hinix-bench: --hinix_callgrind=MODE:N with MODE mq-floor, mq-shim, "
                    "eventfd-floor, eventfd-shim or loop\n");
    return 2;
  }
  std::string error;
  mqd_t q = CreateAnonymousQueue<FloorOps>(1, kSize, 0, &error);
  if (q == (mqd_t)-1) {
    fprintf(stderr, "hinix-bench: %s\n", error.c_str());
    return 1;
  }
  int fd = eventfd(0, EFD_CLOEXEC);
  char buf[kSize] = {};
  // Warm-up outside the collected function: resolves the PLT entries.
  long failures = MqPairs<FloorOps>(q, buf, 1) + MqPairs<ShimOps>(q, buf, 1) +
                  EventfdPairs<FloorOps>(fd, 1) + EventfdPairs<ShimOps>(fd, 1);
  failures += hinix_cg_run(mode, q, fd, buf, n);
  mq_close(q);
  close(fd);
  printf("%s: %ld pairs, %ld failures\n", mode_name.c_str(), n, failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace hb
