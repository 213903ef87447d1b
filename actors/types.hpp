// Every message type and atom the actors exchange, and the CAF configuration
// every trail process uses. Register once per process: configure(cfg).
//
// Messages that cross process boundaries (client <-> node) use atoms and
// CAF's built-in types only (strings, integers, vectors of them), so nothing
// can silently arrive empty because a peer forgot a registration. Messages
// that stay inside a node are plain structs whitelisted as local-only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include <trail/status.hpp>

#include "actors/core/log_ring.hpp"
#include "actors/core/manifest.hpp"
#include "actors/core/trigger.hpp"
#include "schema/cluster.hpp"

namespace trail::actors {

// Where a node pretends an uploaded manifest lives: both client and node
// resolve the manifest's `library:` entries against it, so they name every
// uploaded library the same way.
inline constexpr const char* upload_root = "/trail-upload";

// Bumped whenever a remote message changes shape; checked by hello_atom.
inline constexpr std::uint32_t protocol_version = 2;

// What a coordinator answers while it cannot renew its lease on the shards
// (shard_claim.hpp): another may hold them, and a client given several
// coordinators asks another (client.cpp looks for this prefix).
inline constexpr std::string_view paused_prefix = "coordinator paused: ";
inline status coordinator_paused(const std::string& why) {
  return status::unavailable(std::string(paused_prefix) + why + "; another coordinator may hold the shards");
}

// What a coordinator holding one partition answers about another's app or
// session (coordinator.cpp): the client routes by the holders it was told
// (client.capnp), and asks again, there, while a takeover is under way
// (client.cpp looks for this prefix).
inline constexpr std::string_view elsewhere_prefix = "another partition: ";

// A cluster node refusing a synchronous invoke sent straight to it (not a
// member now, draining, no such app here): the client sends it through the
// coordinator instead (client.cpp looks for this prefix).
inline constexpr std::string_view not_here_prefix = "not here: ";
inline status not_here(const std::string& why) { return status::unavailable(std::string(not_here_prefix) + why); }

// -- client <-> node (remote) ---------------------------------------------------------
//   hello_atom, u32 version                          -> u32 version (or error)
//   deploy_atom, manifest, [lib path], [lib bytes]   -> string "app vN"
//   invoke_atom, app, [args], u32 timeout_ms, bool async, u64 request -> u64 session, string output
//                                                    (request: the client's id for it, 0: none)
//   result_atom, u64 session, u32 timeout_ms         -> u64 session, string output
//   status_atom                                      -> string (JSON)
//   apps_atom                                        -> [string]
//   undeploy_atom, app                               -> string
using hello_atom = caf::atom_constant<caf::atom("thello")>;
using deploy_atom = caf::atom_constant<caf::atom("tdeploy")>;
using invoke_atom = caf::atom_constant<caf::atom("tinvoke")>;
using result_atom = caf::atom_constant<caf::atom("tresult")>;
using status_atom = caf::atom_constant<caf::atom("tstatus")>;
using apps_atom = caf::atom_constant<caf::atom("tapps")>;
using undeploy_atom = caf::atom_constant<caf::atom("tundeploy")>;
//   admin_atom, command, [args]                      -> string (JSON)   (README "Operating trail")
using admin_atom = caf::atom_constant<caf::atom("tadmin")>;

// -- direct invokes: a coordinator's gateway -> its front (local) -----------------------
//   direct_atom, app   -> string: the client wire of the node a synchronous invoke of
//                         `app` is sent to (the client runs it there); "": run it here
//   alive_atom, address -> bool: the node whose client wire that is, is a live member
//                         (a client that waits long on a direct invoke there asks)
// A cluster node runs the synchronous invokes clients bring it as sessions of
// its own (README "Running a cluster"): the coordinator is off their path.
using direct_atom = caf::atom_constant<caf::atom("tdirect")>;
using alive_atom = caf::atom_constant<caf::atom("talive")>;

// -- data in and out: gateway -> front (always in the gateway's process) ---------------
//   put_atom, app, bucket, key, u64 size, bool new_session, u32 timeout_ms,
//            u64 session                 -> put_window (session: a cluster node's put into the
//                                           session its coordinator started for it; else 0)
//   putend_atom, u64 put, bool commit    -> u64 session (0: app scope). commit: seal the
//                                           object and feed its bucket; else drop it
//   get_atom, app, bucket, key           -> get_window (an app-scoped object, retained)
//   getend_atom, u64 object              the gateway is done reading it (no answer)
// A coordinator's front answers put and get with a redirect (put_window /
// get_window `redirect`): the client goes on with the node the shard chose
// (README "Data in and out").
using put_atom = caf::atom_constant<caf::atom("tput")>;
using putend_atom = caf::atom_constant<caf::atom("tputend")>;
using get_atom = caf::atom_constant<caf::atom("tget")>;
using getend_atom = caf::atom_constant<caf::atom("tgetend")>;

// -- inside a node (local) --------------------------------------------------------------
using tick_atom_t = caf::atom_constant<caf::atom("ttick")>;      // a timer went off
using end_atom = caf::atom_constant<caf::atom("tend")>;          // a session ended
using drain_atom = caf::atom_constant<caf::atom("tdrain")>;      // bool fds: the executors have news
using lost_atom = caf::atom_constant<caf::atom("tlost")>;        // u64 number: the wire to a peer broke
using load_atom = caf::atom_constant<caf::atom("tload")>;
using standby_atom = caf::atom_constant<caf::atom("tstandby")>;  // what a coordinator standing by says, the holder's address        // -> free executors, queued, store bytes used

// One deployed version of an app: immutable once built, shared by every
// session that started on it (a redeploy makes a new one). When the last
// holder lets go — the registry after a redeploy or undeploy, and every
// session that ran on it — its bucket actors stop and release what their
// triggers held.
struct app_version {
  app_version() = default;
  app_version(const app_version&) = delete;
  app_version& operator=(const app_version&) = delete;
  ~app_version() {
    for (auto& [name, b] : buckets) caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  }

  std::string app;
  std::uint32_t version = 0;
  std::uint64_t uid = 0;                         // node-unique across apps and versions
  core::app_manifest manifest;                   // libraries resolved to content-addressed paths
  std::map<std::string, caf::actor> buckets;     // bucket actors, for buckets with triggers
  std::vector<std::string> redundant_buckets;    // buckets with a redundant trigger
  std::set<std::string> app_scoped_buckets;      // buckets with an app-scoped trigger
  std::set<std::string> kept_buckets;            // `keep: app` buckets
};
using app_ref = std::shared_ptr<const app_version>;

// Something an executor did, as the executor pool reported it.
struct exec_event {
  // returned: handed to an executor that died before starting it.
  enum class kind : std::uint8_t { ready, sealed, output, announce, done, finished, lost, returned, died };
  kind what = kind::ready;
  std::uint64_t invocation = 0;
  int slot = -1;              // the executor
  std::uint64_t session = 0;
  core::object_meta object;   // sealed, output
  bool fresh = true;          // sealed, output: false when an earlier seal won
  std::string bucket;         // announce, done
  std::uint64_t count = 0;    // announce
  status outcome;             // finished, lost, died
};

// An object for a bucket actor's triggers (session-scoped or app-scoped).
struct bucket_object {
  core::object_meta object;
  // In a cluster, a bucket's app-scoped triggers live on one node only.
  enum class scope_filter : std::uint8_t { all, session_only, app_only } scope = scope_filter::all;
};
// ctx.announce / ctx.done for a bucket actor's dynamic trigger.
// Also: a function of the session failed for good — for a redundant
// trigger, one replica less (is_replica_failure).
struct bucket_announce {
  std::uint64_t session = 0;
  std::uint64_t count = 0;
  bool is_done = false;       // done(producer) instead of announce(count)
  std::uint64_t producer = 0; // stable across retries of one task
  bool is_replica_failure = false;
  std::string error;          // the failed function's error (replica failures)
};
// What a bucket actor did with an event: fires to start, and whether its
// triggers still wait for something in that session.
struct bucket_result {
  std::uint64_t app_uid = 0;
  std::string bucket;
  std::uint64_t session = 0;   // 0 for timer fires
  std::vector<core::fire> fires;
  bool waiting = false;
  bool counted = true;          // answers an event the scheduler counted as work
  // Timer fires: whether each fired session still waits on this bucket.
  std::vector<std::pair<std::uint64_t, bool>> waiting_updates;
  status problem;               // a rejected announcement: fails the session
  // Store references the bucket's triggers took and dropped, applied by the
  // scheduler (the store's one user): retains first.
  std::vector<std::uint64_t> retain, release;
};
// A put being written: `size` writable bytes at `data`, in the store's
// allocation of the object. Valid (and written by the gateway alone, on the
// node loop) until its putend_atom; the scheduler keeps the object until then.
struct put_window {
  std::uint64_t put = 0;      // names the put in putend_atom
  std::uint64_t session = 0;  // the new session's id; 0 in app scope
  std::byte* data = nullptr;
  std::uint64_t size = 0;
  std::string redirect;       // a coordinator's answer: put it there (host:port), in `session`
};
// A sealed object being read out: valid until the reader's getend_atom (the
// scheduler holds a store reference for it until then).
struct get_window {
  std::uint64_t object = 0;
  const std::byte* data = nullptr;
  std::uint64_t size = 0;
  std::string redirect;  // a coordinator's answer: read it there (host:port)
};
// A frame of the node-to-node wire, to or from peer `to`/`from` (peers.hpp).
struct peer_out {
  std::uint64_t to = 0;
  schema::peer_message message;
};
struct peer_in {
  std::uint64_t from = 0;         // the sender's number, as its hello said
  std::uint64_t incarnation = 0;  // ... and incarnation
  schema::peer_message message;
};

// A bucket actor stopped: the references its triggers still held.
struct bucket_released {
  std::vector<std::uint64_t> release;
};

// caf::error <-> trail::status. trail errors travel as category "trail" with
// the errc as code and the message as context.
caf::error to_error(const status& s);
status to_status(const caf::error& e, caf::actor_system& sys);

// Writes `line` (plus a newline) to stderr from a thread of its own: an
// actor never stalls on a full stderr pipe. The newest lines are also kept
// in recent_logs() for `trail logs`.
void log_line(std::string line);
// Removes TMPDIR/<prefix><pid> directories whose process is gone (a node's
// or coordinator's temporary state dir, left by a SIGKILL).
void remove_dead_temp_dirs(const std::string& prefix);
core::log_ring& recent_logs();  // process-wide, like stderr itself

// For actors that peers can reach: a message no handler matches (malformed,
// of another protocol, forged) is dropped with one line on stderr naming
// `who` got what and from whom, and a request gets unexpected_message back.
// The actor keeps running. (CAF's default prints to stdout, which trail
// keeps for results.)
void reject_unexpected(caf::scheduled_actor* self, std::string who);

// Registers the message types and sets CAF's tuning for 2-core VMs in code
// (nothing is read from the working directory).
void configure(caf::actor_system_config& cfg);

}  // namespace trail::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(trail::actors::app_ref)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(trail::actors::exec_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(trail::actors::bucket_object)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(trail::actors::bucket_announce)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(trail::actors::bucket_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(trail::actors::bucket_released)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(trail::actors::peer_out)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(trail::actors::peer_in)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(trail::actors::put_window)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(trail::actors::get_window)
