// gateway actor: the client wire (schema/client.capnp) on a TCP port, run
// by a node loop. It speaks for `front` — a standalone node's registry, a
// coordinator's front, a cluster node's agent — turning each request into
// the actor protocol of types.hpp and each answer back into a reply. A
// connection may have many requests in flight; replies go out as answers
// come, each with its request's id.
//
// A malformed or oversized frame gets one error reply (id 0), then the
// connection is closed; everyone else is served on. A client that goes away
// with requests in flight changes nothing else: sessions it started run to
// their end (`trail result` still finds them); their replies are dropped.
//
// Threads: the gateway and its sockets live on the loop; the listening
// socket is bound by spawn_gateway on the caller's thread, so that a busy
// port is an error there and then.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <caf/all.hpp>

#include <trail/status.hpp>

#include "actors/loop.hpp"
#include "actors/net/auth.hpp"
#include "actors/net/tls.hpp"
#include "schema/client.hpp"

namespace trail::actors {

struct gateway_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;                        // 0: any free port
  caf::actor front;                              // answers types.hpp's client protocol
  // A cluster node: its scheduler, which runs the synchronous invokes clients
  // bring here as sessions of its own (invoke_atom without a request id).
  caf::actor invoke_here;
  // A coordinator: a synchronous invoke whose client follows redirects asks
  // the front where to run (direct_atom) and is sent to that node.
  bool direct_invokes = false;
  std::string control;                           // a coordinator's control (CAF) address, for joining nodes
  std::string control_wire;                      // ... and its node wire's address
  std::size_t max_frame = schema::max_client_frame;
  std::size_t max_connections = 4096;            // more are refused (closed at once)
  // With keys, a connection must prove it holds one (net/auth.hpp) before
  // anything but hello is read; until then frames over 4 KiB close it. An
  // invoke-token connection may invoke, read results and objects, and put
  // into new sessions; not deploy, undeploy, put into an app's scope, run
  // admin commands or ask for a coordinator's control ports.
  std::optional<net::server_keys> keys;
  // With TLS (--tls-cert/--tls-key), every connection is TLS, its handshake
  // before anything else; one that does not speak it is closed.
  std::shared_ptr<net::tls_context> tls;
  // Not empty: a coordinator that does not hold the shards (yet). Every
  // request is answered unavailable with this text, so clients and joining
  // nodes move on to another address at once and say why; hello with a
  // redirect (and this text) to the `holder`, if its address is known, which
  // the client library follows (and, when no coordinator serves, it looks
  // again for a while: a takeover is under way).
  std::string standing_by;
  std::string holder;
};

// To a gateway: (standby_atom, why, holder) changes what it answers while
// standing by; (serve_atom, front, control, control_wire) -> serve_atom makes
// it serve `front` from now on (a coordinator that holds the shards), and
// answers once it does.
using serve_atom = caf::atom_constant<caf::atom("tgwserve")>;

// Listens on opts.host:opts.port and spawns the gateway on `loop`. Returns
// it and the port it listens on. Errors: unavailable (cannot bind).
result<std::pair<caf::actor, std::uint16_t>> spawn_gateway(node_loop& loop, gateway_options opts);

}  // namespace trail::actors
