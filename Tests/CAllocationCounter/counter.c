#define _GNU_SOURCE
#include "CAllocationCounter.h"

#include <errno.h>
#include <stdlib.h>

// Under ThreadSanitizer or AddressSanitizer (`swift test --sanitize=…`, which
// compiles this file with -fsanitize too) the sanitizer's runtime owns malloc:
// its allocator tracks every block, and it allocates through malloc while it
// initialises, before instrumented code may run. An interposer here would
// replace its malloc (the runtime's is a weak alias), so the process crashed
// before main (SIGSEGV in TSan's TraceSwitchPart, called from this malloc's
// instrumented entry while the dynamic linker allocated for the runtime's
// dlsym). So the counter is compiled out then and the tests that need it are
// skipped, saying why (CAllocationCounter_sanitizer).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HINIX_SANITIZER "ThreadSanitizer"
#elif __has_feature(address_sanitizer)
#define HINIX_SANITIZER "AddressSanitizer"
#elif __has_feature(memory_sanitizer)
#define HINIX_SANITIZER "MemorySanitizer"
#endif
#endif
#if !defined(HINIX_SANITIZER) && defined(__SANITIZE_ADDRESS__)
#define HINIX_SANITIZER "AddressSanitizer"
#endif
#if !defined(HINIX_SANITIZER) && defined(__SANITIZE_THREAD__)
#define HINIX_SANITIZER "ThreadSanitizer"
#endif


extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static __thread int counting __attribute__((tls_model("initial-exec")));
static __thread size_t count __attribute__((tls_model("initial-exec")));

static inline void note(void) {
  if (counting) count++;
}

#ifndef HINIX_SANITIZER

void *malloc(size_t size) {
  note();
  return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
  note();
  return __libc_calloc(n, size);
}

void *realloc(void *pointer, size_t size) {
  note();
  return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
  note();
  return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
  note();
  return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
  note();
  void *pointer = __libc_memalign(alignment, size);
  if (pointer == NULL) return ENOMEM;
  *out = pointer;
  return 0;
}

void free(void *pointer) { __libc_free(pointer); }

#endif  // HINIX_SANITIZER

const char *CAllocationCounter_sanitizer(void) {
#ifdef HINIX_SANITIZER
  return HINIX_SANITIZER;
#else
  return NULL;
#endif
}

void CAllocationCounter_start(void) {
  count = 0;
  counting = 1;
}

size_t CAllocationCounter_stop(void) {
  counting = 0;
  return count;
}

int CAllocationCounter_isActive(void) {
#ifdef HINIX_SANITIZER
  return 0;
#else
  CAllocationCounter_start();
  void *volatile pointer = malloc(16);
  free(pointer);
  return CAllocationCounter_stop() == 1;
#endif
}
