// bucket actor: owns the triggers of one bucket of one app version and the
// references their state holds.
//
// Protocol (all from the scheduler, all answered with a bucket_result sent
// to the scheduler — fires to start, and whether a trigger still waits in
// that session):
//   bucket_object                 an object landed in the bucket
//   bucket_announce               ctx.announce / ctx.done for its dynamic trigger
//   end_atom, u64 session         the session ended: drop its state (no answer)
//   admin_atom, u64 session       -> [string]: what its triggers still wait for in
//                                 that session, as pairs (trigger, what) (`trail session ID`)
//   tick_atom_t                   its own timer (by_time), armed for the earliest deadline
//
// References: a bucket_object arrives with one store reference (taken by the
// scheduler while its session was alive), which the actor drops once its
// triggers have seen it. Every object a trigger holds carries one more;
// every input of a fire carries one, handed to the scheduler with the fire.
// The actor never touches the store: the references it takes and drops
// travel to the scheduler in its bucket_result (or, when a session ends or
// the actor stops, in a bucket_released).
#pragma once

#include <caf/all.hpp>

#include "actors/loop.hpp"
#include "actors/types.hpp"

namespace trail::actors {

// Spawns the actor for `bucket` of app version `app_uid` on `loop`. It lives
// as long as its app_version (whose destructor stops it). REQUIRES: `specs`
// were validated.
caf::actor spawn_bucket(node_loop& loop, std::uint64_t app_uid, std::string bucket,
                        std::vector<core::trigger_spec> specs, caf::actor scheduler);

}  // namespace trail::actors
