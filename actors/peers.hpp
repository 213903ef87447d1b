// peers actor: the node-to-node wire of a cluster node — forwarded work,
// reports, releases — as PeerMessage frames (schema/cluster.capnp) on plain
// TCP, run by the node loop (no CAF remote actors, no thread of its own).
//
// The node dials each peer it sends to, once; every connection starts with
// a hello (number, incarnation) and then carries the dialer's frames, so a
// pair of nodes talks over two connections, one each way. Frames to a peer
// whose connection is still being made wait for it, as do all frames until
// the node knows its own number. With the cluster secret,
// every connection first runs the members' handshake (net/handshake.hpp);
// with TLS, everything (that handshake too) runs inside TLS, accepted links
// as its server and dialed ones as its client. A connection that fails
// either, or is silent for 5 s, is closed with one log line. Whatever arrives goes
// to the scheduler as a peer_in, tagged with the sender's hello; fencing
// (frames of nodes declared dead) is the scheduler's call.
//
// Fault points (net::faults, when given): each frame sent may be lost or
// held back (in order) and each frame received from a partitioned peer is
// lost; see actors/net/faults.hpp.
//
// Protocol:
//   scheduler -> peers:  cluster_atom, u64 number, u64 incarnation   who this node is
//                        peer_atom, u64 number, string address       a live peer and its wire address
//                        down_atom, u64 number                       forget it (its connections close)
//                        peer_out                                    send a frame (dials when needed)
//                        (the reply to an address request)           -> string: this wire's address
//   peers -> scheduler:  peer_in                                     a frame from a peer
//                        peer_atom, u64 number                       the connection to or from it broke
#pragma once

#include <optional>
#include <string>

#include <caf/all.hpp>

#include <trail/status.hpp>

#include "actors/loop.hpp"
#include "actors/net/handshake.hpp"

namespace trail::net {
class faults;
}

namespace trail::actors {

// Listens on `host` (any free port) and spawns the actor on `loop`. Returns
// it and the address peers reach it at. Errors: unavailable (cannot bind).
// `faults` (may be null) must outlive the actor. `security`: the cluster's
// secret and TLS (none: no handshake, plain TCP).
// `number`: this wire's number in the cluster when it is known from the
// start (the coordinator's); a node's comes later, with cluster_atom, and
// until then its frames wait (a hello must never name the wrong sender).
result<std::pair<caf::actor, std::string>> spawn_peers(node_loop& loop, const std::string& host, caf::actor scheduler,
                                                      net::faults* faults = nullptr,
                                                      net::member_security security = {},
                                                      std::optional<std::uint64_t> number = std::nullopt);

}  // namespace trail::actors
