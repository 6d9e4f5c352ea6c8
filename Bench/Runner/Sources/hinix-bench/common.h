// hinix-bench: shared pieces of the benchmark runner.
//
// Every benchmark exists twice: a `Floor` variant that calls libc directly
// (the fastest anything built on libc can be) and a `Shim` variant that calls
// the same operation through CHinix. Both are templates over an "ops" policy
// so that the measured loops are the same code; only the call target differs.
#ifndef HINIX_BENCH_COMMON_H
#define HINIX_BENCH_COMMON_H

#include <benchmark/benchmark.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "CHinix.h"

namespace hb {

// MARK: - Run-wide settings (set by main before registration)

/// Multiplies every fixed iteration count of the cross-process benchmarks
/// (`--hinix_iteration_scale`); the quick smoke mode makes it tiny.
extern double g_iteration_scale;
/// A fixed iteration count scaled by g_iteration_scale, never below `floor`.
int64_t Scaled(int64_t iterations, int64_t floor = 20);

// MARK: - The two call paths

/// Plain libc: what the shim is judged against.
struct FloorOps {
  static constexpr const char *kName = "Floor";
  static mqd_t mq_open_attr(const char *name, int oflag, long maxmsg, long msgsize) {
    struct mq_attr attr = {};
    attr.mq_maxmsg = maxmsg;
    attr.mq_msgsize = msgsize;
    return ::mq_open(name, oflag, 0600, &attr);
  }
  static int mq_close(mqd_t q) { return ::mq_close(q); }
  static int mq_unlink(const char *name) { return ::mq_unlink(name); }
  static int mq_send(mqd_t q, const void *msg, size_t len, unsigned prio) {
    return ::mq_send(q, static_cast<const char *>(msg), len, prio);
  }
  static ssize_t mq_receive(mqd_t q, void *msg, size_t len, unsigned *prio) {
    return ::mq_receive(q, static_cast<char *>(msg), len, prio);
  }
  static int eventfd(unsigned init, int flags) { return ::eventfd(init, flags); }
  static int eventfd_write(int fd, uint64_t value) {
    return ::write(fd, &value, sizeof value) == (ssize_t)sizeof value ? 0 : -1;
  }
  static int eventfd_read(int fd, uint64_t *value) {
    return ::read(fd, value, sizeof *value) == (ssize_t)sizeof *value ? 0 : -1;
  }
  static int mq_notify_signal(mqd_t q, int signo, int value) {
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = signo;
    sev.sigev_value.sival_int = value;
    return ::mq_notify(q, &sev);
  }
};

/// Through the CHinix shim (a separate translation unit, so never inlined).
struct ShimOps {
  static constexpr const char *kName = "Shim";
  static mqd_t mq_open_attr(const char *name, int oflag, long maxmsg, long msgsize) {
    return CHinix_mq_open_attr(name, oflag, 0600, maxmsg, msgsize);
  }
  static int mq_close(mqd_t q) { return CHinix_mq_close(q); }
  static int mq_unlink(const char *name) { return CHinix_mq_unlink(name); }
  static int mq_send(mqd_t q, const void *msg, size_t len, unsigned prio) {
    return CHinix_mq_send(q, msg, len, prio);
  }
  static ssize_t mq_receive(mqd_t q, void *msg, size_t len, unsigned *prio) {
    return CHinix_mq_receive(q, msg, len, prio);
  }
  static int eventfd(unsigned init, int flags) { return CHinix_eventfd(init, flags); }
  static int eventfd_write(int fd, uint64_t value) { return CHinix_eventfd_write(fd, value); }
  static int eventfd_read(int fd, uint64_t *value) { return CHinix_eventfd_read(fd, value); }
  static int mq_notify_signal(mqd_t q, int signo, int value) {
    return CHinix_mq_notify_signal(q, signo, value);
  }
};

// MARK: - Queues

/// A process-unique queue name: "/hinix-bench-<pid>-<n>".
std::string UniqueQueueName();

/// Creates a queue exclusively and unlinks the name at once, so that nothing
/// is ever left behind, whatever happens later (the queue lives while a
/// descriptor is open; a fork()ed child inherits the descriptor). Returns -1
/// and fills `error` on failure.
/// Describes a failed mq_open, with a hint for the limits that bind here.
std::string DescribeMqOpenError(int err, long maxmsg, long msgsize);

template <class Ops>
mqd_t CreateAnonymousQueue(long maxmsg, long msgsize, int extra_flags, std::string *error) {
  std::string name = UniqueQueueName();
  mqd_t q = Ops::mq_open_attr(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | extra_flags,
                              maxmsg, msgsize);
  if (q == (mqd_t)-1) {
    *error = DescribeMqOpenError(errno, maxmsg, msgsize);
    return q;
  }
  if (Ops::mq_unlink(name.c_str()) != 0) {
    *error = std::string("mq_unlink: ") + strerror(errno);
    Ops::mq_close(q);
    return (mqd_t)-1;
  }
  return q;
}

// MARK: - CPU placement

enum class Placement { Same, Split, Any };
/// "same", "split" or "any".
const char *PlacementName(Placement where);
/// The CPU of the parent (-1 = unpinned) and of the child.
int ParentCpu(Placement where);
int ChildCpu(Placement where);
/// sched_setaffinity(0, {cpu}).
bool PinSelf(int cpu);

// MARK: - Cross-process harness

/// Set by the SIGCHLD / SIGALRM handlers that CrossProcess installs; blocking
/// calls return EINTR and spin loops see the flag, so the parent never hangs.
extern volatile sig_atomic_t g_abort;

/// Everything a cross-process benchmark run needs around its children: saves
/// the parent's CPU affinity and pins it for the placement, installs SIGCHLD
/// and SIGALRM handlers without SA_RESTART plus a watchdog alarm, forks each
/// child (PR_SET_PDEATHSIG = SIGKILL, getppid() checked, pinned), and in its
/// destructor kills and reaps every child still running and restores
/// everything. Most benchmarks fork one child; N->M throughput forks several.
class CrossProcess {
 public:
  CrossProcess(Placement where, unsigned watchdog_seconds = 180);
  ~CrossProcess();
  CrossProcess(const CrossProcess &) = delete;
  CrossProcess &operator=(const CrossProcess &) = delete;

  /// False (with error()) if pinning failed, e.g. a single-CPU machine.
  bool ok() const { return ok_; }
  const std::string &error() const { return error_; }

  /// Forks a child pinned for the placement (ChildCpu); it runs `body` and
  /// _exit()s with its return value. Returns false (with error()) if fork failed.
  template <class Body>
  bool Spawn(Body body) {
    return SpawnOn(ChildCpu(where_), body);
  }
  /// The same, pinned to `cpu` (-1: unpinned) instead.
  template <class Body>
  bool SpawnOn(int cpu, Body body) {
    if (!ok_) return false;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return Fail("fork", errno);
    if (pid == 0) {
      ChildPrologue(parent, cpu);
      _exit(body());
    }
    children_.push_back(pid);
    return true;
  }
  Placement where() const { return where_; }
  /// The last child forked (-1 if none).
  pid_t last_child() const { return children_.empty() ? -1 : children_.back(); }

  /// Waits up to `seconds` for every child to exit by itself (after the
  /// parent told them to stop); kills them otherwise. True if all exited 0.
  bool Reap(unsigned seconds = 10);
  /// Why the last call failed, for SkipWithError: says whether the child died
  /// or the watchdog fired.
  std::string Why(const char *what, int err);

 private:
  void ChildPrologue(pid_t parent, int cpu);
  bool Fail(const char *what, int err);
  void KillAll();

  Placement where_;
  bool ok_ = true;
  std::string error_;
  std::vector<pid_t> children_;
  cpu_set_t saved_affinity_;
  bool have_saved_affinity_ = false;
  struct sigaction old_chld_, old_alrm_;
};

// MARK: - Latency samples

/// Monotonic nanoseconds (CLOCK_MONOTONIC through the vDSO).
inline int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/// Per-round-trip samples; Report() puts p50/p99/p99.9/max in the counters.
class Samples {
 public:
  explicit Samples(int64_t capacity) { ns_.reserve(size_t(capacity)); }
  void Add(int64_t ns) { ns_.push_back(ns); }
  void Report(benchmark::State &state);

 private:
  std::vector<int64_t> ns_;
};

// MARK: - Registration (each .cpp file registers its own benchmarks)

void RegisterLocalBenchmarks();
void RegisterCrossProcessBenchmarks();

// MARK: - Context and the callgrind mode

/// benchmark::AddCustomContext for the kernel, the limits, glibc, the CPU
/// governor, hinix's version and the git commit.
void AddHostContext();
/// Load and steal time during one run of a benchmark (what becomes one
/// repetition in the JSON): made before the timing loop, its destructor sets
/// the counters host_load1 (the 1-minute load average at the end of the run,
/// /proc/loadavg) and host_steal_pct (steal time as a percentage of the time of
/// all CPUs during the run, from /proc/stat's "cpu" line), outside the timed
/// region. Every benchmark function makes one.
class HostProbe {
 public:
  explicit HostProbe(benchmark::State &state);
  ~HostProbe();
  HostProbe(const HostProbe &) = delete;
  HostProbe &operator=(const HostProbe &) = delete;

 private:
  benchmark::State &state_;
  bool have_stat_;
  unsigned long long steal_ = 0, total_ = 0;
};
/// `--hinix_callgrind=MODE:N`: runs N pairs of one operation outside Google
/// Benchmark, for `valgrind --tool=callgrind --toggle-collect=hinix_cg_*`.
int RunCallgrindMode(const char *spec);

}  // namespace hb

#endif  // HINIX_BENCH_COMMON_H
