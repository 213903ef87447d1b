// The task table: one explicit state per task, and attempts findable by
// their invocation id exactly while they last; against a reference model.
#include "actors/sched/tasks.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>

namespace trail::actors::sched {
namespace {

using s = task_state;

TEST(TaskTable, AnAttemptIsFoundWhileItLastsAndNeverAfter) {
  task_table tasks;
  task& t = tasks.add({});
  EXPECT_EQ(t.state, s::queued);
  tasks.start(t, 41, s::running);
  EXPECT_EQ(tasks.by_attempt(41), &t);
  task* ended = tasks.end_attempt(41);
  ASSERT_EQ(ended, &t);
  EXPECT_EQ(t.invocation, 0u);
  EXPECT_EQ(tasks.by_attempt(41), nullptr);
  EXPECT_EQ(tasks.end_attempt(41), nullptr) << "an attempt ends once";
  tasks.backoff(t);
  EXPECT_EQ(t.state, s::backoff);
  tasks.requeue(t, clock::now());
  tasks.start(t, 42, s::placing);
  tasks.placed(t, 7, clock::now());
  EXPECT_EQ(t.state, s::remote);
  EXPECT_EQ(t.remote, 7u);
  tasks.erase(t);
  EXPECT_EQ(tasks.by_attempt(42), nullptr) << "erasing a task ends its attempt";
  EXPECT_EQ(tasks.size(), 0u);
}

TEST(TaskTable, StartingATaskThatIsNotQueuedIsABug) {
  task_table tasks;
  task& t = tasks.add({});
  tasks.start(t, 1, s::running);
  EXPECT_DEATH(tasks.start(t, 2, s::running), "started while running");
}

// Random lifecycles against a model of (state, attempt) per task.
TEST(TaskTable, MatchesAReferenceModel) {
  std::uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  task_table tasks;
  std::map<std::uint64_t, std::pair<s, std::uint64_t>> model;  // id -> (state, invocation)
  std::uint64_t next_inv = 1;
  for (int step = 0; step < 20000; ++step) {
    if (model.empty() || rng() % 5 == 0) {
      task t;
      t.state = rng() % 2 ? s::queued : s::pulling;
      auto& added = tasks.add(std::move(t));
      model[added.id] = {added.state, 0};
      continue;
    }
    auto it = std::next(model.begin(), static_cast<long>(rng() % model.size()));
    auto id = it->first;
    auto& [state, inv] = it->second;
    task* t = tasks.find(id);
    ASSERT_NE(t, nullptr);
    switch (state) {
      case s::queued: {
        auto how = std::array{s::running, s::placing, s::remote}[rng() % 3];
        tasks.start(*t, next_inv, how);
        state = how, inv = next_inv++;
        break;
      }
      case s::pulling:
      case s::backoff:
        tasks.requeue(*t, clock::now());
        state = s::queued;
        break;
      case s::placing:
        if (rng() % 2) {
          tasks.placed(*t, 3, clock::now());
          state = s::remote;
          break;
        }
        [[fallthrough]];
      case s::running:
      case s::remote: {
        ASSERT_EQ(tasks.end_attempt(inv), t);
        inv = 0;
        switch (rng() % 3) {
          case 0: tasks.requeue(*t, clock::now()), state = s::queued; break;
          case 1: tasks.backoff(*t), state = s::backoff; break;
          case 2: tasks.erase(*t), model.erase(it); break;
        }
        break;
      }
    }
    std::size_t attempts = 0;
    for (auto& [mid, m] : model) {
      task* x = tasks.find(mid);
      ASSERT_NE(x, nullptr);
      ASSERT_EQ(x->state, m.first) << "task " << mid << " at step " << step;
      ASSERT_EQ(x->invocation, m.second);
      if (m.second) {
        ++attempts;
        ASSERT_EQ(tasks.by_attempt(m.second), x);
      }
    }
    ASSERT_EQ(tasks.size(), model.size());
    ASSERT_EQ(tasks.attempts(), attempts);
  }
}

}  // namespace
}  // namespace trail::actors::sched
