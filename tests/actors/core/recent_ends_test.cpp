#include "actors/core/recent_ends.hpp"

#include <string>

#include <gtest/gtest.h>

namespace trail::core {
namespace {

TEST(RecentEnds, KeepsWhatEndedUntilTheCountIsReached) {
  recent_ends<std::string> r(2, 1000, 10);
  r.put(1, "one", 3);
  r.put(2, "two", 3);
  ASSERT_NE(r.find(1), nullptr);
  EXPECT_EQ(*r.find(1), "one");
  r.put(3, "three", 5);
  EXPECT_EQ(r.find(1), nullptr);
  EXPECT_TRUE(r.forgot(1));
  EXPECT_EQ(*r.find(2), "two");
  EXPECT_EQ(*r.find(3), "three");
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r.bytes(), 8u);
}

TEST(RecentEnds, HeavyValuesPushOutOldOnesButTheNewestStays) {
  recent_ends<std::string> r(100, 10, 10);
  r.put(1, "a", 4);
  r.put(2, "b", 4);
  r.put(3, "c", 4);  // 12 > 10: the oldest goes
  EXPECT_TRUE(r.forgot(1));
  EXPECT_NE(r.find(2), nullptr);
  r.put(4, "huge", 50);  // alone over the budget: kept, everything older goes
  EXPECT_NE(r.find(4), nullptr);
  EXPECT_EQ(r.size(), 1u);
  EXPECT_TRUE(r.forgot(2));
  EXPECT_TRUE(r.forgot(3));
}

TEST(RecentEnds, ForgottenIdsAreBoundedToo) {
  recent_ends<int> r(1, 100, 2);
  for (std::uint64_t id = 1; id <= 5; ++id) r.put(id, static_cast<int>(id), 1);
  EXPECT_FALSE(r.forgot(1));  // long gone: unknown
  EXPECT_FALSE(r.forgot(2));
  EXPECT_TRUE(r.forgot(3));
  EXPECT_TRUE(r.forgot(4));
  EXPECT_EQ(*r.find(5), 5);
  EXPECT_FALSE(r.forgot(99));
  EXPECT_EQ(r.find(99), nullptr);
}

TEST(RecentEnds, TheFirstEndStandsAndOrderIsOldestFirst) {
  recent_ends<int> r(10, 100, 10);
  r.put(7, 1, 1);
  r.put(3, 2, 1);
  r.put(7, 99, 1);
  EXPECT_EQ(*r.find(7), 1);
  std::vector<std::uint64_t> seen;
  r.for_each([&](std::uint64_t id, int) { seen.push_back(id); });
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{7, 3}));
}

}  // namespace
}  // namespace trail::core
