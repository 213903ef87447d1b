#include "actors/core/trigger_by_time.hpp"

#include <algorithm>

namespace trail::core {

by_time_trigger::by_time_trigger(trigger_spec spec)
    : trigger(std::move(spec)),
      length_(this->spec().window_ms),
      windows_(this->spec().sc) {}

on_object_result by_time_trigger::on_object(const object_meta& o, time_point now) {
  on_object_result r{true, {}};
  const session_id slot = windows_.slot(o.session);
  const window* open = windows_.find(slot);
  if (open && !open->objects.empty() && now >= open->deadline) r.fires.push_back(close(slot));
  auto& w = windows_.at(slot);
  if (w.objects.empty()) {
    w.deadline = now + length_;
    deadlines_.emplace(w.deadline, slot);
  }
  w.objects.push_back(o);
  return r;
}

std::vector<fire> by_time_trigger::on_timer(time_point now) {
  std::vector<fire> fires;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now)
    fires.push_back(close(deadlines_.begin()->second));
  return fires;
}

std::optional<time_point> by_time_trigger::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

std::vector<object_meta> by_time_trigger::end_session(session_id s) {
  auto w = windows_.take_session(s);
  if (!w || w->objects.empty()) return {};
  deadlines_.erase({w->deadline, s});
  return std::move(w->objects);
}

bool by_time_trigger::waiting(session_id s) const {
  if (spec().sc == scope::app) return false;
  const window* w = windows_.find(s);
  return w && !w->objects.empty();
}

// Fires the open window of `slot` and leaves the slot without a window.
fire by_time_trigger::close(session_id slot) {
  window w = windows_.take(slot);
  deadlines_.erase({w.deadline, slot});
  return make_fire(slot, std::move(w.objects));
}


std::string by_time_trigger::waits_for(session_id s, time_point now) const {
  const auto* w = windows_.find(s);
  if (!w || w->objects.empty()) return {};
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(w->deadline - now).count();
  return "window of " + std::to_string(w->objects.size()) + " objects closes in " + std::to_string(std::max<long>(left, 0)) + " ms";
}

}  // namespace trail::core
