// The coordinator's keeper: writes what must outlive the coordinator to
// etcd (durable/app_records.hpp, durable/session_records.hpp). A detached
// actor: its etcd calls block it, never the coordinator's loop.
//
//   shard -> keeper:   keep_atom, app, u32 version, manifest, [name], [bytes] -> bool
//                      forget_atom, app                                       -> bool
//                      accept_atom, u64 session, app, [arg], u32 timeout_ms,
//                                  u64 request                            -> bool
//                      drop_atom, u64 session                 (cancelled before it started; no answer)
//                      ended_atom, u64 session, bool ok, output, u64 output size, u16 code, message,
//                                  u64 request, [u64 forgotten]            (its result replaces its record;
//                                                              the results its shard forgot go; no answer)
//                      reserve_atom, u32 shard, u64 upto                      -> bool
//   front -> keeper:   listed_atom, node name, record         (durable/node_records.hpp; empty: the node
//                                                              left; no answer, written with the next group)
//                      actor                                   (the front: told how its writes fare, below)
//   coordinator:       writers_atom, [actor]                   (the shards)
//   keeper -> front:   etcd_writes_atom, u64 kept back, u64 refused groups, last refusal
//                                                             (after each refused group, and once
//                                                              the writes kept back went through)
//   (errors: unavailable while etcd is; the shard then refuses what it asked for)
//
// The front and the shards are watched: once all of them are gone, what is
// left goes to etcd in one last try (refused: it is dropped; the sessions
// whose ends it held run again under the next holder) and the keeper ends.
// It does not wait on for an etcd that is away, which would hold up the
// coordinator's exit or restart for as long.
//
// Session records are written in groups: every accept that arrives
// while a write is on its way goes into the next one (one etcd transaction),
// so a busy coordinator pays one round trip per group, not per session. Ends
// and drops, which nobody waits for, wait up to 2 ms for an accept to share
// its group: a client invoking one session after another pays one round trip
// per session, not two.
#pragma once

#include <functional>
#include <string>

#include <caf/all.hpp>

#include "actors/durable/etcd.hpp"

namespace trail::actors {

using keep_atom = caf::atom_constant<caf::atom("tkeep")>;
using forget_atom = caf::atom_constant<caf::atom("tforget")>;
using accept_atom = caf::atom_constant<caf::atom("taccept")>;
using drop_atom = caf::atom_constant<caf::atom("tdrop")>;
using reserve_atom = caf::atom_constant<caf::atom("treserve")>;
using restore_atom = caf::atom_constant<caf::atom("trestore")>;  // coordinator -> shard: what etcd kept
using listed_atom = caf::atom_constant<caf::atom("tlisted")>;
using etcd_writes_atom = caf::atom_constant<caf::atom("tetcdw")>;
using writers_atom = caf::atom_constant<caf::atom("twriters")>;

// `fenced` (may be empty) is called once if a write is refused because this
// coordinator no longer holds the shards (durable::etcd::fence_on).
caf::actor spawn_keeper(caf::actor_system& sys, durable::etcd db,
                        std::function<void(const std::string&)> fenced = {});

}  // namespace trail::actors
