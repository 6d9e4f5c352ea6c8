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

// MARK: - The generic ping-pong

template <class T>
void PingPong(benchmark::State &state, Placement where, bool spin, size_t size) {
  state.SetLabel(std::string("cpu:") + PlacementName(where) + (spin ? " wait:spin" : " wait:block"));
  T t;
  std::string error;
  if (!t.Open(size, spin, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  CrossProcess xp(where);
  if (!xp.Spawn([&] { return t.Serve(); })) {
    state.SkipWithError(xp.error().c_str());
    return;
  }
  // The first round trip proves the child is up and pinned; a few more warm caches.
  const int64_t warm = std::min<int64_t>(100, state.max_iterations / 10 + 1);
  for (int64_t i = 0; i < warm; ++i) {
    if (!t.RoundTrip()) {
      state.SkipWithError(xp.Why("warm-up round trip", errno).c_str());
      return;  // ~CrossProcess kills and reaps the child
    }
  }
  Samples samples(state.max_iterations);
  int failed_errno = 0;
  for (auto _ : state) {
    int64_t t0 = NowNs();
    bool ok = t.RoundTrip();
    int64_t t1 = NowNs();
    if (__builtin_expect(!ok, 0)) {
      failed_errno = errno ? errno : EIO;
      break;
    }
    samples.Add(t1 - t0);
    state.SetIterationTime(double(t1 - t0) * 1e-9);
  }
  if (failed_errno) {
    state.SkipWithError(xp.Why("round trip", failed_errno).c_str());
    return;
  }
  if (!t.Stop()) {
    state.SkipWithError(xp.Why("stop", errno).c_str());
    return;
  }
  if (!xp.Reap()) {
    state.SkipWithError(xp.error().c_str());
    return;
  }
  samples.Report(state);
  state.SetItemsProcessed(state.iterations());  // round trips per second
}

// MARK: - One-way throughput

constexpr int64_t kThroughputBatch = 1000;

template <class Ops>
void MqThroughput(benchmark::State &state, Placement where) {
  state.SetLabel(std::string("cpu:") + PlacementName(where) + " wait:block");
  const size_t size = size_t(state.range(0));
  const long msgsize = std::max<long>(long(size), 1);
  constexpr unsigned kData = 1, kStop = 0;  // the stop message sorts after all data
  std::string error;
  mqd_t q = CreateAnonymousQueue<Ops>(10, msgsize, 0, &error);
  if (q == (mqd_t)-1) {
    state.SkipWithError(error.c_str());
    return;
  }
  struct Closer {
    mqd_t q;
    ~Closer() { Ops::mq_close(q); }
  } closer{q};
  std::vector<char> out(size_t(msgsize), 'h');

  CrossProcess xp(where);
  bool spawned = xp.Spawn([&] {
    std::vector<char> buf(static_cast<size_t>(msgsize));
    for (;;) {
      unsigned prio;
      if (Retry(false, [&] { return Ops::mq_receive(q, buf.data(), buf.size(), &prio); }) < 0) return 2;
      if (prio == kStop) return 0;
    }
  });
  if (!spawned) {
    state.SkipWithError(xp.error().c_str());
    return;
  }
  auto send_batch = [&] {
    for (int64_t k = 0; k < kThroughputBatch; ++k)
      if (Retry(false, [&] { return ssize_t(Ops::mq_send(q, out.data(), size, kData)); }) < 0)
        return false;
    return true;
  };
  if (!send_batch()) {  // untimed warm-up batch
    state.SkipWithError(xp.Why("warm-up mq_send", errno).c_str());
    return;
  }
  int failed_errno = 0;
  for (auto _ : state) {
    int64_t t0 = NowNs();
    bool ok = send_batch();
    int64_t t1 = NowNs();
    if (__builtin_expect(!ok, 0)) {
      failed_errno = errno ? errno : EIO;
      break;
    }
    state.SetIterationTime(double(t1 - t0) * 1e-9);
  }
  if (failed_errno) {
    state.SkipWithError(xp.Why("mq_send", failed_errno).c_str());
    return;
  }
  if (Retry(false, [&] { return ssize_t(Ops::mq_send(q, out.data(), 0, kStop)); }) < 0) {
    state.SkipWithError(xp.Why("stop", errno).c_str());
    return;
  }
  if (!xp.Reap()) {
    state.SkipWithError(xp.error().c_str());
    return;
  }
  state.SetItemsProcessed(state.iterations() * kThroughputBatch);
  state.SetBytesProcessed(state.iterations() * kThroughputBatch * int64_t(size));
}

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
            PingPong<MqTransport<Ops>>(s, where, spin, size_t(s.range(0)));
          })
          ->ArgName("size")
          ->Arg(8)
          ->Arg(512)
          ->Arg(8192)
          ->Iterations(PingPongIterations(where, spin))
          ->UseManualTime();
      benchmark::RegisterBenchmark(
          Base(Ops::kName, "EventfdPingPong", where, spin).c_str(),
          [where, spin](benchmark::State &s) { PingPong<EventfdTransport<Ops>>(s, where, spin, 8); })
          ->Iterations(PingPongIterations(where, spin))
          ->UseManualTime();
    }
    benchmark::RegisterBenchmark(
        Base(Ops::kName, "MqThroughput", where, false).c_str(),
        [where](benchmark::State &s) { MqThroughput<Ops>(s, where); })
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
    benchmark::RegisterBenchmark(Base("Ref", "PipePingPong", where, false).c_str(),
                                 [where](benchmark::State &s) {
                                   PingPong<PipeTransport>(s, where, false, size_t(s.range(0)));
                                 })
        ->ArgName("size")
        ->Arg(1)
        ->Arg(64)
        ->Iterations(PingPongIterations(where, false))
        ->UseManualTime();
    benchmark::RegisterBenchmark(Base("Ref", "UnixDgramPingPong", where, false).c_str(),
                                 [where](benchmark::State &s) {
                                   PingPong<UnixDgramTransport>(s, where, false, size_t(s.range(0)));
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
