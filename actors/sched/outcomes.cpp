#include "actors/sched/outcomes.hpp"

#include "actors/types.hpp"

namespace trail::actors::sched {

status outcomes::wait(std::uint64_t session, caf::response_promise rp) {
  auto& w = waiters_[session];
  if (w.size() >= max_waiters)
    return status::unavailable(std::to_string(max_waiters) + " clients already wait for session " + std::to_string(session));
  w.push_back(std::move(rp));
  return {};
}

void outcomes::ended(std::uint64_t session, const outcome& o, bool keep) {
  if (auto w = waiters_.find(session); w != waiters_.end()) {
    for (auto& rp : w->second) {
      if (o.ok) rp.deliver(session, o.output);
      else rp.deliver(to_error(o.error));
    }
    waiters_.erase(w);
  }
  if (!keep) return;
  bytes_ += o.output.size();
  kept_[session] = o;
  order_.push_back(session);
  while (!order_.empty() && (order_.size() > max_count_ || bytes_ > max_bytes_)) {
    auto old = kept_.find(order_.front());
    bytes_ -= old->second.output.size();
    kept_.erase(old);
    order_.pop_front();
  }
}

const outcome* outcomes::find(std::uint64_t session) const {
  auto it = kept_.find(session);
  return it == kept_.end() ? nullptr : &it->second;
}

}  // namespace trail::actors::sched
