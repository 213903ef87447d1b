// The fault points' rule core and registry, without threads or sockets: the
// roll is an input to fault_rules, and faults is driven with a fixed seed.
#include "actors/net/faults.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace trail::net {
namespace {

using namespace std::chrono_literals;
using words = std::vector<std::string>;

TEST(FaultRules, NothingArmedPassesEverything) {
  fault_rules r;
  for (std::uint32_t roll : {0u, 50u, 99u}) {
    auto v = r.decide("n2", true, roll);
    EXPECT_FALSE(v.drop);
    EXPECT_EQ(v.delay, 0ms);
  }
  EXPECT_TRUE(r.empty());
}

TEST(FaultRules, DelayAppliesToSendsOnly) {
  fault_rules r;
  ASSERT_TRUE(r.apply({"delay", "n2", "30ms"}).ok());
  EXPECT_EQ(r.decide("n2", true, 0).delay, 30ms);
  EXPECT_EQ(r.decide("n2", false, 0).delay, 0ms);
  EXPECT_EQ(r.decide("n3", true, 0).delay, 0ms);
  ASSERT_TRUE(r.apply({"delay", "n2", "2s"}).ok());
  EXPECT_EQ(r.decide("n2", true, 0).delay, 2000ms);
  ASSERT_TRUE(r.apply({"delay", "n2", "0"}).ok());
  EXPECT_TRUE(r.empty()) << "a zero delay removes the rule";
}

TEST(FaultRules, DropLosesFramesWhoseRollIsBelowThePercentage) {
  fault_rules r;
  ASSERT_TRUE(r.apply({"drop", "n2", "20%"}).ok());
  EXPECT_TRUE(r.decide("n2", true, 0).drop);
  EXPECT_TRUE(r.decide("n2", true, 19).drop);
  EXPECT_FALSE(r.decide("n2", true, 20).drop);
  EXPECT_FALSE(r.decide("n2", false, 0).drop) << "losses happen on the way out only";
  ASSERT_TRUE(r.apply({"drop", "n2", "100"}).ok());
  EXPECT_TRUE(r.decide("n2", true, 99).drop);
}

TEST(FaultRules, PartitionLosesBothWays) {
  fault_rules r;
  ASSERT_TRUE(r.apply({"partition", "n2", "n3"}).ok());
  for (auto peer : {"n2", "n3"}) {
    EXPECT_TRUE(r.decide(peer, true, 99).drop);
    EXPECT_TRUE(r.decide(peer, false, 99).drop);
  }
  EXPECT_FALSE(r.decide("n1", true, 0).drop);
  EXPECT_FALSE(r.decide("coordinator", false, 0).drop);
}

TEST(FaultRules, StarCombinesWithAPeersOwnRule) {
  fault_rules r;
  ASSERT_TRUE(r.apply({"delay", "*", "10ms"}).ok());
  ASSERT_TRUE(r.apply({"delay", "n2", "5ms"}).ok());
  ASSERT_TRUE(r.apply({"drop", "n2", "30%"}).ok());
  EXPECT_EQ(r.effective("n2").delay, 10ms) << "the longer delay wins";
  EXPECT_EQ(r.effective("n2").drop_percent, 30u);
  EXPECT_EQ(r.effective("n7").delay, 10ms);
  EXPECT_EQ(r.effective("n7").drop_percent, 0u);
}

TEST(FaultRules, HealClearsOnePeerOrAll) {
  fault_rules r;
  ASSERT_TRUE(r.apply({"partition", "n2", "n3"}).ok());
  ASSERT_TRUE(r.apply({"heal", "n2"}).ok());
  EXPECT_FALSE(r.effective("n2").partition);
  EXPECT_TRUE(r.effective("n3").partition);
  ASSERT_TRUE(r.apply({"heal"}).ok());
  EXPECT_TRUE(r.empty());
}

TEST(FaultRules, InvalidCommandsSayWhyAndChangeNothing) {
  fault_rules r;
  ASSERT_TRUE(r.apply({"delay", "n2", "30ms"}).ok());
  for (const words& bad : {words{}, words{"explode"}, words{"delay", "n2"}, words{"delay", "n2", "fast"},
                           words{"delay", "n2", "3h"}, words{"drop", "n2", "120%"}, words{"drop", "n2", "x%"},
                           words{"partition"}, words{"list", "n2"}}) {
    status s = r.apply(bad);
    EXPECT_EQ(s.code(), errc::invalid_argument) << ::testing::PrintToString(bad);
    EXPECT_FALSE(s.message().empty());
  }
  EXPECT_EQ(r.rules().size(), 1u);
  EXPECT_EQ(r.effective("n2").delay, 30ms);
}

TEST(Faults, ArmAnswersTheRulesAndTheSeedAsJson) {
  faults f(42);
  auto a = f.arm({"delay", "n2", "30ms"});
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  auto j = nlohmann::json::parse(*a);
  EXPECT_EQ(j["seed"], 42u);
  ASSERT_EQ(j["rules"].size(), 1u);
  EXPECT_EQ(j["rules"][0]["peer"], "n2");
  EXPECT_EQ(j["rules"][0]["delay_ms"], 30);
  EXPECT_EQ(j["injected"]["delayed"], 0u);
  auto bad = f.arm({"drop", "n2"});
  EXPECT_EQ(bad.error().code(), errc::invalid_argument);
}

TEST(Faults, RulesByNameReachPeersByNumberAndAddress) {
  faults f(7);
  f.learn(2, "n2", "127.0.0.1:5001", "127.0.0.1:5002");
  ASSERT_TRUE(f.arm({"partition", "n2"}).ok());
  EXPECT_TRUE(f.on_send(2).drop);
  EXPECT_TRUE(f.on_receive(2).drop);
  EXPECT_TRUE(f.on_pull("127.0.0.1:5002").drop);
  EXPECT_FALSE(f.on_send(3).drop) << "an unnamed peer matches only *";
  EXPECT_FALSE(f.on_pull("127.0.0.1:6000").drop);
  ASSERT_TRUE(f.arm({"partition", "coordinator"}).ok());
  EXPECT_TRUE(f.on_send(0).drop) << "number 0 is the coordinator from the start";
  auto j = nlohmann::json::parse(*f.arm({"list"}));
  EXPECT_EQ(j["injected"]["dropped"], 3u) << "two frames to and from n2, one to the coordinator";
  EXPECT_EQ(j["injected"]["refused_pulls"], 1u);
}

TEST(Faults, TheSameSeedLosesTheSameFrames) {
  for (std::uint64_t seed : {1ull, 99ull, 123456789ull}) {
    faults a(seed), b(seed);
    for (faults* f : {&a, &b}) {
      f->learn(2, "n2", "", "");
      ASSERT_TRUE(f->arm({"drop", "n2", "50%"}).ok());
    }
    int lost = 0;
    for (int i = 0; i < 1000; ++i) {
      bool x = a.on_send(2).drop;
      ASSERT_EQ(x, b.on_send(2).drop) << "seed " << seed << " frame " << i;
      lost += x;
    }
    EXPECT_GT(lost, 400) << "seed " << seed;
    EXPECT_LT(lost, 600) << "seed " << seed;
  }
}

TEST(Faults, HealingDisarmsEveryPoint) {
  faults f(3);
  f.learn(2, "n2", "", "");
  ASSERT_TRUE(f.arm({"delay", "*", "20ms"}).ok());
  EXPECT_EQ(f.on_send(2).delay, 20ms);
  ASSERT_TRUE(f.arm({"heal"}).ok());
  EXPECT_EQ(f.on_send(2).delay, 0ms);
  EXPECT_FALSE(f.on_pull("anything").drop);
}

}  // namespace
}  // namespace trail::net
