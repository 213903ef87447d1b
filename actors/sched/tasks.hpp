// The node scheduler's tasks: one per invocation of a function in a session,
// across its attempts, in one explicit state.
//
//             add                  start_local / start_remote
//   (pulling) ---> queued ---------------------------------> running | placing | remote
//       |            ^  ^                                         |
//       +-inputs in--+  +--------- requeue (unstarted) -----------+
//                    |                                            | end_attempt
//                    +------------- backoff (a re-run waits) <----+----> (erase: done or failed)
//
//   queued   waits on this node for an executor (or to be sent to another node)
//   pulling  work of another home whose inputs are still being pulled here
//   running  an attempt runs on an executor of this node
//   placing  (home) the coordinator is choosing a node for the attempt
//   remote   (home) the attempt runs on another node, which reports back
//   backoff  a failed attempt's re-run waits for its delay
//
// Each attempt has a node-unique invocation id; the table finds tasks by it
// while the attempt lasts (running, placing, remote) and never after. Pure
// bookkeeping: no CAF, no store; transitions check their preconditions.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/core/manifest.hpp"
#include "actors/core/trigger.hpp"

namespace trail::actors {
struct app_version;
}

namespace trail::actors::sched {

using clock = std::chrono::steady_clock;

enum class task_state : std::uint8_t { queued, pulling, running, placing, remote, backoff };
std::string_view to_string(task_state s);

// Work another node (the session's home) sent here: report everything to it.
struct home_link {
  std::uint64_t number = 0;      // the home node's cluster number
  std::uint64_t invocation = 0;  // the home's id of the attempt (reports quote it)
  std::uint32_t reports = 0;     // reports sent so far (their sequence numbers)
};

struct task {
  std::uint64_t id = 0;
  std::shared_ptr<const app_version> app;
  const core::function_spec* fn = nullptr;
  std::uint64_t session = 0;
  std::vector<std::string> args;               // entry invocations only
  std::vector<core::object_meta> inputs;       // one store reference each, held by the task
  std::uint32_t attempt = 0;                   // 0-based; counts failed attempts only
  task_state state = task_state::queued;
  std::uint64_t invocation = 0;                // the current attempt (running, placing, remote)
  clock::time_point queued_at{};               // when it last became runnable
  bool local_only = false;                     // never sent to another node
  std::optional<home_link> home;               // work of another home (worker side)
  std::uint32_t pending_inputs = 0;            // (pulling) pulls still running
  std::uint64_t remote = 0;                    // (remote) the node running the attempt
  clock::time_point heard{};                   // (remote) its last report
  // What the dispatch policy learns from (running): where its input came
  // from, when it started, when it sealed.
  std::optional<int> producer;
  clock::time_point started_at{};
  std::int64_t seal_sum_ns = 0;
  std::uint32_t seals = 0;
};

class task_table {
 public:
  // Takes `t` (state queued, or pulling with pending inputs) and numbers it.
  task& add(task t);
  task* find(std::uint64_t id);
  // The task whose current attempt is `invocation`, while it lasts.
  task* by_attempt(std::uint64_t invocation);

  // queued -> running (on an executor here) | placing | remote.
  void start(task& t, std::uint64_t invocation, task_state how);
  // placing -> remote (on `number`).
  void placed(task& t, std::uint64_t number, clock::time_point now);
  // The attempt ended (its outcome is the caller's to judge): the task is
  // out of the attempt index, state unchanged until the caller moves it on
  // (requeue, backoff, erase). nullptr for an unknown attempt.
  task* end_attempt(std::uint64_t invocation);
  // -> queued (a re-run after backoff, an attempt that never started, inputs in).
  void requeue(task& t, clock::time_point now);
  // -> backoff (after end_attempt).
  void backoff(task& t);
  void erase(task& t);

  std::size_t size() const { return tasks_.size(); }
  std::size_t attempts() const { return attempts_.size(); }
  template <class F>
  void for_each(F&& f) {
    for (auto& [id, t] : tasks_) f(t);
  }

 private:
  std::unordered_map<std::uint64_t, task> tasks_;
  std::unordered_map<std::uint64_t, std::uint64_t> attempts_;  // invocation -> task id
  std::uint64_t next_id_ = 1;
};

}  // namespace trail::actors::sched
