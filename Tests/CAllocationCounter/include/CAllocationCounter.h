// Counts heap allocations made by the calling thread, for tests that prove a
// code path allocates nothing. The counter interposes malloc and its siblings
// in the test executable and forwards to glibc's implementations.
#ifndef CALLOCATIONCOUNTER_H
#define CALLOCATIONCOUNTER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Starts counting this thread's allocations from zero.
void CAllocationCounter_start(void);
/// Stops counting and returns how many allocations this thread made since the start.
size_t CAllocationCounter_stop(void);
/// The sanitizer this target was built under ("ThreadSanitizer",
/// "AddressSanitizer"), which owns malloc so the interposer is compiled out;
/// NULL in a normal build, where the interposer is always compiled in.
const char *CAllocationCounter_sanitizer(void);
/// Whether the interposer is in effect (an allocation made while counting was seen).
int CAllocationCounter_isActive(void);

#ifdef __cplusplus
}
#endif

#endif
