#include "mapped_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "xsearch/error.hpp"

namespace xsearch {

namespace {

// The maps the handler knows: a fixed table of lock-free atomics, the only state a signal handler may
// read. 256 covers every library a serve process holds open (two maps each) many times over; a map that
// finds the table full is still checked by size and mtime, it just is not protected from the signal.
struct Slot {
  std::atomic<bool> used{false};
  std::atomic<uintptr_t> begin{0}, end{0};  // [begin, end) rounded up to whole pages; 0 when free
  std::atomic<int> lost{0};
};
constexpr int kSlots = 256;
Slot g_slots[kSlots];
struct sigaction g_previous {};
uintptr_t g_page = 4096;
std::once_flag g_installed;

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  if (info->si_code > 0) {  // raised by a fault (not sent by kill or raise)
    for (Slot& s : g_slots) {
      const uintptr_t begin = s.begin.load(std::memory_order_acquire), end = s.end.load(std::memory_order_acquire);
      if (begin == 0 || addr < begin || addr >= end) continue;
      // Zero pages from the faulting one to the end of the map: the file is shorter than the map now, and
      // every page after this one is gone too. The faulting read is then retried and reads zeros.
      const uintptr_t page = addr & ~(g_page - 1);
      void* m = ::mmap(reinterpret_cast<void*>(page), end - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (m != MAP_FAILED) {
        s.lost.store(1, std::memory_order_release);
        return;
      }
      break;  // cannot repair: as if it were not ours
    }
  }
  // Not a map of ours: whatever handled SIGBUS before.
  if ((g_previous.sa_flags & SA_SIGINFO) && g_previous.sa_sigaction) {
    g_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (!(g_previous.sa_flags & SA_SIGINFO) && g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  // The default action (an ignored SIGBUS from a fault would retry the read forever): end the process by
  // the signal, as without this handler. It is blocked while the handler runs and arrives on return.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGBUS, &dfl, nullptr);
  ::raise(SIGBUS);
}

void install() {
  g_page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, &g_previous);
}

int take_slot(uintptr_t begin, uintptr_t end) {
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (!g_slots[i].used.compare_exchange_strong(expected, true)) continue;
    g_slots[i].lost.store(0, std::memory_order_relaxed);
    g_slots[i].end.store(end, std::memory_order_release);
    g_slots[i].begin.store(begin, std::memory_order_release);
    return i;
  }
  return -1;
}

}  // namespace

std::unique_ptr<MappedFile> MappedFile::map(const std::filesystem::path& path, int fd, uint64_t size, bool populate) {
  std::call_once(g_installed, install);
  std::unique_ptr<MappedFile> f(new MappedFile);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(path.string() + ": cannot read the index file (" + std::strerror(errno) + ")");
  if (static_cast<uint64_t>(st.st_size) != size) throw Error(path.string() + ": the index file changed while it was opened");
  f->mtime_ = st.st_mtim;
  f->fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (f->fd_ < 0) throw Error(path.string() + ": cannot keep the index file open (" + std::strerror(errno) + ")");
  if (size == 0) return f;  // nothing to map (mmap of an empty range fails)
  void* m = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
  if (m == MAP_FAILED) throw Error(path.string() + ": cannot map the index file (" + std::strerror(errno) + ")");
  f->data_ = static_cast<const uint8_t*>(m);
  f->size_ = static_cast<std::size_t>(size);
  const auto begin = reinterpret_cast<uintptr_t>(m);
  f->slot_ = take_slot(begin, begin + ((f->size_ + g_page - 1) & ~(g_page - 1)));
  return f;
}

MappedFile::~MappedFile() {
  if (slot_ >= 0) {
    // Out of the table before the range is unmapped (and maybe reused by another map).
    g_slots[slot_].begin.store(0, std::memory_order_release);
    g_slots[slot_].end.store(0, std::memory_order_release);
    g_slots[slot_].used.store(false, std::memory_order_release);
  }
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

bool MappedFile::intact() const {
  if (slot_ >= 0 && g_slots[slot_].lost.load(std::memory_order_acquire) != 0) return false;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return false;
  return static_cast<uint64_t>(st.st_size) == size_ && st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec;
}

}  // namespace xsearch
