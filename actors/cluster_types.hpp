// Messages of a multi-node cluster: node <-> coordinator over CAF (membership
// and control), and the local messages between a node's actors. Work and
// reports between nodes travel on the node-to-node wire instead (peers.hpp,
// schema/cluster.capnp); clients speak the client wire (gateway.hpp).
// Every remote message uses atoms and CAF's built-in types.
//
// node agent -> front:   join_atom, u32 protocol, name, u64 incarnation, wire, data, client,
//                        u32 executors, agent, scheduler, registry      -> u64 number
//                        (wire, data, client: the node's node-to-node wire, data-path and
//                        client-wire addresses)
//                        beat_atom, u64 number, u64 incarnation, u32 free, u32 queued, u64 used
// front -> node agent:   token_atom, string sealed        (before the join's answer, with an invoke token:
//                                                            it, sealed under the secret: net::wrap_key)
//                        fenced_atom, string why          (drop everything, rejoin)
//                        pause_atom, bool paused, string why  (this coordinator's lease may have run out:
//                                                              join another that holds the shards, if one does)
//                        peer_atom, u64 number, name, scheduler, data, wire, bool (unused)
//                        coordinators_atom, [address]     (with etcd: every coordinator listed there; at
//                                                            the join and when the list changes)
//                        down_atom, u64 number            (a peer is dead: fenced)
//                        move_atom, coordinator, why      (with partitions: start over and join that
//                                                            coordinator, whose partition has fewer nodes)
// agent -> scheduler:    peer_atom, u64 number, name, data, wire;  down_atom, u64 number
//                        cluster_atom, front, u64 number, u64 incarnation
//                        detached_atom                    (the coordinator is lost: forward nothing)
//                        rejoin_atom -> u32               (a coordinator answers: take no more direct
//                                                            invokes; answered once those running end)
// agent -> gateway:      token_atom, string key           (accept invoke-only clients with it)
// scheduler -> front:    peer_atom, u64 number            (send my agent every live peer again)
// shard -> registry:     cdeploy_atom, u32 version, manifest, [name], [bytes] -> string
//                        undeploy_atom, app
// shard -> scheduler:    owner_atom, app, u64 number      (who owns app-scoped triggers and objects)
//                        expect_atom, u64 session, app, u32 version, bucket, key, u64 size,
//                        u32 timeout_ms -> u64 session    (start it for a client's put to come)
// scheduler -> front:    fwd_atom, app, u64 origin, hint  -> u64 number to send the work to
//                                                            (origin: run it yourself)
// front -> shard:        ended_atom, u64 number, u64 session, bool ok, string output, u8 code,
//                        string error                     (local: a node said so on the node wire)
// The sessions a shard starts on a node, and how they ended, travel on the
// node wire (run_session, session_ended frames) between the coordinator and
// its nodes.
#pragma once

#include <cstdint>
#include <optional>

#include <caf/all.hpp>

#include "actors/core/partitions.hpp"

namespace trail::actors {

using join_atom = caf::atom_constant<caf::atom("tjoin")>;
using beat_atom = caf::atom_constant<caf::atom("tbeat")>;
using fenced_atom = caf::atom_constant<caf::atom("tfenced")>;
using peer_atom = caf::atom_constant<caf::atom("tpeer")>;
using down_atom = caf::atom_constant<caf::atom("tdown")>;
using cdeploy_atom = caf::atom_constant<caf::atom("tcdeploy")>;
using peers_atom = caf::atom_constant<caf::atom("tpeers")>;  // node.cpp -> scheduler: its wire actor
using owner_atom = caf::atom_constant<caf::atom("towner")>;
using ended_atom = caf::atom_constant<caf::atom("tended")>;
using token_atom = caf::atom_constant<caf::atom("ttoken")>;
using members_atom = caf::atom_constant<caf::atom("tmembers")>;  // lease warden -> coordinator: [coordinator]
// lease warden -> front: bool paused, why (its lease is not current by its own clock / renewed again)
using pause_atom = caf::atom_constant<caf::atom("tpause")>;
using fwd_atom = caf::atom_constant<caf::atom("tfwd")>;
// lease warden -> front: [holder address], [i32 nodes] (per partition; "" and -1: not held)
using partitions_atom = caf::atom_constant<caf::atom("tparts")>;
// front -> node agent: string coordinator, string why (join that one instead: partitions balance)
using move_atom = caf::atom_constant<caf::atom("tmove")>;
using expect_atom = caf::atom_constant<caf::atom("texpect")>;
// local to a node
using watchdog_atom = caf::atom_constant<caf::atom("twatchdog")>;  // a remote attempt overdue
using cluster_atom = caf::atom_constant<caf::atom("tcluster")>;  // agent -> scheduler: front, number, incarnation
using detached_atom = caf::atom_constant<caf::atom("tdetached")>;  // agent -> scheduler: the coordinator is lost
using coordinators_atom = caf::atom_constant<caf::atom("tcoords")>;  // front -> agent: [address]
using rejoin_atom = caf::atom_constant<caf::atom("trejoin")>;  // agent -> scheduler: about to start over
using pulled_atom = caf::atom_constant<caf::atom("tpulled")>;    // a pull for a report finished
using apppulled_atom = caf::atom_constant<caf::atom("tapppull")>;  // a pull for an app-scoped trigger finished
using putwait_atom = caf::atom_constant<caf::atom("tputwait")>;  // an expected put is overdue?
using inpulled_atom = caf::atom_constant<caf::atom("tinpulled")>;  // a pull for a work input finished

// Session ids (who numbered a session): core/partitions.hpp.
using core::node_of_session;
using core::node_session_base;
using core::shard_of_session;
using core::shard_session_base;

}  // namespace trail::actors
