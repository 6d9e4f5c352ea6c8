// CHinix: fixed-arity wrappers over libc. See include/CHinix.h.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "CHinix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

const long CHinix_MQ_PRIO_MAX = MQ_PRIO_MAX;
const int CHinix_EFD_CLOEXEC = EFD_CLOEXEC;
const int CHinix_EFD_NONBLOCK = EFD_NONBLOCK;
const int CHinix_EFD_SEMAPHORE = EFD_SEMAPHORE;
const uint64_t CHinix_EVENTFD_MAX = UINT64_C(0xfffffffffffffffe);
const int CHinix_SIGEV_SIGNAL = SIGEV_SIGNAL;
const int CHinix_SIGEV_NONE = SIGEV_NONE;
const int CHinix_SIGEV_THREAD = SIGEV_THREAD;
const int CHinix_CLONE_NEWIPC = CLONE_NEWIPC;
const uint32_t CHinix_EPOLLIN = EPOLLIN;
const uint32_t CHinix_EPOLLOUT = EPOLLOUT;
const uint32_t CHinix_EPOLLET = EPOLLET;
const uint32_t CHinix_EPOLLONESHOT = EPOLLONESHOT;
const uint32_t CHinix_EPOLLERR = EPOLLERR;
const uint32_t CHinix_EPOLLHUP = EPOLLHUP;
const int CHinix_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
const int CHinix_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
const int CHinix_EPOLL_CTL_DEL = EPOLL_CTL_DEL;
const int CHinix_EPOLL_CLOEXEC = EPOLL_CLOEXEC;
const int CHinix_CLONE_NEWNS = CLONE_NEWNS;

mqd_t CHinix_mq_open(const char *name, int oflag, mode_t mode, const struct mq_attr *attr) {
  // mq_open is variadic: always pass both optional arguments (see nix-rust/nix#2752).
  return mq_open(name, oflag, mode, (struct mq_attr *)attr);
}

mqd_t CHinix_mq_open_attr(const char *name, int oflag, mode_t mode, long maxmsg, long msgsize) {
  struct mq_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.mq_maxmsg = maxmsg;
  attr.mq_msgsize = msgsize;
  return mq_open(name, oflag, mode, &attr);
}

int CHinix_mq_close(mqd_t mqd) { return mq_close(mqd); }

int CHinix_mq_unlink(const char *name) { return mq_unlink(name); }

int CHinix_mq_send(mqd_t mqd, const void *msg, size_t len, unsigned int prio) {
  return mq_send(mqd, (const char *)msg, len, prio);
}

int CHinix_mq_timedsend(mqd_t mqd, const void *msg, size_t len, unsigned int prio,
                        const struct timespec *abs_timeout) {
  return mq_timedsend(mqd, (const char *)msg, len, prio, abs_timeout);
}

ssize_t CHinix_mq_receive(mqd_t mqd, void *msg, size_t len, unsigned int *prio) {
  return mq_receive(mqd, (char *)msg, len, prio);
}

ssize_t CHinix_mq_timedreceive(mqd_t mqd, void *msg, size_t len, unsigned int *prio,
                               const struct timespec *abs_timeout) {
  return mq_timedreceive(mqd, (char *)msg, len, prio, abs_timeout);
}

int CHinix_mq_getattr(mqd_t mqd, struct mq_attr *attr) { return mq_getattr(mqd, attr); }

int CHinix_mq_setattr(mqd_t mqd, const struct mq_attr *new_attr, struct mq_attr *old_attr) {
  return mq_setattr(mqd, new_attr, old_attr);
}

int CHinix_mq_notify(mqd_t mqd, const struct sigevent *sev) { return mq_notify(mqd, sev); }

int CHinix_mq_notify_signal(mqd_t mqd, int signo, int value) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = signo;
  sev.sigev_value.sival_int = value;
  return mq_notify(mqd, &sev);
}

int CHinix_mq_notify_none(mqd_t mqd) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_NONE;
  return mq_notify(mqd, &sev);
}

int CHinix_mq_notify_cancel(mqd_t mqd) { return mq_notify(mqd, NULL); }

int CHinix_mq_notify_thread(mqd_t mqd, void (*function)(union sigval), void *value) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD;
  sev.sigev_notify_function = function;
  sev.sigev_notify_attributes = NULL;
  sev.sigev_value.sival_ptr = value;
  return mq_notify(mqd, &sev);
}

int CHinix_eventfd(unsigned int initval, int flags) { return eventfd(initval, flags); }

int CHinix_eventfd_read(int fd, uint64_t *value) {
  ssize_t n = read(fd, value, sizeof *value);
  return n == (ssize_t)sizeof *value ? 0 : -1;
}

int CHinix_eventfd_read_nowait(int fd, uint64_t *value) {
  struct iovec iov = {.iov_base = value, .iov_len = sizeof *value};
  ssize_t n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
  return n == (ssize_t)sizeof *value ? 0 : -1;
}

int CHinix_eventfd_write(int fd, uint64_t value) {
  ssize_t n = write(fd, &value, sizeof value);
  return n == (ssize_t)sizeof value ? 0 : -1;
}

int CHinix_eventfd_write_nowait(int fd, uint64_t value) {
  struct iovec iov = {.iov_base = &value, .iov_len = sizeof value};
  ssize_t n = pwritev2(fd, &iov, 1, -1, RWF_NOWAIT);
  return n == (ssize_t)sizeof value ? 0 : -1;
}

int CHinix_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int CHinix_unshare(int flags) { return unshare(flags); }

int CHinix_epoll_create1(int flags) { return epoll_create1(flags); }

int CHinix_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
  struct epoll_event event;
  memset(&event, 0, sizeof event);
  event.events = events;
  event.data.u64 = data;
  return epoll_ctl(epfd, op, fd, &event);
}

int CHinix_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int capacity, int timeout) {
  struct epoll_event ready[64];
  if (capacity > 64) capacity = 64;
  int count = epoll_wait(epfd, ready, capacity, timeout);
  for (int i = 0; i < count; i++) {
    events[i] = ready[i].events;
    data[i] = ready[i].data.u64;
  }
  return count;
}

int CHinix_set_parent_death_signal(int signo) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signo, 0, 0, 0); }
