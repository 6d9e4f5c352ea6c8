/*
 * The /init of the initramfs that scripts/kernel-matrix boots under qemu.
 *
 * It mounts /proc, /sys, /dev and /tmp, runs `/hinix ARGS...` (the arguments
 * the kernel passes to init: whatever follows "--" on the kernel command
 * line) with standard output into /tmp/report and standard error on the
 * console, then writes that report to the second serial port (/dev/ttyS1)
 * between marker lines, and powers the machine off. Kernel messages go to
 * ttyS0 only, so they can never interleave with the report.
 *
 * What the host reads from ttyS1:
 *
 *   HINIX-MATRIX-INIT uptime=<s>                      init started (boot time)
 *   HINIX-MATRIX-BEGIN status=<n> bytes=<n> uptime=<s> seconds=<s>
 *   <exactly bytes bytes of hinix's standard output>
 *   HINIX-MATRIX-END
 *
 * status is the wait status decoded: the exit code, or 128 + the signal.
 * Built with `gcc -static -Os`; needs nothing else in the initramfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int report_port = -1;

static void say(int fd, const char *format, ...) {
  char line[512];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (n > 0 && fd >= 0) (void)!write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static double uptime(void) {
  struct timespec now;
  clock_gettime(CLOCK_BOOTTIME, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void power_off(void) {
  sync();
  reboot(RB_POWER_OFF);
  /* Should not return; if it does, the host's deadline ends the run. */
  for (;;) pause();
}

static void mount_or_warn(const char *source, const char *target, const char *type) {
  mkdir(target, 0755);
  if (mount(source, target, type, 0, NULL) != 0)
    say(2, "init: mount %s on %s failed: %s\n", type, target, strerror(errno));
}

static int open_raw_port(const char *path) {
  int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct termios mode;
  if (tcgetattr(fd, &mode) == 0) {
    cfmakeraw(&mode); /* no \n -> \r\n translation: the report arrives byte for byte */
    tcsetattr(fd, TCSANOW, &mode);
  }
  return fd;
}

static void write_all(int fd, const char *bytes, size_t count) {
  while (count > 0) {
    ssize_t n = write(fd, bytes, count);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes += n;
    count -= (size_t)n;
  }
}

int main(int argc, char **argv) {
  mount_or_warn("proc", "/proc", "proc");
  mount_or_warn("sysfs", "/sys", "sysfs");
  mount_or_warn("devtmpfs", "/dev", "devtmpfs");
  mount_or_warn("tmpfs", "/tmp", "tmpfs");
  chmod("/tmp", 01777);
  setenv("PATH", "/", 1);
  setenv("HOME", "/tmp", 1);

  report_port = open_raw_port("/dev/ttyS1");
  if (report_port < 0) say(2, "init: cannot open /dev/ttyS1: %s\n", strerror(errno));
  say(report_port, "HINIX-MATRIX-INIT uptime=%.3f\n", uptime());
  say(2, "init: up %.3f s; running /hinix with %d arguments\n", uptime(), argc - 1);

  double started = uptime();
  pid_t child = fork();
  if (child == 0) {
    int out = open("/tmp/report", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || dup2(out, 1) < 0) _exit(126);
    close(out);
    argv[0] = "/hinix";
    execv("/hinix", argv);
    say(2, "init: exec /hinix failed: %s\n", strerror(errno));
    _exit(127);
  }
  int status = 0, code = 125;
  for (;;) {
    /* As pid 1, reap every orphan until hinix itself ends. */
    int any;
    pid_t ended = waitpid(-1, &any, 0);
    if (ended < 0 && errno == EINTR) continue;
    if (ended < 0) break;
    if (ended == child) {
      status = any;
      code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
  }
  double seconds = uptime() - started;
  say(2, "init: hinix ended with status %d after %.1f s\n", code, seconds);

  int in = open("/tmp/report", O_RDONLY);
  struct stat info = {0};
  if (in >= 0) fstat(in, &info);
  say(report_port, "HINIX-MATRIX-BEGIN status=%d bytes=%lld uptime=%.3f seconds=%.3f\n", code,
      (long long)info.st_size, uptime(), seconds);
  char buffer[65536];
  ssize_t n;
  while (in >= 0 && (n = read(in, buffer, sizeof buffer)) > 0) write_all(report_port, buffer, (size_t)n);
  say(report_port, "\nHINIX-MATRIX-END\n");
  if (report_port >= 0) tcdrain(report_port);
  power_off();
  return 0;
}
