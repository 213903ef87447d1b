#include <gtest/gtest.h>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

// Announces and returns what fired; the call must succeed.
std::vector<fire> announce(trigger& t, session_id s, std::uint64_t n) {
  std::vector<fire> out;
  EXPECT_TRUE(t.announce(s, n, t0(), out).ok());
  return out;
}

TEST(DynamicJoin, FiresWhenTheAnnouncedCountLanded) {
  auto t = make(spec_of("dynamic_join"));
  EXPECT_TRUE(announce(*t, 1, 2).empty());
  auto a = obj(1, "a", 1), b = obj(1, "b", 2);
  EXPECT_TRUE(t->on_object(a, t0()).held);
  auto r = t->on_object(b, t0());
  EXPECT_FALSE(r.held);
  EXPECT_EQ(r.fires, std::vector<fire>{fire_of(1, {a, b})});
}

TEST(DynamicJoin, KeepsObjectsThatLandBeforeTheAnnouncement) {
  auto t = make(spec_of("dynamic_join"));
  auto a = obj(1, "a", 1), b = obj(1, "b", 2);
  EXPECT_TRUE(t->on_object(a, t0()).held);
  EXPECT_TRUE(t->on_object(b, t0()).held);
  EXPECT_EQ(announce(*t, 1, 2), std::vector<fire>{fire_of(1, {a, b})});
}

TEST(DynamicJoin, AnnouncingZeroFiresWithNoInputs) {
  auto t = make(spec_of("dynamic_join"));
  EXPECT_EQ(announce(*t, 1, 0), std::vector<fire>{fire_of(1, {})});
  EXPECT_FALSE(t->on_object(obj(1, "a", 1), t0()).held);
}

TEST(DynamicJoin, AnnouncementIsOncePerSession) {
  auto t = make(spec_of("dynamic_join"));
  (void)t->on_object(obj(1, "a", 1), t0());
  EXPECT_TRUE(announce(*t, 1, 3).empty());
  EXPECT_TRUE(announce(*t, 1, 3).empty());
  std::vector<fire> out;
  auto st = t->announce(1, 1, t0(), out);
  EXPECT_EQ(st.code(), errc::invalid_argument);
  EXPECT_NE(st.message().find("\"3\""), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("\"1\""), std::string::npos) << st.message();
  EXPECT_TRUE(out.empty());  // the rejected announcement changed nothing
}

TEST(DynamicJoin, FiresOnlyOnce) {
  auto t = make(spec_of("dynamic_join"));
  (void)announce(*t, 1, 1);
  EXPECT_EQ(t->on_object(obj(1, "a", 1), t0()).fires.size(), 1u);
  auto late = t->on_object(obj(1, "b", 2), t0());
  EXPECT_FALSE(late.held);
  EXPECT_TRUE(late.fires.empty());
  EXPECT_TRUE(announce(*t, 1, 1).empty());
}

TEST(DynamicJoin, ExtraObjectsBeforeTheAnnouncementStayHeld) {
  auto t = make(spec_of("dynamic_join"));
  auto a = obj(1, "a", 1), b = obj(1, "b", 2), c = obj(1, "c", 3);
  for (const auto& o : {a, b, c}) (void)t->on_object(o, t0());
  EXPECT_EQ(announce(*t, 1, 2), std::vector<fire>{fire_of(1, {a, b})});
  EXPECT_EQ(t->end_session(1), std::vector<object_meta>{c});
}

TEST(DynamicJoin, SessionsDoNotMix) {
  auto t = make(spec_of("dynamic_join"));
  auto a = obj(1, "a", 1), b = obj(2, "b", 2);
  (void)t->on_object(a, t0());
  (void)t->on_object(b, t0());
  EXPECT_EQ(announce(*t, 2, 1), std::vector<fire>{fire_of(2, {b})});
  EXPECT_FALSE(t->waiting(1));
  EXPECT_EQ(t->end_session(1), std::vector<object_meta>{a});
}

TEST(DynamicJoin, DoneIsAnError) {
  auto t = make(spec_of("dynamic_join"));
  std::vector<fire> out;
  EXPECT_EQ(t->done(1, 0, t0(), out).code(), errc::invalid_argument);
}

// Reference model: per session a list and the announcement; fire the first n
// once the list is long enough.
TEST(DynamicJoin, RandomizedMatchesModel) {
  const auto seed = test_seed();
  SCOPED_TRACE("TRAIL_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 30; ++round) {
    auto t = make(spec_of("dynamic_join"));
    struct state {
      std::vector<object_meta> objects;
      std::optional<std::uint64_t> announced;
      bool fired = false;
    };
    std::map<session_id, state> model;
    holdings h;
    for (std::uint64_t id = 0; id < 300; ++id) {
      const session_id s = rng() % 3;
      auto& st = model[s];
      std::vector<fire> out, expected;
      const auto op = rng() % 8;
      if (op == 0) {
        auto released = t->end_session(s);
        h.on_end(s, released);
        ASSERT_EQ(released, st.objects);
        model.erase(s);
        continue;
      }
      if (op == 1) {
        const std::uint64_t n = rng() % 6;
        const bool ok = !st.announced || *st.announced == n;
        if (ok) st.announced = n;
        ASSERT_EQ(t->announce(s, n, t0(), out).ok(), ok);
        h.on_fires(out);
      } else {
        auto o = obj(s, "k" + std::to_string(id), id);
        auto r = t->on_object(o, t0());
        h.on_result(o, r);
        if (!st.fired) st.objects.push_back(o);
        out = r.fires;
      }
      if (!st.fired && st.announced && st.objects.size() >= *st.announced) {
        const auto n = static_cast<std::ptrdiff_t>(*st.announced);
        expected.push_back(fire_of(s, {st.objects.begin(), st.objects.begin() + n}));
        st.objects.erase(st.objects.begin(), st.objects.begin() + n);
        st.fired = true;
      }
      ASSERT_EQ(out, expected);
    }
  }
}

}  // namespace
}  // namespace trail::core::test
