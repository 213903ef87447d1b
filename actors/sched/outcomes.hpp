// How sessions ended, for the clients that wait for them or ask later
// (`trail result`): a standalone node's, and a cluster node's own sessions
// (the synchronous invokes clients bring it). The coordinator's shards keep
// the outcomes of the sessions they place; nodes only report those.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include <trail/status.hpp>

namespace trail::actors::sched {

struct outcome {
  bool ok = false;
  std::string output;  // ok
  status error;        // !ok
};

class outcomes {
 public:
  // Keeps the last `max_count` outcomes, and at most `max_bytes` of outputs.
  outcomes(std::size_t max_count, std::size_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

  // Clients waiting for one session, at most.
  static constexpr std::size_t max_waiters = 64;

  // `rp` (-> u64 session, string output) is answered when `session` ends.
  // Errors: unavailable (max_waiters wait already; `rp` is not kept).
  status wait(std::uint64_t session, caf::response_promise rp);
  // `session` ended: its waiters are answered; kept for later askers unless
  // `keep` is false (a session that ended without output has no result).
  void ended(std::uint64_t session, const outcome& o, bool keep);
  const outcome* find(std::uint64_t session) const;

 private:
  std::size_t max_count_, max_bytes_;
  std::unordered_map<std::uint64_t, std::vector<caf::response_promise>> waiters_;
  std::unordered_map<std::uint64_t, outcome> kept_;
  std::deque<std::uint64_t> order_;  // oldest first
  std::size_t bytes_ = 0;
};

}  // namespace trail::actors::sched
