#include "actors/core/session_refs.hpp"

namespace trail::core {

bool session_refs::acquire(std::uint64_t session, holder h) {
  auto [it, fresh] = sessions_.try_emplace(session);
  auto& x = it->second;
  switch (h) {
    case holder::home: x.home = true; break;
    case holder::worker: x.worker = true; break;
    case holder::import: ++x.imports; break;
  }
  return fresh;
}

bool session_refs::release(std::uint64_t session, holder h) {
  auto it = sessions_.find(session);
  if (it == sessions_.end() || !holds(session, h)) return false;
  auto& x = it->second;
  switch (h) {
    case holder::home: x.home = false; break;
    case holder::worker: x.worker = false; break;
    case holder::import: --x.imports; break;
  }
  if (!x.none()) return false;
  sessions_.erase(it);
  return true;
}

bool session_refs::holds(std::uint64_t session, holder h) const {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return false;
  switch (h) {
    case holder::home: return it->second.home;
    case holder::worker: return it->second.worker;
    case holder::import: return it->second.imports > 0;
  }
  return false;
}

}  // namespace trail::core
