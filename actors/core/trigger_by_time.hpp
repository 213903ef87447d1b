// by_time: tumbling windows driven by a timer.
#pragma once

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "actors/core/trigger.hpp"
#include "actors/core/trigger_state.hpp"

namespace trail::core {

// A window opens at the first object after the previous window closed and
// closes spec.window_ms later, firing its objects in arrival order; each
// object belongs to exactly one window and empty windows fire nothing.
// Windows close from on_timer(now >= deadline) even when nothing arrives; an
// object that lands at or after its window's deadline before the timer ran
// first closes (fires) that window and then opens a new one.
//
// One timer serves all sessions: next_deadline() is the earliest deadline
// over every open window. REQUIRES: spec.window_ms >= 1.
class by_time_trigger final : public trigger {
 public:
  explicit by_time_trigger(trigger_spec spec);
  on_object_result on_object(const object_meta& o, time_point now) override;
  std::vector<fire> on_timer(time_point now) override;
  std::optional<time_point> next_deadline() const override;
  std::vector<object_meta> end_session(session_id s) override;
  bool waiting(session_id s) const override;
  std::string waits_for(session_id s, time_point now) const override;

 private:
  // An open window has at least one object; a closed one is empty.
  struct window {
    std::vector<object_meta> objects;  // in arrival order
    time_point deadline{};             // meaningful while objects is non-empty
  };
  fire close(session_id slot);

  std::chrono::milliseconds length_;
  scoped_states<window> windows_;
  std::set<std::pair<time_point, session_id>> deadlines_;  // (deadline, slot) of open windows
};

}  // namespace trail::core
