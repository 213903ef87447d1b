#include "schema/credit_window.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <random>
#include <set>
#include <vector>

namespace trail::schema {
namespace {

constexpr std::uint64_t MiB = 1 << 20;
constexpr std::uint64_t GiB = 1 << 30;

TEST(ChunkLayout, CutsAnObjectIntoChunks) {
  EXPECT_EQ((chunk_layout{0, max_chunk_size}.count()), 0u);
  chunk_layout exact{GiB, max_chunk_size};
  EXPECT_EQ(exact.count(), 256u);
  EXPECT_EQ(exact.offset(255), GiB - 4 * MiB);
  EXPECT_EQ(exact.size(255), 4 * MiB);
  chunk_layout ragged{10 * MiB + 1, max_chunk_size};
  EXPECT_EQ(ragged.count(), 3u);
  EXPECT_EQ(ragged.size(1), 4 * MiB);
  EXPECT_EQ(ragged.size(2), 2 * MiB + 1);
  chunk_layout tiny{10, min_chunk_size};
  EXPECT_EQ(tiny.count(), 1u);
  EXPECT_EQ(tiny.size(0), 10u);
}

TEST(CreditWindow, StartsWithFourChunksAndFollowsCredit) {
  credit_window w;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(w.can_send());
    w.on_sent();
  }
  EXPECT_FALSE(w.can_send());
  EXPECT_EQ(w.sent(), 4u);
  w.on_credit(2);
  EXPECT_EQ(w.credit(), 2u);
  w.on_sent();
  w.on_sent();
  EXPECT_FALSE(w.can_send());
  w.on_credit(0);
  EXPECT_FALSE(w.can_send());
  credit_window zero(0);
  EXPECT_FALSE(zero.can_send());
}

TEST(CreditWindowDeathTest, SendingWithoutCreditIsACallerBug) {
  credit_window w(0);
  EXPECT_DEATH(w.on_sent(), "without credit");
}

TEST(ReassemblyDeathTest, RejectsLayoutsNoHeaderMayAnnounce) {
  EXPECT_DEATH(reassembly(chunk_layout{MiB, 0}), "valid_chunking");
  EXPECT_DEATH(reassembly(chunk_layout{MiB, max_chunk_size + 1}), "valid_chunking");
  EXPECT_DEATH(reassembly(chunk_layout{max_object_size + 1, max_chunk_size}), "valid_chunking");
}

TEST(Reassembly, EmptyObjectIsCompleteAtOnce) {
  reassembly r({0, max_chunk_size});
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.on_chunk(0, 1), chunk_verdict::out_of_range);
  EXPECT_EQ(r.on_chunk(0, 0), chunk_verdict::misaligned);
}

TEST(Reassembly, ClassifiesEveryKindOfChunk) {
  reassembly r({10 * MiB + 1, max_chunk_size});  // chunks of 4, 4 and 2 MiB + 1
  EXPECT_EQ(r.on_chunk(4 * MiB, 4 * MiB), chunk_verdict::accepted);
  EXPECT_EQ(r.on_chunk(4 * MiB, 4 * MiB), chunk_verdict::duplicate);
  EXPECT_EQ(r.on_chunk(2 * MiB, 4 * MiB), chunk_verdict::misaligned);   // overlaps two chunks
  EXPECT_EQ(r.on_chunk(0, 2 * MiB), chunk_verdict::misaligned);         // leaves a gap
  EXPECT_EQ(r.on_chunk(0, 0), chunk_verdict::misaligned);
  EXPECT_EQ(r.on_chunk(8 * MiB, 2 * MiB), chunk_verdict::misaligned);   // short last chunk
  EXPECT_EQ(r.on_chunk(8 * MiB, 2 * MiB + 2), chunk_verdict::out_of_range);
  EXPECT_EQ(r.on_chunk(12 * MiB, 1), chunk_verdict::out_of_range);
  EXPECT_EQ(r.on_chunk(~0ull - 1, 4), chunk_verdict::out_of_range);     // offset + size wraps
  EXPECT_FALSE(r.complete());
  EXPECT_EQ(r.on_chunk(8 * MiB, 2 * MiB + 1), chunk_verdict::accepted);
  EXPECT_EQ(r.on_chunk(0, 4 * MiB), chunk_verdict::accepted);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.received_bytes(), 10 * MiB + 1);
  EXPECT_EQ(r.missing_chunks(), 0u);
  EXPECT_TRUE(r.arrived(2));
  EXPECT_FALSE(r.arrived(3));
}

// -- model-based: a sender, a reordering and duplicating network, a receiver ---------

unsigned test_seed() {
  unsigned seed = std::random_device{}();
  if (const char* s = std::getenv("TRAIL_SEED")) seed = static_cast<unsigned>(std::stoul(s));
  std::cout << "seed " << seed << " (rerun with TRAIL_SEED=" << seed << ")\n";
  return seed;
}

// The trivial reference: a set of arrived offsets and the layout rule spelled out.
struct model {
  std::uint64_t total, chunk;
  std::set<std::uint64_t> arrived;

  chunk_verdict verdict(std::uint64_t offset, std::uint64_t size) const {
    if (offset > total || total - offset < size) return chunk_verdict::out_of_range;
    bool is_chunk = offset % chunk == 0 && size > 0 && size == std::min(chunk, total - offset);
    if (!is_chunk) return chunk_verdict::misaligned;
    return arrived.count(offset) ? chunk_verdict::duplicate : chunk_verdict::accepted;
  }
  std::uint64_t chunks() const { return (total + chunk - 1) / chunk; }
};

template <class Rng>
std::uint64_t pick(Rng& rng, std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng); }

// What a simulation exercised.
struct sim_stats {
  std::uint64_t steps = 0;
  std::uint64_t out_of_order = 0;  // chunks delivered before an earlier one still in flight
  std::uint64_t verdicts[4] = {};  // by chunk_verdict
};

// One transfer of a `total`-byte object: the receiver grants a credit per
// accepted chunk; the network delivers chunks and credits in random order,
// replays delivered chunks and injects bogus ones.
sim_stats simulate(std::uint64_t total, std::uint32_t window, std::mt19937_64& rng) {
  SCOPED_TRACE("total " + std::to_string(total) + ", window " + std::to_string(window));
  chunk_layout layout{total, max_chunk_size};
  model m{total, max_chunk_size, {}};
  credit_window sender(window);
  reassembly receiver(layout);
  std::vector<std::uint64_t> in_flight, delivered;  // chunk indices
  std::uint64_t credit_in_flight = 0, next = 0;
  sim_stats stats;
  std::uint64_t& steps = stats.steps;

  auto deliver = [&](std::uint64_t offset, std::uint64_t size) {
    chunk_verdict expected = m.verdict(offset, size);
    chunk_verdict got = receiver.on_chunk(offset, size);
    EXPECT_EQ(got, expected) << "chunk at " << offset << " + " << size;
    ++stats.verdicts[static_cast<int>(got)];
    if (got == chunk_verdict::accepted) {
      m.arrived.insert(offset);
      ++credit_in_flight;  // the receiver grants one chunk per chunk stored
    }
  };

  while (!(receiver.complete() && in_flight.empty() && next == layout.count())) {
    if (++steps > 1'000'000) {
      ADD_FAILURE() << "transfer stalled: next " << next << ", credit " << sender.credit();
      break;
    }
    while (sender.can_send() && next < layout.count()) {
      in_flight.push_back(next++);
      sender.on_sent();
    }
    // Credit is conserved, so the window bounds what is buffered in between.
    if (sender.credit() + in_flight.size() + credit_in_flight != window ||
        receiver.complete() != (m.arrived.size() == m.chunks())) {
      ADD_FAILURE() << "credit " << sender.credit() << " + in flight " << in_flight.size()
                    << " + credit in flight " << credit_in_flight << " != window " << window
                    << ", or complete() " << receiver.complete() << " disagrees with the model";
      return stats;
    }
    switch (pick(rng, 10)) {
      case 0: case 1: case 2: case 3: case 4: {  // a chunk arrives, in any order
        if (in_flight.empty()) break;
        std::size_t i = pick(rng, in_flight.size());
        std::uint64_t index = in_flight[i];
        in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(i));
        for (std::uint64_t other : in_flight) stats.out_of_order += other < index ? 1 : 0;
        deliver(layout.offset(index), layout.size(index));
        delivered.push_back(index);
        break;
      }
      case 5: case 6: {  // some granted credit reaches the sender
        std::uint64_t n = credit_in_flight == 0 ? 0 : 1 + pick(rng, credit_in_flight);
        sender.on_credit(static_cast<std::uint32_t>(n));
        credit_in_flight -= n;
        break;
      }
      case 7: case 8: {  // a replayed chunk
        if (delivered.empty()) break;
        std::uint64_t index = delivered[pick(rng, delivered.size())];
        deliver(layout.offset(index), layout.size(index));  // the model says: duplicate
        break;
      }
      default: {  // a bogus chunk: anywhere, any size (skipped if it happens to be valid)
        std::uint64_t offset = 0, cs = max_chunk_size;
        switch (pick(rng, 4)) {
          case 0: offset = pick(rng, layout.count() + 2) * cs; break;      // on a boundary
          case 1: offset = pick(rng, total + 1); break;                     // anywhere
          case 2: offset = total - std::min(total, cs) + pick(rng, 2 * cs); break;  // the end
          default: offset = ~0ull - pick(rng, 2 * cs); break;               // wraps
        }
        std::uint64_t size = pick(rng, 2) == 0 ? max_chunk_size + pick(rng, 3) - 1
                                               : pick(rng, max_chunk_size + 2);
        if (m.verdict(offset, size) != chunk_verdict::accepted) deliver(offset, size);
        break;
      }
    }
  }
  EXPECT_EQ(sender.sent(), layout.count());  // every chunk sent exactly once
  EXPECT_EQ(receiver.received_chunks(), layout.count());
  EXPECT_EQ(receiver.received_bytes(), total);
  EXPECT_EQ(m.arrived.size(), layout.count());
  return stats;
}

TEST(TransferModel, GibibyteInRandomOrderWithDuplicatesMatchesModel) {
  std::mt19937_64 rng(test_seed());
  for (std::uint32_t window : {1u, default_credit_chunks, 7u, 300u}) {
    sim_stats s = simulate(GiB, window, rng);  // 256 chunks of 4 MiB, no allocation
    std::cout << "window " << window << ": " << s.steps << " steps, " << s.out_of_order
              << " out of order, verdicts " << s.verdicts[0] << "/" << s.verdicts[1] << "/"
              << s.verdicts[2] << "/" << s.verdicts[3] << "\n";
    EXPECT_EQ(s.verdicts[static_cast<int>(chunk_verdict::accepted)], 256u);
    EXPECT_GT(s.verdicts[static_cast<int>(chunk_verdict::duplicate)], 0u);
    EXPECT_GT(s.verdicts[static_cast<int>(chunk_verdict::misaligned)], 0u);
    EXPECT_GT(s.verdicts[static_cast<int>(chunk_verdict::out_of_range)], 0u);
    if (window > 1) {
      EXPECT_GT(s.out_of_order, 0u);
    }
  }
  simulate(GiB + 12345, default_credit_chunks, rng);    // a short last chunk
  simulate(3 * max_chunk_size - 1, 2, rng);
  simulate(1, default_credit_chunks, rng);
}

}  // namespace
}  // namespace trail::schema
