// The scheduler actor's state and the steps its two halves share: the local
// half (scheduler.cpp: sessions, tasks, executors, buckets) and the cluster
// half (scheduler_cluster.cpp: forwarding, work run for other nodes, reports,
// pulls). Internal to actors/; see scheduler.hpp for the protocol.
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "actors/core/dispatch_policy.hpp"
#include "actors/core/session_table.hpp"
#include "actors/net/transfer.hpp"
#include "actors/scheduler.hpp"
#include "shm/async_log.hpp"
#include "schema/cluster.hpp"

namespace trail::actors::sched {

using clock = std::chrono::steady_clock;

// One logical invocation of a function in a session, across its attempts.
struct task {
  std::uint64_t id = 0;
  app_ref app;
  const core::function_spec* fn = nullptr;
  std::uint64_t session = 0;
  std::vector<std::string> args;               // entry invocations only
  std::vector<core::object_meta> inputs;       // one store reference each, held by the task
  std::uint32_t attempt = 0;
  std::uint64_t invocation = 0;                // id of the running attempt, 0 when not running
  bool retry_pending = false;                  // a re-run is scheduled (exactly one)
  clock::time_point queued_at{};               // when it last became runnable
  std::optional<int> producer;                 // executor that sealed its (last) input, for locality
  clock::time_point started_at{};              // when the running attempt was handed to an executor
  std::int64_t seal_sum_ns = 0;                // sum of its seals' times (since the epoch of clock)
  std::uint32_t seals = 0;                     // ... and their count, for the function's tail
  // -- cluster, home side --
  bool no_forward = false;                     // runs here only
  bool forwarding = false;                     // the attempt is being placed by the shard
  std::uint64_t remote = 0;                    // worker number running the attempt; 0 = here
  clock::time_point heard{};                   // its last report (watchdog)
  // -- cluster, worker side: work another node (the home) sent here --
  caf::actor home;                             // set: report to it instead of deciding
  std::uint64_t home_number = 0;
  std::uint64_t home_invocation = 0;
  std::uint32_t pending_inputs = 0;            // pulls still running; queued when 0
  std::uint32_t reports = 0;                   // reports sent home so far (their seq)
};

// How long a function usually runs, and how long after sending it usually
// completes (the dispatch policy's inputs).
struct fn_timing {
  core::duration_mean run, tail;
};

// How a session ended, kept for `trail result`.
struct outcome {
  bool ok = false;
  std::string output;  // ok
  status error;        // !ok
};

struct peer {
  std::string name;
  caf::actor scheduler;
  std::string data;  // data-path address
};

// A session of another node's that runs work here.
struct foreign_session {
  std::uint64_t home_number = 0;
  caf::actor home;
};

// What a node in a cluster knows beyond itself.
struct cluster_state {
  caf::actor front;                 // the coordinator
  std::uint64_t number = 0, incarnation = 0;
  std::string name, data_address;
  net::transfer_service* xfer = nullptr;
  std::chrono::milliseconds forward_wait{0};
  std::map<std::uint64_t, peer> peers;  // live peers by cluster number
  std::map<caf::actor_addr, std::uint64_t> peer_of;  // monitored peer schedulers -> number
  std::set<std::uint64_t> dead;         // fenced numbers: their reports are rejected
  std::map<std::pair<std::string, std::uint32_t>, app_ref> versions;  // every version deployed here
  std::map<std::string, std::uint64_t> owners;  // app -> number owning its app-scoped triggers
  std::unordered_set<std::uint64_t> placed;     // sessions the shard placed here (reported when they end)
  // Objects already handed to their buckets, per live home session: an object
  // can arrive twice (a given-up attempt's pull and its re-run's seal).
  std::unordered_map<std::uint64_t, std::unordered_set<std::uint64_t>> fed;
  // home side
  std::unordered_map<std::uint64_t, std::set<std::uint64_t>> workers;  // session -> numbers it ran work on
  std::unordered_map<std::uint64_t, std::deque<schema::report>> inbox; // invocation -> reports behind a pull
  std::unordered_set<std::uint64_t> pulling;                           // invocations with a pull in flight
  std::unordered_map<std::uint64_t, std::uint32_t> next_seq;           // invocation -> next report to apply
  std::unordered_map<std::uint64_t, std::map<std::uint32_t, schema::report>> early;  // ... and those ahead of it
  // app-scoped objects of other nodes' sessions being pulled here
  struct app_import {
    std::uint64_t session = 0;
    caf::actor bucket;
    caf::actor lender;             // the home it is pulled from; told when done
    std::uint64_t lent_object = 0;  // the object's id there
  };
  std::unordered_map<std::uint64_t, app_import> app_imports;
  std::uint64_t next_import = 1;
  std::unordered_map<std::uint64_t, int> import_opens;  // sessions opened here for imports -> imports running
  std::unordered_map<std::uint64_t, std::uint64_t> lent;  // objects kept for an app-scope owner's pull -> owner
  // worker side
  std::unordered_map<std::uint64_t, foreign_session> foreign;
};

// What the executor pool reported during one service(): kept, then handled
// after it returns (handling may dispatch, which must not happen inside the
// pool's own drain).
struct pool_listener final : shm::pool_events {
  shm::store* store = nullptr;
  std::vector<exec_event> events;
  shm::async_log log{stderr};  // executor output, written off the loop thread

  void on_ready(int slot) override;
  void on_sealed(const shm::invocation& inv, const shm::sealed& s) override;
  void on_output(const shm::invocation& inv, const shm::sealed& s) override;
  void on_announce(const shm::invocation& inv, std::string_view bucket, std::uint64_t n) override;
  void on_done(const shm::invocation& inv, std::string_view bucket) override;
  void on_finished(const shm::invocation& inv, const status& st) override;
  void on_lost(const shm::invocation& inv, const std::string& why) override;
  void on_returned(const shm::invocation& inv, const std::string& why) override;
  void on_executor_died(int slot, const std::string& why) override;
  void on_log(int slot, const shm::invocation* inv, std::string_view line) override;
};

// The loop's view of the executors: rings to poll, whether to spin.
struct pool_poller final : loop_poller {
  shm::executor_pool* pool = nullptr;
  caf::actor owner;      // gets drain_atom
  bool notified = false;  // a drain_atom is on its way

  bool ready() override { return !notified && pool->rings_pending(); }
  void fire() override;
  bool expecting() override { return pool->busy(); }
  bool prepare_sleep() override { return pool->prepare_sleep(); }
  void finish_sleep() override { pool->finish_sleep(); }
};

struct scheduler_state {
  shm::store* store = nullptr;           // owned by the node; used by this actor only
  node_loop* loop = nullptr;             // the loop it runs on, once the pool is up
  pool_listener listener;                // (declared before the pool: it outlives it)
  std::unique_ptr<shm::executor_pool> pool;
  pool_poller poller;
  scheduler_options opts;
  std::unique_ptr<core::session_table> sessions;
  std::unordered_map<std::uint64_t, app_ref> session_app;
  std::unordered_map<std::uint64_t, app_ref> apps;  // by uid: app-scoped fires start sessions on them
  std::unordered_map<std::uint64_t, task> tasks;
  std::deque<std::uint64_t> queue;                  // task ids ready to run, in order
  std::unordered_map<std::uint64_t, std::uint64_t> running;  // invocation -> task
  std::unordered_map<std::uint64_t, std::vector<caf::response_promise>> waiters;
  std::unordered_map<std::uint64_t, outcome> results;
  std::deque<std::uint64_t> result_order;
  std::size_t result_bytes = 0;
  std::deque<std::string> recent_failures;
  std::deque<nlohmann::json> recent_sessions;       // the last ended sessions, for `trail status`
  std::uint64_t next_session = 1, next_task = 1, next_invocation = 1;
  std::uint64_t invocations = 0, retries = 0, sessions_ok = 0, sessions_failed = 0;
  std::uint64_t returned = 0;                       // handed back unstarted by a dead executor
  std::uint64_t forwarded = 0, worked = 0;          // cluster: attempts sent away / run for others
  std::optional<clock::time_point> armed;
  std::optional<cluster_state> cluster;
  std::unordered_map<const core::function_spec*, fn_timing> timing;
  // The executors that sealed the last objects (object id, slot), newest
  // last: who produced a fired task's input.
  std::array<std::pair<std::uint64_t, int>, 64> producers{};
  std::size_t producers_next = 0;
  static inline const char* name = "trail.scheduler";

  // f(store): the store is this actor's alone.
  template <class F>
  decltype(auto) with_store(F&& f) {
    return f(*store);
  }
  ~scheduler_state();
};

using self_ptr = caf::stateful_actor<scheduler_state, loop_actor>*;

// -- shared steps (scheduler.cpp) -------------------------------------------------
// Queues an invocation of `fn` in live session `s`; takes the inputs' references.
status enqueue(self_ptr self, const app_ref& app, std::string_view fn, std::uint64_t s,
               std::vector<std::string> args, std::vector<core::object_meta> inputs);
// `id` 0: the node numbers the session.
result<std::uint64_t> start_session(self_ptr self, const app_ref& app, core::session_origin origin,
                                    std::optional<std::chrono::milliseconds> deadline, std::uint64_t id);
void release_inputs(self_ptr self, const std::vector<core::object_meta>& inputs);
task* task_of(self_ptr self, std::uint64_t invocation);
void retire(self_ptr self, task& t);
void on_attempt_end(self_ptr self, std::uint64_t invocation, const status& outcome);
bool route_to_bucket(self_ptr self, std::uint64_t s, const std::string& bucket, caf::message msg,
                     std::optional<std::uint64_t> carry = std::nullopt);
// A fresh object of a live home session, sealed here or brought here: feeds
// its bucket's triggers (and the app-scoped owner elsewhere).
void on_object(self_ptr self, const core::object_meta& o);
void on_output(self_ptr self, std::uint64_t session, const core::object_meta& o);
void on_announce(self_ptr self, task& t, std::uint64_t session, const std::string& bucket, std::uint64_t count,
                 bool is_done);
void note_failure(self_ptr self, std::string what);
void pump(self_ptr self);
core::object_meta meta_of(self_ptr self, std::uint64_t object);

// -- cluster steps (scheduler_cluster.cpp) -----------------------------------------
// Whether `t` should leave this node now, given that no executor is free here
// (or the function names another node).
bool should_forward(self_ptr self, const task& t, bool local_free);
// Drops the home-side bookkeeping of an attempt that is over or given up.
void forget(cluster_state& c, std::uint64_t invocation);
void forward(self_ptr self, task& t);
// An executor event of work run for another node: reported there. False if
// the invocation is not such work.
bool report_event(self_ptr self, const exec_event& e);
// An object for an app-scoped trigger owned elsewhere: sent there. False when
// this node owns the app's app-scoped triggers (or runs standalone).
bool send_to_owner(self_ptr self, const app_ref& app, const core::object_meta& o);
// Home-side end of a session: workers drop their copies; the shard learns the outcome.
void on_session_end(self_ptr self, std::uint64_t session, const outcome* o, bool quiet);
// The cluster protocol (cluster_types.hpp); empty for a standalone node.
caf::message_handler cluster_handlers(self_ptr self);

}  // namespace trail::actors::sched
