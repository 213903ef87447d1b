#include "actors/core/trigger.hpp"

#include <array>
#include <set>
#include <string>
#include <type_traits>

#include "actors/core/trigger_by_time.hpp"
#include "actors/core/trigger_redundant.hpp"
#include "actors/core/triggers_basic.hpp"
#include "actors/core/triggers_dynamic.hpp"

namespace trail::core {

std::string_view to_string(scope sc) {
  return sc == scope::app ? "app" : "session";
}

// -- defaults for methods a primitive does not support ------------------------

std::vector<fire> trigger::on_timer(time_point) {
  return {};
}

std::optional<time_point> trigger::next_deadline() const {
  return std::nullopt;
}

status trigger::announce(session_id, std::uint64_t, time_point, std::vector<fire>&) {
  return status::invalid(describe() + ": announce needs a dynamic_group or dynamic_join trigger");
}

status trigger::done(session_id, std::uint64_t, time_point, std::vector<fire>&) {
  return status::invalid(describe() + ": done needs a dynamic_group trigger");
}

result<bool> trigger::replica_failed(session_id) {
  return status::invalid(describe() + ": replica_failed needs a redundant trigger");
}

bool trigger::waiting(session_id) const {
  return false;
}

// -- helpers for the primitives -----------------------------------------------

std::string trigger::describe() const {
  if (spec_.name.empty()) return "trigger (" + spec_.type + ")";
  return "trigger \"" + spec_.name + "\" (" + spec_.type + ")";
}

std::optional<session_id> trigger::fire_session(session_id s) const {
  if (spec_.sc == scope::app) return std::nullopt;
  return s;
}

fire trigger::make_fire(session_id s, std::vector<object_meta> inputs) const {
  return fire{spec_.target, fire_session(s), std::move(inputs)};
}

// -- validation -----------------------------------------------------------------

namespace {

// Longest accepted by_time window; keeps deadline arithmetic far from overflow.
constexpr std::uint64_t max_window_ms = 365ULL * 24 * 3600 * 1000;

std::string prefix(const trigger_spec& s) {
  std::string who = s.name.empty() ? "trigger" : "trigger \"" + s.name + "\"";
  return who + " (" + s.type + "): ";
}

template <class V>
std::string quoted(const V& v) {
  if constexpr (std::is_convertible_v<V, std::string>) {
    return "\"" + std::string(v) + "\"";
  } else {
    return "\"" + std::to_string(v) + "\"";
  }
}

status check_none(const trigger_spec&) {
  return {};
}

status check_by_name(const trigger_spec& s) {
  if (s.key.empty()) return status::invalid(prefix(s) + "key must not be empty, got \"\"");
  return {};
}

status check_by_batch_size(const trigger_spec& s) {
  if (s.count >= 1) return {};
  return status::invalid(prefix(s) + "count must be at least 1, got " + quoted(s.count));
}

status check_by_set(const trigger_spec& s) {
  if (s.keys.empty()) return status::invalid(prefix(s) + "keys must not be empty, got []");
  std::set<std::string> seen;
  for (const auto& key : s.keys) {
    if (key.empty()) return status::invalid(prefix(s) + "keys: a key must not be empty, got \"\"");
    if (!seen.insert(key).second)
      return status::invalid(prefix(s) + "keys: duplicate key " + quoted(key));
  }
  return {};
}

status check_by_time(const trigger_spec& s) {
  if (s.window_ms >= 1 && s.window_ms <= max_window_ms) return {};
  return status::invalid(prefix(s) + "window_ms must be between 1 and " +
                         std::to_string(max_window_ms) + ", got " + quoted(s.window_ms));
}

status check_redundant(const trigger_spec& s) {
  if (s.k < 1) return status::invalid(prefix(s) + "k must be at least 1, got " + quoted(s.k));
  if (s.n < s.k)
    return status::invalid(prefix(s) + "n must be at least k (" + std::to_string(s.k) +
                           "), got " + quoted(s.n));
  return {};
}

status check_dynamic_group(const trigger_spec& s) {
  if (!s.producers || *s.producers >= 1) return {};
  return status::invalid(prefix(s) + "producers must be at least 1, got " + quoted(*s.producers));
}

template <class T>
std::unique_ptr<trigger> construct(const trigger_spec& s) {
  return std::make_unique<T>(s);
}

struct primitive {
  std::string_view type;
  bool session_only;
  status (*check)(const trigger_spec&);
  std::unique_ptr<trigger> (*make)(const trigger_spec&);
};

constexpr std::array<primitive, 8> primitives{{
    {"immediate", false, check_none, construct<immediate_trigger>},
    {"by_name", false, check_by_name, construct<by_name_trigger>},
    {"by_batch_size", false, check_by_batch_size, construct<by_batch_size_trigger>},
    {"by_set", true, check_by_set, construct<by_set_trigger>},
    {"by_time", false, check_by_time, construct<by_time_trigger>},
    {"redundant", false, check_redundant, construct<redundant_trigger>},
    {"dynamic_group", true, check_dynamic_group, construct<dynamic_group_trigger>},
    {"dynamic_join", true, check_none, construct<dynamic_join_trigger>},
}};

const primitive* find_primitive(std::string_view type) {
  for (const auto& p : primitives)
    if (p.type == type) return &p;
  return nullptr;
}

std::string known_types() {
  std::string out;
  for (const auto& p : primitives) out += (out.empty() ? "" : ", ") + std::string(p.type);
  return out;
}

status check_common(const primitive& p, const trigger_spec& s) {
  if (s.target.empty()) return status::invalid(prefix(s) + "target must not be empty, got \"\"");
  if (p.session_only && s.sc != scope::session)
    return status::invalid(prefix(s) + "scope " + quoted(std::string(to_string(s.sc))) +
                           " is not allowed: " + s.type + " is session-only");
  return p.check(s);
}

}  // namespace

status validate(const trigger_spec& spec) {
  const primitive* p = find_primitive(spec.type);
  if (!p)
    return status::invalid("unknown trigger type " + quoted(spec.type) + " (known: " +
                           known_types() + ")");
  return check_common(*p, spec);
}

result<std::unique_ptr<trigger>> make_trigger(const trigger_spec& spec) {
  if (auto st = validate(spec); !st.ok()) return st;
  return find_primitive(spec.type)->make(spec);
}


std::string trigger::waits_for(session_id, time_point) const { return {}; }

}  // namespace trail::core
