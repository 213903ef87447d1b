// The node's object store: objects in one shared-memory segment, their
// metadata and reference counts in the node's private memory.
//
// Lifecycle: create_object() -> created (writable by the one invocation that
// asked) -> seal() -> sealed (immutable, named by (session, bucket, key),
// visible to find()) -> released (bytes freed) when the last reference goes.
//
// References: the creator holds one while the object is being written; at
// seal it becomes the session's reference. Triggers, running invocations and
// transfers take their own with retain() and drop them with release().
// release_session() drops every session reference at once.
//
// Only the node allocates: executors never touch allocator state, take no
// lock and hold no reference the node cannot drop for them, so a SIGKILLed
// executor cannot wedge the store or damage other objects.
//
// Thread-safety: none. One owner (the node's I/O thread) calls everything.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <trail/status.hpp>

#include "shm/allocator.hpp"
#include "shm/segment.hpp"

namespace trail::shm {

using object_id = std::uint64_t;   // 0 is never a valid id
using session_id = std::uint64_t;

enum class object_state : std::uint8_t { created, sealed };

struct object_info {
  object_id id = 0;
  session_id session = 0;
  std::string bucket;
  std::string key;
  block where;            // the reserved block; size is the capacity
  std::uint64_t size = 0; // payload size (set at seal)
  object_state state = object_state::created;
  std::uint32_t refs = 0;
};

struct store_options {
  std::uint64_t capacity = 512ull << 20;  // bytes of shared memory (--store-size)
  std::string tag = "store";              // part of the segment name
  bool pretouch = true;                   // fault every page in at creation (segment::pretouch)
};

// Outcome of a seal: the object that holds the name. `fresh` is false when an
// earlier seal of the same (session, bucket, key) won; the new bytes were freed.
struct sealed {
  object_id id = 0;
  bool fresh = true;
};

class store {
 public:
  // Creates the segment, first removing segments that crashed processes left.
  static result<std::unique_ptr<store>> create(const store_options& opts);

  // -- raw blocks (dispatch arenas) ------------------------------------------
  // Errors: invalid_argument when `size` exceeds the capacity, overloaded
  // when the store is currently full. Never waits.
  result<block> allocate(std::uint64_t size);
  void free(block b);

  // -- sessions ---------------------------------------------------------------
  void open_session(session_id s);
  bool session_open(session_id s) const { return sessions_.contains(s); }
  // Drops the session's reference on each of its sealed objects and forgets
  // its names. Objects still referenced elsewhere live on.
  void release_session(session_id s);

  // -- objects ----------------------------------------------------------------
  // Reserves `capacity` bytes for a new object; the caller holds its one reference.
  result<object_id> create_object(session_id s, std::string_view bucket, std::string_view key,
                                  std::uint64_t capacity);
  // created -> sealed with `size` payload bytes; the creator's reference
  // becomes the session's. Unused capacity is returned to the store.
  // Errors: not_found (unknown object or session ended: the object is freed),
  // invalid_argument (size > capacity, already sealed).
  result<sealed> seal(object_id id, std::uint64_t size);
  // Like create_object + seal for bytes the caller already wrote into `b`, a
  // block it owns (carved from an arena). Takes `b` in every outcome.
  result<sealed> seal_block(session_id s, std::string_view bucket, std::string_view key, block b,
                            std::uint64_t size);
  // Names sealed object `id` also in session `s`, under its own (bucket,
  // key), with a reference of `s`'s: one set of bytes, two names (an object
  // kept in its app's scope as well as its own session's). `fresh` is false
  // when `s` has an object of that name already; that one wins.
  // Errors: not_found (`s` is not open).
  result<sealed> alias(object_id id, session_id s);
  void retain(object_id id);
  // Drops one reference; the last one frees the bytes.
  void release(object_id id);

  std::optional<object_id> find(session_id s, std::string_view bucket, std::string_view key) const;
  const object_info* info(object_id id) const;
  std::byte* data(const object_info& o) const { return segment_->base() + o.where.offset; }

  // -- accounting -------------------------------------------------------------
  std::uint64_t capacity() const { return alloc_.capacity(); }
  std::uint64_t used_bytes() const { return alloc_.used(); }
  std::size_t object_count() const { return objects_.size(); }
  std::size_t session_count() const { return sessions_.size(); }
  // Bumped on every free; waiters for space retry when it changes.
  std::uint64_t free_generation() const { return free_generation_; }
  const segment& seg() const { return *segment_; }

 private:
  explicit store(std::unique_ptr<segment> seg);
  static std::string name_key(std::string_view bucket, std::string_view key);
  result<sealed> publish(object_info& o);
  void destroy(std::unordered_map<object_id, object_info>::iterator it);
  status no_space(std::uint64_t size) const;

  std::unique_ptr<segment> segment_;
  block_allocator alloc_;
  object_id next_id_ = 1;
  std::uint64_t free_generation_ = 0;
  std::unordered_map<object_id, object_info> objects_;
  // session -> (bucket '\0' key -> sealed object holding that name)
  std::unordered_map<session_id, std::unordered_map<std::string, object_id>> sessions_;
};

// Parses "512M", "64K", "2G", "4096" (binary units; optional trailing "B" or
// "iB"). Errors quote the text.
result<std::uint64_t> parse_size(std::string_view text);

}  // namespace trail::shm
