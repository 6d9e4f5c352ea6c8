// Steps CLOCK_REALTIME, as this process sees it, partway through a run; loaded
// with LD_PRELOAD by the clock-step test (Tests/HinixTests/ClockStepTests.swift).
//
// Time namespaces do not virtualise CLOCK_REALTIME, and a test must not set
// the host's clock, so this library interposes clock_gettime(3) instead:
//
//   HINIX_CLOCK_STEP_SECONDS   how far to step (may be negative); unset: no step
//   HINIX_CLOCK_STEP_AFTER_MS  when, in milliseconds of CLOCK_MONOTONIC after
//                              the library was loaded (default 0)
//
// Reads of CLOCK_REALTIME (and _COARSE) after that moment are shifted by the
// step; every other clock is untouched. The library also counts the process's
// CLOCK_REALTIME reads, so a test can show that a wait never consulted it.
#define _GNU_SOURCE
#include "CClockStep.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static long long step_seconds;
static long long step_after_ns;
static long long loaded_at_ns;
static atomic_long realtime_reads;

static long long monotonic_ns(void) {
  struct timespec now;
  real_clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

__attribute__((constructor)) static void clock_step_load(void) {
  real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
  const char *seconds = getenv("HINIX_CLOCK_STEP_SECONDS");
  const char *after = getenv("HINIX_CLOCK_STEP_AFTER_MS");
  step_seconds = seconds ? atoll(seconds) : 0;
  step_after_ns = after ? atoll(after) * 1000000LL : 0;
  loaded_at_ns = monotonic_ns();
}

int clock_gettime(clockid_t clock, struct timespec *time) {
  if (!real_clock_gettime) clock_step_load();
  int result = real_clock_gettime(clock, time);
  if (result == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
    atomic_fetch_add(&realtime_reads, 1);
    if (step_seconds != 0 && monotonic_ns() - loaded_at_ns >= step_after_ns) {
      time->tv_sec += step_seconds;
    }
  }
  return result;
}

long HinixClockStep_realtimeReads(void) { return atomic_load(&realtime_reads); }
