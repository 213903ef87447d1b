#include "actors/core/partitions.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "actors/core/placement.hpp"

namespace trail::core::test {
namespace {

TEST(Partitions, OnePartitionShardsAppsAsWithout) {
  partition_layout one{1, 4};
  for (std::string app : {"a", "wordcount", "chain", "x-y-z"}) {
    EXPECT_EQ(one.shard_of_app(app), shard_of(app, 4)) << app;
    EXPECT_EQ(one.partition_of_app(app), 0u);
  }
  EXPECT_EQ(one.first_node(0), 1u);
  EXPECT_EQ(one.partition_of_node(1), 0u);
  EXPECT_EQ(one.partition_of_node(100000), 0u);
  EXPECT_EQ(partition_prefix("clusters/a/", 0, 1), "clusters/a/");
}

TEST(Partitions, AppsSpreadOverEveryShardOfEveryPartition) {
  partition_layout l{3, 2};
  std::map<std::uint32_t, int> shards;
  std::set<std::uint32_t> partitions;
  for (int i = 0; i < 600; ++i) {
    auto app = "app" + std::to_string(i);
    auto s = l.shard_of_app(app);
    ASSERT_LT(s, 6u);
    ++shards[s];
    EXPECT_EQ(l.partition_of_app(app), s / 2);
    EXPECT_EQ(l.partition_of_shard(s), s / 2);
    partitions.insert(l.partition_of_app(app));
  }
  EXPECT_EQ(shards.size(), 6u);  // (not only the partitions' first shards)
  EXPECT_EQ(l.local_shard(3, 1), 1u);
  EXPECT_EQ(l.local_shard(4, 2), 0u);
  EXPECT_FALSE(l.local_shard(3, 0));
  EXPECT_FALSE(l.local_shard(6, 2));
  for (auto& [s, n] : shards) EXPECT_GT(n, 50) << "shard " << s;
  EXPECT_EQ(partitions.size(), 3u);
  EXPECT_FALSE(l.partition_of_shard(6));
}

TEST(Partitions, NodeNumbersOfPartitionsNeverOverlapAndFitFifteenBits) {
  for (std::uint32_t k = 2; k <= max_partitions; ++k) {
    partition_layout l{k, 1};
    std::uint64_t last = 0;
    for (std::uint32_t p = 0; p < k; ++p) {
      EXPECT_GT(l.first_node(p), last) << k << " " << p;
      EXPECT_LT(l.first_node(p), l.last_node(p));
      EXPECT_LE(l.last_node(p), 0x7fffu);
      EXPECT_EQ(l.partition_of_node(l.first_node(p)), p);
      EXPECT_EQ(l.partition_of_node(l.last_node(p)), p);
      last = l.last_node(p);
    }
    EXPECT_FALSE(l.partition_of_node(0));
    EXPECT_FALSE(l.partition_of_node(0x8000));
  }
}

TEST(Partitions, EverySessionIdNamesItsPartition) {
  partition_layout l{3, 2};
  for (std::uint32_t shard = 0; shard < 6; ++shard)
    EXPECT_EQ(l.partition_of_session(shard_session_base(shard) + 17), shard / 2) << shard;
  for (std::uint32_t p = 0; p < 3; ++p) {
    EXPECT_EQ(l.partition_of_session(node_session_base(l.first_node(p)) + 1), p);
    EXPECT_EQ(l.partition_of_session(node_session_base(l.last_node(p)) + 1), p);
  }
  EXPECT_FALSE(l.partition_of_session(42));                        // a standalone node's
  EXPECT_FALSE(l.partition_of_session(shard_session_base(6) + 1));  // no such shard
}

TEST(Partitions, EachPartitionHasKeysOfItsOwn) {
  EXPECT_EQ(partition_prefix("", 0, 3), "p0/");
  EXPECT_EQ(partition_prefix("clusters/a/", 2, 3), "clusters/a/p2/");
}

TEST(Partitions, TheLayoutKeptInEtcdReadsBack) {
  partition_layout l{3, 8};
  auto back = partition_layout::decode(l.encode());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, l);
  for (std::string bad : {"", "partitions 3", "partitions 3 shards", "partitions x shards 2",
                          "partitions 3 shards 2 more", "partitions 0 shards 2", "partitions 17 shards 2",
                          "partitions 2 shards 0"}) {
    auto r = partition_layout::decode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), errc::invalid_argument) << bad;
  }
}

TEST(Partitions, AHolderWithTwoNodesMoreThanTheEmptiestHandsOneOver) {
  using counts = std::vector<std::optional<std::uint32_t>>;
  EXPECT_EQ(shed_to(0, counts{2, 0}), 1u);
  EXPECT_EQ(shed_to(0, counts{3, 1, 1}), 1u);                // ties: the lowest
  EXPECT_EQ(shed_to(2, counts{1, 1, 3}), 0u);
  EXPECT_FALSE(shed_to(0, counts{2, 1}));                    // one more is as even as it gets
  EXPECT_FALSE(shed_to(0, counts{1, 1, 1}));
  EXPECT_FALSE(shed_to(0, counts{3, std::nullopt}));         // an unheld partition takes none
  EXPECT_EQ(shed_to(1, counts{std::nullopt, 4, 2, 1}), 3u);
  EXPECT_FALSE(shed_to(0, counts{std::nullopt, 0}));         // (its own count unknown)
  EXPECT_FALSE(shed_to(5, counts{3, 0}));
  EXPECT_FALSE(shed_to(0, counts{5}));                       // alone
}

TEST(Partitions, ANodeIsHandedOverOnlyOnceTheSameTargetLastedAndNotRightAfterAnother) {
  using counts = std::vector<std::optional<std::uint32_t>>;
  using namespace std::chrono_literals;
  hand_over_judge judge(4s, 2s);
  const auto t0 = hand_over_judge::clock::time_point{} + 100s;
  EXPECT_FALSE(judge.look(0, counts{2, 0}, t0)) << "a partition just seen empty may have nodes on their way";
  EXPECT_FALSE(judge.look(0, counts{2, 0}, t0 + 3s));
  EXPECT_EQ(judge.look(0, counts{2, 0}, t0 + 4s), 1u);
  EXPECT_FALSE(judge.look(0, counts{3, 0, 0}, t0 + 5s)) << "within 2 s of the last hand-over";
  EXPECT_FALSE(judge.look(0, counts{3, 0, 0}, t0 + 6s)) << "target 1 first seen now";
  EXPECT_FALSE(judge.look(0, counts{3, 1, 0}, t0 + 8s)) << "the target moved to 2: its own 4 s start";
  EXPECT_FALSE(judge.look(0, counts{3, 1, 0}, t0 + 11s));
  EXPECT_EQ(judge.look(0, counts{3, 1, 0}, t0 + 12s), 2u);
  // Balanced in between: the clock starts over.
  EXPECT_FALSE(judge.look(0, counts{2, 0}, t0 + 20s));
  EXPECT_FALSE(judge.look(0, counts{1, 1}, t0 + 22s));
  EXPECT_FALSE(judge.look(0, counts{2, 0}, t0 + 23s));
  EXPECT_FALSE(judge.look(0, counts{2, 0}, t0 + 26s));
  judge.forget();  // (paused meanwhile)
  EXPECT_FALSE(judge.look(0, counts{2, 0}, t0 + 27s));
  EXPECT_EQ(judge.look(0, counts{2, 0}, t0 + 31s), 1u);
}

}  // namespace
}  // namespace trail::core::test
