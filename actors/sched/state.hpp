// The scheduler actor's state, and the steps a piece of work goes through
// on a node, each in its own file:
//
//   arrival   (flow.cpp)     what executors and peers report: objects landed,
//                            announcements, attempts that ended
//   trigger                  bucket actors (bucket.hpp) decide what fires
//   dispatch  (flow.cpp,     queued tasks go to an executor here
//              dispatcher)   (core::choose_executor) or, in a cluster, to
//                            another node (cluster.cpp)
//   report    (flow.cpp,     an attempt's end: done, re-run (core::retry) or
//              cluster.cpp)  failed; a session's end: its outcome to whoever
//                            waits (outcomes, or the coordinator's shard)
//
// The pieces with rules of their own are classes with their own tests:
// task_table (task states), catalogue (app versions), outcomes, dispatcher,
// and the pure cores core::session_table, core::session_refs (who keeps a
// session open in the store), core::report_sequencer (remote reports in
// order). Internal to actors/; see scheduler.hpp for the protocol.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "actors/core/recent_ends.hpp"
#include "actors/core/report_sequencer.hpp"
#include "actors/core/session_refs.hpp"
#include "actors/core/session_table.hpp"
#include "actors/scheduler.hpp"
#include "actors/sched/catalogue.hpp"
#include "actors/sched/dispatcher.hpp"
#include "actors/sched/outcomes.hpp"
#include "actors/sched/tasks.hpp"
#include "actors/sched/trace_log.hpp"
#include "schema/cluster.hpp"

namespace trail::actors::sched {

// A peer node, as the coordinator announced it.
struct peer {
  std::string name;
  std::string data;  // its data-path address (pulls)
};

// What a node of a cluster keeps beyond itself (cluster.cpp).
struct cluster_state {
  caf::actor front;                    // the coordinator
  bool detached = false;               // it was lost: this node serves direct invokes alone (agent.hpp)
  caf::actor wire;                     // the node-to-node wire (peers.hpp)
  std::uint64_t number = 0, incarnation = 0;
  std::string name, data_address;
  net::transfer_service* xfer = nullptr;
  std::chrono::milliseconds forward_wait{0};
  std::map<std::uint64_t, peer> peers;  // live peers by cluster number
  std::set<std::uint64_t> dead;         // fenced numbers: whatever they send is rejected
  std::map<std::string, std::uint64_t> owners;  // app -> number owning its app-scoped triggers
  std::unordered_set<std::uint64_t> placed;     // sessions the shard placed here (their end is reported)
  // How placed sessions ended lately: said again when the coordinator asks
  // again, or after the wire to it broke (a frame may have gone with it).
  core::recent_ends<schema::session_ended> ended{4096, 16u << 20, 65536};
  std::optional<clock::time_point> ends_resent;  // the last time all of them were said again
  // Sessions clients started here directly (synchronous invokes). A node
  // about to start over (rejoin_atom: its coordinator is lost or paused, and
  // another answers) takes no more of them, and is
  // answered once these have ended: their clients get their outputs, and
  // nothing runs twice.
  std::unordered_set<std::uint64_t> direct;
  bool rejoining = false;
  std::uint32_t rejoin_waited = 0;  // how many were running when it was asked
  std::optional<caf::typed_response_promise<std::uint32_t>> rejoined;
  // -- home side --
  // Objects already handed to their buckets, per live session: an object can
  // arrive twice (a given-up attempt's pull and its re-run's seal).
  std::unordered_map<std::uint64_t, std::unordered_set<std::uint64_t>> fed;
  std::unordered_map<std::uint64_t, std::set<std::uint64_t>> workers;  // session -> nodes that ran work of it
  core::report_sequencer<schema::report> reports;                     // remote attempts' reports, in order
  std::unordered_map<std::uint64_t, std::uint64_t> lent;  // objects kept for an app-scope owner's pull -> owner
  // -- app-scope owner side: objects of other nodes' sessions being pulled here --
  struct app_import {
    std::uint64_t session = 0;
    app_ref app;                    // the version it is for
    std::uint64_t lender = 0;       // the home it is pulled from; told when done
    std::uint64_t lent_object = 0;  // the object's id there
  };
  std::unordered_map<std::uint64_t, app_import> imports;
  std::uint64_t next_import = 1;
  // -- puts the coordinator sent clients here with (data.cpp), by session --
  struct expected_put {
    app_ref app;
    std::string bucket, key;
    std::uint64_t size = 0;
  };
  std::unordered_map<std::uint64_t, expected_put> expected_puts;
  // -- worker side --
  std::unordered_map<std::uint64_t, std::uint64_t> foreign;  // session of another home -> its number
};

// A client's put being written into the store (data.cpp); keyed by its object.
struct open_put {
  app_ref app;                // the version it was put into
  std::uint64_t session = 0;  // its new session; 0 in app scope
  std::uint64_t size = 0;     // the bytes the client announced
};

struct counters {
  std::uint64_t invocations = 0, retries = 0, returned = 0;
  std::uint64_t batched = 0;                // handed to a busy executor, to run from its ring
  std::uint64_t sessions_ok = 0, sessions_failed = 0;
  std::uint64_t forwarded = 0, worked = 0;  // cluster: attempts sent away / run for others
};

struct scheduler_state {
  shm::store* store = nullptr;             // the node's; this actor is its one user on the loop
  scheduler_options opts;
  std::unique_ptr<catalogue> apps;
  std::unique_ptr<core::session_table> sessions;
  std::unordered_map<std::uint64_t, app_ref> session_app;  // live sessions homed here -> their version
  core::session_refs store_sessions;       // who keeps each session open in the store
  task_table tasks;
  std::deque<std::uint64_t> queue;         // queued tasks, in order
  dispatcher executors;
  std::unique_ptr<outcomes> results;       // standalone only: clients ask a node for results
  std::optional<cluster_state> cluster;
  counters count;
  std::deque<std::string> recent_failures;
  std::deque<nlohmann::json> recent_sessions;  // the last ended sessions, for `trail status`
  std::unique_ptr<trace_log> trace;            // recent sessions and attempts, for operators
  bool draining = false;                       // `trail drain`: no new sessions start here
  // Data in and out (data.cpp).
  std::unordered_map<std::uint64_t, open_put> puts;              // puts being written, by object
  std::unordered_map<std::string, std::uint64_t> app_data;       // app -> its data session (app-scoped objects)
  std::unordered_multiset<std::uint64_t> reading;                // objects clients are reading (one reference each)
  std::uint64_t next_session = 1, next_invocation = 1;
  std::optional<clock::time_point> armed;      // the tick timer's deadline
  static inline const char* name = "trail.scheduler";
};

using self_ptr = caf::stateful_actor<scheduler_state, loop_actor>*;
using retry_atom = caf::atom_constant<caf::atom("tretry")>;

// -- flow.cpp: sessions, tasks, executors, buckets --------------------------------
result<std::uint64_t> start_session(self_ptr self, const app_ref& app, core::session_origin origin,
                                    std::optional<std::chrono::milliseconds> deadline, std::uint64_t id);
// Queues an invocation of `fn` in live session `s`; takes the inputs' references.
status enqueue(self_ptr self, const app_ref& app, std::string_view fn, std::uint64_t s,
               std::vector<std::string> args, std::vector<core::object_meta> inputs);
// Ends a task for good: its references go, its session loses a piece of work.
void retire(self_ptr self, task& t);
void release_inputs(self_ptr self, const std::vector<core::object_meta>& inputs);
// An attempt is over (here or elsewhere): done, re-run, or failed for good.
void on_attempt_end(self_ptr self, std::uint64_t invocation, const status& outcome);
// A fresh object of a live session homed here: to its bucket's triggers.
void on_object(self_ptr self, const core::object_meta& o);
void on_output(self_ptr self, std::uint64_t session, const core::object_meta& o);
void on_announce(self_ptr self, task& t, const std::string& bucket, std::uint64_t count, bool is_done);
void on_exec_events(self_ptr self, std::vector<exec_event> events);
void on_bucket_result(self_ptr self, bucket_result& r);
void requeue(self_ptr self, std::uint64_t task_id);
// Collects ended sessions, starts what can start, serves the executors until
// they have nothing more to say, and arms the timer for the next deadline.
void pump(self_ptr self);
core::object_meta meta_of(self_ptr self, std::uint64_t object);
void note_failure(self_ptr self, std::string what);
// The session's store name space: opened by its first holder, released with the last.
void hold_session(self_ptr self, std::uint64_t s, core::session_refs::holder h);
void let_go_session(self_ptr self, std::uint64_t s, core::session_refs::holder h);

// -- data.cpp: objects clients put and get (types.hpp, "data in and out") -----------------
caf::result<put_window> begin_put(self_ptr self, const std::string& app, const std::string& bucket,
                                  const std::string& key, std::uint64_t size, bool new_session,
                                  std::uint32_t timeout_ms, std::uint64_t session);
// A cluster node: the coordinator started session `session` here for a put a
// client will send (begin_put with that session); the session fails if the
// client does not come within `expect_put_wait`.
caf::result<std::uint64_t> expect_put(self_ptr self, std::uint64_t session, const std::string& app,
                                      std::uint32_t version, const std::string& bucket, const std::string& key,
                                      std::uint64_t size, std::uint32_t timeout_ms);
void expected_put_overdue(self_ptr self, std::uint64_t session);
inline constexpr std::chrono::seconds expect_put_wait{30};
// An object of another node's session, for this node's app scope (it owns
// the app's app-scoped triggers and kept objects): kept, and fed to the
// app-scoped triggers of its bucket. Takes one reference of `o`.
void deliver_app_object(self_ptr self, const app_ref& app, const core::object_meta& o);
caf::result<std::uint64_t> end_put(self_ptr self, std::uint64_t put, bool commit);
caf::result<get_window> begin_get(self_ptr self, const std::string& app, const std::string& bucket,
                                  const std::string& key);
void end_get(self_ptr self, std::uint64_t object);
// A function's object sealed into a `keep: app` bucket: named in the app's
// scope too (first of a key wins), where `get` reads it.
void keep_in_app(self_ptr self, const app_ref& app, const core::object_meta& o);
// The app is undeployed: its app-scoped objects go (once nothing else refers to them).
void forget_app_data(self_ptr self, const std::string& app);

// -- admin.cpp: operators' commands ----------------------------------------------------
result<std::string> admin(self_ptr self, const std::string& command, const std::vector<std::string>& words);
// The same, asking bucket actors where the answer needs them (`session ID`).
caf::result<std::string> admin_request(self_ptr self, const std::string& command, const std::vector<std::string>& words);
// The newest log lines of this process after `since` (`trail logs`).
nlohmann::json logs_json(const std::string& node, std::uint64_t since, std::size_t limit);
// Steady time as wall-clock µs (trace times).
inline wall_us to_wall(clock::time_point t, clock::time_point now, wall_us wall) {
  return wall - std::chrono::duration_cast<std::chrono::microseconds>(now - t).count();
}

// -- cluster.cpp: two-level scheduling between nodes ------------------------------
// Whether `t` leaves this node now (no executor takes it here, or its
// function names another node).
bool should_forward(self_ptr self, const task& t, bool local_choice);
void forward(self_ptr self, task& t);
// An executor event of work run for another home: reported there. False if
// the invocation is not such work.
bool report_event(self_ptr self, task& t, const exec_event& e);
// An object for an app-scoped trigger owned elsewhere: sent there. False when
// this node owns the app's app-scoped triggers (or runs standalone).
bool send_to_owner(self_ptr self, const app_ref& app, const core::object_meta& o);
// A session homed here ended: workers drop what they hold of it; the shard
// learns the outcome.
void on_session_end(self_ptr self, std::uint64_t session, const outcome& o, bool quiet);
// The cluster protocol (cluster_types.hpp); empty standalone.
caf::message_handler cluster_handlers(self_ptr self);

}  // namespace trail::actors::sched
