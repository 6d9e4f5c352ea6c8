#if canImport(Glibc)
  import Glibc
#endif

/// The sanitizer this test executable was built with (`swift test
/// --sanitize=thread` or `--sanitize=address`), or nil. The tools the tests
/// run as subprocesses come from the same build, so they carry it too. Found
/// at run time: a sanitizer's runtime is linked into the executable and
/// exports its entry point (`__tsan_init`, `__asan_init`).
public let runningSanitizer: String? = {
  let handle = dlopen(nil, RTLD_NOW)
  defer { if let handle { dlclose(handle) } }
  if dlsym(handle, "__tsan_init") != nil { return "ThreadSanitizer" }
  if dlsym(handle, "__asan_init") != nil { return "AddressSanitizer" }
  return nil
}()

/// Whether this executable runs under ThreadSanitizer.
public var underThreadSanitizer: Bool { runningSanitizer == "ThreadSanitizer" }

/// Why code that runs on glibc's `SIGEV_THREAD` notification threads cannot
/// run under ThreadSanitizer: glibc's `mq_notify` starts its helper thread and
/// each notification's thread with its internal `pthread_create`, which
/// ThreadSanitizer does not intercept, so those threads have no
/// ThreadSanitizer state and the first allocation or instrumented access on
/// them crashes the process (SIGSEGV in the sanitizer's allocator, called from
/// glibc's `allocate_stack` on the helper thread).
public let sigevThreadUnderTSan =
  "glibc starts SIGEV_THREAD notification threads with its internal pthread_create, which ThreadSanitizer does not intercept: code on them crashes the process under ThreadSanitizer"
