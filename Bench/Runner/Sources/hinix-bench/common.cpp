// hinix-bench: the cross-process harness, placement, samples and queue helpers.
#include "common.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>

namespace hb {

double g_iteration_scale = 1.0;

int64_t Scaled(int64_t iterations, int64_t floor) {
  // No libm here: the target does not link it (Package.swift is not ours).
  int64_t n = int64_t(double(iterations) * g_iteration_scale + 0.5);
  return std::max(n, floor);
}

// MARK: - Queues

std::string UniqueQueueName() {
  static std::atomic<unsigned> counter{0};
  return "/hinix-bench-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

std::string DescribeMqOpenError(int err, long maxmsg, long msgsize) {
  std::string text = "mq_open(maxmsg " + std::to_string(maxmsg) + ", msgsize " +
                     std::to_string(msgsize) + "): " + strerror(err);
  if (err == ENOMEM || err == EMFILE) {
    struct rlimit rl;
    getrlimit(RLIMIT_MSGQUEUE, &rl);
    // x86_64 charge: a struct msg_msg and a priority-tree node per message.
    text += " (this queue needs about " + std::to_string(maxmsg * (msgsize + 96)) +
            " bytes of RLIMIT_MSGQUEUE, " + std::to_string((long long)rl.rlim_cur) +
            " bytes shared by every process of this uid)";
  } else if (err == EINVAL) {
    text += " (above /proc/sys/fs/mqueue/msg_max or msgsize_max?)";
  } else if (err == ENOSPC) {
    text += " (/proc/sys/fs/mqueue/queues_max reached)";
  }
  return text;
}

// MARK: - Placement

const char *PlacementName(Placement where) {
  switch (where) {
    case Placement::Same: return "same";
    case Placement::Split: return "split";
    case Placement::Any: return "any";
  }
  return "?";
}

int ParentCpu(Placement where) { return where == Placement::Any ? -1 : 0; }

int ChildCpu(Placement where) {
  switch (where) {
    case Placement::Same: return 0;
    case Placement::Split: return 1;
    case Placement::Any: return -1;
  }
  return -1;
}

bool PinSelf(int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

// MARK: - Cross-process harness

volatile sig_atomic_t g_abort = 0;
static volatile sig_atomic_t g_child_died = 0;
static volatile sig_atomic_t g_watchdog = 0;

static void OnSigchld(int) {
  g_child_died = 1;
  g_abort = 1;
}
static void OnSigalrm(int) {
  g_watchdog = 1;
  g_abort = 1;
}

CrossProcess::CrossProcess(Placement where, unsigned watchdog_seconds) : where_(where) {
  g_abort = 0;
  g_child_died = 0;
  g_watchdog = 0;
  struct sigaction sa = {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NOCLDSTOP;  // no SA_RESTART: a blocked call returns EINTR
  sa.sa_handler = OnSigchld;
  sigaction(SIGCHLD, &sa, &old_chld_);
  sa.sa_flags = 0;
  sa.sa_handler = OnSigalrm;
  sigaction(SIGALRM, &sa, &old_alrm_);
  alarm(watchdog_seconds);

  have_saved_affinity_ = sched_getaffinity(0, sizeof saved_affinity_, &saved_affinity_) == 0;
  int cpu = ParentCpu(where);
  int child_cpu = ChildCpu(where);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (std::max(cpu, child_cpu) >= cpus) {
    ok_ = false;
    error_ = std::string("cpu:") + PlacementName(where) + " needs CPU " +
             std::to_string(std::max(cpu, child_cpu)) + ", but only " + std::to_string(cpus) +
             " are online";
  } else if (!PinSelf(cpu)) {
    Fail("sched_setaffinity", errno);
  }
}

void CrossProcess::KillAll() {
  for (pid_t pid : children_) kill(pid, SIGKILL);
  for (pid_t pid : children_) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  children_.clear();
}

CrossProcess::~CrossProcess() {
  KillAll();
  alarm(0);
  sigaction(SIGALRM, &old_alrm_, nullptr);
  sigaction(SIGCHLD, &old_chld_, nullptr);
  if (have_saved_affinity_) sched_setaffinity(0, sizeof saved_affinity_, &saved_affinity_);
  g_abort = 0;
}

void CrossProcess::ChildPrologue(pid_t parent, int cpu) {
  // Die with the parent, even if it is SIGKILLed; it may already be gone.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(97);
  alarm(0);
  signal(SIGCHLD, SIG_DFL);
  signal(SIGALRM, SIG_DFL);
  if (have_saved_affinity_) sched_setaffinity(0, sizeof saved_affinity_, &saved_affinity_);
  if (!PinSelf(cpu)) _exit(98);
}

bool CrossProcess::Fail(const char *what, int err) {
  ok_ = false;
  error_ = std::string(what) + ": " + strerror(err);
  return false;
}

bool CrossProcess::Reap(unsigned seconds) {
  if (children_.empty()) return false;
  // The SIGCHLD handler may interrupt waitpid; the watchdog bounds the wait.
  alarm(seconds);
  std::string why;
  const std::string who = children_.size() == 1 ? "the child" : "a child";
  while (!children_.empty()) {
    int status = 0;
    pid_t got;
    while ((got = waitpid(children_.front(), &status, 0)) < 0 && errno == EINTR && !g_watchdog) {
    }
    if (got != children_.front()) break;  // the watchdog fired
    children_.erase(children_.begin());
    if (why.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      why = WIFEXITED(status) ? who + " exited with status " + std::to_string(WEXITSTATUS(status))
                              : who + " was killed by signal " + std::to_string(WTERMSIG(status));
  }
  alarm(0);
  if (!children_.empty()) {
    KillAll();
    error_ = who + " did not exit when told to stop; killed";
    return false;
  }
  if (why.empty()) return true;
  error_ = why;
  return false;
}

std::string CrossProcess::Why(const char *what, int err) {
  if (g_watchdog) return std::string(what) + ": the watchdog alarm fired (hung?)";
  if (g_child_died) {
    for (size_t k = 0; k < children_.size(); ++k) {
      int status = 0;
      if (waitpid(children_[k], &status, WNOHANG) == children_[k]) {
        children_.erase(children_.begin() + long(k));
        if (WIFSIGNALED(status))
          return std::string(what) + ": the child died (signal " + std::to_string(WTERMSIG(status)) + ")";
        return std::string(what) + ": the child exited early (status " +
               std::to_string(WEXITSTATUS(status)) + ")";
      }
    }
    return std::string(what) + ": the child died";
  }
  return std::string(what) + ": " + strerror(err);
}

// MARK: - Samples

void Samples::Report(benchmark::State &state) {
  if (ns_.empty()) return;
  std::sort(ns_.begin(), ns_.end());
  auto rank = [&](double p) {
    // Nearest rank: the smallest sample with at least p of them at or below it.
    double exact = p * double(ns_.size());
    size_t k = size_t(exact);
    if (double(k) < exact) ++k;  // ceil without libm
    return double(ns_[k == 0 ? 0 : std::min(k, ns_.size()) - 1]);
  };
  state.counters["p50_ns"] = rank(0.50);
  state.counters["p99_ns"] = rank(0.99);
  state.counters["p999_ns"] = rank(0.999);
  state.counters["max_ns"] = double(ns_.back());
  state.counters["samples"] = double(ns_.size());
}

}  // namespace hb
