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
//   BM_{Floor,Shim}_MqThroughputNM/cpu:P/wait:block/producers:N/consumers:M/size:S
//       the same with N producer and M consumer children on one queue of 10
//       (producers on the parent's CPU, consumers on the child's): per step
//       each producer sends 1000/N messages, the consumers count them in
//       shared memory and the one that receives the last tells the parent.
//   BM_{Floor,Shim}_MqWakeup/cpu:P/wait:block, ..._EventfdWakeup/cpu:P/wait:block
//       wake-up latency of a blocked receiver: the parent waits until the
//       child sleeps in mq_timedreceive (read for the eventfd) on an empty
//       queue, as /proc/<child>/syscall shows, stamps CLOCK_MONOTONIC and
//       sends; the child stamps when its receive returns and sends the stamp
//       back. A sample is the child's stamp minus the parent's.
//   BM_{Floor,Shim}_MqNotifySignal/cpu:P/wait:block
//       mq_notify latency: the child registers SIGEV_SIGNAL with a blocked
//       real-time signal and sleeps in sigwaitinfo; the parent sees it there,
//       stamps and sends to the empty queue; the sample ends when sigwaitinfo
//       returns in the child. The child registers again every round.
//
// P is same (both on CPU 0), split (CPU 0 and CPU 1) or any (unpinned); W is
// block (blocking calls) or spin (O_NONBLOCK descriptors, retried on EAGAIN).
// The child is forked and answering before timing starts (one untimed warm-up
// of up to 100 round trips); the time is manual (CLOCK_MONOTONIC around each
// round trip; for the wake-up and notify ones the child's stamp minus the
// parent's), and every round trip is a sample: p50_ns, p99_ns, p999_ns and
// max_ns are counters. Iteration counts are fixed so a run is bounded.
//
// Every one of them runs in one harness, RunCrossProcess<W>: W is a workload
// (PingPong<Transport>, MqThroughput<Ops>, MqThroughputNM<Ops>, MqWakeup<Ops>,
// EventfdWakeup<Ops>, MqNotify<Ops>) that opens its descriptors, serves
// in the child, takes one timed step and stops the child; the harness does the
// fork, placement, warm-up, timing, samples, teardown and error reporting.
#include "common.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <algorithm>
#include <atomic>
#include <type_traits>

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
/// and optionally
///
///     bool Spawn(CrossProcess &, std::string *error);  // forks its own children
///         // (several, or one it must know the pid of) instead of one Serve()
///     static constexpr bool kSelfTimed = true;  // Step() leaves the sample in
///         // `int64_t sample_ns` (e.g. a child's timestamp minus the parent's),
///         // which replaces the parent's CLOCK_MONOTONIC around Step()
///
/// The harness labels the run with its placement, opens the transport, forks
/// the child through CrossProcess (pinned, dies with the parent, SIGCHLD and a
/// watchdog turn a dead or hung child into an error), proves the child is up
/// with the warm-up, times each step with CLOCK_MONOTONIC as manual time, then
/// stops and reaps the child. Any failure becomes SkipWithError; the
/// destructors (~CrossProcess first, then the workload's) kill and reap a child
/// still running, restore signals and affinity, and close the descriptors.
/// `args` go to W's constructor.
template <class W, class = void>
struct HasSpawn : std::false_type {};
template <class W>
struct HasSpawn<W, std::void_t<decltype(std::declval<W &>().Spawn(
                       std::declval<CrossProcess &>(), std::declval<std::string *>()))>>
    : std::true_type {};
template <class W, class = void>
struct SelfTimed : std::false_type {};
template <class W>
struct SelfTimed<W, std::void_t<decltype(W::kSelfTimed)>> : std::bool_constant<W::kSelfTimed> {};

template <class W, class... A>
void RunCrossProcess(benchmark::State &state, Placement where, bool spin, size_t size, A... args) {
  HostProbe probe(state);
  state.SetLabel(std::string("cpu:") + PlacementName(where) + (spin ? " wait:spin" : " wait:block"));
  W w(args...);
  std::string error;
  if (!w.Open(size, spin, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  CrossProcess xp(where);
  bool spawned;
  if constexpr (HasSpawn<W>::value) {
    spawned = w.Spawn(xp, &error);
  } else {
    spawned = xp.Spawn([&] { return w.Serve(); });
  }
  if (!spawned) {
    state.SkipWithError((error.empty() ? xp.error() : error).c_str());
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
    int64_t ns = t1 - t0;
    if constexpr (SelfTimed<W>::value) ns = w.sample_ns;
    if constexpr (W::kSampled) samples.Add(ns);
    state.SetIterationTime(double(ns) * 1e-9);
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

/// Is a child asleep in a given system call? /proc/<pid>/syscall names the
/// call a task is blocked in ("243 0x3 ...": number, then arguments) or says
/// "running"; the kernel prints a number only for a task that is not running
/// and stayed off its CPU while it looked (task_current_syscall ->
/// wait_task_inactive), so a match means the child sleeps in that very call.
/// Where that file cannot be read (no CONFIG_HAVE_ARCH_TRACEHOOK, or ptrace
/// restrictions), it falls back to the state 'S' in /proc/<pid>/stat, which
/// in these protocols the child reaches only in the awaited call; the counter
/// `asleep_check` says which (1 = syscall, 2 = stat).
class AsleepWatch {
 public:
  AsleepWatch() = default;
  AsleepWatch(const AsleepWatch &) = delete;
  AsleepWatch &operator=(const AsleepWatch &) = delete;
  ~AsleepWatch() {
    if (fd_ >= 0) close(fd_);
  }
  bool Open(pid_t pid, std::string *error) {
    std::string path = "/proc/" + std::to_string(pid) + "/syscall";
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    char probe[8];
    if (fd_ >= 0 && pread(fd_, probe, sizeof probe, 0) > 0) return true;
    if (fd_ >= 0) close(fd_);
    by_stat_ = true;
    path = "/proc/" + std::to_string(pid) + "/stat";
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) *error = path + ": " + strerror(errno) + " (needed to see that the child sleeps)";
    return fd_ >= 0;
  }
  void Count(benchmark::State &state) const { state.counters["asleep_check"] = by_stat_ ? 2 : 1; }
  /// Waits (untimed) until the child sleeps in system call `nr` with first
  /// argument `arg0` (-1: any): yields the CPU between looks (on cpu:same the
  /// child needs it to get there), and after 100 looks also sleeps 20 us.
  /// False with errno EINTR on the harness's abort, ETIMEDOUT after 10 s.
  bool Wait(long nr, long arg0) {
    const int64_t deadline = NowNs() + 10 * int64_t(1000000000);
    for (int looks = 0;; ++looks) {
      char buf[512];
      ssize_t n = pread(fd_, buf, sizeof buf - 1, 0);
      if (n < 0) return false;
      buf[n] = 0;
      if (by_stat_) {
        const char *paren = strrchr(buf, ')');  // "pid (comm) S ..."
        if (paren && paren[1] == ' ' && paren[2] == 'S') return true;
      } else {
        char *end;
        long got = strtol(buf, &end, 10);
        if (end != buf && got == nr && (arg0 < 0 || strtol(end, nullptr, 16) == arg0)) return true;
      }
      if (g_abort) {
        errno = EINTR;
        return false;
      }
      if (looks >= 100) {
        if (NowNs() > deadline) {
          errno = ETIMEDOUT;
          return false;
        }
        struct timespec ts = {0, 20000};
        nanosleep(&ts, nullptr);
      } else {
        sched_yield();
      }
    }
  }

 private:
  int fd_ = -1;
  bool by_stat_ = false;
};

/// Wake-up latency of a receiver blocked on an empty queue: the parent waits
/// until the child sleeps in mq_timedreceive on queue `wake`, takes
/// CLOCK_MONOTONIC and sends 8 bytes; the child takes CLOCK_MONOTONIC as soon
/// as mq_receive returns and sends that timestamp back on queue `reply`. The
/// sample is the child's timestamp minus the parent's: send call, wake-up,
/// scheduling of the child and the return from its receive.
template <class Ops>
struct MqWakeup {
  static constexpr const char *kStep = "wake-up";
  static constexpr bool kSampled = true;
  static constexpr bool kSelfTimed = true;
  static constexpr unsigned kStop = 1;

  mqd_t wake = (mqd_t)-1, reply = (mqd_t)-1;
  int64_t sample_ns = 0;
  AsleepWatch watch;

  bool Open(size_t, bool, std::string *error) {
    wake = CreateAnonymousQueue<Ops>(1, sizeof(int64_t), 0, error);
    if (wake == (mqd_t)-1) return false;
    reply = CreateAnonymousQueue<Ops>(1, sizeof(int64_t), 0, error);
    return reply != (mqd_t)-1;
  }
  ~MqWakeup() {
    if (wake != (mqd_t)-1) Ops::mq_close(wake);
    if (reply != (mqd_t)-1) Ops::mq_close(reply);
  }
  bool Spawn(CrossProcess &xp, std::string *error) {
    return xp.Spawn([&] { return Serve(); }) && watch.Open(xp.last_child(), error);
  }
  int Serve() {
    for (;;) {
      int64_t buf = 0;
      unsigned prio;
      ssize_t n = Retry(false, [&] { return Ops::mq_receive(wake, &buf, sizeof buf, &prio); });
      int64_t now = NowNs();
      if (n < 0) return 2;
      if (prio == kStop) return 0;
      if (Retry(false, [&] { return ssize_t(Ops::mq_send(reply, &now, sizeof now, 0)); }) < 0) return 3;
    }
  }
  int64_t WarmUps(int64_t max_iterations) const {
    return std::min<int64_t>(100, max_iterations / 10 + 1);
  }
  bool Step() {
    if (!watch.Wait(SYS_mq_timedreceive, long(wake))) return false;
    int64_t t0 = NowNs();
    if (Retry(false, [&] { return ssize_t(Ops::mq_send(wake, &t0, sizeof t0, 0)); }) < 0) return false;
    int64_t t1 = 0;
    unsigned prio;
    if (Retry(false, [&] { return Ops::mq_receive(reply, &t1, sizeof t1, &prio); }) < 0) return false;
    sample_ns = std::max<int64_t>(t1 - t0, 0);  // CLOCK_MONOTONIC is system-wide
    return true;
  }
  bool Stop() {
    int64_t zero = 0;
    return Retry(false, [&] { return ssize_t(Ops::mq_send(wake, &zero, sizeof zero, kStop)); }) >= 0;
  }
  void Count(benchmark::State &state) const {
    state.SetItemsProcessed(state.iterations());
    watch.Count(state);
  }
};

/// The same for a reader blocked on an eventfd whose counter is 0: the parent
/// waits until the child sleeps in read(2) on `wake`, stamps and writes 1; the
/// child stamps when its read returns and writes the timestamp itself as the
/// counter value of `reply`.
template <class Ops>
struct EventfdWakeup {
  static constexpr const char *kStep = "wake-up";
  static constexpr bool kSampled = true;
  static constexpr bool kSelfTimed = true;

  int wake = -1, reply = -1;
  int64_t sample_ns = 0;
  AsleepWatch watch;

  bool Open(size_t, bool, std::string *error) {
    wake = Ops::eventfd(0, EFD_CLOEXEC);
    reply = Ops::eventfd(0, EFD_CLOEXEC);
    if (wake < 0 || reply < 0) {
      *error = std::string("eventfd: ") + strerror(errno);
      return false;
    }
    return true;
  }
  ~EventfdWakeup() {
    if (wake >= 0) close(wake);
    if (reply >= 0) close(reply);
  }
  bool Spawn(CrossProcess &xp, std::string *error) {
    return xp.Spawn([&] { return Serve(); }) && watch.Open(xp.last_child(), error);
  }
  int Serve() {
    for (;;) {
      uint64_t value = 0;
      ssize_t r = Retry(false, [&] { return ssize_t(Ops::eventfd_read(wake, &value)); });
      int64_t now = NowNs();
      if (r < 0) return 2;
      if (value != 1) return 0;  // the stop value
      if (Retry(false, [&] { return ssize_t(Ops::eventfd_write(reply, uint64_t(now))); }) < 0) return 3;
    }
  }
  int64_t WarmUps(int64_t max_iterations) const {
    return std::min<int64_t>(100, max_iterations / 10 + 1);
  }
  bool Step() {
    if (!watch.Wait(SYS_read, wake)) return false;
    int64_t t0 = NowNs();
    if (Retry(false, [&] { return ssize_t(Ops::eventfd_write(wake, 1)); }) < 0) return false;
    uint64_t t1 = 0;
    if (Retry(false, [&] { return ssize_t(Ops::eventfd_read(reply, &t1)); }) < 0) return false;
    sample_ns = std::max<int64_t>(int64_t(t1) - t0, 0);
    return true;
  }
  bool Stop() { return Retry(false, [&] { return ssize_t(Ops::eventfd_write(wake, 1000)); }) >= 0; }
  void Count(benchmark::State &state) const {
    state.SetItemsProcessed(state.iterations());
    watch.Count(state);
  }
};

/// mq_notify signal latency: the child blocks a real-time signal, registers
/// for SIGEV_SIGNAL on the empty queue `q` (Ops::mq_notify_signal: raw
/// mq_notify with a sigevent, or CHinix_mq_notify_signal) and waits in
/// sigwaitinfo; the parent waits until the child sleeps in rt_sigtimedwait,
/// stamps and sends 8 bytes. The child stamps when sigwaitinfo returns, checks
/// si_code SI_MESGQ and the value, drains the message, replies with the stamp
/// on `reply` and registers again (a notification is one-shot).
template <class Ops>
struct MqNotify {
  static constexpr const char *kStep = "notify";
  static constexpr bool kSampled = true;
  static constexpr bool kSelfTimed = true;
  static constexpr unsigned kStop = 1;
  static constexpr int kValue = 0x4878;

  mqd_t q = (mqd_t)-1, reply = (mqd_t)-1;
  int signo = 0;
  int64_t sample_ns = 0;
  AsleepWatch watch;

  bool Open(size_t, bool, std::string *error) {
    signo = SIGRTMIN + 1;
    q = CreateAnonymousQueue<Ops>(1, sizeof(int64_t), 0, error);
    if (q == (mqd_t)-1) return false;
    reply = CreateAnonymousQueue<Ops>(1, sizeof(int64_t), 0, error);
    return reply != (mqd_t)-1;
  }
  ~MqNotify() {
    if (q != (mqd_t)-1) Ops::mq_close(q);
    if (reply != (mqd_t)-1) Ops::mq_close(reply);
  }
  bool Spawn(CrossProcess &xp, std::string *error) {
    return xp.Spawn([&] { return Serve(); }) && watch.Open(xp.last_child(), error);
  }
  int Serve() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return 4;
    for (;;) {
      if (Ops::mq_notify_signal(q, signo, kValue) != 0) return 5;
      siginfo_t info;
      int got;
      while ((got = sigwaitinfo(&set, &info)) < 0 && errno == EINTR) {
      }
      int64_t now = NowNs();
      if (got != signo || info.si_code != SI_MESGQ || info.si_value.sival_int != kValue) return 6;
      int64_t buf = 0;
      unsigned prio;
      if (Retry(false, [&] { return Ops::mq_receive(q, &buf, sizeof buf, &prio); }) < 0) return 2;
      if (prio == kStop) return 0;
      if (Retry(false, [&] { return ssize_t(Ops::mq_send(reply, &now, sizeof now, 0)); }) < 0) return 3;
    }
  }
  int64_t WarmUps(int64_t max_iterations) const {
    return std::min<int64_t>(100, max_iterations / 10 + 1);
  }
  bool Step() {
    // Registered and waiting: a message now reaches an empty queue with a
    // registration, so the kernel signals the child.
    if (!watch.Wait(SYS_rt_sigtimedwait, -1)) return false;
    int64_t t0 = NowNs();
    if (Retry(false, [&] { return ssize_t(Ops::mq_send(q, &t0, sizeof t0, 0)); }) < 0) return false;
    int64_t t1 = 0;
    unsigned prio;
    if (Retry(false, [&] { return Ops::mq_receive(reply, &t1, sizeof t1, &prio); }) < 0) return false;
    sample_ns = std::max<int64_t>(t1 - t0, 0);
    return true;
  }
  bool Stop() {
    // The stop message must also find the child registered, or it would wait forever.
    if (!watch.Wait(SYS_rt_sigtimedwait, -1)) return false;
    int64_t zero = 0;
    return Retry(false, [&] { return ssize_t(Ops::mq_send(q, &zero, sizeof zero, kStop)); }) >= 0;
  }
  void Count(benchmark::State &state) const {
    state.SetItemsProcessed(state.iterations());
    watch.Count(state);
  }
};

/// N producers -> M consumers through one queue of 10, all of them children:
/// producers on the parent's CPU (ParentCpu), consumers on the child's
/// (ChildCpu), so cpu:split puts producers on CPU 0 and consumers on CPU 1.
/// Each step the parent lets every producer send 1000/N messages (a "go"
/// eventfd each) and waits until the consumers, counting in shared memory,
/// have received all 1000 (a "done" eventfd written by the consumer that
/// receives the last one). The control eventfds are plain libc on both sides;
/// only mq_send/mq_receive go through Ops.
template <class Ops>
struct MqThroughputNM {
  static constexpr const char *kStep = "batch";
  static constexpr bool kSampled = false;
  static constexpr unsigned kData = 1, kStop = 0;

  int producers, consumers;
  int64_t batch;  // 1000, rounded down to a multiple of the producers
  mqd_t q = (mqd_t)-1;
  size_t size = 0;
  std::vector<char> out;
  std::vector<int> go;
  int done = -1;
  std::atomic<int64_t> *received = nullptr;  // MAP_SHARED

  MqThroughputNM(int n, int m)
      : producers(n), consumers(m), batch(kThroughputBatch / n * n) {}
  MqThroughputNM(const MqThroughputNM &) = delete;
  MqThroughputNM &operator=(const MqThroughputNM &) = delete;

  bool Open(size_t s, bool, std::string *error) {
    size = s;
    const long msgsize = std::max<long>(long(s), 1);
    q = CreateAnonymousQueue<Ops>(10, msgsize, 0, error);
    if (q == (mqd_t)-1) return false;
    out.assign(size_t(msgsize), 'h');
    for (int k = 0; k < producers; ++k) {
      go.push_back(::eventfd(0, EFD_CLOEXEC));
      if (go.back() < 0) return Fail("eventfd", error);
    }
    done = ::eventfd(0, EFD_CLOEXEC);
    if (done < 0) return Fail("eventfd", error);
    void *shared = mmap(nullptr, sizeof *received, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return Fail("mmap", error);
    received = new (shared) std::atomic<int64_t>(0);
    return true;
  }
  bool Fail(const char *what, std::string *error) {
    *error = std::string(what) + ": " + strerror(errno);
    return false;
  }
  ~MqThroughputNM() {
    if (q != (mqd_t)-1) Ops::mq_close(q);
    for (int fd : go)
      if (fd >= 0) close(fd);
    if (done >= 0) close(done);
    if (received) munmap(received, sizeof *received);
  }
  bool Spawn(CrossProcess &xp, std::string *) {
    for (int k = 0; k < consumers; ++k)
      if (!xp.SpawnOn(ChildCpu(xp.where()), [&] { return Consume(); })) return false;
    for (int k = 0; k < producers; ++k)
      if (!xp.SpawnOn(ParentCpu(xp.where()), [&] { return Produce(k); })) return false;
    return true;
  }
  int Consume() {
    std::vector<char> buf(out.size());
    for (;;) {
      unsigned prio;
      if (Retry(false, [&] { return Ops::mq_receive(q, buf.data(), buf.size(), &prio); }) < 0) return 2;
      if (prio == kStop) return 0;
      if ((received->fetch_add(1, std::memory_order_relaxed) + 1) % batch == 0) {
        uint64_t one = 1;
        if (Retry(false, [&] { return write(done, &one, sizeof one); }) < 0) return 3;
      }
    }
  }
  int Produce(int k) {
    const int64_t share = batch / producers;
    for (;;) {
      uint64_t value = 0;
      if (Retry(false, [&] { return read(go[size_t(k)], &value, sizeof value); }) < 0) return 2;
      if (value != 1) return 0;  // the stop value
      for (int64_t i = 0; i < share; ++i)
        if (Retry(false, [&] { return ssize_t(Ops::mq_send(q, out.data(), size, kData)); }) < 0)
          return 3;
    }
  }
  int64_t WarmUps(int64_t) const { return 1; }
  bool Step() {
    uint64_t one = 1, value = 0;
    for (int fd : go)
      if (Retry(false, [&] { return write(fd, &one, sizeof one); }) < 0) return false;
    return Retry(false, [&] { return read(done, &value, sizeof value); }) >= 0;
  }
  bool Stop() {
    uint64_t stop = 1000;
    for (int fd : go)
      if (Retry(false, [&] { return write(fd, &stop, sizeof stop); }) < 0) return false;
    for (int k = 0; k < consumers; ++k)
      if (Retry(false, [&] { return ssize_t(Ops::mq_send(q, out.data(), 0, kStop)); }) < 0)
        return false;
    return true;
  }
  void Count(benchmark::State &state) const {
    state.SetItemsProcessed(state.iterations() * batch);
    state.SetBytesProcessed(state.iterations() * batch * int64_t(size));
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

/// Wake-up and notify samples; each step also waits, untimed, until the child
/// sleeps, and takes the reply. Per step on the reference machines:
///   same:  p50 ~4-6 us, ~25 us of wall time per step  -> 5000 (~0.12 s)
///   split: p50 ~20-30 us, ~60 us mean, ~100 us wall    -> 2000 (~0.2 s)
int64_t WakeupIterations(Placement where) {
  return where == Placement::Same ? Scaled(5000) : Scaled(2000);
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
  }  // Added after the above, so that their names and order stay as they were.
  for (Placement where : kPlacements) {
    benchmark::RegisterBenchmark(
        Base(Ops::kName, "MqThroughputNM", where, false).c_str(),
        [where](benchmark::State &s) {
          RunCrossProcess<MqThroughputNM<Ops>>(s, where, false, size_t(s.range(2)), int(s.range(0)),
                                               int(s.range(1)));
        })
        ->ArgNames({"producers", "consumers", "size"})
        ->Args({2, 2, 8})
        ->Args({2, 2, 512})
        ->Args({2, 2, 8192})
        ->Iterations(ThroughputIterations(where))
        ->UseManualTime();
  }
  for (Placement where : {Placement::Same, Placement::Split}) {
    benchmark::RegisterBenchmark(
        Base(Ops::kName, "MqWakeup", where, false).c_str(),
        [where](benchmark::State &s) { RunCrossProcess<MqWakeup<Ops>>(s, where, false, 8); })
        ->Iterations(WakeupIterations(where))
        ->UseManualTime();
    benchmark::RegisterBenchmark(
        Base(Ops::kName, "EventfdWakeup", where, false).c_str(),
        [where](benchmark::State &s) { RunCrossProcess<EventfdWakeup<Ops>>(s, where, false, 8); })
        ->Iterations(WakeupIterations(where))
        ->UseManualTime();
    benchmark::RegisterBenchmark(
        Base(Ops::kName, "MqNotifySignal", where, false).c_str(),
        [where](benchmark::State &s) { RunCrossProcess<MqNotify<Ops>>(s, where, false, 8); })
        ->Iterations(WakeupIterations(where))
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
