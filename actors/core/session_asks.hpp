// When a coordinator shard asks a node again about a session it placed there.
//
// A run frame (shard -> node) or an end frame (node -> shard) can be lost on
// a wire that stays up: a fault point's partition or loss, a frame dropped
// under pressure. Nothing else would notice, so the shard asks again: it
// sends the run once more, and the node answers idempotently (a session it
// runs is left alone, one it ended is said again, one it never saw starts
// now with what is left of its deadline). Asks back off (1 s, 2 s, 4 s, ...
// capped), so long sessions cost a frame now and then. A session with a
// deadline that its node has not answered for `give_up_after` past it ends
// on the shard, as failed: a node that stays unreachable without being
// declared dead must not leave its client waiting forever.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace trail::core {

struct session_asks {
  using clock = std::chrono::steady_clock;
  using ms = std::chrono::milliseconds;
  static constexpr ms first{1000};
  static constexpr ms cap{8000};
  static constexpr ms give_up_after{30000};

  // A new attempt of a session with `timeout` (0: none) placed at `now`.
  session_asks(clock::time_point now, std::uint32_t timeout_ms)
      : placed_(now), timeout_(timeout_ms), next_(now + first), every_(first) {}

  enum class verdict { wait, ask, give_up };
  struct step {
    verdict what = verdict::wait;
    std::uint32_t timeout_ms = 0;  // for an ask: the deadline left (at least 1 ms), 0 for none
  };

  // What to do at `now`. An ask moves the next one further out.
  step at(clock::time_point now) {
    if (now < next_) return {};
    if (timeout_.count() > 0 && now >= placed_ + timeout_ + give_up_after) return {verdict::give_up, 0};
    std::uint32_t left = 0;
    if (timeout_.count() > 0) {
      auto rest = std::chrono::duration_cast<ms>(placed_ + timeout_ - now).count();
      left = static_cast<std::uint32_t>(std::max<std::int64_t>(rest, 1));
    }
    next_ = now + every_;
    every_ = std::min(every_ * 2, cap);
    return {verdict::ask, left};
  }

 private:
  clock::time_point placed_;
  ms timeout_;
  clock::time_point next_;
  ms every_;
};

}  // namespace trail::core
