// hinix-bench: cross-process benchmarks (a fork()ed child, CPU placement named).
//
//   BM_{Floor,Shim}_MqPingPong/cpu:P/wait:W/size:S
//       parent mq_send on queue A, child mq_receive + mq_send on queue B,
//       parent mq_receive: one round trip (maxmsg 1 each, msgsize S).
//   BM_{Floor,Shim}_EventfdPingPong/cpu:P/wait:W
//       the same over two eventfds (write 1, read 1).
//   BM_Ref_PipePingPong/cpu:P/wait:block/size:S         two pipes, plain read/write.
//   BM_Ref_UnixDgramPingPong/cpu:P/wait:block/size:S    one AF_UNIX SOCK_DGRAM socketpair.
//   BM_{Floor,Shim}_MqThroughput/cpu:P/wait:block/size:S
//       parent sends batches of 1000 messages into one queue (maxmsg 10), the
//       child receives them: one-way messages/s and bytes/s (blocking calls:
//       the sender sleeps whenever the queue is full, the receiver when empty).
//
// P is same (both on CPU 0), split (CPU 0 and CPU 1) or any (unpinned); W is
// block (blocking calls) or spin (O_NONBLOCK descriptors, retried on EAGAIN).
// The child is forked and answering before timing starts (one untimed warm-up
// of up to 100 round trips); the time is manual (CLOCK_MONOTONIC around each
// round trip), and every round trip is a sample: p50_ns, p99_ns, p999_ns and
// max_ns are counters. Iteration counts are fixed so a run is bounded.
//
// Every one of them runs in one harness, RunCrossProcess<W>: W is a workload
// (PingPong<Transport> or MqThroughput<Ops>) that opens its descriptors, serves
// in the child, takes one timed step and stops the child; the harness does the
// fork, placement, warm-up, timing, samples, teardown and error reporting.
#include "common.h"

#include <sys/socket.h>

#include <algorithm>

namespace hb {
namespace {

constexpr unsigned kStopPriority = 1;  // mq ping-pong: data travels at 0
constexpr unsigned char kStopByte = 0xff;

/// Calls `f` until it succeeds; retries EAGAIN when spinning and EINTR unless
/// the harness flagged an abort (child death or watchdog).
template <class F>
inline ssize_t Retry(bool spin, F f) {
  for (;;) {
    ssize_t r = f();
    if (__builtin_expect(r >= 0, 1)) return r;
    if ((errno == EAGAIN && spin) || errno == EINTR) {
      if (g_abort) return -1;
      continue;
    }
    return -1;
  }
}

// MARK: - Transports: Open (parent, before fork), RoundTrip (parent), Serve (child), Stop (parent)

template <class Ops>
struct MqTransport {
  mqd_t ping = (mqd_t)-1, pong = (mqd_t)-1;
  size_t size = 0;
  bool spin = false;
  std::vector<char> out, in;

  bool Open(size_t s, bool sp, std::string *error) {
    size = s;
    spin = sp;
    long msgsize = std::max<long>(long(s), 1);
    int flags = sp ? O_NONBLOCK : 0;
    ping = CreateAnonymousQueue<Ops>(1, msgsize, flags, error);
    if (ping == (mqd_t)-1) return false;
    pong = CreateAnonymousQueue<Ops>(1, msgsize, flags, error);
    if (pong == (mqd_t)-1) return false;
    out.assign(size_t(msgsize), 'h');
    in.assign(size_t(msgsize), 0);
    return true;
  }
  ~MqTransport() {
    if (ping != (mqd_t)-1) Ops::mq_close(ping);
    if (pong != (mqd_t)-1) Ops::mq_close(pong);
  }
  bool RoundTrip() {
    if (Retry(spin, [&] { return ssize_t(Ops::mq_send(ping, out.data(), size, 0)); }) < 0)
      return false;
    unsigned prio;
    ssize_t n = Retry(spin, [&] { return Ops::mq_receive(pong, in.data(), in.size(), &prio); });
    if (n < 0) return false;
    if (size_t(n) != size) {
      errno = EPROTO;
      return false;
    }
    return true;
  }
  int Serve() {
    std::vector<char> buf(in.size());
    for (;;) {
      unsigned prio;
      ssize_t n = Retry(spin, [&] { return Ops::mq_receive(ping, buf.data(), buf.size(), &prio); });
      if (n < 0) return 2;
      if (prio == kStopPriority) return 0;
      if (Retry(spin, [&] { return ssize_t(Ops::mq_send(pong, buf.data(), size_t(n), 0)); }) < 0)
        return 3;
    }
  }
  bool Stop() {
    return Retry(spin, [&] { return ssize_t(Ops::mq_send(ping, out.data(), 0, kStopPriority)); }) >= 0;
  }
};

template <class Ops>
struct EventfdTransport {
  int ping = -1, pong = -1;
  bool spin = false;

  bool Open(size_t, bool sp, std::string *error) {
    spin = sp;
    int flags = EFD_CLOEXEC | (sp ? EFD_NONBLOCK : 0);
    ping = Ops::eventfd(0, flags);
    pong = Ops::eventfd(0, flags);
    if (ping < 0 || pong < 0) {
      *error = std::string("eventfd: ") + strerror(errno);
      return false;
    }
    return true;
  }
  ~EventfdTransport() {
    if (ping >= 0) close(ping);
    if (pong >= 0) close(pong);
  }
  bool RoundTrip() {
    if (Retry(spin, [&] { return ssize_t(Ops::eventfd_write(ping, 1)); }) < 0) return false;
    uint64_t value = 0;
    if (Retry(spin, [&] { return ssize_t(Ops::eventfd_read(pong, &value)); }) < 0) return false;
    return true;
  }
  int Serve() {
    for (;;) {
      uint64_t value = 0;
      if (Retry(spin, [&] { return ssize_t(Ops::eventfd_read(ping, &value)); }) < 0) return 2;
      if (value != 1) return 0;  // the stop value
      if (Retry(spin, [&] { return ssize_t(Ops::eventfd_write(pong, 1)); }) < 0) return 3;
    }
  }
  bool Stop() { return Retry(spin, [&] { return ssize_t(Ops::eventfd_write(ping, 1000)); }) >= 0; }
};

/// Reads exactly `len` bytes (a pipe may split a write larger than PIPE_BUF).
inline bool ReadFull(int fd, char *buf, size_t len, bool spin) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = Retry(spin, [&] { return read(fd, buf + done, len - done); });
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

struct PipeTransport {
  int to_child[2] = {-1, -1}, to_parent[2] = {-1, -1};
  size_t size = 0;
  bool spin = false;
  std::vector<char> out, in;

  bool Open(size_t s, bool sp, std::string *error) {
    size = s;
    spin = sp;
    int flags = O_CLOEXEC | (sp ? O_NONBLOCK : 0);
    if (CHinix_pipe2(to_child, flags) != 0 || CHinix_pipe2(to_parent, flags) != 0) {
      *error = std::string("pipe2: ") + strerror(errno);
      return false;
    }
    out.assign(s, 'h');
    in.assign(s, 0);
    return true;
  }
  ~PipeTransport() {
    for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]})
      if (fd >= 0) close(fd);
  }
  bool RoundTrip() {
    if (Retry(spin, [&] { return write(to_child[1], out.data(), size); }) != ssize_t(size)) return false;
    return ReadFull(to_parent[0], in.data(), size, spin);
  }
  int Serve() {
    std::vector<char> buf(size);
    for (;;) {
      if (!ReadFull(to_child[0], buf.data(), size, spin)) return 2;
      if ((unsigned char)buf[0] == kStopByte) return 0;
      if (Retry(spin, [&] { return write(to_parent[1], buf.data(), size); }) != ssize_t(size)) return 3;
    }
  }
  bool Stop() {
    std::vector<char> stop(size, char(kStopByte));
    return Retry(spin, [&] { return write(to_child[1], stop.data(), size); }) == ssize_t(size);
  }
};

struct UnixDgramTransport {
  int sv[2] = {-1, -1};  // parent uses sv[0], child sv[1]
  size_t size = 0;
  bool spin = false;
  std::vector<char> out, in;

  bool Open(size_t s, bool sp, std::string *error) {
    size = s;
    spin = sp;
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | (sp ? SOCK_NONBLOCK : 0), 0, sv) != 0) {
      *error = std::string("socketpair: ") + strerror(errno);
      return false;
    }
    out.assign(s, 'h');
    in.assign(s, 0);
    return true;
  }
  ~UnixDgramTransport() {
    for (int fd : sv)
      if (fd >= 0) close(fd);
  }
  bool RoundTrip() {
    if (Retry(spin, [&] { return send(sv[0], out.data(), size, 0); }) != ssize_t(size)) return false;
    return Retry(spin, [&] { return recv(sv[0], in.data(), in.size(), 0); }) == ssize_t(size);
  }
  int Serve() {
    std::vector<char> buf(size);
    for (;;) {
      ssize_t n = Retry(spin, [&] { return recv(sv[1], buf.data(), buf.size(), 0); });
      if (n <= 0) return 2;
      if ((unsigned char)buf[0] == kStopByte) return 0;
      if (Retry(spin, [&] { return send(sv[1], buf.data(), size_t(n), 0); }) != n) return 3;
    }
  }
  bool Stop() {
    std::vector<char> stop(size, char(kStopByte));
    return Retry(spin, [&] { return send(sv[0], stop.data(), size, 0); }) == ssize_t(size);
  }
};

// MARK: - The harness every cross-process benchmark runs in

/// Runs one cross-process benchmark around a workload `W`, which supplies:
///
///     static constexpr const char *kStep;  // the timed step, named in errors ("round trip")
///     static constexpr bool kSampled;      // each step is a latency sample (p50_ns...)
///     bool Open(size_t size, bool spin, std::string *error);  // parent, before the fork
///     int Serve();                         // the child: answers until stopped; its exit status
///     int64_t WarmUps(int64_t max_iterations) const;  // untimed steps before timing
///     bool Step();                         // the parent's timed step (errno set on failure)
///     bool Stop();                         // tells the child to exit
///     void Count(benchmark::State &) const;  // items/bytes counters after a clean run
///
/// The harness labels the run with its placement, opens the transport, forks
/// the child through CrossProcess (pinned, dies with the parent, SIGCHLD and a
/// watchdog turn a dead or hung child into an error), proves the child is up
/// with the warm-up, times each step with CLOCK_MONOTONIC as manual time, then
/// stops and reaps the child. Any failure becomes SkipWithError; the
/// destructors (~CrossProcess first, then the workload's) kill and reap a child
/// still running, restore signals and affinity, and close the descriptors.
template <class W>
void RunCrossProcess(benchmark::State &state, Placement where, bool spin, size_t size) {
  state.SetLabel(std::string("cpu:") + PlacementName(where) + (spin ? " wait:spin" : " wait:block"));
  W w;
  std::string error;
  if (!w.Open(size, spin, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  CrossProcess xp(where);
  if (!xp.Spawn([&] { return w.Serve(); })) {
    state.SkipWithError(xp.error().c_str());
    return;
  }
  // The first step proves the child is up and pinned; more warm caches.
  const int64_t warm = w.WarmUps(state.max_iterations);
  for (int64_t i = 0; i < warm; ++i) {
    if (!w.Step()) {
      state.SkipWithError(xp.Why((std::string("warm-up ") + W::kStep).c_str(), errno).c_str());
      return;  // ~CrossProcess kills and reaps the child
    }
  }
  Samples samples(W::kSampled ? state.max_iterations : 0);
  int failed_errno = 0;
  for (auto _ : state) {
    int64_t t0 = NowNs();
    bool ok = w.Step();
    int64_t t1 = NowNs();
    if (__builtin_expect(!ok, 0)) {
      failed_errno = errno ? errno : EIO;
      break;
    }
    if constexpr (W::kSampled) samples.Add(t1 - t0);
    state.SetIterationTime(double(t1 - t0) * 1e-9);
  }
  if (failed_errno) {
    state.SkipWithError(xp.Why(W::kStep, failed_errno).c_str());
    return;
  }
  if (!w.Stop()) {
    state.SkipWithError(xp.Why("stop", errno).c_str());
    return;
  }
  if (!xp.Reap()) {
    state.SkipWithError(xp.error().c_str());
    return;
  }
  if constexpr (W::kSampled) samples.Report(state);
  w.Count(state);
}

// MARK: - Workloads

/// A round trip over transport T; every round trip is a sample.
template <class T>
struct PingPong : T {
  static constexpr const char *kStep = "round trip";
  static constexpr bool kSampled = true;
  int64_t WarmUps(int64_t max_iterations) const {
    return std::min<int64_t>(100, max_iterations / 10 + 1);
  }
  bool Step() { return this->RoundTrip(); }
  void Count(benchmark::State &state) const {
    state.SetItemsProcessed(state.iterations());  // round trips per second
  }
};

constexpr int64_t kThroughputBatch = 1000;

/// One-way: each step sends a batch of 1000 messages into one queue of 10 that
/// the child drains; one untimed batch warms up.
template <class Ops>
struct MqThroughput {
  static constexpr const char *kStep = "mq_send";
  static constexpr bool kSampled = false;
  static constexpr unsigned kData = 1, kStop = 0;  // the stop message sorts after all data

  mqd_t q = (mqd_t)-1;
  size_t size = 0;
  std::vector<char> out;

  bool Open(size_t s, bool, std::string *error) {
    size = s;
    const long msgsize = std::max<long>(long(s), 1);
    q = CreateAnonymousQueue<Ops>(10, msgsize, 0, error);
    if (q == (mqd_t)-1) return false;
    out.assign(size_t(msgsize), 'h');
    return true;
  }
  ~MqThroughput() {
    if (q != (mqd_t)-1) Ops::mq_close(q);
  }
  int Serve() {
    std::vector<char> buf(out.size());
    for (;;) {
      unsigned prio;
      if (Retry(false, [&] { return Ops::mq_receive(q, buf.data(), buf.size(), &prio); }) < 0) return 2;
      if (prio == kStop) return 0;
    }
  }
  int64_t WarmUps(int64_t) const { return 1; }
  bool Step() {
    for (int64_t k = 0; k < kThroughputBatch; ++k)
      if (Retry(false, [&] { return ssize_t(Ops::mq_send(q, out.data(), size, kData)); }) < 0)
        return false;
    return true;
  }
  bool Stop() {
    return Retry(false, [&] { return ssize_t(Ops::mq_send(q, out.data(), 0, kStop)); }) >= 0;
  }
  void Count(benchmark::State &state) const {
    state.SetItemsProcessed(state.iterations() * kThroughputBatch);
    state.SetBytesProcessed(state.iterations() * kThroughputBatch * int64_t(size));
  }
};

// MARK: - Registration

/// Fixed round-trip counts per repetition, chosen so that one repetition
/// takes roughly 0.1-0.5 s on the reference machines (2 shared vCPUs):
///   block, same:  p50 ~7 us, mean ~12 us          -> 20000
///   block, split: p50 ~55 us, mean ~250 us (tail)  -> 2000
///   spin, split:  p50 ~2-15 us, mean ~50-250 us    -> 5000
///   spin, same:   ~12 ms: each side spins until its time slice ends -> 20
///   spin, any:    either of the two above, unpredictably             -> 50
/// (block, any behaves like same or split, also unpredictably -> 2000.)
/// p99.9 means little below ~1000 samples; the `samples` counter says how many.
int64_t PingPongIterations(Placement where, bool spin) {
  if (spin) {
    switch (where) {
      case Placement::Same: return Scaled(20);
      case Placement::Split: return Scaled(5000);
      case Placement::Any: return Scaled(50);
    }
  }
  return where == Placement::Same ? Scaled(20000) : Scaled(2000);
}

/// Batches of 1000 messages per iteration: ~5-30 ms each.
int64_t ThroughputIterations(Placement where) {
  return Scaled(where == Placement::Same ? 30 : 15, 2);
}

const Placement kPlacements[] = {Placement::Same, Placement::Split, Placement::Any};

std::string Base(const char *kind, const char *what, Placement where, bool spin) {
  return std::string("BM_") + kind + "_" + what + "/cpu:" + PlacementName(where) +
         (spin ? "/wait:spin" : "/wait:block");
}

template <class Ops>
void RegisterFor() {
  for (Placement where : kPlacements) {
    for (bool spin : {false, true}) {
      benchmark::RegisterBenchmark(
          Base(Ops::kName, "MqPingPong", where, spin).c_str(),
          [where, spin](benchmark::State &s) {
            RunCrossProcess<PingPong<MqTransport<Ops>>>(s, where, spin, size_t(s.range(0)));
          })
          ->ArgName("size")
          ->Arg(8)
          ->Arg(512)
          ->Arg(8192)
          ->Iterations(PingPongIterations(where, spin))
          ->UseManualTime();
      benchmark::RegisterBenchmark(
          Base(Ops::kName, "EventfdPingPong", where, spin).c_str(),
          [where, spin](benchmark::State &s) {
            RunCrossProcess<PingPong<EventfdTransport<Ops>>>(s, where, spin, 8);
          })
          ->Iterations(PingPongIterations(where, spin))
          ->UseManualTime();
    }
    benchmark::RegisterBenchmark(
        Base(Ops::kName, "MqThroughput", where, false).c_str(),
        [where](benchmark::State &s) {
          RunCrossProcess<MqThroughput<Ops>>(s, where, false, size_t(s.range(0)));
        })
        ->ArgName("size")
        ->Arg(8)
        ->Arg(512)
        ->Arg(8192)
        ->Iterations(ThroughputIterations(where))
        ->UseManualTime();
  }
}

}  // namespace

void RegisterCrossProcessBenchmarks() {
  RegisterFor<FloorOps>();
  RegisterFor<ShimOps>();
  for (Placement where : kPlacements) {
    benchmark::RegisterBenchmark(
        Base("Ref", "PipePingPong", where, false).c_str(),
        [where](benchmark::State &s) {
          RunCrossProcess<PingPong<PipeTransport>>(s, where, false, size_t(s.range(0)));
        })
        ->ArgName("size")
        ->Arg(1)
        ->Arg(64)
        ->Iterations(PingPongIterations(where, false))
        ->UseManualTime();
    benchmark::RegisterBenchmark(
        Base("Ref", "UnixDgramPingPong", where, false).c_str(),
        [where](benchmark::State &s) {
          RunCrossProcess<PingPong<UnixDgramTransport>>(s, where, false, size_t(s.range(0)));
        })
        ->ArgName("size")
        ->Arg(8)
        ->Arg(512)
        ->Arg(8192)
        ->Iterations(PingPongIterations(where, false))
        ->UseManualTime();
  }
}

}  // namespace hb
