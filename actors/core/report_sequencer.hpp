// Puts the reports of attempts that run on other nodes back in order.
//
// A worker numbers the reports of one attempt 0, 1, 2, ... (sealed objects,
// announcements, the end). They can overtake each other on the way (one
// through the coordinator, the next on a direct connection), and applying
// one may take time (a large object is pulled before its triggers may see
// it). The home applies them strictly in the worker's order, one at a time:
//
//   seq.expect(a);                          // the attempt went to a worker
//   seq.push(a, n, report);                 // a report arrived
//   while (auto r = seq.next(a)) apply(*r); // apply may hold(a) or forget(a)
//   ...                                     // a pull started by apply ends:
//   seq.release(a); while (auto r = seq.next(a)) apply(*r);
//
// Reports of attempts it does not expect (over, forgotten, forged) and
// duplicates are dropped. Pure: no I/O, no clock; Report is any movable type.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>

namespace trail::core {

template <class Report>
class report_sequencer {
 public:
  // Reports of `attempt` will come, starting with number 0.
  void expect(std::uint64_t attempt) { attempts_.try_emplace(attempt); }
  bool expects(std::uint64_t attempt) const { return attempts_.contains(attempt); }

  // Report number `seq` of `attempt` arrived. False when it was dropped: the
  // attempt is not expected, or the number was seen before.
  bool push(std::uint64_t attempt, std::uint32_t seq, Report r) {
    auto it = attempts_.find(attempt);
    if (it == attempts_.end() || seq < it->second.next) return false;
    return it->second.waiting.try_emplace(seq, std::move(r)).second;
  }

  // The next report to apply, if it arrived and no earlier one is held.
  std::optional<Report> next(std::uint64_t attempt) {
    auto it = attempts_.find(attempt);
    if (it == attempts_.end()) return std::nullopt;
    auto& a = it->second;
    if (a.held || a.waiting.empty() || a.waiting.begin()->first != a.next) return std::nullopt;
    Report r = std::move(a.waiting.begin()->second);
    a.waiting.erase(a.waiting.begin());
    ++a.next;
    return r;
  }

  // The report just taken is still being applied: later ones wait ...
  void hold(std::uint64_t attempt) {
    if (auto it = attempts_.find(attempt); it != attempts_.end()) it->second.held = true;
  }
  // ... until it is done.
  void release(std::uint64_t attempt) {
    if (auto it = attempts_.find(attempt); it != attempts_.end()) it->second.held = false;
  }
  bool held(std::uint64_t attempt) const {
    auto it = attempts_.find(attempt);
    return it != attempts_.end() && it->second.held;
  }

  // The attempt is over: its waiting reports go, later ones are dropped.
  void forget(std::uint64_t attempt) { attempts_.erase(attempt); }
  // Attempts it keeps state for (a leak shows here).
  std::size_t size() const { return attempts_.size(); }

 private:
  struct attempt_state {
    std::uint32_t next = 0;                   // number of the next report to apply
    bool held = false;                        // one is being applied
    std::map<std::uint32_t, Report> waiting;  // arrived ahead of their turn
  };
  std::unordered_map<std::uint64_t, attempt_state> attempts_;
};

}  // namespace trail::core
