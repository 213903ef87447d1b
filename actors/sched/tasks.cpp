#include "actors/sched/tasks.hpp"

#include <trail/check.hpp>

namespace trail::actors::sched {
namespace {

bool in_attempt(task_state s) {
  return s == task_state::running || s == task_state::placing || s == task_state::remote;
}

}  // namespace

std::string_view to_string(task_state s) {
  switch (s) {
    case task_state::queued: return "queued";
    case task_state::pulling: return "pulling";
    case task_state::running: return "running";
    case task_state::placing: return "placing";
    case task_state::remote: return "remote";
    case task_state::backoff: return "backoff";
  }
  return "?";
}

task& task_table::add(task t) {
  TRAIL_REQUIRE(t.state == task_state::queued || t.state == task_state::pulling, "new task in state", to_string(t.state));
  t.id = next_id_++;
  t.invocation = 0;
  auto id = t.id;
  return tasks_.emplace(id, std::move(t)).first->second;
}

task* task_table::find(std::uint64_t id) {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second;
}

task* task_table::by_attempt(std::uint64_t invocation) {
  auto it = attempts_.find(invocation);
  return it == attempts_.end() ? nullptr : find(it->second);
}

void task_table::start(task& t, std::uint64_t invocation, task_state how) {
  TRAIL_REQUIRE(t.state == task_state::queued, "task", t.id, "started while", to_string(t.state));
  TRAIL_REQUIRE(in_attempt(how) && invocation != 0, "task", t.id, "started as", to_string(how));
  TRAIL_ASSERT(!attempts_.contains(invocation), "invocation id", invocation, "used twice");
  t.state = how;
  t.invocation = invocation;
  attempts_.emplace(invocation, t.id);
}

void task_table::placed(task& t, std::uint64_t number, clock::time_point now) {
  TRAIL_REQUIRE(t.state == task_state::placing, "task", t.id, "placed while", to_string(t.state));
  t.state = task_state::remote;
  t.remote = number;
  t.heard = now;
}

task* task_table::end_attempt(std::uint64_t invocation) {
  auto it = attempts_.find(invocation);
  if (it == attempts_.end()) return nullptr;
  task* t = find(it->second);
  attempts_.erase(it);
  TRAIL_ASSERT(t && in_attempt(t->state) && t->invocation == invocation, "attempt index out of step for", invocation);
  t->invocation = 0;
  t->remote = 0;
  return t;
}

void task_table::requeue(task& t, clock::time_point now) {
  TRAIL_REQUIRE(t.invocation == 0, "task", t.id, "requeued during attempt", t.invocation);
  t.state = task_state::queued;
  t.queued_at = now;
}

void task_table::backoff(task& t) {
  TRAIL_REQUIRE(t.invocation == 0, "task", t.id, "backs off during attempt", t.invocation);
  t.state = task_state::backoff;
}

void task_table::erase(task& t) {
  if (t.invocation) attempts_.erase(t.invocation);
  tasks_.erase(t.id);
}

}  // namespace trail::actors::sched
