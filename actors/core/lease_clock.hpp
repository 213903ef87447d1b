// When a coordinator may act for the shards it claimed (issue 11): only
// while its etcd lease is current by its own clock. etcd starts a renewed
// lease's time when the renewal reaches it, which is after we sent it; so
// counting from the send makes this view run out first, and the margin
// covers the time between a check and the act it allows. Pure: no clock
// of its own, no threads.
#pragma once

#include <chrono>

namespace trail::core {

class lease_clock {
 public:
  using clock = std::chrono::steady_clock;

  explicit lease_clock(std::chrono::milliseconds margin) : margin_(margin) {}

  // A grant or renewal sent at `sent` was answered: the lease has `left` to
  // go from when etcd saw it.
  void renewed(clock::time_point sent, std::chrono::milliseconds left) {
    if (lost_) return;  // a lost lease is lost for good: a fresh claim needs a fresh lease
    expires_ = sent + left;
    period_ = left;
  }
  // etcd said it is gone (ran out, revoked).
  void lost() { lost_ = true; }

  // The holder may act at `now`.
  bool current(clock::time_point now) const { return !lost_ && now + margin_ < expires_; }
  // When to renew next: a third of the way through, so two more tries fit
  // before it runs out.
  clock::time_point renew_at() const { return expires_ - period_ + period_ / 3; }
  clock::time_point expires() const { return expires_; }

 private:
  std::chrono::milliseconds margin_;
  std::chrono::milliseconds period_{0};
  clock::time_point expires_{};
  bool lost_ = false;
};

}  // namespace trail::core
