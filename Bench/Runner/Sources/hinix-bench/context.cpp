// hinix-bench: the host context stored in every JSON result (benchmark::AddCustomContext).
#include <gnu/libc-version.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <fstream>

#include "common.h"

namespace hb {
namespace {

constexpr const char *kHinixVersion = "0.1.0-dev";

std::string ReadFirstLine(const char *path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) return "unreadable";
  return line;
}

std::string Limit(rlim_t value) {
  return value == RLIM_INFINITY ? "unlimited" : std::to_string((unsigned long long)value);
}

// Steal and total jiffies of all CPUs: user nice system idle iowait irq softirq steal.
bool ReadCpuJiffies(unsigned long long *steal, unsigned long long *total) {
  std::ifstream file("/proc/stat");
  std::string label;
  if (!(file >> label) || label != "cpu") return false;
  unsigned long long v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (auto &x : v)
    if (!(file >> x)) return false;
  *steal = v[7];
  *total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  return true;
}

}  // namespace

HostProbe::HostProbe(benchmark::State &state) : state_(state) {
  have_stat_ = ReadCpuJiffies(&steal_, &total_);
}

HostProbe::~HostProbe() {
  double load1 = 0;
  std::ifstream loadavg("/proc/loadavg");
  if (loadavg >> load1) state_.counters["host_load1"] = load1;
  unsigned long long steal = 0, total = 0;
  if (have_stat_ && ReadCpuJiffies(&steal, &total)) {
    state_.counters["host_steal_pct"] = total > total_ ? 100.0 * double(steal - steal_) / double(total - total_) : 0.0;
  }
}

void AddHostContext() {
  struct utsname u;
  if (uname(&u) == 0) {
    benchmark::AddCustomContext("kernel_release", u.release);
    benchmark::AddCustomContext("kernel_version", u.version);
    benchmark::AddCustomContext("machine", u.machine);
  }
  for (const char *name : {"msg_max", "msgsize_max", "queues_max", "msg_default", "msgsize_default"}) {
    std::string path = std::string("/proc/sys/fs/mqueue/") + name;
    benchmark::AddCustomContext(std::string("mqueue_") + name, ReadFirstLine(path.c_str()));
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0) {
    benchmark::AddCustomContext("rlimit_msgqueue_soft", Limit(rl.rlim_cur));
    benchmark::AddCustomContext("rlimit_msgqueue_hard", Limit(rl.rlim_max));
  }
  benchmark::AddCustomContext("glibc_version", gnu_get_libc_version());
  benchmark::AddCustomContext("cpu_governor",
                              ReadFirstLine("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"));
  benchmark::AddCustomContext("clocksource",
                              ReadFirstLine("/sys/devices/system/clocksource/clocksource0/current_clocksource"));
  benchmark::AddCustomContext("online_cpus", std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));
  benchmark::AddCustomContext("hinix_version", kHinixVersion);
  const char *commit = getenv("HINIX_GIT_COMMIT");
  benchmark::AddCustomContext("hinix_git_commit", commit && *commit ? commit : "unknown");
  char scale[32];
  snprintf(scale, sizeof scale, "%g", g_iteration_scale);
  benchmark::AddCustomContext("hinix_iteration_scale", scale);
}

}  // namespace hb
