// CHinixTSan: nothing to call. Under ThreadSanitizer, tsan_mutex.c teaches it
// the hand-offs of Swift's Mutex (see that file); otherwise the target is
// empty. A target of its own so that the library's C shim (CHinix) holds only
// the wrappers the library calls.
#ifndef CHINIX_TSAN_H
#define CHINIX_TSAN_H
#endif
