// The requester side of one transfer over one connection: PullRequest, then
// the ObjectHeader, then every Chunk straight into the destination object's
// block, granting Credit as chunks are stored.
//
// A chunk arriving as expected (in order, encoded as this side would encode
// it) is received in place: recvmsg puts its payload directly into the
// shared-memory block (but for the few bytes read ahead with its head, see
// frame_io.hpp). Any other valid chunk is decoded and copied once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "actors/net/counters.hpp"
#include "actors/net/frame_io.hpp"
#include "actors/net/stream.hpp"
#include "schema/credit_window.hpp"
#include "shm/store_access.hpp"

namespace trail::net {

struct transfer_options;

// The object to fetch and the local object it lands in.
struct pull_target {
  std::string address;      // the peer, for messages
  shm::object_id remote = 0;  // the peer's object id
  std::uint64_t size = 0;     // its size, as the caller knows it
  shm::session_id session = 0;
  std::string bucket;
  std::string key;
  std::byte* dest = nullptr;  // the created, not yet sealed, local object's `size` bytes
};

// How one transfer went.
struct pull_outcome {
  status st;              // ok: every byte of the object is in `dest`
  bool reusable = false;  // the connection is between transfers: pool it
};

// One per worker thread: its buffers are reused by every transfer it runs.
class puller {
 public:
  // REQUIRES: all four outlive the puller.
  puller(shm::store_access& store, const transfer_options& opts, const stop_signal& stop, counters& count);

  // Runs transfer `transfer` (an id unique among this node's open transfers).
  pull_outcome run(stream& s, std::uint64_t transfer, const pull_target& t);

 private:
  io_limits io() const;
  result<schema::chunk_layout> header(stream& s, std::uint64_t transfer, const pull_target& t, bool& refused);
  status receive(stream& s, std::uint64_t transfer, const pull_target& t, const schema::chunk_layout& layout);
  status next_chunk(stream& s, std::uint64_t transfer, const pull_target& t, schema::reassembly& r,
                    std::uint64_t next);
  status other_frame(std::span<const std::byte> bytes, std::uint64_t transfer, const pull_target& t,
                     schema::reassembly& r);
  status grant(stream& s, std::uint64_t transfer, const pull_target& t);
  void cancel(stream& s, std::uint64_t transfer, const status& why);

  shm::store_access& store_;
  const transfer_options& opts_;
  const stop_signal& stop_;
  counters& count_;
  frame_reader in_;
  schema::frame out_;     // requests, credits, cancels
  schema::frame expect_;  // the next chunk's head and tail; its payload region is never written
};

}  // namespace trail::net
