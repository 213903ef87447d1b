// The node-to-node data path (issue 4 §3): a node serves the sealed objects
// of its store to peer nodes, and pulls objects from peers straight into its
// own store. Bulk bytes never pass through CAF (BASP copies payloads into heap
// buffers) or a coordinator: one TCP connection per transfer in flight
// between two nodes, framed as Cap'n Proto messages (schema/transfer.hpp) —
// PullRequest -> ObjectHeader -> Chunk... (<= 4 MiB each) under a credit
// window (schema/credit_window.hpp), Cancel either way.
//
// Threads: an accept thread and one thread per served connection; pulls run
// on a small pool of worker threads. Completions are called on those threads:
// hand them to an actor (anon_send), never block in them.
//
// Store access goes through shm::store_access (run on the store's owner,
// the node loop); bytes are read and written outside it, while a reference
// keeps the object.
// Payloads are never copied in user space on the way out (sendmsg from the
// segment) and, for chunks arriving in order, hardly on the way in (recvmsg
// into the destination block; only bytes read ahead with a chunk's head are
// copied, see actors/net/frame_io.hpp). Connections, one transfer at a time
// each, are pooled per peer and reused.
//
// Fault points (transfer_options::fault_points): a pull from a peer with an armed
// delay starts that much later; one lost to a drop or a partition fails with
// unavailable before any byte moves, as an unreachable peer does.
//
// With a secret (transfer_options::secret), a connection whose peer does not
// prove it holds it is closed with one line on stderr and no other effect,
// before any frame is read. With TLS (transfer_options::tls), every byte,
// the handshake's included, is encrypted: the payload is then encrypted
// from the segment and decrypted into the destination block (no zero-copy).
//
// Every socket wait is bounded by io_timeout and also watches the service's
// stop signal (an eventfd), so the destructor wakes every thread at once,
// connects in progress included.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <trail/status.hpp>

#include "actors/net/auth.hpp"
#include "actors/net/tls.hpp"

#include "shm/store_access.hpp"
#include "shm/store.hpp"

namespace trail::net {

class faults;

struct transfer_options {
  std::string host = "127.0.0.1";          // address to serve on (the node's --listen host)
  std::uint16_t port = 0;                  // 0 = any free port
  std::chrono::milliseconds io_timeout{2000};  // a peer silent this long is gone (each read/write)
  std::uint32_t chunk_size = 4u << 20;     // bytes per chunk (<= schema::max_chunk_size)
  std::uint32_t credit_chunks = 4;         // chunks in flight per transfer
  int pull_threads = 4;                    // concurrent pulls
  faults* fault_points = nullptr;          // fault points consulted before each pull (faults.hpp);
                                           // null: none. Must outlive the service.
  std::optional<key> secret;               // the cluster secret: every new connection, served or
                                           // opened, runs the members' handshake (handshake.hpp)
                                           // first; none: no handshake
  member_tls tls;                          // every connection is TLS (before the handshake); none: plain
};

// What a service has done so far: monotonic counters, for tests, benchmarks
// and metrics.
struct transfer_stats {
  std::uint64_t served = 0;              // transfers served to a peer up to their last chunk
  std::uint64_t served_bytes = 0;        // payload bytes of those
  std::uint64_t pulls = 0;               // transfers run as requester (one per deduplicated group)
  std::uint64_t joined = 0;              // pull() calls that joined a transfer already queued or running
  std::uint64_t pulled_bytes = 0;        // payload bytes received into the local store
  std::uint64_t copied_chunks = 0;       // chunks received out of order or unusually encoded:
                                         // copied once instead of received in place
  std::uint64_t connections_opened = 0;  // outgoing data connections made (the rest were reused)
  std::uint64_t protocol_errors = 0;     // connections dropped for a malformed or unexpected frame
  std::uint64_t refused = 0;             // served connections closed for failing the secret handshake
};

class transfer_service {
 public:
  using pulled_fn = std::function<void(result<shm::object_id>)>;

  // Starts serving. REQUIRES: `store` outlives the service.
  // Errors: unavailable when the address cannot be bound.
  static result<std::unique_ptr<transfer_service>> start(shm::store_access& store, transfer_options opts = {});

  // Stops every thread and closes every socket; pulls still queued or in
  // flight complete with unavailable ("node shutting down") before it returns.
  ~transfer_service();
  transfer_service(const transfer_service&) = delete;
  transfer_service& operator=(const transfer_service&) = delete;

  // "host:port" that peers pull from.
  std::string address() const;

  // Pulls sealed object `remote` (`size` bytes) of the node serving at
  // `address` into a new object named (session, bucket, key) in the local
  // store, sealed, and calls `done` exactly once with its id; the caller then
  // holds one reference to it (release it when done). The local session must
  // be open (store::open_session). If the name is already sealed locally, the
  // existing object wins (first seal wins) and its id is returned, retained;
  // no transfer runs when it was sealed before the pull started.
  // Concurrent pulls of the same (address, remote) into the same local name
  // share one transfer; each caller gets its own reference.
  // Errors: unavailable (peer unreachable, connection lost, io_timeout, this
  // service shutting down), not_found (the peer has no such sealed object, or
  // the local session ended), overloaded (local store full), invalid_argument
  // (size mismatch, a protocol violation by the peer, a malformed address).
  // `done` runs on a worker thread, or on the caller's when the service is
  // already shutting down.
  void pull(std::string address, shm::object_id remote, std::uint64_t size, shm::session_id session,
            std::string bucket, std::string key, pulled_fn done);

  // A snapshot of the counters. Safe from any thread.
  transfer_stats stats() const;

  struct impl;

 private:
  explicit transfer_service(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace trail::net
