#include <gtest/gtest.h>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

trigger_spec redundant(std::uint32_t k, std::uint32_t n, scope sc = scope::session) {
  auto s = spec_of("redundant", sc);
  s.k = k;
  s.n = n;
  return s;
}

TEST(Redundant, DeliversTheFirstKWhenTheKthLands) {
  auto t = make(redundant(2, 3));
  auto a = obj(1, "r0", 1), b = obj(1, "r1", 2);
  EXPECT_TRUE(t->on_object(a, t0()).held);
  auto r = t->on_object(b, t0());
  EXPECT_FALSE(r.held);
  EXPECT_EQ(r.fires, std::vector<fire>{fire_of(1, {a, b})});
}

TEST(Redundant, RemainingNMinusKAreNotDelivered) {
  auto t = make(redundant(1, 3));
  EXPECT_EQ(t->on_object(obj(1, "r0", 1), t0()).fires.size(), 1u);
  for (std::uint64_t id : {2, 3}) {
    auto r = t->on_object(obj(1, "r" + std::to_string(id), id), t0());
    EXPECT_FALSE(r.held);
    EXPECT_TRUE(r.fires.empty());
  }
}

TEST(Redundant, SessionScopeHasOneRoundPerSession) {
  auto t = make(redundant(1, 2));
  EXPECT_EQ(t->on_object(obj(1, "a", 1), t0()).fires.size(), 1u);
  EXPECT_TRUE(t->on_object(obj(1, "b", 2), t0()).fires.empty());
  EXPECT_TRUE(t->on_object(obj(1, "c", 3), t0()).fires.empty());  // past n: still ignored
  EXPECT_EQ(t->on_object(obj(2, "a", 4), t0()).fires.size(), 1u);  // another session's round
}

TEST(Redundant, AppScopeRoundIsNConsecutiveArrivals) {
  auto t = make(redundant(1, 2, scope::app));
  auto a = obj(1, "a", 1), b = obj(2, "b", 2), c = obj(3, "c", 3);
  EXPECT_EQ(t->on_object(a, t0()).fires, std::vector<fire>{fire_of(std::nullopt, {a})});
  EXPECT_TRUE(t->on_object(b, t0()).fires.empty());
  EXPECT_EQ(t->on_object(c, t0()).fires, std::vector<fire>{fire_of(std::nullopt, {c})});
}

TEST(Redundant, FailedReplicaKeepsSessionWhileKReachable) {
  auto t = make(redundant(2, 3));
  (void)t->on_object(obj(1, "a", 1), t0());
  auto r = t->replica_failed(1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);  // one replica left, one object needed
  auto b = t->on_object(obj(1, "b", 2), t0());
  EXPECT_EQ(b.fires.size(), 1u);
}

TEST(Redundant, FailedReplicasReportKUnreachable) {
  auto t = make(redundant(2, 3));
  EXPECT_TRUE(*t->replica_failed(1));
  EXPECT_FALSE(*t->replica_failed(1));
  EXPECT_TRUE(*t->replica_failed(2));  // other sessions are unaffected
}

TEST(Redundant, FailureAfterDeliveryIsHarmless) {
  auto t = make(redundant(1, 3));
  (void)t->on_object(obj(1, "a", 1), t0());
  EXPECT_TRUE(*t->replica_failed(1));
  EXPECT_TRUE(*t->replica_failed(1));
}

TEST(Redundant, AppScopeFailureNeverMakesKUnreachable) {
  auto t = make(redundant(3, 3, scope::app));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(*t->replica_failed(1));
}

TEST(Redundant, EndSessionReturnsUndeliveredObjects) {
  auto t = make(redundant(3, 4));
  auto a = obj(1, "a", 1), b = obj(1, "b", 2);
  (void)t->on_object(a, t0());
  (void)t->on_object(b, t0());
  EXPECT_EQ(t->end_session(1), (std::vector<object_meta>{a, b}));
  EXPECT_FALSE(t->waiting(1));
}

// Reference model: count arrivals per slot; the k-th fires the first k; in
// app scope the count wraps every n.
TEST(Redundant, RandomizedMatchesModel) {
  const auto seed = test_seed();
  SCOPED_TRACE("TRAIL_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 30; ++round) {
    const scope sc = round % 2 ? scope::app : scope::session;
    const std::uint32_t n = 1 + rng() % 5;
    const std::uint32_t k = 1 + rng() % n;
    auto t = make(redundant(k, n, sc));
    struct model_round {
      std::uint64_t seen = 0, failed = 0;
      std::vector<object_meta> first;
    };
    std::map<session_id, model_round> model;
    holdings h;
    for (std::uint64_t id = 0; id < 300; ++id) {
      const session_id s = rng() % 4;
      const session_id slot = sc == scope::app ? 0 : s;
      auto& m = model[slot];
      const auto op = rng() % 10;
      if (op == 0) {
        auto released = t->end_session(s);
        h.on_end(s, released);
        ASSERT_EQ(released, sc == scope::app ? std::vector<object_meta>{} : m.first);
        if (sc == scope::session) model.erase(slot);
        continue;
      }
      if (op == 1) {
        ++m.failed;
        const bool reachable = sc == scope::app || m.seen >= k ||
                               (m.seen + m.failed <= n && n - m.failed >= k);
        ASSERT_EQ(*t->replica_failed(s), reachable);
        continue;
      }
      auto o = obj(s, "k" + std::to_string(id), id);
      auto r = t->on_object(o, t0());
      h.on_result(o, r);
      std::vector<fire> expected;
      const std::uint64_t pos = m.seen < n ? ++m.seen : n + 1;  // 1-based in the round
      if (pos <= k) m.first.push_back(o);
      if (pos == k) {
        expected.push_back(fire_of(sc == scope::app ? std::nullopt : std::optional(s), m.first));
        m.first.clear();
      }
      if (sc == scope::app && m.seen == n) m = model_round{};
      ASSERT_EQ(r.fires, expected);
      ASSERT_EQ(r.held, pos < k);
    }
  }
}

}  // namespace
}  // namespace trail::core::test
