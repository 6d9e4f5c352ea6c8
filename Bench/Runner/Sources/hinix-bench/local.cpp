// hinix-bench: same-process benchmarks (no wake-ups, no second CPU involved).
//
//   BM_{Floor,Shim}_MqSendReceive/size:S/prio:P/fill:F
//       one mq_send + one mq_receive on one queue (maxmsg 10, msgsize max(S,1)).
//       prio:0 sends every message at priority 10; prio:1 at a priority drawn
//       from a precomputed table of uniform values in [0, 32). fill:0 starts
//       from an empty queue; fill:9 first queues 9 "ballast" messages at
//       priorities 0..8 (shuffled), so each pair works on a nearly full queue
//       (9 of 10) with mixed priorities: with constant priority 10 the ballast
//       stays put and every pair inserts and removes the highest message; with
//       random priorities the priority tree churns.
//   BM_{Floor,Shim}_EventfdWriteRead           write(1) + read on one eventfd.
//   BM_{Floor,Shim}_EventfdSemaphoreWriteRead  the same with EFD_SEMAPHORE.
#include "common.h"

#include <algorithm>
#include <random>

namespace hb {
namespace {

constexpr long kMaxMsg = 10;
constexpr int kBallast = 9;
constexpr unsigned kConstantPriority = 10;
constexpr size_t kPriorityTable = 4096;  // a power of two

const std::vector<unsigned> &RandomPriorities() {
  static const std::vector<unsigned> table = [] {
    std::mt19937 rng(20261127);
    std::uniform_int_distribution<unsigned> dist(0, 31);
    std::vector<unsigned> t(kPriorityTable);
    for (auto &p : t) p = dist(rng);
    return t;
  }();
  return table;
}

template <class Ops>
void MqSendReceive(benchmark::State &state) {
  HostProbe probe(state);
  const size_t size = size_t(state.range(0));
  const bool random_prio = state.range(1) != 0;
  const int fill = int(state.range(2));
  const long msgsize = std::max<long>(long(size), 1);

  std::string error;
  mqd_t q = CreateAnonymousQueue<Ops>(kMaxMsg, msgsize, 0, &error);
  if (q == (mqd_t)-1) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<char> out(size_t(msgsize), 'h');
  std::vector<char> in(static_cast<size_t>(msgsize));
  if (fill > 0) {
    std::vector<unsigned> ballast(static_cast<size_t>(fill));
    for (int i = 0; i < fill; ++i) ballast[size_t(i)] = unsigned(i);
    std::shuffle(ballast.begin(), ballast.end(), std::mt19937(7));
    for (unsigned p : ballast) {
      if (Ops::mq_send(q, out.data(), size, p) != 0) {
        state.SkipWithError((std::string("mq_send (ballast): ") + strerror(errno)).c_str());
        Ops::mq_close(q);
        return;
      }
    }
  }
  const unsigned *prios = RandomPriorities().data();
  size_t i = 0;
  bool failed = false;
  for (auto _ : state) {
    unsigned prio = random_prio ? prios[i++ & (kPriorityTable - 1)] : kConstantPriority;
    int sent = Ops::mq_send(q, out.data(), size, prio);
    unsigned got_prio;
    ssize_t got = Ops::mq_receive(q, in.data(), in.size(), &got_prio);
    benchmark::DoNotOptimize(got_prio);
    if (__builtin_expect(sent != 0 || got < 0, 0)) {
      failed = true;
      break;
    }
  }
  if (failed) state.SkipWithError((std::string("mq_send/mq_receive: ") + strerror(errno)).c_str());
  Ops::mq_close(q);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * int64_t(size));
}

template <class Ops>
void EventfdWriteRead(benchmark::State &state, int flags) {
  HostProbe probe(state);
  int fd = Ops::eventfd(0, EFD_CLOEXEC | flags);
  if (fd < 0) {
    state.SkipWithError((std::string("eventfd: ") + strerror(errno)).c_str());
    return;
  }
  bool failed = false;
  for (auto _ : state) {
    uint64_t value = 1;
    int w = Ops::eventfd_write(fd, value);
    int r = Ops::eventfd_read(fd, &value);
    benchmark::DoNotOptimize(value);
    if (__builtin_expect(w != 0 || r != 0, 0)) {
      failed = true;
      break;
    }
  }
  if (failed) state.SkipWithError((std::string("eventfd write/read: ") + strerror(errno)).c_str());
  close(fd);
  state.SetItemsProcessed(state.iterations());
}

template <class Ops>
void RegisterFor() {
  const std::string prefix = std::string("BM_") + Ops::kName + "_";
  auto *mq = benchmark::RegisterBenchmark((prefix + "MqSendReceive").c_str(), MqSendReceive<Ops>);
  mq->ArgNames({"size", "prio", "fill"});
  for (int64_t fill : {0, kBallast})
    for (int64_t prio : {0, 1})
      for (int64_t size : {0, 8, 64, 512, 1024, 4096, 8192}) mq->Args({size, prio, fill});

  benchmark::RegisterBenchmark((prefix + "EventfdWriteRead").c_str(),
                               [](benchmark::State &s) { EventfdWriteRead<Ops>(s, 0); });
  benchmark::RegisterBenchmark((prefix + "EventfdSemaphoreWriteRead").c_str(),
                               [](benchmark::State &s) { EventfdWriteRead<Ops>(s, EFD_SEMAPHORE); });
}

}  // namespace

void RegisterLocalBenchmarks() {
  RegisterFor<FloorOps>();
  RegisterFor<ShimOps>();
}

}  // namespace hb
