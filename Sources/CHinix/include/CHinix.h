// CHinix: the one syscall boundary of Hinix.
//
// Small, fixed-arity wrappers over the libc entry points for POSIX message
// queues, eventfd and pipes. Swift cannot call variadic C functions such as
// mq_open(3), and <mqueue.h> and <sys/eventfd.h> are not exposed by Glibc's
// module map, so the Swift library and the C++ benchmark both call these.
//
// Every wrapper calls the libc function of the same name (never raw
// syscall(2)), returns what it returns and leaves errno as it set it, so
// benchmarks measure what applications use and tests can interpose symbols.
#ifndef CHINIX_H
#define CHINIX_H

#include <mqueue.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Constants Swift cannot import as typed values

/// The number of message priorities: valid priorities are 0 ..< CHinix_MQ_PRIO_MAX.
extern const long CHinix_MQ_PRIO_MAX;
/// eventfd(2) flags.
extern const int CHinix_EFD_CLOEXEC;
extern const int CHinix_EFD_NONBLOCK;
extern const int CHinix_EFD_SEMAPHORE;
/// The largest value an eventfd counter can hold (0xfffffffffffffffe).
extern const uint64_t CHinix_EVENTFD_MAX;
/// sigevent notification kinds, for mq_notify(3).
extern const int CHinix_SIGEV_SIGNAL;
extern const int CHinix_SIGEV_NONE;
extern const int CHinix_SIGEV_THREAD;

// MARK: - POSIX message queues

/// mq_open(3), always passing mode and attr. `attr` may be NULL (the kernel's defaults).
mqd_t CHinix_mq_open(const char *name, int oflag, mode_t mode, const struct mq_attr *attr);
/// mq_open(3) with maxmsg and msgsize given directly (no struct needed by the caller).
mqd_t CHinix_mq_open_attr(const char *name, int oflag, mode_t mode, long maxmsg, long msgsize);
/// mq_close(3).
int CHinix_mq_close(mqd_t mqd);
/// mq_unlink(3).
int CHinix_mq_unlink(const char *name);
/// mq_send(3).
int CHinix_mq_send(mqd_t mqd, const void *msg, size_t len, unsigned int prio);
/// mq_timedsend(3); `abs_timeout` is an absolute CLOCK_REALTIME time.
int CHinix_mq_timedsend(mqd_t mqd, const void *msg, size_t len, unsigned int prio,
                        const struct timespec *abs_timeout);
/// mq_receive(3). `prio` may be NULL.
ssize_t CHinix_mq_receive(mqd_t mqd, void *msg, size_t len, unsigned int *prio);
/// mq_timedreceive(3); `abs_timeout` is an absolute CLOCK_REALTIME time. `prio` may be NULL.
ssize_t CHinix_mq_timedreceive(mqd_t mqd, void *msg, size_t len, unsigned int *prio,
                               const struct timespec *abs_timeout);
/// mq_getattr(3).
int CHinix_mq_getattr(mqd_t mqd, struct mq_attr *attr);
/// mq_setattr(3). `old_attr` may be NULL.
int CHinix_mq_setattr(mqd_t mqd, const struct mq_attr *new_attr, struct mq_attr *old_attr);
/// mq_notify(3) with a caller-built sigevent; `sev` NULL cancels the registration.
int CHinix_mq_notify(mqd_t mqd, const struct sigevent *sev);
/// mq_notify(3) with SIGEV_SIGNAL: deliver `signo` with `sival_int` = `value`.
int CHinix_mq_notify_signal(mqd_t mqd, int signo, int value);
/// mq_notify(3) with SIGEV_NONE: register without any notice being delivered.
int CHinix_mq_notify_none(mqd_t mqd);
/// mq_notify(3) with NULL: remove this process's registration.
int CHinix_mq_notify_cancel(mqd_t mqd);
/// mq_notify(3) with SIGEV_THREAD: glibc calls `function(value)` on a new
/// thread (default attributes) once the empty queue receives a message.
int CHinix_mq_notify_thread(mqd_t mqd, void (*function)(union sigval), void *value);

// MARK: - eventfd

/// eventfd(2).
int CHinix_eventfd(unsigned int initval, int flags);
/// read(2) of the 8-byte counter value. Returns 0, or -1 with errno set
/// (EINVAL is never produced for a short read: the buffer is always 8 bytes).
int CHinix_eventfd_read(int fd, uint64_t *value);
/// preadv2(2) with RWF_NOWAIT: a read that fails with EAGAIN instead of blocking,
/// without changing the open file description's O_NONBLOCK flag. Kernels
/// whose eventfd does not support it fail with EOPNOTSUPP.
int CHinix_eventfd_read_nowait(int fd, uint64_t *value);
/// write(2) of the 8-byte value. Returns 0, or -1 with errno set.
int CHinix_eventfd_write(int fd, uint64_t value);
/// pwritev2(2) with RWF_NOWAIT: a write that fails with EAGAIN instead of
/// blocking, without changing the O_NONBLOCK flag. Linux's eventfd has no
/// write_iter up to at least 6.18, so this fails with EOPNOTSUPP there;
/// callers need a fallback.
int CHinix_eventfd_write_nowait(int fd, uint64_t value);

// MARK: - Pipes

/// pipe2(2). `fds[0]` is the read end and `fds[1]` the write end.
int CHinix_pipe2(int fds[2], int flags);

// MARK: - epoll

/// epoll(7) flags and operations.
extern const uint32_t CHinix_EPOLLIN;
extern const uint32_t CHinix_EPOLLOUT;
extern const uint32_t CHinix_EPOLLET;
extern const uint32_t CHinix_EPOLLONESHOT;
extern const uint32_t CHinix_EPOLLERR;
extern const uint32_t CHinix_EPOLLHUP;
extern const int CHinix_EPOLL_CTL_ADD;
extern const int CHinix_EPOLL_CTL_MOD;
extern const int CHinix_EPOLL_CTL_DEL;
extern const int CHinix_EPOLL_CLOEXEC;
/// epoll_create1(2).
int CHinix_epoll_create1(int flags);
/// epoll_ctl(2) with the event's mask and 64-bit data passed by value, so that
/// callers need not know `struct epoll_event`'s packed x86-64 layout.
int CHinix_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// epoll_wait(2) for up to `capacity` events, returned as parallel arrays of
/// masks and data. Returns the number of events, or -1 with errno set.
int CHinix_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int capacity, int timeout);

// MARK: - Namespaces

/// CLONE_NEWIPC and CLONE_NEWNS, for CHinix_unshare.
extern const int CHinix_CLONE_NEWIPC;
extern const int CHinix_CLONE_NEWNS;
/// prctl(2) PR_SET_PDEATHSIG: deliver `signo` to this process when its parent
/// thread exits (prctl is variadic; Swift cannot call it).
int CHinix_set_parent_death_signal(int signo);
/// unshare(2). With CLONE_NEWIPC alone it moves only the calling thread into a
/// new IPC namespace, so it works in a multithreaded process.
int CHinix_unshare(int flags);

#ifdef __cplusplus
}
#endif

#endif  // CHINIX_H
