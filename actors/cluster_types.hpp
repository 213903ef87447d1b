// Messages of a multi-node cluster (issue 4): node <-> coordinator and
// node <-> node. Every remote message uses atoms and CAF's built-in types
// (strings, integers, actor handles, vectors of strings); structured ones
// (forwarded work, reports) carry a Cap'n Proto blob (schema/cluster.hpp).
//
// node agent -> front:   join_atom, u32 protocol, name, u64 incarnation, listen, data,
//                        u32 executors, agent, scheduler, registry      -> u64 number
//                        beat_atom, u64 number, u64 incarnation, u32 free, u32 queued, u64 used
// front -> node agent:   fenced_atom, string why          (drop everything, rejoin)
//                        peer_atom, u64 number, name, scheduler, data, listen, bool dial
//                                                         (a live peer; dial: open the direct
//                                                         connection — only one side does)
//                        down_atom, u64 number            (a peer is dead: fenced)
// agent -> scheduler:    peer_atom, u64 number, name, scheduler, data;  down_atom, u64 number
// scheduler -> front:    peer_atom, u64 number            (send my agent every live peer again)
// shard -> registry:     cdeploy_atom, u32 version, manifest, [name], [bytes] -> string
//                        undeploy_atom, app
// shard -> scheduler:    run_atom, u64 session, app, u32 version, [args], u32 timeout_ms
//                        owner_atom, app, u64 number      (who owns app-scoped triggers)
//                        work_atom, blob                  -> bool (accepted) or error
// scheduler -> front:    ended_atom, u64 number, u64 incarnation, u64 session, bool ok,
//                        string output, u8 code, string error
//                        fwd_atom, app, u64 origin, hint, blob -> u64 number it runs on
//                                                            (origin: run it yourself)
// scheduler -> scheduler report_atom, blob                (worker -> home, app owner)
//                        release_atom, u64 session        (home -> worker: session over)
//                        lent_atom, u64 object            (app-scope owner -> home: pulled it)
#pragma once

#include <cstdint>
#include <optional>

#include <caf/all.hpp>

namespace trail::actors {

using join_atom = caf::atom_constant<caf::atom("tjoin")>;
using beat_atom = caf::atom_constant<caf::atom("tbeat")>;
using fenced_atom = caf::atom_constant<caf::atom("tfenced")>;
using peer_atom = caf::atom_constant<caf::atom("tpeer")>;
using down_atom = caf::atom_constant<caf::atom("tdown")>;
using cdeploy_atom = caf::atom_constant<caf::atom("tcdeploy")>;
using run_atom = caf::atom_constant<caf::atom("trun")>;
using owner_atom = caf::atom_constant<caf::atom("towner")>;
using work_atom = caf::atom_constant<caf::atom("twork")>;
using ended_atom = caf::atom_constant<caf::atom("tended")>;
using fwd_atom = caf::atom_constant<caf::atom("tfwd")>;
using report_atom = caf::atom_constant<caf::atom("treport")>;
using release_atom = caf::atom_constant<caf::atom("trelease")>;
using lent_atom = caf::atom_constant<caf::atom("tlent")>;
// local to a node
using watchdog_atom = caf::atom_constant<caf::atom("twatchdog")>;  // a remote attempt overdue
using cluster_atom = caf::atom_constant<caf::atom("tcluster")>;  // agent -> scheduler: front, number, incarnation
using pulled_atom = caf::atom_constant<caf::atom("tpulled")>;    // a pull for a report finished
using apppulled_atom = caf::atom_constant<caf::atom("tapppull")>;  // a pull for an app-scoped trigger finished
using inpulled_atom = caf::atom_constant<caf::atom("tinpulled")>;  // a pull for a work input finished

// Node-level session ids. The coordinator's shard s numbers the sessions it
// places (shard_session_base(s) + n); a node numbers the sessions its
// app-scoped triggers start (node_session_base(number) + n). A standalone
// node starts at 1. Ids never collide across a cluster.
constexpr std::uint64_t shard_session_base(std::uint32_t shard) { return (std::uint64_t{shard} + 1) << 48; }
constexpr std::uint64_t node_session_base(std::uint64_t number) { return (0x8000ull | (number & 0x7fff)) << 48; }
// The shard that numbered `session`, if a shard did.
constexpr std::optional<std::uint32_t> shard_of_session(std::uint64_t session) {
  std::uint64_t top = session >> 48;
  if (top == 0 || top >= 0x8000) return std::nullopt;
  return static_cast<std::uint32_t>(top - 1);
}

}  // namespace trail::actors
