// An LD_PRELOAD interposer that steps CLOCK_REALTIME as this process sees it
// (test support; see clockstep.c). Nothing links it in.
#ifndef CCLOCKSTEP_H
#define CCLOCKSTEP_H

#ifdef __cplusplus
extern "C" {
#endif

/// How many times this process has read CLOCK_REALTIME through clock_gettime.
long HinixClockStep_realtimeReads(void);

#ifdef __cplusplus
}
#endif

#endif  // CCLOCKSTEP_H
