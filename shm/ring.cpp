#include "shm/ring.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <thread>

#include <trail/check.hpp>

namespace trail::shm {
namespace {

constexpr std::uint32_t wrap_marker = 0xFFFFFFFFu;
constexpr std::uint64_t frame_header = 8;  // u32 length + u32 padding

std::uint64_t frame_size(std::size_t payload) { return frame_header + ((payload + 7) & ~std::uint64_t{7}); }

}  // namespace

ring ring::init(void* mem, std::size_t capacity) {
  TRAIL_REQUIRE(capacity >= 4096 && (capacity & (capacity - 1)) == 0, "capacity", capacity);
  auto* h = new (mem) ring_header{};
  h->head.store(0, std::memory_order_relaxed);
  h->tail.store(0, std::memory_order_relaxed);
  h->waiting.store(0, std::memory_order_relaxed);
  h->seq.store(0, std::memory_order_relaxed);
  h->capacity = capacity;
  std::atomic_thread_fence(std::memory_order_release);
  h->magic = ring_magic;
  return ring(h);
}

ring ring::attach(void* mem, std::size_t mem_size) {
  auto* h = static_cast<ring_header*>(mem);
  if (mem_size < sizeof(ring_header) || h->magic != ring_magic) return {};
  if (h->capacity < 4096 || (h->capacity & (h->capacity - 1)) != 0) return {};
  if (footprint(h->capacity) > mem_size) return {};
  return ring(h);
}

// -- producer ---------------------------------------------------------------------

bool ring::try_push(std::string_view record) {
  TRAIL_REQUIRE(record.size() <= max_record(), "record", record.size(), "max", max_record());
  const std::uint64_t cap = h_->capacity;
  std::uint64_t head = h_->head.load(std::memory_order_relaxed);
  std::uint64_t tail = h_->tail.load(std::memory_order_acquire);
  std::uint64_t need = frame_size(record.size());
  std::uint64_t pos = head & (cap - 1);
  std::uint64_t skip = (cap - pos < need) ? cap - pos : 0;  // records never wrap
  if (head + skip + need - tail > cap) return false;
  if (skip) {
    std::uint32_t m = wrap_marker;
    std::memcpy(data_ + pos, &m, sizeof m);
    pos = 0;
  }
  auto len = static_cast<std::uint32_t>(record.size());
  std::memcpy(data_ + pos, &len, sizeof len);
  std::memcpy(data_ + pos + frame_header, record.data(), record.size());
  h_->head.store(head + skip + need, std::memory_order_release);
  return true;
}

std::size_t ring::free_bytes() const {
  std::uint64_t used = h_->head.load(std::memory_order_relaxed) - h_->tail.load(std::memory_order_acquire);
  return static_cast<std::size_t>(h_->capacity - used);
}

bool ring::needs_wake() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (h_->waiting.load(std::memory_order_relaxed) == 0) return false;
  return h_->waiting.exchange(0, std::memory_order_acq_rel) != 0;
}

void ring::futex_wake() {
  h_->seq.fetch_add(1, std::memory_order_release);
  ::syscall(SYS_futex, &h_->seq, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// -- consumer ---------------------------------------------------------------------

std::optional<std::string_view> ring::peek() {
  const std::uint64_t cap = h_->capacity;
  std::uint64_t tail = h_->tail.load(std::memory_order_relaxed);
  std::uint64_t head = h_->head.load(std::memory_order_acquire);
  if (tail == head) return std::nullopt;
  std::uint64_t pos = tail & (cap - 1);
  std::uint32_t len;
  std::memcpy(&len, data_ + pos, sizeof len);
  std::uint64_t skip = 0;
  if (len == wrap_marker) {
    skip = cap - pos;
    pos = 0;
    std::memcpy(&len, data_, sizeof len);
  }
  TRAIL_ASSERT(len <= cap / 4, "corrupt ring record length", len);
  peeked_ = skip + frame_size(len);
  return std::string_view(data_ + pos + frame_header, len);
}

void ring::pop() {
  TRAIL_REQUIRE(peeked_ != 0, "pop() without peek()");
  h_->tail.store(h_->tail.load(std::memory_order_relaxed) + peeked_, std::memory_order_release);
  peeked_ = 0;
}

bool ring::empty() const {
  return h_->tail.load(std::memory_order_relaxed) == h_->head.load(std::memory_order_acquire);
}

bool ring::prepare_wait() {
  wait_seq_ = h_->seq.load(std::memory_order_acquire);
  h_->waiting.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!empty()) {
    h_->waiting.store(0, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void ring::finish_wait() { h_->waiting.store(0, std::memory_order_relaxed); }

void ring::futex_wait(std::chrono::microseconds timeout) {
  timespec ts{static_cast<time_t>(timeout.count() / 1000000), static_cast<long>(timeout.count() % 1000000) * 1000};
  ::syscall(SYS_futex, &h_->seq, FUTEX_WAIT, wait_seq_, &ts, nullptr, 0);
}

// -- spin policy ------------------------------------------------------------------

spin_policy::spin_policy() {
  const char* env = std::getenv("TRAIL_SPIN");
  enabled_ = !(env && std::string_view(env) == "0");
}

bool spin_policy::should_spin() {
  if (!enabled_) return false;
  auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return spin_;
  next_check_ = now + std::chrono::milliseconds(10);
  // /proc/loadavg: "0.00 0.01 0.05 R/T last_pid" — R counts runnable threads, us included.
  int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return spin_;
  char buf[128];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return spin_;
  buf[n] = '\0';
  unsigned running = 0;
  if (std::sscanf(buf, "%*s %*s %*s %u", &running) == 1) {
    static const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    spin_ = running <= cores;
  }
  return spin_;
}

}  // namespace trail::shm
