// A single-producer/single-consumer ring of byte records in shared memory,
// with an ownerless wake-up.
//
// No locks: the producer owns `head`, the consumer owns `tail`. A process
// killed at any instant leaves at worst a half-written record that was never
// published (head not yet advanced) — the peer is never wedged.
//
// Wake-up protocol (both sides lock-free; Dekker-style with seq_cst fences):
//   consumer: prepare_wait() -> if it returns true, block (futex on seq or an
//             eventfd) -> finish_wait().
//   producer: push() -> if needs_wake(), signal (futex_wake(seq) or eventfd).
// A consumer that spins and finds data never costs the producer a syscall.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include <sched.h>
#include <string_view>

namespace trail::shm {

struct ring_header {
  alignas(64) std::atomic<std::uint64_t> head;   // bytes published (producer)
  alignas(64) std::atomic<std::uint64_t> tail;   // bytes consumed (consumer)
  alignas(64) std::atomic<std::uint32_t> waiting;  // consumer may block
  std::atomic<std::uint32_t> seq;                // futex word, bumped per wake
  std::uint64_t capacity;                        // data bytes, a power of two
  std::uint64_t magic;                           // ring_magic once initialised
};

inline constexpr std::uint64_t ring_magic = 0x7472616c72696e67;  // "tralring"

class ring {
 public:
  ring() = default;
  // Bytes of shared memory a ring of `capacity` data bytes needs.
  static std::size_t footprint(std::size_t capacity) { return sizeof(ring_header) + capacity; }
  // Initialises a ring in `mem`. REQUIRES: capacity a power of two >= 4 KiB.
  static ring init(void* mem, std::size_t capacity);
  // Attaches to an initialised ring; an empty ring() when `mem` holds none.
  static ring attach(void* mem, std::size_t mem_size);
  bool valid() const { return h_ != nullptr; }

  // Largest record push() accepts.
  std::size_t max_record() const { return h_->capacity / 4; }

  // -- producer -------------------------------------------------------------------
  // Appends one record; false when there is not enough room right now.
  // REQUIRES: record.size() <= max_record().
  bool try_push(std::string_view record);
  // Bytes a record of `size` bytes takes in the ring, at most (its frame and
  // the padding before a wrap).
  static std::size_t space_for(std::size_t size) { return 8 + ((size + 7) & ~std::size_t{7}) + size + 8; }
  // Bytes free right now (the consumer may free more meanwhile).
  std::size_t free_bytes() const;
  // True when the consumer may be blocked and must be signalled; clears the flag.
  bool needs_wake();
  // Signals a consumer blocked on the futex word.
  void futex_wake();

  // -- consumer -------------------------------------------------------------------
  // The oldest record, valid until pop(); nullopt when empty.
  std::optional<std::string_view> peek();
  void pop();
  bool empty() const;
  // Announces that the consumer is about to block. Returns false (and does
  // not announce) when a record is already there.
  bool prepare_wait();
  void finish_wait();
  // Blocks on the futex word until signalled or `timeout` passes. Call
  // between prepare_wait() (returning true) and finish_wait().
  void futex_wait(std::chrono::microseconds timeout);

 private:
  explicit ring(ring_header* h) : h_(h), data_(reinterpret_cast<char*>(h + 1)) {}

  ring_header* h_ = nullptr;
  char* data_ = nullptr;
  std::uint64_t peeked_ = 0;  // bytes the current peeked record occupies
  std::uint32_t wait_seq_ = 0;
};

// Whether spinning before blocking can pay off: not when more threads are
// runnable than there are cores (a spinner would only steal the peer's core).
// Reads /proc/loadavg at most every 10 ms. TRAIL_SPIN=0 in the environment
// turns spinning off (every wait blocks at once), e.g. to measure that path.
class spin_policy {
 public:
  spin_policy();
  bool should_spin();

 private:
  bool enabled_ = true;
  std::chrono::steady_clock::time_point next_check_{};
  bool spin_ = true;
};

// Spins up to `budget` waiting for `ready()` to hold; true if it did. Yields
// the core every few microseconds, so that a thread woken on this core (the
// peer it waits for, say) runs at once instead of behind the spinner.
template <class Ready>
bool spin_until(Ready&& ready, std::chrono::microseconds budget) {
  using clock = std::chrono::steady_clock;
  auto now = clock::now();
  auto deadline = now + budget;
  auto yield_at = now + std::chrono::microseconds(4);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      __builtin_ia32_pause();
    }
    now = clock::now();
    if (now >= deadline) return false;
    if (now >= yield_at) {
      sched_yield();
      yield_at = clock::now() + std::chrono::microseconds(4);
    }
  }
}

}  // namespace trail::shm
