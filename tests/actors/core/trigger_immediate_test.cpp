#include <gtest/gtest.h>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

TEST(Immediate, FiresEachObjectAloneInItsSession) {
  auto t = make(spec_of("immediate"));
  auto a = obj(1, "a", 10);
  auto r = t->on_object(a, t0());
  EXPECT_FALSE(r.held);
  EXPECT_EQ(r.fires, std::vector<fire>{fire_of(1, {a})});
  auto b = obj(2, "b", 11);
  EXPECT_EQ(t->on_object(b, t0()).fires, std::vector<fire>{fire_of(2, {b})});
}

TEST(Immediate, AppScopeStartsNewSession) {
  auto t = make(spec_of("immediate", scope::app));
  auto a = obj(7, "a", 1);
  EXPECT_EQ(t->on_object(a, t0()).fires, std::vector<fire>{fire_of(std::nullopt, {a})});
}

TEST(Immediate, KeepsNoState) {
  auto t = make(spec_of("immediate"));
  (void)t->on_object(obj(1, "a", 1), t0());
  EXPECT_FALSE(t->waiting(1));
  EXPECT_TRUE(t->end_session(1).empty());
  EXPECT_EQ(t->next_deadline(), std::nullopt);
  EXPECT_TRUE(t->on_timer(t0() + 1h).empty());
}

// Reference model: every object is one fire of its own.
TEST(Immediate, RandomizedMatchesModel) {
  const auto seed = test_seed();
  SCOPED_TRACE("TRAIL_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (scope sc : {scope::session, scope::app}) {
    auto t = make(spec_of("immediate", sc));
    holdings h;
    for (std::uint64_t id = 0; id < 500; ++id) {
      auto o = obj(rng() % 5, "k" + std::to_string(rng() % 20), id);
      auto r = t->on_object(o, t0());
      h.on_result(o, r);
      auto s = sc == scope::session ? std::optional<session_id>(o.session) : std::nullopt;
      ASSERT_EQ(r.fires, std::vector<fire>{fire_of(s, {o})});
    }
    EXPECT_EQ(h.size(), 0u);
  }
}

}  // namespace
}  // namespace trail::core::test
