#define _GNU_SOURCE
#include "CAllocationCounter.h"

#include <errno.h>
#include <stdlib.h>

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

void CAllocationCounter_start(void) {
  count = 0;
  counting = 1;
}

size_t CAllocationCounter_stop(void) {
  counting = 0;
  return count;
}

int CAllocationCounter_isActive(void) {
  CAllocationCounter_start();
  void *volatile pointer = malloc(16);
  free(pointer);
  return CAllocationCounter_stop() == 1;
}
