#include "actors/core/dispatch_policy.hpp"

namespace trail::core {
namespace {

using state = executor_view::state;

// The best idle executor among those `eligible`: one that loaded the
// library first, then the most recently idle.
template <class Pred>
std::optional<int> best_idle(const std::vector<executor_view>& execs, Pred eligible) {
  std::optional<int> best;
  for (int i = 0; i < static_cast<int>(execs.size()); ++i) {
    const auto& e = execs[i];
    if (e.st != state::idle || !eligible(e)) continue;
    if (!best) {
      best = i;
      continue;
    }
    const auto& b = execs[*best];
    if (e.has_library != b.has_library ? e.has_library : e.since > b.since) best = i;
  }
  return best;
}

}  // namespace

std::optional<int> choose_executor(const std::vector<executor_view>& execs, const task_view& t,
                                   std::chrono::steady_clock::time_point now, const dispatch_params& p) {
  const executor_view* producer = nullptr;
  if (t.producer && *t.producer >= 0 && *t.producer < static_cast<int>(execs.size())) producer = &execs[*t.producer];
  if (producer && producer->st == state::idle) return t.producer;
  if (auto hot = best_idle(execs, [&](const executor_view& e) { return now - e.since < p.hot_window; })) return hot;
  if (producer && producer->st == state::busy && producer->queued == 0 && t.producer_tail &&
      *t.producer_tail < p.wake_cost)
    return t.producer;
  if (auto idle = best_idle(execs, [](const executor_view&) { return true; })) return idle;
  if (!t.expected_run || *t.expected_run >= p.short_run) return std::nullopt;
  std::optional<int> shortest;
  for (int i = 0; i < static_cast<int>(execs.size()); ++i) {
    const auto& e = execs[i];
    if (e.st != state::busy || e.queued >= p.max_queued) continue;
    if (!shortest || e.queued < execs[*shortest].queued ||
        (e.queued == execs[*shortest].queued && e.has_library && !execs[*shortest].has_library))
      shortest = i;
  }
  return shortest;
}

void duration_mean::add(std::chrono::nanoseconds sample) {
  double x = static_cast<double>(sample.count());
  ns_ = ns_ ? *ns_ + (x - *ns_) / 8 : x;
}

std::optional<std::chrono::nanoseconds> duration_mean::get() const {
  if (!ns_) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(*ns_));
}

}  // namespace trail::core
