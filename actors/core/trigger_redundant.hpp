// redundant: k of n replicas, the first k delivered.
#pragma once

#include <cstdint>
#include <vector>

#include "actors/core/trigger.hpp"
#include "actors/core/trigger_state.hpp"

namespace trail::core {

// A round expects spec.n objects: the first spec.k fire together when the
// k-th lands; the remaining n-k are not delivered (held = false). In session
// scope each session has one round and objects past its n-th are ignored; in
// app scope a round is n consecutive arrivals, after which the next begins.
//
// replica_failed(s) counts a replica that ended without delivering; the
// round stays viable while k objects can still land. In app scope rounds
// are formed by arrivals only, so a failure never makes k unreachable.
// REQUIRES: 1 <= spec.k <= spec.n.
class redundant_trigger final : public trigger {
 public:
  explicit redundant_trigger(trigger_spec spec);
  on_object_result on_object(const object_meta& o, time_point now) override;
  result<bool> replica_failed(session_id s) override;
  std::vector<object_meta> end_session(session_id s) override;
  std::string waits_for(session_id s, time_point now) const override;

 private:
  struct round {
    std::uint64_t arrivals = 0;      // objects of this round that landed
    std::uint64_t failed = 0;        // replicas that ended without an object
    std::vector<object_meta> first;  // the first k, until they fire
  };

  scoped_states<round> rounds_;
};

}  // namespace trail::core
