// The producer side of the data path: one accepted connection, serving the
// PullRequests a peer sends on it one after another.
//
// Per request: look the object up (by id, or by name when the request names
// none), retain it, send ObjectHeader and the Chunks under the requester's
// credit window — each payload straight from the shared-memory segment to the
// socket — and release it when the last chunk is out, on Cancel, or on any
// error. A frame that is malformed or out of place drops the connection with
// one line on stderr; other connections are unaffected.
#pragma once

#include <chrono>

#include "actors/net/counters.hpp"
#include "actors/net/socket.hpp"
#include "shm/store_access.hpp"

namespace trail::net {

struct transfer_options;

// What a served connection shares with the service. All members outlive
// every connection (the service joins its threads before they go).
struct serve_context {
  shm::store_access& store;     // the store served from
  const transfer_options& opts;   // chunk size, io_timeout
  const stop_signal& stop;        // raised: stop at once
  counters& count;
};

// How long a connection may sit between requests before the server closes it.
// Requesters drop their idle connections well before (connection_pool).
inline constexpr std::chrono::milliseconds server_idle_timeout{60'000};

// Serves `s` until the peer closes it, breaks the protocol, stays silent
// past a timeout, or `ctx.stop` is raised. Runs on the connection's thread.
void serve_connection(socket s, const serve_context& ctx);

}  // namespace trail::net
