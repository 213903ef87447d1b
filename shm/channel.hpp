// The node <-> executor channel: one small shared-memory segment per executor
// incarnation holding two rings, plus the typed send/receive on top of them.
//
//   to_executor: node produces, executor consumes, futex wake-up.
//   to_node:     executor produces, node consumes, eventfd wake-up (so the
//                node can wait on every executor and their pidfds in one epoll).
//
// Neither side ever takes a lock; a peer killed mid-message leaves only an
// unpublished half record.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <trail/status.hpp>

#include "schema/channel.hpp"
#include "shm/process.hpp"
#include "shm/ring.hpp"
#include "shm/segment.hpp"

namespace trail::shm {

class channel {
 public:
  static constexpr std::size_t default_ring_bytes = 256 << 10;

  // Node side: creates (and owns) the segment.
  static result<std::unique_ptr<channel>> create(std::string_view tag,
                                                 std::size_t ring_bytes = default_ring_bytes);
  // Executor side: maps the node's segment.
  static result<std::unique_ptr<channel>> open(const std::string& name);

  ring& to_executor() { return to_executor_; }
  ring& to_node() { return to_node_; }
  const std::string& name() const { return segment_->name(); }
  status give_to(const identity& who) const { return segment_->give_to(who.uid, who.gid); }
  // Largest encoded message either direction carries.
  std::size_t max_message() const { return to_executor_.max_record(); }

 private:
  explicit channel(std::unique_ptr<segment> seg) : segment_(std::move(seg)) {}

  std::unique_ptr<segment> segment_;
  ring to_executor_;
  ring to_node_;
};

// Encodes and pushes `m`. Waits (spinning, then sleeping briefly) while the
// ring is full, up to `timeout`: a consumer that stopped reading is dead or
// hung, and the caller learns it as `unavailable`.
// Errors: invalid_argument when the encoded message exceeds max_message().
status send_message(ring& r, const schema::to_executor& m, std::chrono::milliseconds timeout);
status send_message(ring& r, const schema::to_node& m, std::chrono::milliseconds timeout);

// Encodes and pushes `m` if the ring has room for it and `reserve` bytes
// more; never waits. Errors: invalid_argument (too large), unavailable (no room).
status try_send_message(ring& r, const schema::to_executor& m, std::size_t reserve);

}  // namespace trail::shm
