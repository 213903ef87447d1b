#include "actors/core/session_table.hpp"

#include <trail/check.hpp>

namespace trail::core {

session_table::session_table(session_limits limits) : limits_(limits) {}

status session_table::start(session_id s, std::string_view app, session_origin origin,
                            time_point now, std::optional<std::chrono::milliseconds> deadline) {
  if (sessions_.count(s) != 0)
    return status::invalid("session " + std::to_string(s) + " is already in use");
  const auto budget = deadline.value_or(limits_.deadline);
  if (budget.count() <= 0 || budget > max_deadline)
    return status::invalid("session deadline must be in 1.." +
                           std::to_string(max_deadline.count()) + " ms, got " +
                           std::to_string(budget.count()) + " ms");
  if (auto st = admit(app); !st.ok()) return st;
  entry e;
  e.app = std::string(app);
  e.origin = origin;
  e.budget = budget;
  e.deadline = now + budget;
  deadlines_.emplace(e.deadline, s);
  sessions_.emplace(s, std::move(e));
  ++live_per_app_[std::string(app)];
  ++live_;
  return {};
}

// ok if one more live session of `app` fits the limits.
status session_table::admit(std::string_view app) const {
  const std::size_t in_app = in_flight(app);
  if (in_app >= limits_.per_app)
    return status::overloaded(std::to_string(in_app) + " sessions in flight for app " +
                              std::string(app) + " (limit " + std::to_string(limits_.per_app) +
                              ")");
  if (live_ >= limits_.per_node)
    return status::overloaded(std::to_string(live_) + " sessions in flight on this node (limit " +
                              std::to_string(limits_.per_node) + ")");
  return {};
}

bool session_table::live(session_id s) const {
  auto it = sessions_.find(s);
  return it != sessions_.end() && !it->second.end;
}

void session_table::work_added(session_id s) {
  entry* e = find_live(s);
  if (!e) return;
  ++e->work;
  e->worked = true;
}

void session_table::work_done(session_id s) {
  entry* e = find_live(s);
  if (!e) return;
  TRAIL_REQUIRE(e->work > 0, "work_done without work_added in session", s);
  if (--e->work == 0) maybe_quiet_.insert(s);
}

void session_table::set_waiting(session_id s, std::string_view bucket, bool waiting) {
  entry* e = find_live(s);
  if (!e) return;
  if (waiting) {
    e->waiting.emplace(bucket);
    return;
  }
  if (auto it = e->waiting.find(bucket); it != e->waiting.end()) e->waiting.erase(it);
  maybe_quiet_.insert(s);
}

bool session_table::output(session_id s, std::uint64_t object) {
  entry* e = find_live(s);
  if (!e) return false;
  end(s, *e, session_end{s, e->app, session_end::kind::output, object, {}});
  return true;
}

void session_table::fail(session_id s, status why) {
  TRAIL_ASSERT(!why.ok(), "a session failed with ok", s);
  entry* e = find_live(s);
  if (!e) return;
  end(s, *e, session_end{s, e->app, session_end::kind::failed, 0, why.message(), why.code()});
}

std::vector<session_end> session_table::collect(time_point now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const session_id s = deadlines_.begin()->second;
    entry& e = sessions_.at(s);
    end(s, e, quiet(e) ? quiet_end(s, e) : deadline_end(s, e));
  }
  for (session_id s : maybe_quiet_)
    if (entry* e = find_live(s); e && quiet(*e)) end(s, *e, quiet_end(s, *e));
  maybe_quiet_.clear();

  std::vector<session_end> ended;
  ended.reserve(ended_.size());
  for (session_id s : ended_) {
    auto node = sessions_.extract(s);
    TRAIL_ASSERT(!node.empty() && node.mapped().end, "ended session missing", s);
    ended.push_back(std::move(*node.mapped().end));
  }
  ended_.clear();
  return ended;
}

std::optional<time_point> session_table::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

std::size_t session_table::in_flight(std::string_view app) const {
  auto it = live_per_app_.find(app);
  return it == live_per_app_.end() ? 0 : it->second;
}

session_table::entry* session_table::find_live(session_id s) {
  auto it = sessions_.find(s);
  return it == sessions_.end() || it->second.end ? nullptr : &it->second;
}

bool session_table::quiet(const entry& e) {
  return e.worked && e.work == 0 && e.waiting.empty();
}

// How a session that went quiet without output ends, by its origin.
session_end session_table::quiet_end(session_id s, const entry& e) {
  if (e.origin == session_origin::app_trigger)
    return session_end{s, e.app, session_end::kind::quiet, 0, {}};
  return session_end{s, e.app, session_end::kind::failed, 0, "no output", errc::app_error};
}

session_end session_table::deadline_end(session_id s, const entry& e) {
  return session_end{s, e.app, session_end::kind::failed, 0,
                     "deadline of " + std::to_string(e.budget.count()) + " ms exceeded",
                     errc::deadline_exceeded};
}

// Ends live session `s`: it stops counting against the limits and waits in
// ended_ for the next collect.
void session_table::end(session_id s, entry& e, session_end how) {
  TRAIL_ASSERT(!e.end, "session ended twice", s);
  e.end = std::move(how);
  deadlines_.erase({e.deadline, s});
  auto it = live_per_app_.find(e.app);
  TRAIL_ASSERT(it != live_per_app_.end() && it->second > 0 && live_ > 0, "live count", s);
  if (--it->second == 0) live_per_app_.erase(it);
  --live_;
  ended_.insert(s);
}

}  // namespace trail::core
