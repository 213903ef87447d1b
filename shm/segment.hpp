// A named POSIX shared-memory segment (Boost.Interprocess), and the naming
// scheme that lets a node tell its own leftovers from a live neighbour's.
//
// Names look like `trail-<pid>-<starttime>-<seq>-<tag>`: the creating
// process's pid and its start time (clock ticks since boot, from
// /proc/<pid>/stat), which together identify a process even across pid reuse.
// remove_stale_segments() removes a segment only when that process is gone,
// so several nodes (and parallel tests) can share one host.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <trail/status.hpp>

namespace trail::shm {

// One mapping of a segment. The creator owns the segment: its destructor
// unmaps and removes the name. An opener only unmaps.
class segment {
 public:
  // Creates a new segment of `size` bytes, named for this process and `tag`
  // ([a-z0-9_] only; others are replaced). Fails with `overloaded` when the
  // host cannot provide the memory.
  static result<std::unique_ptr<segment>> create(std::string_view tag, std::uint64_t size);
  // Maps an existing segment read-write (executors map the node's store).
  static result<std::unique_ptr<segment>> open(const std::string& name);

  ~segment();
  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;

  std::byte* base() const { return base_; }
  std::uint64_t size() const { return size_; }
  const std::string& name() const { return name_; }
  bool owner() const { return owner_; }
  // Segments are created mode 0600. This hands one to another user (the
  // executors' --executor-user; the caller is root): its file in /dev/shm
  // becomes theirs, so they may map it, and no one else but root may.
  status give_to(uid_t uid, gid_t gid) const;

  // Faults in every page of the mapping without changing any byte
  // (MADV_POPULATE_WRITE), so that the hot path never pays the first touch
  // (~12 us a page for fresh memory, ~0.5 us for a page another process
  // already touched). Takes ~0.3 ms per MiB the first time, ~0.1 ms per MiB
  // in a second mapping. Stops early (demand paging takes over) when the
  // host is short of memory.
  void pretouch();

 private:
  segment(std::string name, std::byte* base, std::uint64_t size, bool owner)
      : name_(std::move(name)), base_(base), size_(size), owner_(owner) {}

  std::string name_;
  std::byte* base_;
  std::uint64_t size_;
  bool owner_;
};

// The identity of a live process: pid plus start time. Start time is 0 when
// the process does not exist, or exited and waits to be reaped (a zombie:
// a node SIGKILLed under a parent that reaps late maps no segment any more,
// so the next node's remove_stale_segments() takes its leftovers).
struct process_identity {
  int pid = 0;
  std::uint64_t start_time = 0;
};
process_identity identity_of(int pid);
process_identity self_identity();

// The name prefix of every trail segment.
inline constexpr std::string_view segment_prefix = "trail-";

// Parses an owner out of a segment name; false when the name is not ours.
bool parse_owner(std::string_view name, process_identity& owner);

// Builds a segment name for `owner` (used by tests to fake a dead owner).
std::string segment_name(const process_identity& owner, std::uint64_t seq, std::string_view tag);

// Removes every trail segment in /dev/shm whose owner process is dead.
// Returns how many were removed. Live owners' segments are never touched.
int remove_stale_segments();

}  // namespace trail::shm
