#include "actors/net/connection_pool.hpp"

namespace trail::net {

std::optional<stream> connection_pool::take(const std::string& address, clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = idle_.find(address);
  if (it == idle_.end()) return std::nullopt;
  auto& v = it->second;
  std::optional<stream> fit;
  while (!v.empty() && !fit) {
    idle c = std::move(v.back());
    v.pop_back();
    if (now - c.since <= max_idle_ && !c.s.readable()) fit = std::move(c.s);
  }
  if (v.empty()) idle_.erase(it);
  return fit;
}

void connection_pool::give(const std::string& address, stream s, clock::time_point now) {
  std::lock_guard lock(mu_);
  auto& v = idle_[address];
  v.push_back({std::move(s), now});
  if (v.size() > per_peer_) v.erase(v.begin());  // closes the oldest
}

void connection_pool::clear() {
  std::lock_guard lock(mu_);
  idle_.clear();
}

}  // namespace trail::net
