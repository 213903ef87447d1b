// The stateless and counting primitives: immediate, by_name, by_batch_size,
// by_set. Build them with make_trigger, which validates the spec first.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/core/trigger.hpp"
#include "actors/core/trigger_state.hpp"

namespace trail::core {

// Every object fires alone.
class immediate_trigger final : public trigger {
 public:
  explicit immediate_trigger(trigger_spec spec) : trigger(std::move(spec)) {}
  on_object_result on_object(const object_meta& o, time_point now) override;
  std::vector<object_meta> end_session(session_id) override { return {}; }
};

// An object whose key equals spec.key fires alone; other objects are ignored.
class by_name_trigger final : public trigger {
 public:
  explicit by_name_trigger(trigger_spec spec) : trigger(std::move(spec)) {}
  on_object_result on_object(const object_meta& o, time_point now) override;
  std::vector<object_meta> end_session(session_id) override { return {}; }
};

// Collects objects; every spec.count of them fire together in arrival order,
// and the batch restarts empty. REQUIRES: spec.count >= 1.
class by_batch_size_trigger final : public trigger {
 public:
  explicit by_batch_size_trigger(trigger_spec spec);
  on_object_result on_object(const object_meta& o, time_point now) override;
  std::vector<object_meta> end_session(session_id s) override;
  std::string waits_for(session_id s, time_point now) const override;

 private:
  scoped_states<std::vector<object_meta>> batches_;
};

// Per session, fires once when every key of spec.keys has landed, with the
// whole set in the order of spec.keys. Objects with other keys are ignored.
// Session scope only; REQUIRES: spec.keys non-empty and distinct.
class by_set_trigger final : public trigger {
 public:
  explicit by_set_trigger(trigger_spec spec);
  on_object_result on_object(const object_meta& o, time_point now) override;
  std::vector<object_meta> end_session(session_id s) override;
  std::string waits_for(session_id s, time_point now) const override;

 private:
  struct set_state {
    std::vector<std::optional<object_meta>> slots;  // by position in spec.keys
    std::size_t filled = 0;                         // slots with an object
    bool fired = false;                             // the set already fired
  };
  bool add(set_state& st, std::size_t pos, const object_meta& o);

  std::unordered_map<std::string, std::size_t> position_;  // key -> index in spec.keys
  scoped_states<set_state> sets_;
};

}  // namespace trail::core
