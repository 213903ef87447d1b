// One invocation handed to an executor, and everything it holds in the store
// until it ends. The executor pool keeps these; executors own nothing, so a
// SIGKILLed executor leaks nothing (brief §4).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "schema/channel.hpp"
#include "shm/store.hpp"

namespace trail::shm {

struct invocation {
  std::uint64_t id = 0;               // unique per attempt on this node
  session_id session = 0;             // REQUIRES: open in the store
  std::uint32_t attempt = 0;
  std::string library;                // absolute path; loaded by the executor only
  std::string function;
  std::vector<std::string> args;
  std::vector<object_id> inputs;      // sealed objects; the pool retains them while it runs
  std::chrono::milliseconds timeout{30000};
  int slot = -1;                      // the executor it was handed to (set by the pool)
};

struct job {
  invocation inv;
  std::chrono::steady_clock::time_point deadline{};  // set when it starts running
  block arena{};                      // scratch for small creates (minus what was sealed in it)
  block listing{};                    // the input list, when it went through the store
  std::map<std::uint64_t, std::uint64_t> arena_kept;  // sealed carves: offset -> size
  std::vector<object_id> created;     // reserved, not yet sealed
  std::vector<object_id> refs;        // inputs and get() results
  std::optional<schema::alloc_request> pending_alloc;  // waiting for space
  std::chrono::steady_clock::time_point alloc_deadline{};

  // The block an arena object of `size` bytes at `offset` occupies, if it
  // lies inside the arena and overlaps no sealed one. Overflow-safe.
  std::optional<block> carve(std::uint64_t offset, std::uint64_t size) const;
  // Drops everything it holds (the arena but for its sealed objects).
  void release(store& st);
};

}  // namespace trail::shm
