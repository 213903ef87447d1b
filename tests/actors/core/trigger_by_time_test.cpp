#include <gtest/gtest.h>

#include <algorithm>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

trigger_spec by_time(std::uint64_t window_ms, scope sc = scope::session) {
  auto s = spec_of("by_time", sc);
  s.window_ms = window_ms;
  return s;
}

TEST(ByTime, TimerFiresWindowWithoutNewArrivals) {
  auto t = make(by_time(100));
  auto a = obj(1, "a", 1), b = obj(1, "b", 2);
  EXPECT_TRUE(t->on_object(a, t0()).held);
  EXPECT_TRUE(t->on_object(b, t0() + 50ms).fires.empty());
  EXPECT_EQ(t->next_deadline(), t0() + 100ms);
  EXPECT_TRUE(t->on_timer(t0() + 99ms).empty());
  EXPECT_EQ(t->on_timer(t0() + 100ms), std::vector<fire>{fire_of(1, {a, b})});
  EXPECT_EQ(t->next_deadline(), std::nullopt);
}

TEST(ByTime, WindowOpensAtFirstObjectAfterPreviousClosed) {
  auto t = make(by_time(100));
  (void)t->on_object(obj(1, "a", 1), t0());
  (void)t->on_timer(t0() + 100ms);
  (void)t->on_object(obj(1, "b", 2), t0() + 170ms);
  EXPECT_EQ(t->next_deadline(), t0() + 270ms);
}

TEST(ByTime, EmptyWindowsFireNothing) {
  auto t = make(by_time(10));
  EXPECT_TRUE(t->on_timer(t0() + 1h).empty());
  (void)t->on_object(obj(1, "a", 1), t0());
  EXPECT_EQ(t->on_timer(t0() + 10ms).size(), 1u);
  EXPECT_TRUE(t->on_timer(t0() + 20ms).empty());
  EXPECT_TRUE(t->on_timer(t0() + 1h).empty());
}

TEST(ByTime, LateObjectClosesWindowThenOpensNewOne) {
  auto t = make(by_time(100));
  auto a = obj(1, "a", 1), late = obj(1, "late", 2);
  (void)t->on_object(a, t0());
  auto r = t->on_object(late, t0() + 150ms);
  EXPECT_TRUE(r.held);
  EXPECT_EQ(r.fires, std::vector<fire>{fire_of(1, {a})});
  EXPECT_EQ(t->next_deadline(), t0() + 250ms);
  EXPECT_EQ(t->on_timer(t0() + 250ms), std::vector<fire>{fire_of(1, {late})});
}

TEST(ByTime, ObjectAtTheDeadlineOpensTheNextWindow) {
  auto t = make(by_time(100));
  auto a = obj(1, "a", 1), b = obj(1, "b", 2);
  (void)t->on_object(a, t0());
  EXPECT_EQ(t->on_object(b, t0() + 100ms).fires, std::vector<fire>{fire_of(1, {a})});
  EXPECT_EQ(t->next_deadline(), t0() + 200ms);
}

TEST(ByTime, NextDeadlineIsEarliestAcrossSessions) {
  auto t = make(by_time(100));
  auto a = obj(1, "a", 1), b = obj(2, "b", 2), c = obj(3, "c", 3);
  (void)t->on_object(a, t0() + 30ms);
  (void)t->on_object(b, t0());
  (void)t->on_object(c, t0() + 60ms);
  EXPECT_EQ(t->next_deadline(), t0() + 100ms);
  auto fired = t->on_timer(t0() + 130ms);
  EXPECT_EQ(fired, (std::vector<fire>{fire_of(2, {b}), fire_of(1, {a})}));
  EXPECT_EQ(t->next_deadline(), t0() + 160ms);
}

TEST(ByTime, AppScopeHasOneWindowForAllSessions) {
  auto t = make(by_time(100, scope::app));
  auto a = obj(1, "a", 1), b = obj(2, "b", 2);
  (void)t->on_object(a, t0());
  (void)t->on_object(b, t0() + 10ms);
  EXPECT_EQ(t->next_deadline(), t0() + 100ms);
  EXPECT_FALSE(t->waiting(1));
  EXPECT_TRUE(t->end_session(1).empty());  // the window reads ended sessions' objects
  EXPECT_EQ(t->on_timer(t0() + 100ms), std::vector<fire>{fire_of(std::nullopt, {a, b})});
}

TEST(ByTime, WaitingWhileAWindowIsOpen) {
  auto t = make(by_time(100));
  EXPECT_FALSE(t->waiting(1));
  (void)t->on_object(obj(1, "a", 1), t0());
  EXPECT_TRUE(t->waiting(1));
  EXPECT_FALSE(t->waiting(2));
  (void)t->on_timer(t0() + 100ms);
  EXPECT_FALSE(t->waiting(1));
}

TEST(ByTime, EndSessionReturnsWindowAndDropsItsDeadline) {
  auto t = make(by_time(100));
  auto a = obj(1, "a", 1), b = obj(2, "b", 2);
  (void)t->on_object(a, t0());
  (void)t->on_object(b, t0() + 10ms);
  EXPECT_EQ(t->end_session(1), std::vector<object_meta>{a});
  EXPECT_EQ(t->next_deadline(), t0() + 110ms);
  EXPECT_EQ(t->on_timer(t0() + 1h), std::vector<fire>{fire_of(2, {b})});
}

// Reference model: a map slot -> open window, scanned in full at every step.
struct time_model {
  struct window {
    std::vector<object_meta> objects;
    time_point deadline;
  };
  scope sc;
  std::chrono::milliseconds length;
  std::map<session_id, window> open;

  session_id slot(session_id s) const { return sc == scope::app ? 0 : s; }
  fire close(session_id slot) {
    auto f = fire_of(sc == scope::app ? std::nullopt : std::optional(slot), open[slot].objects);
    open.erase(slot);
    return f;
  }
  std::vector<fire> object(const object_meta& o, time_point now) {
    std::vector<fire> out;
    auto it = open.find(slot(o.session));
    if (it != open.end() && now >= it->second.deadline) out.push_back(close(it->first));
    auto& w = open[slot(o.session)];
    if (w.objects.empty()) w.deadline = now + length;
    w.objects.push_back(o);
    return out;
  }
  std::vector<fire> timer(time_point now) {
    std::vector<std::pair<time_point, session_id>> due;
    for (const auto& [s, w] : open)
      if (w.deadline <= now) due.emplace_back(w.deadline, s);
    std::sort(due.begin(), due.end());
    std::vector<fire> out;
    for (const auto& d : due) out.push_back(close(d.second));
    return out;
  }
  std::optional<time_point> next() const {
    std::optional<time_point> best;
    for (const auto& [s, w] : open)
      if (!best || w.deadline < *best) best = w.deadline;
    return best;
  }
};

TEST(ByTime, RandomizedMatchesModel) {
  const auto seed = test_seed();
  SCOPED_TRACE("TRAIL_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 20; ++round) {
    const scope sc = round % 2 ? scope::app : scope::session;
    const std::uint64_t window = 1 + rng() % 10;
    auto t = make(by_time(window, sc));
    time_model m{sc, std::chrono::milliseconds(window), {}};
    holdings h;
    time_point now = t0();
    for (std::uint64_t id = 0; id < 400; ++id) {
      now += std::chrono::milliseconds(rng() % (window + 2));
      const session_id s = rng() % 4;
      switch (rng() % 6) {
        case 0: {
          auto fired = t->on_timer(now);
          h.on_fires(fired);
          ASSERT_EQ(fired, m.timer(now));
          break;
        }
        case 1: {
          auto released = t->end_session(s);
          h.on_end(s, released);
          std::vector<object_meta> expected;
          if (sc == scope::session && m.open.count(s)) expected = m.open[s].objects;
          if (sc == scope::session) m.open.erase(s);
          ASSERT_EQ(released, expected);
          break;
        }
        default: {
          auto o = obj(s, "k" + std::to_string(id), id);
          auto r = t->on_object(o, now);
          h.on_result(o, r);
          ASSERT_EQ(r.fires, m.object(o, now));
          ASSERT_TRUE(r.held);
        }
      }
      ASSERT_EQ(t->next_deadline(), m.next());
      for (session_id q = 0; q < 4; ++q)
        ASSERT_EQ(t->waiting(q), sc == scope::session && m.open.count(q) == 1);
    }
    auto rest = t->on_timer(now + 1h);
    h.on_fires(rest);
    EXPECT_EQ(rest, m.timer(now + 1h));
    EXPECT_EQ(h.size(), 0u);
  }
}

}  // namespace
}  // namespace trail::core::test
