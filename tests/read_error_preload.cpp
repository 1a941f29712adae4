// An LD_PRELOAD shim for tests: reads of one file fail with EIO from a given byte on, as on a disk with a
// bad sector. XSEARCH_TEST_READ_ERROR="OFFSET:PATH" names them. The file is recognised by device and inode
// at each read(), pread() or pread64(), however it was opened (open, an ifstream, FFmpeg); a read that
// reaches the offset returns the bytes before it, and the next one fails. "OFFSET-END:PATH" fails only the
// bytes before END (a bad patch in the middle: the fingerprint's three megabytes can lie outside it).
// XSEARCH_TEST_READ_STALL="OFFSET-END:PATH" (the same form) instead makes the first read that touches those
// bytes hang, as on a network share that stopped answering: for good, or for
// XSEARCH_TEST_READ_STALL_SECONDS, after which that read and all others go on normally.
// XSEARCH_TEST_READ_STALL_UNDER="DIR" makes every read of every file under DIR hang for good (a dead mount
// of many files). XSEARCH_TEST_READ_STALL_MARK="FILE": FILE is created when a read begins to hang (a test
// knows then that the process is stuck).
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

extern "C" {

struct Target {
  int state = -1;  // -1: not read yet, 0: no target, 1: target set
  dev_t dev;
  ino_t ino;
  off_t offset;
  off_t end = -1;  // -1: to the end of the file
};
static Target error_target, stall_target;

static int have_target(Target& t, const char* variable) {
  if (t.state >= 0) return t.state;
  t.state = 0;
  const char* spec = getenv(variable);
  if (!spec) return 0;
  char* end = nullptr;
  const long long offset = strtoll(spec, &end, 10);
  struct stat st;
  if (end && *end == '-') t.end = (off_t)strtoll(end + 1, &end, 10);
  if (!end || *end != ':' || stat(end + 1, &st) != 0) return 0;
  t.dev = st.st_dev;
  t.ino = st.st_ino;
  t.offset = (off_t)offset;
  t.state = 1;
  return 1;
}

static int is_target(const Target& t, int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_dev == t.dev && st.st_ino == t.ino;
}

// The first read of [pos, pos + n) that touches the stall range waits (a read of the shim's own state is
// safe without a lock: the tests make one thread read the file).
static void mark_stall(void) {
  const char* mark = getenv("XSEARCH_TEST_READ_STALL_MARK");
  if (mark) close(open(mark, O_WRONLY | O_CREAT, 0644));
}

static int under_dead_dir(int fd) {
  const char* dir = getenv("XSEARCH_TEST_READ_STALL_UNDER");
  if (!dir || !*dir) return 0;
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  const size_t len = strlen(dir);
  return strncmp(target, dir, len) == 0 && target[len] == '/';
}

static void maybe_stall(int fd, off_t pos, size_t n) {
  static int stalled = 0;
  if (under_dead_dir(fd)) {
    mark_stall();
    for (;;) pause();
  }
  if (stalled || !have_target(stall_target, "XSEARCH_TEST_READ_STALL") || pos < 0 || !is_target(stall_target, fd)) return;
  if (pos + (off_t)n <= stall_target.offset || (stall_target.end >= 0 && pos >= stall_target.end)) return;
  stalled = 1;
  mark_stall();
  const char* secs = getenv("XSEARCH_TEST_READ_STALL_SECONDS");
  if (!secs) {
    for (;;) pause();  // a read that never returns (the process ends around it)
  }
  sleep((unsigned)atoi(secs));
}

// How many of `n` bytes at `pos` may be read from `fd`: n, fewer (up to the bad byte), or -1 (EIO).
static ssize_t allowed(int fd, off_t pos, size_t n) {
  maybe_stall(fd, pos, n);
  const Target& t = error_target;
  if (!have_target(error_target, "XSEARCH_TEST_READ_ERROR") || pos < 0 || !is_target(t, fd)) return (ssize_t)n;
  if (t.end >= 0 && pos >= t.end) return (ssize_t)n;
  if (pos >= t.offset) return -1;
  return (ssize_t)((off_t)n > t.offset - pos ? (size_t)(t.offset - pos) : n);
}

ssize_t read(int fd, void* buf, size_t n) {
  static ssize_t (*real)(int, void*, size_t);
  if (!real) real = reinterpret_cast<ssize_t (*)(int, void*, size_t)>(dlsym(RTLD_NEXT, "read"));
  const ssize_t ok = allowed(fd, lseek(fd, 0, SEEK_CUR), n);
  if (ok < 0) {
    errno = EIO;
    return -1;
  }
  return real(fd, buf, (size_t)ok);
}

static ssize_t checked_pread(ssize_t (*real)(int, void*, size_t, off_t), int fd, void* buf, size_t n, off_t offset) {
  const ssize_t ok = allowed(fd, offset, n);
  if (ok < 0) {
    errno = EIO;
    return -1;
  }
  return real(fd, buf, (size_t)ok, offset);
}

ssize_t pread(int fd, void* buf, size_t n, off_t offset) {
  static ssize_t (*real)(int, void*, size_t, off_t);
  if (!real) real = reinterpret_cast<ssize_t (*)(int, void*, size_t, off_t)>(dlsym(RTLD_NEXT, "pread"));
  return checked_pread(real, fd, buf, n, offset);
}

ssize_t pread64(int fd, void* buf, size_t n, off_t offset) {
  static ssize_t (*real)(int, void*, size_t, off_t);
  if (!real) real = reinterpret_cast<ssize_t (*)(int, void*, size_t, off_t)>(dlsym(RTLD_NEXT, "pread64"));
  return checked_pread(real, fd, buf, n, offset);
}

}  // extern "C"
