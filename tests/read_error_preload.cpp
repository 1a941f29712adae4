// An LD_PRELOAD shim for tests: reads of one file fail with EIO from a given byte on, as on a disk with a
// bad sector. XSEARCH_TEST_READ_ERROR="OFFSET:PATH" names them. The file is recognised by device and inode
// at each read(), pread() or pread64(), however it was opened (open, an ifstream, FFmpeg); a read that
// reaches the offset returns the bytes before it, and the next one fails. "OFFSET-END:PATH" fails only the
// bytes before END (a bad patch in the middle: the fingerprint's three megabytes can lie outside it).
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

extern "C" {

static int state = -1; // -1: not read yet, 0: no target, 1: target set
static dev_t target_dev;
static ino_t target_ino;
static off_t target_offset;
static off_t target_end = -1;  // -1: to the end of the file

static int have_target(void) {
  if (state >= 0) return state;
  state = 0;
  const char* spec = getenv("XSEARCH_TEST_READ_ERROR");
  if (!spec) return 0;
  char* end = nullptr;
  const long long offset = strtoll(spec, &end, 10);
  struct stat st;
  if (end && *end == '-') target_end = (off_t)strtoll(end + 1, &end, 10);
  if (!end || *end != ':' || stat(end + 1, &st) != 0) return 0;
  target_dev = st.st_dev;
  target_ino = st.st_ino;
  target_offset = (off_t)offset;
  state = 1;
  return 1;
}

// How many of `n` bytes at `pos` may be read from `fd`: n, fewer (up to the bad byte), or -1 (EIO).
static ssize_t allowed(int fd, off_t pos, size_t n) {
  struct stat st;
  if (!have_target() || pos < 0 || fstat(fd, &st) != 0 || st.st_dev != target_dev || st.st_ino != target_ino) return (ssize_t)n;
  if (target_end >= 0 && pos >= target_end) return (ssize_t)n;
  if (pos >= target_offset) return -1;
  return (ssize_t)((off_t)n > target_offset - pos ? (size_t)(target_offset - pos) : n);
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
