#include <gtest/gtest.h>

#include <algorithm>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

trigger_spec by_set(std::vector<std::string> keys) {
  auto s = spec_of("by_set");
  s.keys = std::move(keys);
  return s;
}

TEST(BySet, FiresOnceEveryKeyLandedInSetOrder) {
  auto t = make(by_set({"x", "y", "z"}));
  auto z = obj(1, "z", 1), x = obj(1, "x", 2), y = obj(1, "y", 3);
  EXPECT_TRUE(t->on_object(z, t0()).held);
  EXPECT_TRUE(t->on_object(x, t0()).held);
  auto r = t->on_object(y, t0());
  EXPECT_FALSE(r.held);
  EXPECT_EQ(r.fires, std::vector<fire>{fire_of(1, {x, y, z})});
}

TEST(BySet, IgnoresKeysOutsideTheSet) {
  auto t = make(by_set({"x"}));
  auto r = t->on_object(obj(1, "w", 1), t0());
  EXPECT_FALSE(r.held);
  EXPECT_TRUE(r.fires.empty());
  EXPECT_TRUE(t->end_session(1).empty());
}

TEST(BySet, FirstObjectOfAKeyWins) {
  auto t = make(by_set({"x", "y"}));
  auto x1 = obj(1, "x", 1), x2 = obj(1, "x", 2), y = obj(1, "y", 3);
  (void)t->on_object(x1, t0());
  auto dup = t->on_object(x2, t0());
  EXPECT_FALSE(dup.held);
  EXPECT_TRUE(dup.fires.empty());
  EXPECT_EQ(t->on_object(y, t0()).fires, std::vector<fire>{fire_of(1, {x1, y})});
}

TEST(BySet, FiresOnlyOncePerSession) {
  auto t = make(by_set({"x"}));
  EXPECT_EQ(t->on_object(obj(1, "x", 1), t0()).fires.size(), 1u);
  auto again = t->on_object(obj(1, "x", 2), t0());
  EXPECT_FALSE(again.held);
  EXPECT_TRUE(again.fires.empty());
}

TEST(BySet, SessionsDoNotMix) {
  auto t = make(by_set({"x", "y"}));
  auto x1 = obj(1, "x", 1), y2 = obj(2, "y", 2), x2 = obj(2, "x", 3), y1 = obj(1, "y", 4);
  EXPECT_TRUE(t->on_object(x1, t0()).fires.empty());
  EXPECT_TRUE(t->on_object(y2, t0()).fires.empty());
  EXPECT_EQ(t->on_object(x2, t0()).fires, std::vector<fire>{fire_of(2, {x2, y2})});
  EXPECT_EQ(t->on_object(y1, t0()).fires, std::vector<fire>{fire_of(1, {x1, y1})});
}

TEST(BySet, EndSessionReturnsThePartialSet) {
  auto t = make(by_set({"x", "y", "z"}));
  auto x = obj(1, "x", 1), z = obj(1, "z", 2);
  (void)t->on_object(z, t0());
  (void)t->on_object(x, t0());
  EXPECT_FALSE(t->waiting(1));
  EXPECT_EQ(t->end_session(1), (std::vector<object_meta>{x, z}));
  EXPECT_TRUE(t->end_session(1).empty());
}

// Reference model: per session, the first object of each set key; fire when
// all are there, once.
TEST(BySet, RandomizedMatchesModel) {
  const auto seed = test_seed();
  SCOPED_TRACE("TRAIL_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> keys;
    for (std::size_t i = 0, n = 1 + rng() % 5; i < n; ++i) keys.push_back("k" + std::to_string(i));
    std::shuffle(keys.begin(), keys.end(), rng);
    auto t = make(by_set(keys));
    struct model_state {
      std::map<std::string, object_meta> got;
      bool fired = false;
    };
    std::map<session_id, model_state> model;
    holdings h;
    for (std::uint64_t id = 0; id < 300; ++id) {
      const session_id s = rng() % 4;
      if (rng() % 15 == 0) {
        auto released = t->end_session(s);
        h.on_end(s, released);
        EXPECT_EQ(released.size(), model[s].fired ? 0 : model[s].got.size());
        model.erase(s);
        continue;
      }
      auto o = obj(s, "k" + std::to_string(rng() % 7), id);
      auto r = t->on_object(o, t0());
      h.on_result(o, r);
      auto& m = model[s];
      const bool in_set = std::find(keys.begin(), keys.end(), o.key) != keys.end();
      const bool stored = in_set && !m.fired && m.got.emplace(o.key, o).second;
      std::vector<fire> expected;
      if (stored && m.got.size() == keys.size()) {
        std::vector<object_meta> inputs;
        for (const auto& k : keys) inputs.push_back(m.got.at(k));
        expected.push_back(fire_of(s, inputs));
        m.fired = true;
      }
      ASSERT_EQ(r.fires, expected);
      ASSERT_EQ(r.held, stored && expected.empty());
    }
  }
}

}  // namespace
}  // namespace trail::core::test
