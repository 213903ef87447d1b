#include "shm/allocator.hpp"

#include <gtest/gtest.h>

#include <random>

namespace trail::shm {
namespace {

TEST(BlockAllocator, RoundsUpAndCoalesces) {
  block_allocator a(1 << 20);
  auto b1 = a.allocate(1);
  auto b2 = a.allocate(100);
  auto b3 = a.allocate(0);
  ASSERT_TRUE(b1 && b2 && b3);
  EXPECT_EQ(b1->size, 64u);
  EXPECT_EQ(b2->size, 128u);
  EXPECT_EQ(b3->size, 64u);
  EXPECT_EQ(a.used(), 256u);
  a.free(*b2);
  a.free(*b1);
  a.free(*b3);
  EXPECT_EQ(a.used(), 0u);
  EXPECT_EQ(a.free_ranges(), 1u);
  EXPECT_EQ(a.largest_free(), 1u << 20);
}

TEST(BlockAllocator, FailsWhenNoRangeFits) {
  block_allocator a(4096);
  auto b = a.allocate(4000);
  ASSERT_TRUE(b);
  EXPECT_FALSE(a.allocate(128));
  EXPECT_FALSE(a.allocate(8192));
  a.shrink(*b, 64);
  EXPECT_TRUE(a.allocate(128));
}

TEST(BlockAllocator, PartsOfABlockCanBeFreedSeparately) {
  block_allocator a(64 * 10);
  auto b = a.allocate(64 * 10);
  ASSERT_TRUE(b);
  a.free({64 * 2, 64 * 3});
  a.free({0, 64});
  a.free({64 * 9, 64});
  EXPECT_EQ(a.used(), 64u * 5);
  a.free({64, 64});
  a.free({64 * 5, 64 * 4});
  EXPECT_EQ(a.used(), 0u);
  EXPECT_EQ(a.free_ranges(), 1u);
}

// Model: a byte map of which units are in use.
TEST(BlockAllocator, RandomisedAgainstAUnitMap) {
  unsigned seed = std::random_device{}();
  if (const char* s = std::getenv("TRAIL_SEED")) seed = static_cast<unsigned>(std::stoul(s));
  std::cout << "seed " << seed << "\n";
  std::mt19937 rng(seed);
  constexpr std::uint64_t units = 512;
  block_allocator a(units * 64);
  std::vector<bool> used(units);
  std::vector<block> live;
  for (int step = 0; step < 20000; ++step) {
    if (live.empty() || rng() % 2) {
      std::uint64_t want = rng() % (64 * 16);
      if (auto b = a.allocate(want)) {
        ASSERT_GE(b->size, want);
        for (auto u = b->offset / 64; u < (b->offset + b->size) / 64; ++u) {
          ASSERT_FALSE(used[u]) << "overlap at unit " << u << " seed " << seed;
          used[u] = true;
        }
        live.push_back(*b);
      }
    } else {
      std::size_t i = rng() % live.size();
      for (auto u = live[i].offset / 64; u < (live[i].offset + live[i].size) / 64; ++u) used[u] = false;
      a.free(live[i]);
      live.erase(live.begin() + static_cast<long>(i));
    }
    ASSERT_EQ(a.used(), static_cast<std::uint64_t>(std::count(used.begin(), used.end(), true)) * 64);
  }
}

}  // namespace
}  // namespace trail::shm
