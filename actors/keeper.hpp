// The coordinator's keeper: writes deployed apps to etcd (durable/
// app_records.hpp) so that they outlive the coordinator. A detached actor:
// its etcd calls block it, never the coordinator's loop.
//
//   shard -> keeper:   keep_atom, app, u32 version, manifest, [name], [bytes] -> bool
//                      forget_atom, app                                       -> bool
//   (errors: unavailable while etcd is; the shard then refuses the deploy or undeploy)
#pragma once

#include <caf/all.hpp>

#include "actors/durable/etcd.hpp"

namespace trail::actors {

using keep_atom = caf::atom_constant<caf::atom("tkeep")>;
using forget_atom = caf::atom_constant<caf::atom("tforget")>;
using restore_atom = caf::atom_constant<caf::atom("trestore")>;  // coordinator -> shard: an app kept in etcd

caf::actor spawn_keeper(caf::actor_system& sys, durable::etcd db);

}  // namespace trail::actors
