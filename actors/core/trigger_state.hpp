// Per-scope state storage shared by the trigger primitives (internal).
#pragma once

#include <optional>
#include <unordered_map>
#include <utility>

#include "actors/core/trigger.hpp"

namespace trail::core {

// Maps an object's session to the state it feeds: its own state in session
// scope, the single shared state in app scope. A "slot" names that state:
// the session id in session scope, 0 in app scope.
template <class State>
class scoped_states {
 public:
  explicit scoped_states(scope sc) : sc_(sc) {}

  session_id slot(session_id s) const { return sc_ == scope::app ? 0 : s; }

  // The state of `s`'s slot, created empty on first use.
  State& at(session_id s) { return sc_ == scope::app ? shared_ : per_session_[s]; }

  // The state of `s`'s slot, or nullptr if it was never created.
  const State* find(session_id s) const {
    if (sc_ == scope::app) return &shared_;
    auto it = per_session_.find(s);
    return it == per_session_.end() ? nullptr : &it->second;
  }

  // Removes the state of `s`'s slot and returns it (empty if there was none).
  State take(session_id s) {
    if (sc_ == scope::app) return std::exchange(shared_, State{});
    auto node = per_session_.extract(s);
    return node.empty() ? State{} : std::move(node.mapped());
  }

  // Session `s` ended: its state in session scope; nothing in app scope,
  // where the shared state outlives every session.
  std::optional<State> take_session(session_id s) {
    if (sc_ == scope::app) return std::nullopt;
    return take(s);
  }

 private:
  scope sc_;
  State shared_{};                                   // app scope only
  std::unordered_map<session_id, State> per_session_;  // session scope only
};

}  // namespace trail::core
