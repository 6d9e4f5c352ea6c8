// Test support for `swift test --sanitize=thread`; see tsan_mutex.c.
#ifndef CSANITIZERSUPPORT_H
#define CSANITIZERSUPPORT_H

/// 1 if this executable was built with ThreadSanitizer and Mutex's slow
/// paths are annotated for it, 0 otherwise.
int CSanitizerSupport_mutexAnnotated(void);

#endif
