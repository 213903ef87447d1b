// A store session opens with its first holder and is released with its
// last, never twice; against a reference model that tracks the store.
#include "actors/core/session_refs.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace trail::core {
namespace {

using h = session_refs::holder;

TEST(SessionRefs, TheFirstHolderOpensAndTheLastReleases) {
  session_refs refs;
  EXPECT_TRUE(refs.acquire(1, h::home));
  EXPECT_FALSE(refs.acquire(1, h::import));
  EXPECT_FALSE(refs.acquire(1, h::import));
  EXPECT_FALSE(refs.release(1, h::home)) << "imports still run";
  EXPECT_FALSE(refs.release(1, h::import));
  EXPECT_TRUE(refs.release(1, h::import));
  EXPECT_FALSE(refs.open(1));
}

TEST(SessionRefs, ReleasingWhatIsNotHeldChangesNothing) {
  session_refs refs;
  EXPECT_FALSE(refs.release(2, h::worker));
  refs.acquire(2, h::worker);
  EXPECT_FALSE(refs.release(2, h::home)) << "the home never held it";
  EXPECT_FALSE(refs.acquire(2, h::worker)) << "a worker holds it once";
  EXPECT_TRUE(refs.release(2, h::worker));
  EXPECT_FALSE(refs.release(2, h::worker)) << "not twice";
  EXPECT_EQ(refs.size(), 0u);
}

// The model is a fake store: a session is open iff some holder has it.
TEST(SessionRefs, TheStoreIsOpenExactlyWhileSomeoneHoldsIt) {
  std::uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  session_refs refs;
  std::set<std::uint64_t> store;  // sessions open in the "store"
  std::map<std::uint64_t, std::map<h, int>> model;
  for (int step = 0; step < 20000; ++step) {
    std::uint64_t s = rng() % 8;
    auto who = static_cast<h>(rng() % 3);
    if (rng() % 2) {
      bool first = refs.acquire(s, who);
      if (first) {
        EXPECT_FALSE(store.contains(s)) << "opened twice at step " << step;
        store.insert(s);
      }
      int& n = model[s][who];
      n = who == h::import ? n + 1 : 1;
    } else {
      bool last = refs.release(s, who);
      if (last) {
        EXPECT_TRUE(store.contains(s)) << "released a closed session at step " << step;
        store.erase(s);
      }
      if (model[s][who] > 0) --model[s][who];
    }
    int holders = 0;
    for (auto& [k, n] : model[s]) holders += n;
    ASSERT_EQ(store.contains(s), holders > 0) << "step " << step;
    ASSERT_EQ(refs.open(s), holders > 0) << "step " << step;
  }
}

}  // namespace
}  // namespace trail::core
