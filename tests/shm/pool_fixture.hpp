// A store plus an executor pool running the real trail-executor binary, and a
// recorder of everything the pool reports.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "shm/executor_pool.hpp"
#include "shm/store.hpp"

namespace trail::shm::testing {

using namespace std::chrono_literals;

struct recorder : pool_events {
  std::vector<int> ready;
  std::vector<std::pair<std::uint64_t, sealed>> seals;
  std::map<std::uint64_t, object_id> outputs;
  std::map<std::uint64_t, status> finished;
  std::map<std::uint64_t, std::string> lost;
  std::map<std::uint64_t, std::string> returned;  // died in an executor's ring, never started
  std::vector<std::uint64_t> ended;               // finished, lost or returned, in order
  std::vector<std::pair<int, std::string>> died;
  std::vector<std::string> logs;

  void on_ready(int slot) override { ready.push_back(slot); }
  void on_sealed(const invocation& inv, const sealed& s) override { seals.emplace_back(inv.id, s); }
  void on_output(const invocation& inv, const sealed& s) override {
    if (s.fresh) outputs[inv.id] = s.id;
  }
  void on_finished(const invocation& inv, const status& st) override {
    finished[inv.id] = st;
    ended.push_back(inv.id);
  }
  void on_lost(const invocation& inv, const std::string& why) override {
    lost[inv.id] = why;
    ended.push_back(inv.id);
  }
  void on_returned(const invocation& inv, const std::string& why) override {
    returned[inv.id] = why;
    ended.push_back(inv.id);
  }
  void on_executor_died(int slot, const std::string& why) override { died.emplace_back(slot, why); }
  void on_log(int slot, const invocation* inv, std::string_view line) override {
    std::string prefix = inv ? "[session " + std::to_string(inv->session) + " " + inv->function + "] "
                             : "[executor " + std::to_string(slot) + "] ";
    logs.push_back(prefix + std::string(line));
  }
};

class pool_test : public ::testing::Test {
 protected:
  void start(std::uint64_t store_bytes = 64 << 20, int executors = 2, pool_options opts = {}) {
    auto s = store::create({store_bytes, "store", false});
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    store_ = std::move(*s);
    opts.executor_path = TRAIL_EXECUTOR_PATH;
    opts.executors = executors;
    pool_ = std::make_unique<executor_pool>(*store_, opts, events_);
    ASSERT_TRUE(pool_->start().ok());
    ASSERT_TRUE(pool_->wait_ready(10s)) << "executors did not start";
  }

  // Polls the pool until `done()` holds; false after `timeout`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      pool_->poll(10ms);
    }
    return true;
  }

  // Dispatches to an idle executor (waiting for one) and returns the invocation id.
  std::uint64_t run(const std::string& lib, const std::string& fn, std::vector<std::string> args = {},
                    std::vector<object_id> inputs = {}, session_id session = 1,
                    std::chrono::milliseconds timeout = 10s) {
    store_->open_session(session);
    EXPECT_TRUE(run_until([&] { return pool_->idle_executor().has_value(); }));
    invocation inv{++next_id_, session, 0, lib, fn, std::move(args), std::move(inputs), timeout};
    auto st = pool_->dispatch(*pool_->idle_executor(lib), inv);
    EXPECT_TRUE(st.ok()) << st.to_string();
    return inv.id;
  }

  // Hands `fn` to executor `slot` whatever its state (queued behind what it
  // runs when busy); returns the invocation id, or 0 if the pool refused.
  std::uint64_t queue_on(int slot, const std::string& lib, const std::string& fn, std::vector<std::string> args = {},
                         session_id session = 1) {
    store_->open_session(session);
    invocation inv{++next_id_, session, 0, lib, fn, std::move(args), {}, 10s};
    return pool_->dispatch(slot, inv).ok() ? inv.id : 0;
  }

  bool ended(std::uint64_t id) {
    return events_.finished.contains(id) || events_.lost.contains(id) || events_.returned.contains(id);
  }
  bool wait_end(std::uint64_t id) { return run_until([&] { return ended(id); }); }

  std::string bytes_of(object_id id) {
    const object_info* o = store_->info(id);
    if (!o) return "<gone>";
    return std::string(reinterpret_cast<const char*>(store_->data(*o)), o->size);
  }
  std::string output_of(std::uint64_t inv) {
    auto it = events_.outputs.find(inv);
    return it == events_.outputs.end() ? "<no output>" : bytes_of(it->second);
  }

  recorder events_;
  std::unique_ptr<store> store_;
  std::unique_ptr<executor_pool> pool_;
  std::uint64_t next_id_ = 0;
};

}  // namespace trail::shm::testing
