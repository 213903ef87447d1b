#include <gtest/gtest.h>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

trigger_spec batch(std::uint64_t count, scope sc = scope::session) {
  auto s = spec_of("by_batch_size", sc);
  s.count = count;
  return s;
}

TEST(ByBatchSize, FiresWhenCountCollectedInArrivalOrder) {
  auto t = make(batch(3));
  auto a = obj(1, "a", 1), b = obj(1, "b", 2), c = obj(1, "c", 3);
  EXPECT_TRUE(t->on_object(a, t0()).held);
  EXPECT_TRUE(t->on_object(b, t0()).held);
  auto r = t->on_object(c, t0());
  EXPECT_FALSE(r.held);
  EXPECT_EQ(r.fires, std::vector<fire>{fire_of(1, {a, b, c})});
}

TEST(ByBatchSize, RestartsEmptyAfterFiring) {
  auto t = make(batch(2));
  (void)t->on_object(obj(1, "a", 1), t0());
  EXPECT_EQ(t->on_object(obj(1, "b", 2), t0()).fires.size(), 1u);
  auto c = obj(1, "c", 3), d = obj(1, "d", 4);
  EXPECT_TRUE(t->on_object(c, t0()).fires.empty());
  EXPECT_EQ(t->on_object(d, t0()).fires, std::vector<fire>{fire_of(1, {c, d})});
}

TEST(ByBatchSize, CountOneFiresEveryObject) {
  auto t = make(batch(1));
  auto a = obj(1, "a", 1);
  auto r = t->on_object(a, t0());
  EXPECT_FALSE(r.held);
  EXPECT_EQ(r.fires, std::vector<fire>{fire_of(1, {a})});
}

TEST(ByBatchSize, SessionScopeKeepsSessionsApart) {
  auto t = make(batch(2));
  auto a1 = obj(1, "a", 1), a2 = obj(2, "a", 2), b2 = obj(2, "b", 3), b1 = obj(1, "b", 4);
  EXPECT_TRUE(t->on_object(a1, t0()).fires.empty());
  EXPECT_TRUE(t->on_object(a2, t0()).fires.empty());
  EXPECT_EQ(t->on_object(b2, t0()).fires, std::vector<fire>{fire_of(2, {a2, b2})});
  EXPECT_EQ(t->on_object(b1, t0()).fires, std::vector<fire>{fire_of(1, {a1, b1})});
}

TEST(ByBatchSize, AppScopeSharesOneBatchAcrossSessions) {
  auto t = make(batch(2, scope::app));
  auto a = obj(1, "a", 1), b = obj(2, "b", 2);
  EXPECT_TRUE(t->on_object(a, t0()).held);
  EXPECT_EQ(t->on_object(b, t0()).fires, std::vector<fire>{fire_of(std::nullopt, {a, b})});
}

TEST(ByBatchSize, EndSessionReturnsHeldObjects) {
  auto t = make(batch(3));
  auto a = obj(1, "a", 1), b = obj(1, "b", 2);
  (void)t->on_object(a, t0());
  (void)t->on_object(b, t0());
  EXPECT_EQ(t->end_session(1), (std::vector<object_meta>{a, b}));
  EXPECT_TRUE(t->end_session(1).empty());
  EXPECT_FALSE(t->waiting(1));
}

TEST(ByBatchSize, AppScopeStateOutlivesSessions) {
  auto t = make(batch(2, scope::app));
  auto a = obj(1, "a", 1), b = obj(2, "b", 2);
  (void)t->on_object(a, t0());
  EXPECT_TRUE(t->end_session(1).empty());
  EXPECT_EQ(t->on_object(b, t0()).fires, std::vector<fire>{fire_of(std::nullopt, {a, b})});
}

// Reference model: one list per slot; a list of `count` objects fires.
TEST(ByBatchSize, RandomizedMatchesModel) {
  const auto seed = test_seed();
  SCOPED_TRACE("TRAIL_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 20; ++round) {
    const scope sc = round % 2 ? scope::app : scope::session;
    const std::uint64_t count = 1 + rng() % 5;
    auto t = make(batch(count, sc));
    std::map<session_id, std::vector<object_meta>> model;
    holdings h;
    for (std::uint64_t id = 0; id < 300; ++id) {
      const session_id s = rng() % 4;
      const session_id slot = sc == scope::app ? 0 : s;
      if (rng() % 12 == 0) {
        auto released = t->end_session(s);
        h.on_end(s, released);
        if (sc == scope::session) {
          EXPECT_EQ(released, model[slot]);
          model.erase(slot);
        } else {
          EXPECT_TRUE(released.empty());
        }
        continue;
      }
      auto o = obj(s, "k" + std::to_string(id), id);
      auto r = t->on_object(o, t0());
      h.on_result(o, r);
      auto& m = model[slot];
      m.push_back(o);
      std::vector<fire> expected;
      if (m.size() == count) {
        expected.push_back(fire_of(sc == scope::app ? std::nullopt : std::optional(s), m));
        m.clear();
      }
      ASSERT_EQ(r.fires, expected);
      ASSERT_EQ(r.held, expected.empty());
    }
  }
}

}  // namespace
}  // namespace trail::core::test
