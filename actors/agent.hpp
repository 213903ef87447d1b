// A cluster node's agent (issue 4 §1, §4): its membership in the cluster.
//
// It connects to the coordinator (retrying with backoff until it answers),
// registers the node — name, incarnation, addresses, executors and the
// handles of its scheduler and registry — then heartbeats the free executors
// every `heartbeat`, and passes peers and deaths on to the scheduler (which
// talks to its peers over the node-to-node wire, not through CAF).
//
// Fencing: when the coordinator declares this node dead (it hung, or lost
// its connection), the node's sessions are no longer its own: `restart` is
// called, and the process starts over as a new incarnation (node.cpp
// re-executes itself). So it does when the coordinator says it is paused
// (it cannot renew its lease on the shards and may no longer hold them) and
// another of the list answers: standbys answer every request "standing by",
// so that one holds them. A paused coordinator refuses joins, so the new
// incarnation joins the other. (Before it starts over it lets the direct
// invokes it runs end, as below.)
//
// Detached: when the connection to the coordinator drops, or it answers no
// heartbeat for `coordinator_timeout`, the node goes on serving what needs
// no coordinator — the synchronous invokes clients send it directly — and
// forwards nothing, until one of the list answers; then it takes no more
// direct invokes, lets those running end (for `rejoin_patience` at most),
// and restarts and joins that one. (The sessions the lost coordinator placed
// here are run again by whichever coordinator takes over, on nodes that
// joined it.)
//
// With several partitions, a coordinator with more nodes than another hands
// one over (cluster_types.hpp, move_atom): the node starts over the same way
// and joins the coordinator named.
//
// The coordinators it knows are those it was given and those the one it
// joined says etcd lists (a standby started later, say), so it finds them too.
//
// With an invoke token, the coordinator hands it over (sealed under the
// secret) before it answers the join; the agent gives it to the node's
// gateway, so invoke-only clients the coordinator sends here are accepted.
//
// It also answers clients that reach the node's gateway (its --listen port):
// they are told to use the coordinator. It finds the coordinator's control
// (CAF) port by asking the coordinator's gateway, at every (re)connect.
#pragma once

#include <chrono>
#include <cstdint>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/net/auth.hpp"
#include "actors/net/tls.hpp"


namespace trail::actors {

struct agent_options {
  std::vector<std::string> coordinators;  // host:port each; tried in turn until one answers
  // A coordinator that answers no heartbeat for this long is gone (or
  // stopped): the node starts over and joins whichever answers.
  std::chrono::milliseconds coordinator_timeout{3000};
  std::string name;                  // empty: the listen address
  std::uint64_t incarnation = 0;     // larger for every start of `name`
  std::string listen;                // host:port of the node's node-to-node wire (peers.hpp); set
                                     // by (cluster_atom, listen, address), which starts the
                                     // joining (address: the node's gateway, the default name)
  std::string data;                  // host:port of its data path
  std::string client;                // host:port of its gateway (set with `listen`): where
                                     // the coordinator sends clients' puts and gets
  std::uint32_t executors = 0;
  std::optional<net::credentials> secret;  // proves this node to a coordinator that wants proof
  std::shared_ptr<net::tls_context> tls;   // the coordinator's wires are TLS, signed by this CA
  std::chrono::milliseconds heartbeat{100};
  // Another coordinator answers (this one is lost or paused): the direct
  // invokes running here may end for this long before the node starts over
  // anyway.
  std::chrono::milliseconds rejoin_patience{30000};
  std::function<void(const std::string& why)> restart;  // called once, from an actor thread
  // Called (from an actor thread) with every coordinator it knows, each time
  // it learns of more.
  std::function<void(const std::vector<std::string>&)> learned;
  // Called (from an actor thread) when its coordinator hands it over to
  // another partition's (move_atom): the next incarnation joins that one first.
  std::function<void(const std::string&)> join_first;
};

// Heartbeats carry the scheduler's load (load_atom).
caf::actor spawn_agent(caf::actor_system& sys, agent_options opts, caf::actor scheduler, caf::actor registry);

}  // namespace trail::actors
