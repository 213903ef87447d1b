#include "actors/core/session_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <random>
#include <set>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core {

inline void PrintTo(const session_end& e, std::ostream* os) {
  static const char* kinds[] = {"output", "failed", "quiet"};
  *os << "{s" << e.session << " " << e.app << " " << kinds[static_cast<int>(e.how)] << " #"
      << e.output_object << " '" << e.error << "' (" << to_string(e.code) << ")}";
}

}  // namespace trail::core

namespace trail::core::test {
namespace {

using kind = session_end::kind;
using ends = std::vector<session_end>;

// Expected ends of sessions of app "a".
session_end output_end(session_id s, std::uint64_t obj) { return {s, "a", kind::output, obj, {}}; }
session_end failed_end(session_id s, std::string err, errc code) { return {s, "a", kind::failed, 0, err, code}; }
session_end quiet_end(session_id s) { return {s, "a", kind::quiet, 0, {}}; }

// A table with session 1 of app "a" started at t0 and its entry invocation added.
session_table with_session(session_origin origin = session_origin::invoked) {
  session_table t;
  EXPECT_TRUE(t.start(1, "a", origin, t0()).ok());
  t.work_added(1);
  return t;
}

TEST(SessionTable, StartedSessionIsLiveAndCounted) {
  session_table t;
  ASSERT_TRUE(t.start(1, "a", session_origin::invoked, t0()).ok());
  ASSERT_TRUE(t.start(2, "b", session_origin::app_trigger, t0()).ok());
  EXPECT_TRUE(t.live(1));
  EXPECT_FALSE(t.live(3));
  EXPECT_EQ(t.in_flight(), 2u);
  EXPECT_EQ(t.in_flight("a"), 1u);
  EXPECT_EQ(t.in_flight("zzz"), 0u);
}

TEST(SessionTable, IdInUseIsRejectedUntilCollected) {
  auto t = with_session();
  EXPECT_EQ(t.start(1, "b", session_origin::invoked, t0()).code(), errc::invalid_argument);
  EXPECT_TRUE(t.output(1, 7));
  EXPECT_EQ(t.start(1, "a", session_origin::invoked, t0()).code(), errc::invalid_argument);
  (void)t.collect(t0());
  EXPECT_TRUE(t.start(1, "a", session_origin::invoked, t0()).ok());
}

TEST(SessionTable, PerAppLimitIsOverloadedWithClearMessage) {
  session_table t({2, 10, 60s});
  ASSERT_TRUE(t.start(1, "wc", session_origin::invoked, t0()).ok());
  ASSERT_TRUE(t.start(2, "wc", session_origin::invoked, t0()).ok());
  const status st = t.start(3, "wc", session_origin::invoked, t0());
  EXPECT_EQ(st.code(), errc::overloaded);
  EXPECT_EQ(st.to_string(), "overloaded: 2 sessions in flight for app wc (limit 2)");
  EXPECT_TRUE(t.start(3, "other", session_origin::invoked, t0()).ok());
}

TEST(SessionTable, PerNodeLimitIsOverloaded) {
  session_table t({10, 2, 60s});
  ASSERT_TRUE(t.start(1, "a", session_origin::invoked, t0()).ok());
  ASSERT_TRUE(t.start(2, "b", session_origin::invoked, t0()).ok());
  const status st = t.start(3, "c", session_origin::invoked, t0());
  EXPECT_EQ(st.to_string(), "overloaded: 2 sessions in flight on this node (limit 2)");
  EXPECT_FALSE(t.live(3));
}

TEST(SessionTable, EndedSessionsStopCountingAgainstLimits) {
  session_table t({1, 10, 60s});
  ASSERT_TRUE(t.start(1, "a", session_origin::invoked, t0()).ok());
  t.fail(1, status::app_error("boom"));
  EXPECT_EQ(t.in_flight("a"), 0u);
  EXPECT_TRUE(t.start(2, "a", session_origin::invoked, t0()).ok());
}

TEST(SessionTable, DeadlineOutOfRangeIsInvalid) {
  session_table t;
  EXPECT_EQ(t.start(1, "a", session_origin::invoked, t0(), 0ms).to_string(),
            "invalid argument: session deadline must be in 1..31536000000 ms, got 0 ms");
  const auto too_long = session_table::max_deadline + 1ms;
  EXPECT_EQ(t.start(1, "a", session_origin::invoked, t0(), too_long).code(),
            errc::invalid_argument);
  EXPECT_EQ(t.in_flight(), 0u);
}

TEST(SessionTable, FreshSessionIsNotQuietBeforeItsFirstWork) {
  session_table t;
  ASSERT_TRUE(t.start(1, "a", session_origin::invoked, t0()).ok());
  EXPECT_TRUE(t.collect(t0() + 1s).empty());
  EXPECT_TRUE(t.live(1));
}

TEST(SessionTable, InvokedSessionQuietWithoutOutputFailsNoOutput) {
  auto t = with_session();
  t.work_added(1);
  t.work_done(1);
  EXPECT_TRUE(t.collect(t0()).empty());
  t.work_done(1);
  EXPECT_EQ(t.collect(t0()), ends{failed_end(1, "no output", errc::app_error)});
  EXPECT_FALSE(t.live(1));
}

TEST(SessionTable, AppTriggeredSessionQuietWithoutOutputEndsQuietly) {
  auto t = with_session(session_origin::app_trigger);
  t.work_done(1);
  EXPECT_EQ(t.collect(t0()), ends{quiet_end(1)});
}

TEST(SessionTable, QuietIsJudgedAtCollect) {
  auto t = with_session();
  t.work_done(1);   // the invocation finished...
  t.work_added(1);  // ...after sending an object, reported in the same handler
  EXPECT_TRUE(t.collect(t0()).empty());
  EXPECT_TRUE(t.live(1));
}

TEST(SessionTable, OutputEndsSessionWhileWorkStillRuns) {
  auto t = with_session();
  t.work_added(1);
  EXPECT_TRUE(t.output(1, 42));
  EXPECT_FALSE(t.live(1));
  EXPECT_FALSE(t.output(1, 43));
  t.work_done(1);
  t.work_done(1);
  t.work_done(1);  // unmatched, but the session ended: ignored
  t.work_added(1);
  t.set_waiting(1, "b", true);
  t.fail(1, status::internal("late failure"));
  EXPECT_EQ(t.collect(t0()), ends{output_end(1, 42)});
  EXPECT_TRUE(t.collect(t0() + 1h).empty());
}

TEST(SessionTable, FailEndsWithErrorText) {
  auto t = with_session();
  t.fail(1, status::cancelled("cancelled: client timeout"));
  t.fail(1, status::internal("second"));
  EXPECT_FALSE(t.output(1, 1));
  EXPECT_EQ(t.next_deadline(), std::nullopt);
  EXPECT_EQ(t.collect(t0()), ends{failed_end(1, "cancelled: client timeout", errc::cancelled)});
}

TEST(SessionTable, WaitingBucketKeepsSessionAlive) {
  auto t = with_session();
  t.set_waiting(1, "win", true);
  t.set_waiting(1, "win2", true);
  t.work_done(1);
  EXPECT_TRUE(t.collect(t0()).empty());
  t.set_waiting(1, "win", false);
  EXPECT_TRUE(t.collect(t0()).empty());
  t.set_waiting(1, "win2", true);  // repeated report: still one waiting bucket
  t.set_waiting(1, "win2", false);
  EXPECT_EQ(t.collect(t0()), ends{failed_end(1, "no output", errc::app_error)});
}

TEST(SessionTable, DeadlinePassedFailsSession) {
  auto t = with_session();
  EXPECT_EQ(t.next_deadline(), t0() + 60s);
  EXPECT_TRUE(t.collect(t0() + 60s - 1ms).empty());
  EXPECT_EQ(t.collect(t0() + 60s), ends{failed_end(1, "deadline of 60000 ms exceeded", errc::deadline_exceeded)});
  EXPECT_EQ(t.next_deadline(), std::nullopt);
}

TEST(SessionTable, PerSessionDeadlineOverridesDefault) {
  session_table t({10, 10, 100ms});
  ASSERT_TRUE(t.start(1, "a", session_origin::invoked, t0()).ok());
  ASSERT_TRUE(t.start(2, "a", session_origin::app_trigger, t0(), 30ms).ok());
  EXPECT_EQ(t.next_deadline(), t0() + 30ms);
  EXPECT_EQ(t.collect(t0() + 50ms), ends{failed_end(2, "deadline of 30 ms exceeded", errc::deadline_exceeded)});
  EXPECT_EQ(t.next_deadline(), t0() + 100ms);
}

TEST(SessionTable, QuietWinsOverPassedDeadline) {
  auto t = with_session(session_origin::app_trigger);
  t.work_done(1);
  EXPECT_EQ(t.collect(t0() + 1h), ends{quiet_end(1)});
}

TEST(SessionTable, CollectReportsInIdOrderOnce) {
  session_table t;
  for (session_id s : {5, 3, 9}) {
    ASSERT_TRUE(t.start(s, "a", session_origin::invoked, t0()).ok());
    t.work_added(s);
  }
  t.fail(9, status::internal("x"));
  EXPECT_TRUE(t.output(5, 50));
  t.work_done(3);
  EXPECT_EQ(t.collect(t0()),
            (ends{failed_end(3, "no output", errc::app_error), output_end(5, 50), failed_end(9, "x", errc::internal)}));
  EXPECT_TRUE(t.collect(t0()).empty());
  EXPECT_EQ(t.in_flight(), 0u);
}

TEST(SessionTable, CallsOnUnknownSessionsAreNoOps) {
  session_table t;
  t.work_added(8);
  t.work_done(8);
  t.set_waiting(8, "b", true);
  t.fail(8, status::internal("x"));
  EXPECT_FALSE(t.output(8, 1));
  EXPECT_TRUE(t.collect(t0()).empty());
  EXPECT_FALSE(t.live(8));
}

TEST(SessionTableDeathTest, UnmatchedWorkDoneOnLiveSessionAborts) {
  auto t = with_session();
  t.work_done(1);
  EXPECT_DEATH(t.work_done(1), "work_done without work_added in session 1");
}

// -- randomized test against a reference model --------------------------------

// The contract written out plainly: every query scans every session.
class model {
 public:
  explicit model(session_limits l) : limits_(l) {}

  status start(session_id s, const std::string& app, session_origin o, time_point now,
               std::optional<std::chrono::milliseconds> d) {
    const auto budget = d.value_or(limits_.deadline);
    if (sessions_.count(s) || budget <= 0ms) return status::invalid("");
    if (live_in(app) >= limits_.per_app || live_in("") >= limits_.per_node)
      return status::overloaded("");
    sessions_[s] = session{app, o, budget, now + budget, 0, false, {}, {}};
    return {};
  }
  bool live(session_id s) const { return sessions_.count(s) && !sessions_.at(s).end; }
  bool has_work(session_id s) const { return live(s) && sessions_.at(s).work > 0; }
  void work_added(session_id s) {
    if (live(s)) ++sessions_[s].work, sessions_[s].worked = true;
  }
  void work_done(session_id s) { if (live(s)) --sessions_[s].work; }
  void set_waiting(session_id s, const std::string& b, bool w) {
    if (live(s) && w) sessions_[s].waiting.insert(b);
    if (live(s) && !w) sessions_[s].waiting.erase(b);
  }
  bool output(session_id s, std::uint64_t obj) {
    if (!live(s)) return false;
    sessions_[s].end = session_end{s, sessions_[s].app, kind::output, obj, {}};
    return true;
  }
  void fail(session_id s, const status& why) {
    if (live(s)) sessions_[s].end = session_end{s, sessions_[s].app, kind::failed, 0, why.message(), why.code()};
  }
  // Explicit ends first, then quiet, then deadline; reported and forgotten.
  ends collect(time_point now) {
    ends out;
    for (auto& [s, m] : sessions_) {
      const bool quiet = m.worked && m.work == 0 && m.waiting.empty();
      const bool by_trigger = m.origin == session_origin::app_trigger;
      const auto late = "deadline of " + std::to_string(m.budget.count()) + " ms exceeded";
      if (!m.end && quiet) m.end = session_end{s, m.app, by_trigger ? kind::quiet : kind::failed,
                                               0, by_trigger ? "" : "no output",
                                               by_trigger ? errc::ok : errc::app_error};
      if (!m.end && m.deadline <= now) m.end = session_end{s, m.app, kind::failed, 0, late, errc::deadline_exceeded};
      if (m.end) out.push_back(*m.end);
    }
    std::erase_if(sessions_, [](const auto& kv) { return kv.second.end.has_value(); });
    return out;
  }
  std::optional<time_point> next_deadline() const {
    std::optional<time_point> d;
    for (const auto& [s, m] : sessions_)
      if (!m.end && (!d || m.deadline < *d)) d = m.deadline;
    return d;
  }
  // Live sessions of `app`; "" counts all.
  std::size_t live_in(const std::string& app) const {
    return std::count_if(sessions_.begin(), sessions_.end(), [&](const auto& kv) {
      return !kv.second.end && (app.empty() || kv.second.app == app);
    });
  }

 private:
  struct session {
    std::string app;
    session_origin origin{};
    std::chrono::milliseconds budget{};
    time_point deadline{};
    long work = 0;
    bool worked = false;
    std::set<std::string> waiting;
    std::optional<session_end> end;
  };
  session_limits limits_;
  std::map<session_id, session> sessions_;
};

TEST(SessionTable, MatchesReferenceModelUnderRandomOperations) {
  std::mt19937_64 rng(test_seed());
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const session_limits limits{4, 8, 200ms};
  const std::string apps[] = {"a", "b", "c"}, buckets[] = {"x", "y"};
  session_table t(limits);
  model m(limits);
  time_point now = t0();
  for (int step = 0; step < 20000; ++step) {
    const session_id s = 1 + pick(24);
    SCOPED_TRACE("step " + std::to_string(step) + " session " + std::to_string(s));
    switch (pick(9)) {
      case 0: {
        std::optional<std::chrono::milliseconds> d;
        if (pick(3) == 0) d = std::chrono::milliseconds(pick(60));  // 0 is invalid
        const auto origin = pick(2) ? session_origin::invoked : session_origin::app_trigger;
        const auto& app = apps[pick(3)];
        ASSERT_EQ(t.start(s, app, origin, now, d).code(), m.start(s, app, origin, now, d).code());
        break;
      }
      case 1: case 2: t.work_added(s); m.work_added(s); break;
      case 3: case 4:  // never an unmatched work_done on a live session
        if (!m.live(s) || m.has_work(s)) t.work_done(s), m.work_done(s);
        break;
      case 5: {
        const bool w = pick(2);
        const auto& b = buckets[pick(2)];
        t.set_waiting(s, b, w), m.set_waiting(s, b, w);
        break;
      }
      case 6:
        if (pick(4) == 0) { t.fail(s, status::app_error("err")); m.fail(s, status::app_error("err")); }
        else ASSERT_EQ(t.output(s, step), m.output(s, step));
        break;
      default:
        now += std::chrono::milliseconds(pick(12));
        ASSERT_EQ(t.collect(now), m.collect(now));
    }
    ASSERT_EQ(t.live(s), m.live(s));
    ASSERT_EQ(t.next_deadline(), m.next_deadline());
    ASSERT_EQ(t.in_flight(), m.live_in(""));
    for (const auto& app : apps) ASSERT_EQ(t.in_flight(app), m.live_in(app));
  }
}

}  // namespace
}  // namespace trail::core::test
