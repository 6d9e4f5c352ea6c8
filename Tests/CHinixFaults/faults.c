// Fault injection for `hinix conform`, loaded with LD_PRELOAD.
//
// HINIX_FAULT names one fault; without it (or with an unknown name) every call
// goes straight to libc. The library interposes libc's mq_* and eventfd entry
// points, which Hinix's shim (Sources/CHinix) calls, and reaches the real ones
// with dlsym(RTLD_NEXT, ...). Counters are per process; each check runs in a
// process of its own, so the "rare" faults show in checks that move thousands
// of messages (STRESS-MQ-EXACTLY-ONCE).
//
//   priorities-ignored  mq_send/mq_timedsend send at priority 0
//   fifo-broken         mq_receive/mq_timedreceive on a read-write descriptor
//                       take a second message when one is queued, return it
//                       and send the first back (to the end of its priority;
//                       it is lost if the queue filled up meanwhile)
//   nonblock-ignored    mq_open drops O_NONBLOCK
//   wrong-errno         EMSGSIZE from send or receive is reported as EINVAL
//   emsgsize-missing    mq_send/mq_timedsend truncate a too-long message to
//                       the queue's message size and succeed
//   drop-rare           every 97th send returns 0 without sending
//   duplicate-rare      every 97th successful send sends the message twice
//   corrupt-rare        every 97th non-empty receive flips a byte
//   notify-never        mq_notify with a sigevent returns 0 and registers nothing
//   semaphore-ignored   eventfd drops EFD_SEMAPHORE
#define _GNU_SOURCE
#include "CHinixFaults.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

enum fault {
  FAULT_NONE,
  FAULT_PRIORITIES_IGNORED,
  FAULT_FIFO_BROKEN,
  FAULT_NONBLOCK_IGNORED,
  FAULT_WRONG_ERRNO,
  FAULT_EMSGSIZE_MISSING,
  FAULT_DROP_RARE,
  FAULT_DUPLICATE_RARE,
  FAULT_CORRUPT_RARE,
  FAULT_NOTIFY_NEVER,
  FAULT_SEMAPHORE_IGNORED,
};

static const char *const fault_names[] = {
  "", "priorities-ignored", "fifo-broken", "nonblock-ignored", "wrong-errno", "emsgsize-missing",
  "drop-rare", "duplicate-rare", "corrupt-rare", "notify-never", "semaphore-ignored",
};

enum { RARE = 97 };

static enum fault active = FAULT_NONE;
static unsigned long send_count;
static unsigned long send_success_count;
static unsigned long receive_count;

typedef mqd_t (*mq_open_fn)(const char *, int, ...);
typedef int (*mq_timedsend_fn)(mqd_t, const char *, size_t, unsigned int, const struct timespec *);
typedef ssize_t (*mq_timedreceive_fn)(mqd_t, char *, size_t, unsigned int *, const struct timespec *);
typedef int (*mq_send_fn)(mqd_t, const char *, size_t, unsigned int);
typedef ssize_t (*mq_receive_fn)(mqd_t, char *, size_t, unsigned int *);
typedef int (*mq_notify_fn)(mqd_t, const struct sigevent *);
typedef int (*mq_getattr_fn)(mqd_t, struct mq_attr *);
typedef int (*eventfd_fn)(unsigned int, int);

static mq_open_fn real_mq_open;
static mq_send_fn real_mq_send;
static mq_timedsend_fn real_mq_timedsend;
static mq_receive_fn real_mq_receive;
static mq_timedreceive_fn real_mq_timedreceive;
static mq_notify_fn real_mq_notify;
static mq_getattr_fn real_mq_getattr;
static eventfd_fn real_eventfd;

__attribute__((constructor)) static void faults_init(void) {
  real_mq_open = (mq_open_fn)dlsym(RTLD_NEXT, "mq_open");
  real_mq_send = (mq_send_fn)dlsym(RTLD_NEXT, "mq_send");
  real_mq_timedsend = (mq_timedsend_fn)dlsym(RTLD_NEXT, "mq_timedsend");
  real_mq_receive = (mq_receive_fn)dlsym(RTLD_NEXT, "mq_receive");
  real_mq_timedreceive = (mq_timedreceive_fn)dlsym(RTLD_NEXT, "mq_timedreceive");
  real_mq_notify = (mq_notify_fn)dlsym(RTLD_NEXT, "mq_notify");
  real_mq_getattr = (mq_getattr_fn)dlsym(RTLD_NEXT, "mq_getattr");
  real_eventfd = (eventfd_fn)dlsym(RTLD_NEXT, "eventfd");
  const char *name = getenv("HINIX_FAULT");
  if (name == NULL) return;
  for (size_t i = 1; i < sizeof fault_names / sizeof fault_names[0]; i++) {
    if (strcmp(name, fault_names[i]) == 0) active = (enum fault)i;
  }
}

const char *CHinixFaults_active(void) { return fault_names[active]; }

static int nth(unsigned long *counter) { return __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED) % RARE == 0; }

static int fix_errno(int result) {
  if (result == -1 && active == FAULT_WRONG_ERRNO && errno == EMSGSIZE) errno = EINVAL;
  return result;
}

// MARK: - Open

mqd_t mq_open(const char *name, int oflag, ...) {
  mode_t mode = 0;
  struct mq_attr *attr = NULL;
  if (oflag & O_CREAT) {
    va_list arguments;
    va_start(arguments, oflag);
    mode = va_arg(arguments, mode_t);
    attr = va_arg(arguments, struct mq_attr *);
    va_end(arguments);
  }
  if (active == FAULT_NONBLOCK_IGNORED) oflag &= ~O_NONBLOCK;
  return real_mq_open(name, oflag, mode, attr);
}

// MARK: - Send

static int do_send(int timed, mqd_t mqd, const char *msg, size_t len, unsigned int prio,
                   const struct timespec *timeout) {
  return timed ? real_mq_timedsend(mqd, msg, len, prio, timeout) : real_mq_send(mqd, msg, len, prio);
}

static int faulty_send(int timed, mqd_t mqd, const char *msg, size_t len, unsigned int prio,
                       const struct timespec *timeout) {
  switch (active) {
  case FAULT_PRIORITIES_IGNORED:
    return do_send(timed, mqd, msg, len, 0, timeout);
  case FAULT_EMSGSIZE_MISSING: {
    struct mq_attr attr;
    if (real_mq_getattr(mqd, &attr) == 0 && len > (size_t)attr.mq_msgsize) len = (size_t)attr.mq_msgsize;
    return do_send(timed, mqd, msg, len, prio, timeout);
  }
  case FAULT_DROP_RARE:
    if (nth(&send_count)) return 0;
    return do_send(timed, mqd, msg, len, prio, timeout);
  case FAULT_DUPLICATE_RARE: {
    int result = do_send(timed, mqd, msg, len, prio, timeout);
    if (result == 0 && nth(&send_success_count)) {
      int saved = errno;
      (void)do_send(timed, mqd, msg, len, prio, timeout);
      errno = saved;
    }
    return result;
  }
  default:
    return fix_errno(do_send(timed, mqd, msg, len, prio, timeout));
  }
}

int mq_send(mqd_t mqd, const char *msg, size_t len, unsigned int prio) {
  return faulty_send(0, mqd, msg, len, prio, NULL);
}

int mq_timedsend(mqd_t mqd, const char *msg, size_t len, unsigned int prio, const struct timespec *timeout) {
  return faulty_send(1, mqd, msg, len, prio, timeout);
}

// MARK: - Receive

static ssize_t do_receive(int timed, mqd_t mqd, char *msg, size_t len, unsigned int *prio,
                          const struct timespec *timeout) {
  return timed ? real_mq_timedreceive(mqd, msg, len, prio, timeout) : real_mq_receive(mqd, msg, len, prio);
}

static ssize_t faulty_receive(int timed, mqd_t mqd, char *msg, size_t len, unsigned int *prio,
                              const struct timespec *timeout) {
  unsigned int first_prio = 0;
  ssize_t result = do_receive(timed, mqd, msg, len, &first_prio, timeout);
  if (result < 0) return fix_errno(-1);
  if (active == FAULT_CORRUPT_RARE && result > 0 && nth(&receive_count)) msg[result / 2] ^= 0xFF;
  if (active == FAULT_FIFO_BROKEN && (fcntl(mqd, F_GETFL) & O_ACCMODE) == O_RDWR) {
    // Take the next message too, if there is one now; hand it out instead and
    // queue the first one again, behind the others of its priority.
    char *second = malloc(len);
    if (second != NULL) {
      static const struct timespec past = {0, 0};
      unsigned int second_prio = 0;
      ssize_t count = real_mq_timedreceive(mqd, second, len, &second_prio, &past);
      if (count >= 0) {
        int saved = errno;
        (void)real_mq_timedsend(mqd, msg, (size_t)result, first_prio, &past);
        errno = saved;
        memcpy(msg, second, (size_t)count);
        result = count;
        first_prio = second_prio;
      }
      free(second);
    }
  }
  if (prio != NULL) *prio = first_prio;
  return result;
}

ssize_t mq_receive(mqd_t mqd, char *msg, size_t len, unsigned int *prio) {
  return faulty_receive(0, mqd, msg, len, prio, NULL);
}

ssize_t mq_timedreceive(mqd_t mqd, char *msg, size_t len, unsigned int *prio, const struct timespec *timeout) {
  return faulty_receive(1, mqd, msg, len, prio, timeout);
}

// MARK: - Notify and eventfd

int mq_notify(mqd_t mqd, const struct sigevent *sevp) {
  if (active == FAULT_NOTIFY_NEVER && sevp != NULL) return 0;
  return real_mq_notify(mqd, sevp);
}

int eventfd(unsigned int initval, int flags) {
  if (active == FAULT_SEMAPHORE_IGNORED) flags &= ~EFD_SEMAPHORE;
  return real_eventfd(initval, flags);
}
