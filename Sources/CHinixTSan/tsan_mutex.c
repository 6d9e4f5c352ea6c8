// Teaches ThreadSanitizer the happens-before edges of Swift's
// Synchronization.Mutex on Linux, in executables built with
// `--sanitize=thread` (the tests, the tools and examples they run, and
// users' TSan builds); compiled to nothing otherwise.
//
// Mutex locks and unlocks with an atomic compare-exchange inlined into the
// caller, which ThreadSanitizer sees, but under contention it calls
// _MutexHandle._lockSlow and _unlockSlow in libswiftSynchronization.so, which
// is not instrumented and hands the lock over in the kernel (FUTEX_LOCK_PI,
// FUTEX_UNLOCK_PI): no user-space atomic, so ThreadSanitizer sees no
// synchronization and reports every access under a contended Mutex as a race
// (a 3-thread counter under Mutex is reported; its count is right), Hinix's
// reactor and notification tables included. This file interposes the two
// slow paths in the executable, forwards to the
// library's (dlsym RTLD_NEXT), and tells ThreadSanitizer that the lock was
// released before the slow unlock and acquired after the slow lock, on the
// handle's address, which is that of the atomic the inlined fast paths use.
#include "CHinixTSan.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HINIX_TSAN 1
#endif
#endif

#ifdef HINIX_TSAN

#define LOCK_SLOW "$s15Synchronization12_MutexHandleV9_lockSlowyys6UInt32VF"
#define UNLOCK_SLOW "$s15Synchronization12_MutexHandleV11_unlockSlowyyF"

void __tsan_acquire(void *address);
void __tsan_release(void *address);

// `borrowing` methods of a ~Copyable struct: self is passed by address in the
// Swift self register, which clang's swift_context parameter uses.
typedef __attribute__((swiftcall)) void (*LockSlow)(uint32_t, void *__attribute__((swift_context)));
typedef __attribute__((swiftcall)) void (*UnlockSlow)(void *__attribute__((swift_context)));

__attribute__((swiftcall)) void hinixLockSlow(uint32_t selfID, void *__attribute__((swift_context)) handle)
    __asm__(LOCK_SLOW);
__attribute__((swiftcall)) void hinixUnlockSlow(void *__attribute__((swift_context)) handle)
    __asm__(UNLOCK_SLOW);

static void *resolve(void **cache, const char *symbol) {
  void *function = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
  if (function == NULL) {
    function = dlsym(RTLD_NEXT, symbol);
    __atomic_store_n(cache, function, __ATOMIC_RELEASE);
  }
  return function;
}

__attribute__((swiftcall)) void hinixLockSlow(uint32_t selfID, void *__attribute__((swift_context)) handle) {
  static void *real;
  ((LockSlow)resolve(&real, LOCK_SLOW))(selfID, handle);
  __tsan_acquire(handle);
}

__attribute__((swiftcall)) void hinixUnlockSlow(void *__attribute__((swift_context)) handle) {
  static void *real;
  __tsan_release(handle);
  ((UnlockSlow)resolve(&real, UNLOCK_SLOW))(handle);
}

#endif
