// What each primitive says it still waits for (`trail session ID`).
#include "trigger_test_util.hpp"

namespace trail::core::test {
namespace {

TEST(TriggerWaitsFor, StatelessTriggersWaitForNothing) {
  auto im = spec_of("immediate");
  EXPECT_EQ(make(im)->waits_for(1, t0()), "");
}

TEST(TriggerWaitsFor, ABatchSaysHowFarItIs) {
  auto s = spec_of("by_batch_size");
  s.count = 3;
  auto t = make(s);
  EXPECT_EQ(t->waits_for(1, t0()), "");
  t->on_object(obj(1, "a", 1), t0());
  t->on_object(obj(1, "b", 2), t0());
  EXPECT_EQ(t->waits_for(1, t0()), "2 of 3 objects of the next batch");
  EXPECT_EQ(t->waits_for(2, t0()), "");
}

TEST(TriggerWaitsFor, ASetNamesItsMissingKeysUntilItFired) {
  auto s = spec_of("by_set");
  s.keys = {"x", "y", "z"};
  auto t = make(s);
  t->on_object(obj(1, "y", 1), t0());
  EXPECT_EQ(t->waits_for(1, t0()), "keys x, z");
  t->on_object(obj(1, "x", 2), t0());
  t->on_object(obj(1, "z", 3), t0());
  EXPECT_EQ(t->waits_for(1, t0()), "");
}

TEST(TriggerWaitsFor, AnOpenWindowSaysWhenItCloses) {
  auto s = spec_of("by_time");
  s.window_ms = 100;
  auto t = make(s);
  t->on_object(obj(1, "a", 1), t0());
  EXPECT_EQ(t->waits_for(1, t0() + 40ms), "window of 1 objects closes in 60 ms");
}

TEST(TriggerWaitsFor, DynamicTriggersCountProducersAndObjects) {
  auto g = spec_of("dynamic_group");
  auto group = make(g);
  std::vector<fire> out;
  EXPECT_EQ(group->waits_for(1, t0()), "0 of (not yet announced) producers done; 0 groups so far");
  ASSERT_TRUE(group->announce(1, 2, t0(), out).ok());
  ASSERT_TRUE(group->done(1, 7, t0(), out).ok());
  EXPECT_EQ(group->waits_for(1, t0()), "1 of 2 producers done; 0 groups so far");
  auto join = make(spec_of("dynamic_join"));
  join->on_object(obj(1, "a", 1), t0());
  ASSERT_TRUE(join->announce(1, 3, t0(), out).ok());
  EXPECT_EQ(join->waits_for(1, t0()), "1 of 3 objects");
}

TEST(TriggerWaitsFor, ARedundantRoundCountsArrivalsAndFailures) {
  auto s = spec_of("redundant");
  s.k = 2;
  s.n = 3;
  auto t = make(s);
  t->on_object(obj(1, "r1", 1), t0());
  ASSERT_TRUE(t->replica_failed(1).ok());
  EXPECT_EQ(t->waits_for(1, t0()), "1 of 2 objects (of 3 replicas; 1 failed)");
}

}  // namespace
}  // namespace trail::core::test
