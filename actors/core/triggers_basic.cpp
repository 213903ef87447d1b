#include "actors/core/triggers_basic.hpp"

#include <utility>

namespace trail::core {

// -- immediate ----------------------------------------------------------------

on_object_result immediate_trigger::on_object(const object_meta& o, time_point) {
  return {false, {make_fire(o.session, {o})}};
}

// -- by_name ------------------------------------------------------------------

on_object_result by_name_trigger::on_object(const object_meta& o, time_point) {
  if (o.key != spec().key) return {};
  return {false, {make_fire(o.session, {o})}};
}

// -- by_batch_size --------------------------------------------------------------

by_batch_size_trigger::by_batch_size_trigger(trigger_spec spec)
    : trigger(std::move(spec)), batches_(this->spec().sc) {}

on_object_result by_batch_size_trigger::on_object(const object_meta& o, time_point) {
  auto& batch = batches_.at(o.session);
  batch.push_back(o);
  if (batch.size() < spec().count) return {true, {}};
  return {false, {make_fire(o.session, std::exchange(batch, {}))}};
}

std::vector<object_meta> by_batch_size_trigger::end_session(session_id s) {
  return batches_.take_session(s).value_or(std::vector<object_meta>{});
}

// -- by_set ---------------------------------------------------------------------

by_set_trigger::by_set_trigger(trigger_spec spec)
    : trigger(std::move(spec)), sets_(this->spec().sc) {
  const auto& keys = this->spec().keys;
  for (std::size_t i = 0; i < keys.size(); ++i) position_.emplace(keys[i], i);
}

on_object_result by_set_trigger::on_object(const object_meta& o, time_point) {
  auto pos = position_.find(o.key);
  if (pos == position_.end()) return {};
  auto& st = sets_.at(o.session);
  if (!add(st, pos->second, o)) return {};
  if (st.filled < st.slots.size()) return {true, {}};
  std::vector<object_meta> inputs;
  for (auto& slot : st.slots) inputs.push_back(std::move(*slot));
  st = set_state{{}, 0, true};
  return {false, {make_fire(o.session, std::move(inputs))}};
}

// Stores `o` at `pos` unless the set already fired or the key already landed
// (the first object of a key wins). Returns whether `o` was stored.
bool by_set_trigger::add(set_state& st, std::size_t pos, const object_meta& o) {
  if (st.fired) return false;
  if (st.slots.empty()) st.slots.resize(spec().keys.size());
  if (st.slots[pos]) return false;
  st.slots[pos] = o;
  ++st.filled;
  return true;
}

std::vector<object_meta> by_set_trigger::end_session(session_id s) {
  std::vector<object_meta> held;
  if (auto st = sets_.take_session(s))
    for (auto& slot : st->slots)
      if (slot) held.push_back(std::move(*slot));
  return held;
}


std::string by_batch_size_trigger::waits_for(session_id s, time_point) const {
  const auto* b = batches_.find(s);
  if (!b || b->empty()) return {};
  return std::to_string(b->size()) + " of " + std::to_string(spec().count) + " objects of the next batch";
}

std::string by_set_trigger::waits_for(session_id s, time_point) const {
  const auto* st = sets_.find(s);
  if (st && st->fired) return {};
  std::string missing;
  for (std::size_t i = 0; i < spec().keys.size(); ++i)
    if (!st || !st->slots[i]) missing += (missing.empty() ? "" : ", ") + spec().keys[i];
  return "keys " + missing;
}

}  // namespace trail::core
