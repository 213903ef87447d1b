#include "actors/core/triggers_dynamic.hpp"

#include <cstddef>
#include <iterator>
#include <utility>

namespace trail::core {

namespace {

// Records announcement `n` for session `s` in `slot`: once per session, the
// same value again is a no-op.
status record(std::optional<std::uint64_t>& slot, session_id s, std::uint64_t n,
              const std::string& who) {
  if (!slot) {
    slot = n;
    return {};
  }
  if (*slot == n) return {};
  return status::invalid(who + ": session " + std::to_string(s) + " already announced \"" +
                         std::to_string(*slot) + "\", cannot announce \"" + std::to_string(n) +
                         "\"");
}

// The group of a key: its part before the first '/', or the whole key.
std::string group_of(const std::string& key) {
  return key.substr(0, key.find('/'));
}

}  // namespace

// -- dynamic_group ------------------------------------------------------------

dynamic_group_trigger::dynamic_group_trigger(trigger_spec spec)
    : trigger(std::move(spec)), sessions_(this->spec().sc) {}

on_object_result dynamic_group_trigger::on_object(const object_meta& o, time_point) {
  auto& st = sessions_.at(o.session);
  if (st.fired) return {};
  st.groups[group_of(o.key)].push_back(o);
  return {true, {}};
}

status dynamic_group_trigger::announce(session_id s, std::uint64_t n, time_point,
                                       std::vector<fire>& out) {
  if (spec().producers)
    return status::invalid(describe() + ": cannot announce \"" + std::to_string(n) +
                           "\": the manifest fixes producers at \"" +
                           std::to_string(*spec().producers) + "\"");
  auto& st = sessions_.at(s);
  if (auto r = record(st.announced, s, n, describe()); !r.ok()) return r;
  maybe_fire(s, st, out);
  return {};
}

status dynamic_group_trigger::done(session_id s, std::uint64_t producer, time_point,
                                   std::vector<fire>& out) {
  auto& st = sessions_.at(s);
  st.done.insert(producer);
  maybe_fire(s, st, out);
  return {};
}

// Fires every group once all expected producers are done.
void dynamic_group_trigger::maybe_fire(session_id s, group_state& st, std::vector<fire>& out) {
  const auto expected = spec().producers ? std::optional<std::uint64_t>(*spec().producers)
                                         : st.announced;
  if (st.fired || !expected || st.done.size() < *expected) return;
  for (auto& [name, objects] : st.groups) out.push_back(make_fire(s, std::move(objects)));
  st.groups.clear();
  st.fired = true;
}

std::vector<object_meta> dynamic_group_trigger::end_session(session_id s) {
  std::vector<object_meta> held;
  if (auto st = sessions_.take_session(s))
    for (auto& [name, objects] : st->groups)
      held.insert(held.end(), std::make_move_iterator(objects.begin()),
                  std::make_move_iterator(objects.end()));
  return held;
}

// -- dynamic_join ---------------------------------------------------------------

dynamic_join_trigger::dynamic_join_trigger(trigger_spec spec)
    : trigger(std::move(spec)), sessions_(this->spec().sc) {}

on_object_result dynamic_join_trigger::on_object(const object_meta& o, time_point) {
  auto& st = sessions_.at(o.session);
  if (st.fired) return {};
  st.objects.push_back(o);
  on_object_result r{true, {}};
  maybe_fire(o.session, st, r.fires);
  r.held = !st.fired;
  return r;
}

status dynamic_join_trigger::announce(session_id s, std::uint64_t n, time_point,
                                      std::vector<fire>& out) {
  auto& st = sessions_.at(s);
  if (auto r = record(st.announced, s, n, describe()); !r.ok()) return r;
  maybe_fire(s, st, out);
  return {};
}

// Fires the first n objects once n are there; extra ones stay held.
void dynamic_join_trigger::maybe_fire(session_id s, join_state& st, std::vector<fire>& out) {
  if (st.fired || !st.announced || st.objects.size() < *st.announced) return;
  const auto n = static_cast<std::ptrdiff_t>(*st.announced);
  std::vector<object_meta> inputs(std::make_move_iterator(st.objects.begin()),
                                  std::make_move_iterator(st.objects.begin() + n));
  st.objects.erase(st.objects.begin(), st.objects.begin() + n);
  out.push_back(make_fire(s, std::move(inputs)));
  st.fired = true;
}

std::vector<object_meta> dynamic_join_trigger::end_session(session_id s) {
  auto st = sessions_.take_session(s);
  return st ? std::move(st->objects) : std::vector<object_meta>{};
}


std::string dynamic_group_trigger::waits_for(session_id s, time_point) const {
  const auto* st = sessions_.find(s);
  auto producers = spec().producers ? std::optional<std::uint64_t>(*spec().producers) : std::nullopt;
  if (st && st->fired) return {};
  if (st && st->announced) producers = st->announced;
  std::string done = std::to_string(st ? st->done.size() : 0) + " of ";
  std::string of = producers ? std::to_string(*producers) : "(not yet announced)";
  return done + of + " producers done; " + std::to_string(st ? st->groups.size() : 0) + " groups so far";
}

std::string dynamic_join_trigger::waits_for(session_id s, time_point) const {
  const auto* st = sessions_.find(s);
  if (st && st->fired) return {};
  std::string have = std::to_string(st ? st->objects.size() : 0) + " of ";
  return have + (st && st->announced ? std::to_string(*st->announced) : std::string("(not yet announced)")) +
         " objects";
}

}  // namespace trail::core
