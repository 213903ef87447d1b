#include "actors/core/placement.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core::test {
namespace {

using loads = std::vector<node_load>;
using inputs = std::vector<held_input>;
constexpr std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max();

node_id placed(const result<node_id>& r) {
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? *r : 0;
}

// -- sharding -----------------------------------------------------------------

TEST(ShardOf, MatchesPublishedFnv1aVectors) {
  EXPECT_EQ(fnv1a_64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a_64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a_64("foobar"), 0x85944171f73967e8ULL);
}

TEST(ShardOf, IsStableAcrossRuns) {
  EXPECT_EQ(shard_of("wordcount", 8), 4u);  // 0x6a49a4261f66a65c % 8
  EXPECT_EQ(shard_of("chain", 8), 6u);
  EXPECT_EQ(shard_of("chain", 1), 0u);
}

TEST(ShardOf, SpreadsAppsOverShards) {
  std::map<std::uint32_t, int> per_shard;
  for (int i = 0; i < 4000; ++i) ++per_shard[shard_of("app-" + std::to_string(i), 4)];
  ASSERT_EQ(per_shard.size(), 4u);
  for (const auto& [shard, n] : per_shard) EXPECT_GT(n, 800) << "shard " << shard;
}

TEST(ShardOfDeathTest, ZeroShardsAborts) {
  EXPECT_DEATH((void)shard_of("a", 0), "shard_count > 0");
}

// -- place_session ------------------------------------------------------------

TEST(PlaceSession, NoLiveNodeIsUnavailable) {
  EXPECT_EQ(place_session({}, {}).error().code(), errc::unavailable);
}

TEST(PlaceSession, PrefersTheMostFreeExecutors) {
  EXPECT_EQ(placed(place_session(loads{{1, 1}, {2, 3}, {3, 2}}, {})), 2u);
}

TEST(PlaceSession, TiesGoToTheLowestNodeId) {
  EXPECT_EQ(placed(place_session(loads{{7, 2}, {3, 2}, {5, 2}}, {})), 3u);
  EXPECT_EQ(placed(place_session(loads{{7, 0}, {3, 0}, {5, 0}}, {})), 3u);
}

TEST(PlaceSession, PrefersTheNodeHoldingMostInputBytesAmongNodesWithCapacity) {
  const loads view{{1, 4}, {2, 1}, {3, 1}};
  // Node 3 holds 60 bytes over two inputs; node 9 is not in the view.
  EXPECT_EQ(placed(place_session(view, inputs{{2, 50}, {3, 30}, {3, 30}, {9, 500}})), 3u);
}

TEST(PlaceSession, BusyNodesAreUsedOnlyWhenNoneHasCapacity) {
  EXPECT_EQ(placed(place_session(loads{{1, 0}, {2, 1}}, inputs{{1, 1 << 30}})), 2u);
  // All busy: locality, then lowest id; the chosen node queues the work.
  EXPECT_EQ(placed(place_session(loads{{1, 0}, {2, 0}}, inputs{{2, 10}})), 2u);
}

TEST(PlaceSession, InputBytesSaturateInsteadOfOverflowing) {
  // Node 1 holds max + 2 bytes (saturates to max), node 2 max - 1.
  EXPECT_EQ(placed(place_session(loads{{1, 1}, {2, 1}},
                                 inputs{{1, max_bytes}, {1, 2}, {2, max_bytes - 1}})),
            1u);
}

TEST(PlaceSession, ExcludedNodesAreNeverChosen) {
  const loads view{{1, 4}, {2, 0}};
  EXPECT_EQ(placed(place_session(view, {}, {1})), 2u);
  const auto all = place_session(view, {}, {1, 2});
  EXPECT_EQ(all.error().code(), errc::overloaded) << all.error().to_string();
}

// -- place_forwarded ------------------------------------------------------------

TEST(PlaceForwarded, NeverGoesBackToTheForwardingNode) {
  const loads view{{1, 4}, {2, 1}};
  EXPECT_EQ(placed(place_forwarded(view, inputs{{1, 1000}}, 1)), 2u);
}

TEST(PlaceForwarded, PrefersACapableNodeHoldingTheInputs) {
  const loads view{{1, 0}, {2, 3}, {3, 1}, {4, 0}};
  EXPECT_EQ(placed(place_forwarded(view, inputs{{3, 64}, {4, 4096}}, 1)), 3u);
}

TEST(PlaceForwarded, OriginIsTheLastResort) {
  EXPECT_EQ(placed(place_forwarded(loads{{1, 0}}, {}, 1)), 1u);  // the only live node
  EXPECT_EQ(placed(place_forwarded(loads{{1, 0}, {2, 0}}, {}, 1, {2})), 1u);
  EXPECT_EQ(place_forwarded(loads{{1, 0}}, {}, 1, {1}).error().code(), errc::overloaded);
  EXPECT_EQ(place_forwarded({}, {}, 1).error().code(), errc::unavailable);
}

TEST(PlaceForwarded, RefusalsMoveTheWorkToTheNextCandidate) {
  const loads view{{1, 0}, {2, 2}, {3, 3}, {4, 0}};
  const inputs in{{2, 100}};
  std::set<node_id> refused;
  std::vector<node_id> tried;
  for (auto r = place_forwarded(view, in, 1, refused); r.ok();
       r = place_forwarded(view, in, 1, refused)) {
    tried.push_back(*r);
    refused.insert(*r);
  }
  EXPECT_EQ(tried, (std::vector<node_id>{2, 3, 4, 1}));
  EXPECT_EQ(place_forwarded(view, in, 1, refused).error().code(), errc::overloaded);
}

// -- with membership's capacity hints ----------------------------------------------

TEST(Placement, BurstSpreadsOverNodesThroughAssignedHints) {
  membership m;
  for (const char* name : {"n1", "n2", "n3"})
    ASSERT_TRUE(m.register_node(name, 1, "", 2, t0()).ok());
  std::map<node_id, int> per_node;
  for (int i = 0; i < 6; ++i) {
    const node_id n = placed(place_session(m.loads(), {}));
    m.assigned(n);
    ++per_node[n];
  }
  EXPECT_EQ(per_node, (std::map<node_id, int>{{1, 2}, {2, 2}, {3, 2}}));
  EXPECT_EQ(placed(place_session(m.loads(), {})), 1u);  // all busy: it queues on node 1
}

TEST(Placement, RefusedNodeLosesItsCapacityUntilItsNextHeartbeat) {
  membership m;
  const node_id a = *m.register_node("n1", 1, "", 4, t0());
  const node_id b = *m.register_node("n2", 1, "", 1, t0());
  m.refused(a);
  EXPECT_EQ(placed(place_session(m.loads(), {})), b);
  ASSERT_TRUE(m.heartbeat(a, 1, 4, {}, t0() + 100ms).ok());
  EXPECT_EQ(placed(place_session(m.loads(), {})), a);
}

// -- forwarding_policy -------------------------------------------------------------

TEST(ForwardingPolicy, RunsLocallyWhileAnExecutorIsFree) {
  const forwarding_policy p;
  EXPECT_EQ(p.decide({t0(), false}, 1, t0()), forward_decision::run_local);
  EXPECT_EQ(p.decide({t0(), true}, 1, t0()), forward_decision::run_local);
}

TEST(ForwardingPolicy, ByDefaultForwardsAtOnceWhenBusy) {
  const forwarding_policy p;
  EXPECT_EQ(p.wait(), 0ms);
  EXPECT_EQ(p.decide({t0(), false}, 0, t0()), forward_decision::forward);
}

TEST(ForwardingPolicy, WaitsTheConfiguredTimeBeforeForwarding) {
  const forwarding_policy p{20ms};
  const pending_work w{t0(), false};
  EXPECT_EQ(p.forward_at(w), t0() + 20ms);
  EXPECT_EQ(p.decide(w, 0, t0() + 19ms), forward_decision::queue);
  EXPECT_EQ(p.decide(w, 0, t0() + 20ms), forward_decision::forward);
  EXPECT_EQ(p.decide(w, 2, t0() + 5ms), forward_decision::run_local);
}

TEST(ForwardingPolicy, ForwardedWorkIsNeverForwardedAgain) {
  const forwarding_policy p;
  EXPECT_EQ(p.decide({t0(), true}, 0, t0() + 1h), forward_decision::queue);
}

TEST(ForwardingPolicy, NegativeWaitCountsAsZero) {
  const forwarding_policy p{-5ms};
  EXPECT_EQ(p.wait(), 0ms);
  EXPECT_EQ(p.decide({t0(), false}, 0, t0()), forward_decision::forward);
}

// -- randomized, against a trivial reference model ----------------------------

// The ranking as a chain of filters over the candidates.
std::optional<node_id> model_pick(const loads& view, const inputs& in,
                                  const std::set<node_id>& skip) {
  struct cand {
    node_id id;
    std::uint32_t free;
    unsigned __int128 bytes;
  };
  std::vector<cand> c;
  for (const auto& n : view) {
    if (skip.count(n.node)) continue;
    unsigned __int128 b = 0;
    for (const auto& i : in) b += i.node == n.node ? i.bytes : 0;
    c.push_back({n.node, n.free_executors, std::min<unsigned __int128>(b, max_bytes)});
  }
  const auto keep_max = [&](auto key) {
    const auto best = key(
        *std::max_element(c.begin(), c.end(), [&](auto& a, auto& b) { return key(a) < key(b); }));
    std::erase_if(c, [&](const cand& x) { return key(x) != best; });
  };
  if (c.empty()) return std::nullopt;
  keep_max([](const cand& x) { return x.free > 0; });
  keep_max([](const cand& x) { return x.bytes; });
  keep_max([](const cand& x) { return x.free; });
  return std::min_element(c.begin(), c.end(), [](auto& a, auto& b) { return a.id < b.id; })->id;
}

errc model_place(const loads& view, const inputs& in, std::optional<node_id> origin,
                 std::set<node_id> excluded, node_id& out) {
  if (view.empty()) return errc::unavailable;
  std::set<node_id> skip = excluded;
  if (origin) skip.insert(*origin);
  auto pick = model_pick(view, in, skip);
  if (!pick) pick = model_pick(view, in, excluded);
  if (!pick) return errc::overloaded;
  out = *pick;
  return errc::ok;
}

void check_placement(const result<node_id>& got, errc code, node_id want) {
  EXPECT_EQ(got.error().code(), code) << got.error().to_string();
  if (got.ok()) {
    EXPECT_EQ(*got, want);
  }
}

TEST(Placement, MatchesReferenceModelForRandomViews) {
  std::mt19937_64 rng(test_seed());
  const auto pick = [&](std::uint64_t n) { return rng() % n; };
  const std::uint64_t byte_sizes[] = {0, 1, 64, 4096, max_bytes / 2, max_bytes};
  for (int i = 0; i < 100000; ++i) {
    std::vector<node_id> ids{1, 2, 3, 4, 5, 6, 7, 8};
    std::shuffle(ids.begin(), ids.end(), rng);
    loads view;
    for (std::size_t k = pick(6); k > 0; --k)
      view.push_back({ids[k], static_cast<std::uint32_t>(pick(3) == 0 ? 0 : pick(4))});
    inputs in;
    for (std::size_t k = pick(6); k > 0; --k) in.push_back({1 + pick(9), byte_sizes[pick(6)]});
    std::set<node_id> excluded;
    for (node_id n = 1; n <= 9; ++n)
      if (pick(5) == 0) excluded.insert(n);
    const node_id origin = 1 + pick(9);
    node_id want = 0;
    errc code = model_place(view, in, std::nullopt, excluded, want);
    check_placement(place_session(view, in, excluded), code, want);
    code = model_place(view, in, origin, excluded, want);
    check_placement(place_forwarded(view, in, origin, excluded), code, want);
    ASSERT_FALSE(::testing::Test::HasFailure()) << "iteration " << i << " origin " << origin;
  }
}

}  // namespace
}  // namespace trail::core::test

namespace trail::core {
namespace {

// With no free executor anywhere, the shortest backlog wins, before locality:
// a saturated cluster spreads its queues.
TEST(Placement, WithoutCapacityTheShortestBacklogWins) {
  std::vector<node_load> nodes{{1, 0, 9}, {2, 0, 2}, {3, 0, 5}};
  std::vector<held_input> inputs{{1, 1 << 20}};
  EXPECT_EQ(place_session(nodes, inputs).value(), 2u);
  EXPECT_EQ(place_forwarded(nodes, inputs, 2).value(), 3u) << "never back to the origin while others can take it";
  std::vector<node_load> one_free{{1, 0, 0}, {2, 1, 50}};
  EXPECT_EQ(place_session(one_free, {}).value(), 2u) << "capacity first, whatever its backlog";
}

}  // namespace
}  // namespace trail::core
