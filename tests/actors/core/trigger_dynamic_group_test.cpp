#include <gtest/gtest.h>

#include <set>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

trigger_spec group(std::optional<std::uint32_t> producers) {
  auto s = spec_of("dynamic_group");
  s.producers = producers;
  return s;
}

// Calls done and returns what fired; the call must succeed.
std::vector<fire> done(trigger& t, session_id s, std::uint64_t producer) {
  std::vector<fire> out;
  EXPECT_TRUE(t.done(s, producer, t0(), out).ok());
  return out;
}

TEST(DynamicGroup, FiresOnePerGroupWhenAllProducersDone) {
  auto t = make(group(2));
  auto a1 = obj(1, "a/1", 1), b1 = obj(1, "b/1", 2), a2 = obj(1, "a/2", 3);
  for (const auto& o : {a1, b1, a2}) {
    auto r = t->on_object(o, t0());
    EXPECT_TRUE(r.held);
    EXPECT_TRUE(r.fires.empty());
  }
  EXPECT_TRUE(done(*t, 1, 100).empty());
  EXPECT_EQ(done(*t, 1, 200), (std::vector<fire>{fire_of(1, {a1, a2}), fire_of(1, {b1})}));
}

TEST(DynamicGroup, GroupIsTheKeyPartBeforeTheFirstSlash) {
  auto t = make(group(1));
  auto x = obj(1, "x", 1), xy = obj(1, "x/y/z", 2), y = obj(1, "y", 3), x2 = obj(1, "x/", 4);
  for (const auto& o : {y, x, xy, x2}) (void)t->on_object(o, t0());
  EXPECT_EQ(done(*t, 1, 0), (std::vector<fire>{fire_of(1, {x, xy, x2}), fire_of(1, {y})}));
}

TEST(DynamicGroup, GroupsFireInNameOrder) {
  auto t = make(group(1));
  auto c = obj(1, "c/0", 1), a = obj(1, "a/0", 2), b = obj(1, "b/0", 3);
  for (const auto& o : {c, a, b}) (void)t->on_object(o, t0());
  EXPECT_EQ(done(*t, 1, 0),
            (std::vector<fire>{fire_of(1, {a}), fire_of(1, {b}), fire_of(1, {c})}));
}

TEST(DynamicGroup, RepeatedDoneFromOneProducerIsANoOp) {
  auto t = make(group(2));
  (void)t->on_object(obj(1, "a", 1), t0());
  EXPECT_TRUE(done(*t, 1, 7).empty());
  EXPECT_TRUE(done(*t, 1, 7).empty());
  EXPECT_EQ(done(*t, 1, 8).size(), 1u);
  EXPECT_TRUE(done(*t, 1, 8).empty());  // fires exactly once
}

TEST(DynamicGroup, AnnouncedProducerCount) {
  auto t = make(group(std::nullopt));
  auto a = obj(1, "a", 1);
  (void)t->on_object(a, t0());
  std::vector<fire> out;
  ASSERT_TRUE(t->announce(1, 2, t0(), out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(done(*t, 1, 1).empty());
  EXPECT_EQ(done(*t, 1, 2), std::vector<fire>{fire_of(1, {a})});
}

TEST(DynamicGroup, DoneBeforeAnnounceIsKept) {
  auto t = make(group(std::nullopt));
  auto a = obj(1, "a", 1);
  (void)t->on_object(a, t0());
  EXPECT_TRUE(done(*t, 1, 1).empty());  // producer count unknown yet
  EXPECT_TRUE(done(*t, 1, 2).empty());
  std::vector<fire> out;
  ASSERT_TRUE(t->announce(1, 2, t0(), out).ok());
  EXPECT_EQ(out, std::vector<fire>{fire_of(1, {a})});
}

TEST(DynamicGroup, AnnounceWhenManifestFixesProducersIsAnError) {
  auto t = make(group(3));
  std::vector<fire> out;
  auto st = t->announce(1, 3, t0(), out);
  EXPECT_EQ(st.code(), errc::invalid_argument);
  EXPECT_NE(st.message().find("producers"), std::string::npos) << st.message();
}

TEST(DynamicGroup, AnnouncementIsOncePerSession) {
  auto t = make(group(std::nullopt));
  std::vector<fire> out;
  ASSERT_TRUE(t->announce(1, 2, t0(), out).ok());
  EXPECT_TRUE(t->announce(1, 2, t0(), out).ok());
  auto st = t->announce(1, 5, t0(), out);
  EXPECT_EQ(st.code(), errc::invalid_argument);
  EXPECT_NE(st.message().find("\"2\""), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("\"5\""), std::string::npos) << st.message();
  EXPECT_TRUE(t->announce(2, 5, t0(), out).ok());  // another session
  EXPECT_TRUE(out.empty());
}

TEST(DynamicGroup, ObjectsAfterFiringAreIgnored) {
  auto t = make(group(1));
  (void)t->on_object(obj(1, "a", 1), t0());
  EXPECT_EQ(done(*t, 1, 0).size(), 1u);
  auto late = t->on_object(obj(1, "a/late", 2), t0());
  EXPECT_FALSE(late.held);
  EXPECT_TRUE(late.fires.empty());
  EXPECT_TRUE(t->end_session(1).empty());
}

TEST(DynamicGroup, NoObjectsFireNoInvocation) {
  auto t = make(group(1));
  EXPECT_TRUE(done(*t, 1, 0).empty());
}

TEST(DynamicGroup, SessionsDoNotMix) {
  auto t = make(group(1));
  auto a1 = obj(1, "a", 1), a2 = obj(2, "a", 2);
  (void)t->on_object(a1, t0());
  (void)t->on_object(a2, t0());
  EXPECT_EQ(done(*t, 2, 0), std::vector<fire>{fire_of(2, {a2})});
  EXPECT_EQ(done(*t, 1, 0), std::vector<fire>{fire_of(1, {a1})});
}

TEST(DynamicGroup, EndSessionReturnsHeldObjects) {
  auto t = make(group(2));
  auto a = obj(1, "a", 1), b = obj(1, "b", 2);
  (void)t->on_object(b, t0());
  (void)t->on_object(a, t0());
  EXPECT_FALSE(t->waiting(1));
  auto released = t->end_session(1);
  EXPECT_EQ(released.size(), 2u);
  EXPECT_TRUE(t->end_session(1).empty());
}

// Reference model: per session a list of objects, a set of done producers and
// the announcement; on completion, group with a sorted map.
struct group_model {
  std::optional<std::uint32_t> fixed;
  struct state {
    std::vector<object_meta> objects;
    std::set<std::uint64_t> done;
    std::optional<std::uint64_t> announced;
    bool fired = false;
  };
  std::map<session_id, state> sessions;

  std::vector<fire> check(session_id s) {
    auto& st = sessions[s];
    auto expected = fixed ? std::optional<std::uint64_t>(*fixed) : st.announced;
    if (st.fired || !expected || st.done.size() < *expected) return {};
    st.fired = true;
    std::map<std::string, std::vector<object_meta>> groups;
    for (const auto& o : st.objects) groups[o.key.substr(0, o.key.find('/'))].push_back(o);
    std::vector<fire> out;
    for (const auto& [g, objects] : groups) out.push_back(fire_of(s, objects));
    return out;
  }
};

TEST(DynamicGroup, RandomizedMatchesModel) {
  const auto seed = test_seed();
  SCOPED_TRACE("TRAIL_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 30; ++round) {
    std::optional<std::uint32_t> fixed;
    if (round % 2) fixed = 1 + rng() % 3;
    auto t = make(group(fixed));
    group_model m{fixed, {}};
    holdings h;
    for (std::uint64_t id = 0; id < 300; ++id) {
      const session_id s = rng() % 3;
      auto& st = m.sessions[s];
      std::vector<fire> out;
      switch (rng() % 8) {
        case 0: {
          auto released = t->end_session(s);
          h.on_end(s, released);
          ASSERT_EQ(released.size(), st.fired ? 0 : st.objects.size());
          m.sessions.erase(s);
          continue;
        }
        case 1: {
          const std::uint64_t n = rng() % 4;
          const bool ok = !fixed && (!st.announced || *st.announced == n);
          if (ok) st.announced = n;
          ASSERT_EQ(t->announce(s, n, t0(), out).ok(), ok);
          break;
        }
        case 2:
        case 3: {
          const std::uint64_t producer = rng() % 4;
          st.done.insert(producer);
          ASSERT_TRUE(t->done(s, producer, t0(), out).ok());
          break;
        }
        default: {
          auto o = obj(s, "g" + std::to_string(rng() % 4) + "/" + std::to_string(id), id);
          auto r = t->on_object(o, t0());
          h.on_result(o, r);
          ASSERT_TRUE(r.fires.empty());
          ASSERT_EQ(r.held, !st.fired);
          if (!st.fired) st.objects.push_back(o);
          continue;
        }
      }
      h.on_fires(out);
      ASSERT_EQ(out, m.check(s));
    }
  }
}

}  // namespace
}  // namespace trail::core::test
