#include "actors/core/membership.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "tests/actors/core/trigger_test_util.hpp"

namespace trail::core {

inline void PrintTo(const node_down& d, std::ostream* os) {
  static const char* causes[] = {"timeout", "connection_lost", "replaced"};
  *os << "{node " << d.node << " '" << d.name << "' inc " << d.incarnation << " "
      << causes[static_cast<int>(d.why)] << "}";
}

}  // namespace trail::core

namespace trail::core::test {
namespace {

using cause = node_down::cause;
using downs = std::vector<node_down>;

// Registers a node that must be accepted.
node_id join(membership& m, const std::string& name, std::uint64_t inc, time_point now,
             std::uint32_t executors = 4) {
  auto r = m.register_node(name, inc, name + ":7000", executors, now);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? *r : 0;
}

bool mentions(const status& s, const std::string& word) {
  return s.message().find(word) != std::string::npos;
}

TEST(Membership, RegisterGivesFreshIdsWithAllExecutorsFree) {
  membership m;
  const node_id a = join(m, "n1", 1, t0(), 4);
  const node_id b = join(m, "n2", 1, t0(), 2);
  EXPECT_NE(a, b);
  EXPECT_EQ(m.live_nodes(), (std::vector<node_id>{a, b}));
  EXPECT_EQ(m.free_executors(a), 4u);
  EXPECT_EQ(m.loads(), (std::vector<node_load>{{a, 4}, {b, 2}}));
  EXPECT_EQ(m.find(b)->address, "n2:7000");
  EXPECT_EQ(m.find_live("n2"), b);
  EXPECT_EQ(m.find_live("n3"), std::nullopt);
}

TEST(Membership, APartitionsMembershipNumbersFromItsRangeAndSaysWhenItIsUsedUp) {
  membership m{membership_config{1000ms, 2049, 2050}};
  EXPECT_EQ(join(m, "n1", 1, t0()), 2049u);
  EXPECT_EQ(join(m, "n2", 1, t0()), 2050u);
  EXPECT_EQ(join(m, "n2", 1, t0()), 2050u);  // (a retried registration needs no new number)
  auto full = m.register_node("n3", 1, "n3:7000", 4, t0());
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), errc::unavailable);
  EXPECT_TRUE(mentions(full.error(), "restart the coordinator")) << full.error().to_string();
  auto again = m.register_node("n1", 2, "n1:7000", 4, t0());  // a new incarnation needs one: the old stays live
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(m.live_nodes(), (std::vector<node_id>{2049, 2050}));
}

TEST(Membership, SameIncarnationAgainIsIdempotentAndCountsAsHeartbeat) {
  membership m;
  const node_id a = join(m, "n1", 7, t0());
  EXPECT_EQ(join(m, "n1", 7, t0() + 900ms), a);
  EXPECT_TRUE(m.tick(t0() + 1500ms).empty());
  EXPECT_EQ(m.live_nodes(), std::vector<node_id>{a});
}

TEST(Membership, RegisterRejectsBadAndConflictingRegistrations) {
  membership m;
  EXPECT_EQ(m.register_node("", 1, "h:1", 4, t0()).error().code(), errc::invalid_argument);
  EXPECT_EQ(m.register_node("n1", 1, "h:1", 0, t0()).error().code(), errc::invalid_argument);
  join(m, "n1", 7, t0());
  auto r = m.register_node("n1", 7, "elsewhere:1", 4, t0());
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_TRUE(mentions(r.error(), "conflicting"));
  EXPECT_EQ(m.live_nodes().size(), 1u);
}

TEST(Membership, NewIncarnationReplacesAndFencesTheOld) {
  membership m;
  const node_id old_id = join(m, "n1", 1, t0());
  const node_id new_id = join(m, "n1", 2, t0() + 10ms);
  EXPECT_NE(old_id, new_id);
  EXPECT_FALSE(m.live(old_id));
  EXPECT_EQ(m.live_nodes(), std::vector<node_id>{new_id});
  EXPECT_EQ(m.find_live("n1"), new_id);
  EXPECT_EQ(m.tick(t0() + 20ms), (downs{{old_id, "n1", 1, cause::replaced}}));
  const status hb = m.heartbeat(old_id, 1, 4, {}, t0() + 30ms);
  EXPECT_EQ(hb.code(), errc::invalid_argument);
  EXPECT_TRUE(mentions(hb, "fenced")) << hb.to_string();
  EXPECT_EQ(m.check(old_id, 1).code(), errc::invalid_argument);
  EXPECT_TRUE(m.check(new_id, 2).ok());
  auto older = m.register_node("n1", 1, "n1:7000", 4, t0() + 40ms);
  EXPECT_TRUE(mentions(older.error(), "fenced")) << older.error().to_string();
}

TEST(Membership, HeartbeatUpdatesCapacityAndHeldBytes) {
  membership m;
  const node_id a = join(m, "n1", 1, t0());
  ASSERT_TRUE(m.heartbeat(a, 1, 3, 4096, t0() + 100ms).ok());
  EXPECT_EQ(m.free_executors(a), 3u);
  EXPECT_EQ(m.find(a)->held_bytes, 4096u);
  ASSERT_TRUE(m.heartbeat(a, 1, 0, std::nullopt, t0() + 200ms).ok());
  EXPECT_EQ(m.free_executors(a), 0u);
  EXPECT_EQ(m.find(a)->held_bytes, 4096u);  // not reported: kept
}

TEST(Membership, HeartbeatRejectsUnknownWrongIncarnationAndTooManyFree) {
  membership m;
  const node_id a = join(m, "n1", 3, t0());
  EXPECT_EQ(m.heartbeat(a + 100, 3, 1, {}, t0()).code(), errc::not_found);
  EXPECT_EQ(m.heartbeat(a, 2, 1, {}, t0()).code(), errc::invalid_argument);
  EXPECT_EQ(m.heartbeat(a, 3, 5, {}, t0()).code(), errc::invalid_argument);
  EXPECT_EQ(m.free_executors(a), 4u);  // rejected heartbeats change nothing
}

TEST(Membership, SilentNodeIsDeclaredDeadAfterTimeoutExactlyOnce) {
  membership m;
  const node_id a = join(m, "n1", 1, t0());
  for (auto t = 100ms; t <= 500ms; t += 100ms) ASSERT_TRUE(m.heartbeat(a, 1, 4, {}, t0() + t).ok());
  EXPECT_TRUE(m.tick(t0() + 1499ms).empty());
  EXPECT_TRUE(m.live(a));
  EXPECT_EQ(m.tick(t0() + 1500ms), (downs{{a, "n1", 1, cause::timeout}}));
  EXPECT_FALSE(m.live(a));
  EXPECT_EQ(m.free_executors(a), std::nullopt);
  EXPECT_TRUE(m.tick(t0() + 5000ms).empty());
}

// The owner was stopped for 5 s: the nodes' silence then was its own; they
// get their whole timeout from where it left off.
TEST(Membership, SilenceTheOwnerExcusesDoesNotCount) {
  membership m;
  const node_id a = join(m, "n1", 1, t0());
  const node_id b = join(m, "n2", 1, t0());
  ASSERT_TRUE(m.heartbeat(a, 1, 4, {}, t0() + 400ms).ok());
  EXPECT_TRUE(m.tick(t0() + 450ms).empty());
  m.excuse(5s);  // stopped from 450 ms to 5450 ms
  EXPECT_TRUE(m.tick(t0() + 5450ms).empty());
  EXPECT_TRUE(m.live(a) && m.live(b));
  EXPECT_EQ(m.tick(t0() + 6000ms), (downs{{b, "n2", 1, cause::timeout}}));  // heard at 0, +5 s excused
  EXPECT_EQ(m.tick(t0() + 6400ms), (downs{{a, "n1", 1, cause::timeout}}));  // heard at 400 ms
}

TEST(Membership, HeartbeatsKeepANodeAlive) {
  membership m;
  const node_id a = join(m, "n1", 1, t0());
  for (auto t = 100ms; t <= 10s; t += 100ms) {
    ASSERT_TRUE(m.heartbeat(a, 1, 4, {}, t0() + t).ok());
    ASSERT_TRUE(m.tick(t0() + t + 50ms).empty());
  }
}

TEST(Membership, HeartbeatBeforeTheTickThatNoticesTheTimeoutIsAccepted) {
  membership m;
  const node_id a = join(m, "n1", 1, t0());
  EXPECT_TRUE(m.heartbeat(a, 1, 4, {}, t0() + 1200ms).ok());
  EXPECT_TRUE(m.tick(t0() + 1300ms).empty());
}

TEST(Membership, DeadNodeMustRejoinAsANewIncarnation) {
  membership m;
  const node_id a = join(m, "n1", 1, t0());
  ASSERT_EQ(m.tick(t0() + 2s).size(), 1u);
  // SIGCONT: the old process speaks again.
  EXPECT_TRUE(mentions(m.heartbeat(a, 1, 4, {}, t0() + 3s), "fenced"));
  EXPECT_EQ(m.register_node("n1", 1, "n1:7000", 4, t0() + 3s).error().code(),
            errc::invalid_argument);
  const node_id b = join(m, "n1", 2, t0() + 3s);
  EXPECT_NE(a, b);
  EXPECT_TRUE(m.tick(t0() + 3s).empty());  // no second report for the old one
}

TEST(Membership, ConnectionLostDeclaresDeadAtOnce) {
  membership m;
  const node_id a = join(m, "n1", 1, t0());
  const node_id b = join(m, "n2", 1, t0());
  m.connection_lost(a, t0() + 5ms);
  EXPECT_FALSE(m.live(a));
  EXPECT_EQ(m.live_nodes(), std::vector<node_id>{b});
  m.connection_lost(a, t0() + 6ms);  // a second down message: no-op
  EXPECT_EQ(m.tick(t0() + 7ms), (downs{{a, "n1", 1, cause::connection_lost}}));
  EXPECT_TRUE(m.tick(t0() + 8ms).empty());
}

TEST(Membership, LateConnectionLostOfReplacedIncarnationSparesTheNewOne) {
  membership m;
  const node_id old_id = join(m, "n1", 1, t0());
  const node_id new_id = join(m, "n1", 2, t0() + 1ms);
  m.connection_lost(old_id, t0() + 2ms);
  EXPECT_TRUE(m.live(new_id));
  EXPECT_EQ(m.tick(t0() + 3ms), (downs{{old_id, "n1", 1, cause::replaced}}));
}

TEST(Membership, NextDeadlineIsTheEarliestLiveTimeout) {
  membership m{membership_config{500ms}};
  EXPECT_EQ(m.next_deadline(), std::nullopt);
  const node_id a = join(m, "n1", 1, t0());
  join(m, "n2", 1, t0() + 100ms);
  EXPECT_EQ(m.next_deadline(), t0() + 500ms);
  ASSERT_TRUE(m.heartbeat(a, 1, 4, {}, t0() + 300ms).ok());
  EXPECT_EQ(m.next_deadline(), t0() + 600ms);
  EXPECT_EQ(m.tick(t0() + 600ms).size(), 1u);  // n2
  EXPECT_EQ(m.next_deadline(), t0() + 800ms);
}

TEST(Membership, CapacityHintsFollowAssignedRefusedAndHeartbeats) {
  membership m;
  const node_id a = join(m, "n1", 1, t0(), 2);
  m.assigned(a);
  EXPECT_EQ(m.free_executors(a), 1u);
  m.assigned(a);
  m.assigned(a);
  EXPECT_EQ(m.free_executors(a), 0u);  // floor 0
  ASSERT_TRUE(m.heartbeat(a, 1, 2, {}, t0() + 100ms).ok());
  m.refused(a);
  EXPECT_EQ(m.free_executors(a), 0u);
  ASSERT_TRUE(m.heartbeat(a, 1, 1, {}, t0() + 200ms).ok());
  EXPECT_EQ(m.free_executors(a), 1u);
}

TEST(MembershipDeathTest, NonPositiveTimeoutAborts) {
  EXPECT_DEATH(membership(membership_config{0ms}), "timeout");
}

// -- randomized, against a trivial reference model ----------------------------

// Every incarnation ever registered, in id order (id = index + 1).
struct model {
  struct node {
    std::string name, address;
    std::uint64_t inc = 0;
    std::uint32_t executors = 0, free = 0;
    time_point heard{};
    bool dead = false;
  };
  std::vector<node> nodes;
  downs pending;

  node* live(node_id id) {
    return id && id <= nodes.size() && !nodes[id - 1].dead ? &nodes[id - 1] : nullptr;
  }

  void kill(node_id id, cause why) {
    nodes[id - 1].dead = true;
    pending.push_back({id, nodes[id - 1].name, nodes[id - 1].inc, why});
  }

  errc reg(const std::string& name, std::uint64_t inc, const std::string& addr, std::uint32_t ex,
           time_point now, node_id& id) {
    if (name.empty() || ex == 0) return errc::invalid_argument;
    node_id last = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].name == name) last = i + 1;
    if (last && inc <= nodes[last - 1].inc) {
      node* n = live(last);
      if (!n || inc < n->inc || n->address != addr || n->executors != ex)
        return errc::invalid_argument;
      n->heard = std::max(n->heard, now);
      id = last;
      return errc::ok;
    }
    if (live(last)) kill(last, cause::replaced);
    nodes.push_back({name, addr, inc, ex, ex, now, false});
    id = nodes.size();
    return errc::ok;
  }

  errc heartbeat(node_id id, std::uint64_t inc, std::uint32_t free, time_point now) {
    if (id == 0 || id > nodes.size()) return errc::not_found;
    node* n = live(id);
    if (!n || n->inc != inc || free > n->executors) return errc::invalid_argument;
    n->free = free;
    n->heard = std::max(n->heard, now);
    return errc::ok;
  }

  downs tick(time_point now) {
    for (node_id id = 1; id <= nodes.size(); ++id)
      if (live(id) && now - nodes[id - 1].heard >= 1000ms) kill(id, cause::timeout);
    return std::exchange(pending, {});
  }

  std::vector<node_load> loads() {
    std::vector<node_load> out;
    for (node_id id = 1; id <= nodes.size(); ++id)
      if (live(id)) out.push_back({id, nodes[id - 1].free});
    return out;
  }
};

std::string random_register(std::mt19937_64& rng, membership& m, model& ref, time_point now) {
  const std::string names[] = {"a", "b", "c", ""};
  const std::string name = names[rng() % 10 == 0 ? 3 : rng() % 3];
  const std::string addr = rng() % 8 == 0 ? "y" : "x";
  const std::uint64_t inc = rng() % 6;
  const auto ex = static_cast<std::uint32_t>(rng() % 8 == 0 ? 0 : 1 + rng() % 3);
  node_id want = 0;
  const errc code = ref.reg(name, inc, addr, ex, now, want);
  auto got = m.register_node(name, inc, addr, ex, now);
  EXPECT_EQ(got.error().code(), code) << got.error().to_string();
  if (got.ok()) {
    EXPECT_EQ(*got, want);
  }
  return "register " + name + " inc " + std::to_string(inc);
}

std::string random_heartbeat(std::mt19937_64& rng, membership& m, model& ref, node_id id,
                             time_point now) {
  const bool known = id && id <= ref.nodes.size() && rng() % 4 != 0;
  const std::uint64_t inc = known ? ref.nodes[id - 1].inc : rng() % 6;
  const auto free = static_cast<std::uint32_t>(rng() % 5);
  EXPECT_EQ(m.heartbeat(id, inc, free, {}, now).code(), ref.heartbeat(id, inc, free, now));
  return "heartbeat " + std::to_string(id);
}

// One random operation applied to both; returns a description for failures.
std::string step(std::mt19937_64& rng, membership& m, model& ref, time_point now) {
  const node_id id = rng() % (ref.nodes.size() + 2);
  switch (rng() % 6) {
    case 0:
      return random_register(rng, m, ref, now);
    case 1:
    case 2:
      return random_heartbeat(rng, m, ref, id, now);
    case 3:
      m.connection_lost(id, now);
      if (ref.live(id)) ref.kill(id, cause::connection_lost);
      return "connection_lost " + std::to_string(id);
    case 4:
      m.assigned(id);
      if (auto* n = ref.live(id); n && n->free) --n->free;
      return "assigned " + std::to_string(id);
    default:
      EXPECT_EQ(m.tick(now), ref.tick(now));
      return "tick";
  }
}

TEST(Membership, MatchesReferenceModelUnderRandomOperations) {
  std::mt19937_64 rng(test_seed());
  for (int run = 0; run < 200; ++run) {
    membership m;
    model ref;
    time_point now = t0();
    for (int i = 0; i < 300; ++i) {
      now += std::chrono::milliseconds(rng() % 300);
      const std::string what = step(rng, m, ref, now);
      ASSERT_EQ(m.loads(), ref.loads()) << "run " << run << " step " << i << ": " << what;
      ASSERT_FALSE(::testing::Test::HasFailure()) << "run " << run << " step " << i << ": " << what;
    }
    ASSERT_EQ(m.tick(now + 1h), ref.tick(now + 1h)) << "run " << run;
    EXPECT_TRUE(m.live_nodes().empty());  // and each death was reported once, as in the model
  }
}

}  // namespace
}  // namespace trail::core::test
