// The run-time-sized primitives: dynamic_group (the MapReduce shuffle) and
// dynamic_join (fan-out sized at run time, then join). Session scope only.
//
// Announcements: once per session; the same n again is a no-op, a different
// n is invalid_argument quoting both numbers. Each session fires at most
// once; objects landing after that are ignored (held = false).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/core/trigger.hpp"
#include "actors/core/trigger_state.hpp"

namespace trail::core {

// Groups objects by the key part before the first '/' (a key without '/' is
// its own group). The producer count is spec.producers, or announced at run
// time when the spec leaves it open (announcing when the spec fixes it is an
// error). Once that many distinct producers called done — done calls before
// the announcement count — fires one invocation per group, groups in name
// order, each with its objects in arrival order. No objects: no invocation.
class dynamic_group_trigger final : public trigger {
 public:
  explicit dynamic_group_trigger(trigger_spec spec);
  on_object_result on_object(const object_meta& o, time_point now) override;
  status announce(session_id s, std::uint64_t n, time_point now, std::vector<fire>& out) override;
  status done(session_id s, std::uint64_t producer, time_point now,
              std::vector<fire>& out) override;
  std::vector<object_meta> end_session(session_id s) override;
  std::string waits_for(session_id s, time_point now) const override;

 private:
  struct group_state {
    std::optional<std::uint64_t> announced;                   // producers, if announced
    std::set<std::uint64_t> done;                             // producers that finished
    std::map<std::string, std::vector<object_meta>> groups;  // group name -> objects
    bool fired = false;
  };
  void maybe_fire(session_id s, group_state& st, std::vector<fire>& out);

  scoped_states<group_state> sessions_;
};

// Fires once the announced number of objects has landed, with the first n in
// arrival order. Objects landing before the announcement are kept; if more
// than n landed by then, the extra ones stay held until the session ends.
// An announcement of 0 fires at once with no inputs.
class dynamic_join_trigger final : public trigger {
 public:
  explicit dynamic_join_trigger(trigger_spec spec);
  on_object_result on_object(const object_meta& o, time_point now) override;
  status announce(session_id s, std::uint64_t n, time_point now, std::vector<fire>& out) override;
  std::vector<object_meta> end_session(session_id s) override;
  std::string waits_for(session_id s, time_point now) const override;

 private:
  struct join_state {
    std::optional<std::uint64_t> announced;  // expected objects, if announced
    std::vector<object_meta> objects;        // landed and not yet fired, arrival order
    bool fired = false;
  };
  void maybe_fire(session_id s, join_state& st, std::vector<fire>& out);

  scoped_states<join_state> sessions_;
};

}  // namespace trail::core
