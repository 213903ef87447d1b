#include "actors/core/trigger_redundant.hpp"

#include <utility>

namespace trail::core {

redundant_trigger::redundant_trigger(trigger_spec spec)
    : trigger(std::move(spec)), rounds_(this->spec().sc) {}

on_object_result redundant_trigger::on_object(const object_meta& o, time_point) {
  const std::uint64_t k = spec().k;
  const std::uint64_t n = spec().n;
  auto& r = rounds_.at(o.session);
  if (r.arrivals >= n) return {};  // session scope: the round is over
  on_object_result out;
  ++r.arrivals;
  if (r.arrivals < k) {
    r.first.push_back(o);
    out.held = true;
  } else if (r.arrivals == k) {
    r.first.push_back(o);
    out.fires.push_back(make_fire(o.session, std::exchange(r.first, {})));
  }
  if (spec().sc == scope::app && r.arrivals == n) r = round{};
  return out;
}

result<bool> redundant_trigger::replica_failed(session_id s) {
  if (spec().sc == scope::app) return true;
  auto& r = rounds_.at(s);
  ++r.failed;
  const std::uint64_t n = spec().n;
  const std::uint64_t pending = n > r.arrivals + r.failed ? n - r.arrivals - r.failed : 0;
  return r.arrivals + pending >= spec().k;
}

std::vector<object_meta> redundant_trigger::end_session(session_id s) {
  auto r = rounds_.take_session(s);
  return r ? std::move(r->first) : std::vector<object_meta>{};
}


std::string redundant_trigger::waits_for(session_id s, time_point) const {
  const auto* r = rounds_.find(s);
  if (!r || r->arrivals >= spec().k) return {};
  return std::to_string(r->arrivals) + " of " + std::to_string(spec().k) + " objects (of " + std::to_string(spec().n) +
         " replicas; " + std::to_string(r->failed) + " failed)";
}

}  // namespace trail::core
