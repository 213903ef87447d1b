#include <gtest/gtest.h>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

trigger_spec by_name(std::string key, scope sc = scope::session) {
  auto s = spec_of("by_name", sc);
  s.key = std::move(key);
  return s;
}

TEST(ByName, FiresOnlyTheMatchingKey) {
  auto t = make(by_name("result"));
  auto other = t->on_object(obj(1, "other", 1), t0());
  EXPECT_FALSE(other.held);
  EXPECT_TRUE(other.fires.empty());
  auto hit = obj(1, "result", 2);
  auto r = t->on_object(hit, t0());
  EXPECT_FALSE(r.held);
  EXPECT_EQ(r.fires, std::vector<fire>{fire_of(1, {hit})});
}

TEST(ByName, KeyMatchIsExact) {
  auto t = make(by_name("result"));
  EXPECT_TRUE(t->on_object(obj(1, "result/1", 1), t0()).fires.empty());
  EXPECT_TRUE(t->on_object(obj(1, "Result", 2), t0()).fires.empty());
  EXPECT_TRUE(t->on_object(obj(1, "resul", 3), t0()).fires.empty());
}

TEST(ByName, FiresInEachSession) {
  auto t = make(by_name("x"));
  auto a = obj(1, "x", 1);
  auto b = obj(2, "x", 2);
  EXPECT_EQ(t->on_object(a, t0()).fires, std::vector<fire>{fire_of(1, {a})});
  EXPECT_EQ(t->on_object(b, t0()).fires, std::vector<fire>{fire_of(2, {b})});
}

TEST(ByName, AppScopeStartsNewSession) {
  auto t = make(by_name("x", scope::app));
  auto a = obj(3, "x", 1);
  EXPECT_EQ(t->on_object(a, t0()).fires, std::vector<fire>{fire_of(std::nullopt, {a})});
}

// Reference model: an object fires alone iff its key is the trigger's key.
TEST(ByName, RandomizedMatchesModel) {
  const auto seed = test_seed();
  SCOPED_TRACE("TRAIL_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (scope sc : {scope::session, scope::app}) {
    auto t = make(by_name("k3", sc));
    holdings h;
    for (std::uint64_t id = 0; id < 500; ++id) {
      auto o = obj(rng() % 5, "k" + std::to_string(rng() % 8), id);
      auto r = t->on_object(o, t0());
      h.on_result(o, r);
      std::vector<fire> expected;
      auto s = sc == scope::session ? std::optional<session_id>(o.session) : std::nullopt;
      if (o.key == "k3") expected.push_back(fire_of(s, {o}));
      ASSERT_EQ(r.fires, expected);
      if (rng() % 10 == 0) {
        EXPECT_TRUE(t->end_session(rng() % 5).empty());
      }
    }
    EXPECT_EQ(h.size(), 0u);
  }
}

}  // namespace
}  // namespace trail::core::test
