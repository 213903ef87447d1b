// The streaming example's aggregation core without a node: partials made by
// the real `process` core from the real generator's batches, delivered in
// and out of order, twice, in firings that overlap (so carried states must
// merge) and through the text form aggregate carries them in. Every window
// must come out exactly once-per-count: any two emissions of a key agree and
// equal the generator's truth; nothing the generator counted is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "events.hpp"
#include "generator.hpp"
#include "window_state.hpp"

namespace streaming {
namespace {

// A stream in miniature: 20 events per ms, 5 ms batches, 20 ms windows, so
// that a few hundred batches make many windows.
generator_config small(std::uint64_t seed = 1) {
  generator_config c;
  c.rate = 20000, c.start_ms = 1'000'000, c.batch_ms = 5, c.window_ms = 20, c.seed = seed;
  return c;
}

struct made {
  std::vector<std::string> partials;  // encoded, by seq
  truth sent;
};

made make_stream(generator_config c, std::uint64_t batches) {
  generator g(c);
  made m;
  for (std::uint64_t k = 0; k < batches; ++k)
    m.partials.push_back(summarize_batch(k, g.batch(k, k + 1 == batches)).encode());
  m.sent = g.sent();
  return m;
}

// What aggregate publishes, first write of a key winning (as `keep: app` does).
struct published {
  window_counts results;
  std::vector<std::string> conflicts;  // a key written again with another count
  std::optional<window_state> final_state;

  void take(window_state& s) {
    for (const auto& w : s.advance()) {
      auto [it, fresh] = results.try_emplace({w.window_start, w.campaign}, w.count);
      if (!fresh && it->second != w.count)
        conflicts.push_back(std::to_string(w.campaign) + "/" + std::to_string(w.window_start));
    }
    if (s.finished() && !final_state) final_state = s;
  }
};

// One firing of aggregate on these objects: its carry (or "" when none).
std::string fire(const std::vector<std::string>& inputs, published& out) {
  window_state s;
  std::vector<partial> batches;
  for (const auto& in : inputs) {
    decoded d = decode(in);
    if (d.is_state) s.merge(std::move(d.state));
    else batches.push_back(std::move(d.batch));
  }
  for (auto& b : batches) s.add(std::move(b));
  out.take(s);
  return s.finished() || s.empty() ? "" : s.encode();
}

void expect_exact(const published& p, const truth& t) {
  EXPECT_TRUE(p.conflicts.empty()) << "first conflicting key: " << p.conflicts.front();
  EXPECT_EQ(p.results, t.counts);
  ASSERT_TRUE(p.final_state.has_value()) << "the stream never finished";
  EXPECT_EQ(p.final_state->counted().events, t.sent.events);
  EXPECT_EQ(p.final_state->counted().views, t.sent.views);
  EXPECT_EQ(p.final_state->counted().late, 0u);
  EXPECT_EQ(p.final_state->windows(), t.counts.size());
  EXPECT_EQ(p.final_state->next(), t.batches);
}

TEST(StreamingWindowState, InOrderFiringsGiveTheGeneratorsCounts) {
  made m = make_stream(small(), 200);
  ASSERT_GT(m.sent.counts.size(), 1000u) << "a stream big enough to mean something";
  published p;
  std::string carry;
  for (std::size_t i = 0; i < m.partials.size(); i += 7) {
    std::vector<std::string> in(m.partials.begin() + i, m.partials.begin() + std::min(i + 7, m.partials.size()));
    if (!carry.empty()) in.push_back(carry);
    carry = fire(in, p);
  }
  EXPECT_EQ(carry, "") << "a finished stream carries nothing";
  expect_exact(p, m.sent);
}

TEST(StreamingWindowState, AWindowClosesOnlyWhenEveryBatchBeforeItIsIn) {
  made m = make_stream(small(), 12);  // 60 ms: windows [.., +20), [+20, +40), [+40, +60)
  window_state s;
  for (std::size_t k = 1; k < 8; ++k) ASSERT_TRUE(s.add(decode(m.partials[k]).batch));
  EXPECT_TRUE(s.advance().empty()) << "batch 0 is missing: nothing is complete";
  EXPECT_EQ(s.ahead(), 7u);
  ASSERT_TRUE(s.add(decode(m.partials[0]).batch));
  auto done = s.advance();  // batches 0..7 cover 40 ms: the first two windows
  ASSERT_FALSE(done.empty());
  for (const auto& w : done) EXPECT_LE(w.window_start + 20, s.watermark());
  EXPECT_EQ(s.next(), 8u);
  EXPECT_EQ(s.watermark(), 1'000'040);
  EXPECT_FALSE(s.finished());
}

TEST(StreamingWindowState, DuplicatesAreDroppedBeforeAndAfterTheyAreAbsorbed) {
  made m = make_stream(small(), 4);
  window_state s;
  partial p0 = decode(m.partials[0]).batch, p2 = decode(m.partials[2]).batch;
  EXPECT_TRUE(s.add(p2));
  EXPECT_FALSE(s.add(p2)) << "already ahead";
  EXPECT_TRUE(s.add(p0));
  s.advance();
  EXPECT_FALSE(s.add(p0)) << "already absorbed";
  EXPECT_EQ(s.counted().events, p0.counted.events);
}

TEST(StreamingWindowState, OverlappingCarriesMerge) {
  made m = make_stream(small(), 40);
  published p;
  // Firing A takes batches 0..19, firing B (overlapping A: it started before
  // A's carry was written) takes 20..39 and sees no carry; a third merges both.
  std::vector<std::string> a(m.partials.begin(), m.partials.begin() + 20), b(m.partials.begin() + 20, m.partials.end());
  std::string ca = fire(a, p), cb = fire(b, p);
  ASSERT_NE(cb, "");
  EXPECT_EQ(decode(cb).state.next(), 0u) << "B has no prefix: every batch of it waits ahead";
  EXPECT_EQ(fire({ca, cb}, p), "");
  expect_exact(p, m.sent);
}

TEST(StreamingWindowState, ACarryWithDuplicatesOfAnotherMergesWithoutDoubleCounting) {
  made m = make_stream(small(), 30);
  published p;
  // Both lineages saw batches 0..9 (a re-put batch set, say); A also 10..14.
  std::vector<std::string> a(m.partials.begin(), m.partials.begin() + 15), b(m.partials.begin(), m.partials.begin() + 10);
  b.push_back(m.partials[20]);
  std::string ca = fire(a, p), cb = fire(b, p);
  std::vector<std::string> rest(m.partials.begin() + 15, m.partials.end());
  rest.push_back(ca), rest.push_back(cb);
  EXPECT_EQ(fire(rest, p), "");
  expect_exact(p, m.sent);
}

TEST(StreamingWindowState, AnOutOfOrderBatchIntoAClosedWindowIsCountedLate) {
  window_state s;
  partial first{0, 1000, 100, false, {1, 1, 0, 0}, {{{900, 3}, 1}}};
  partial bad{1, 1000, 100, false, {1, 1, 0, 0}, {{{800, 3}, 1}}};  // breaks event-time order
  s.add(first), s.add(bad);
  auto done = s.advance();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], (window_result{3, 900, 1}));
  EXPECT_EQ(s.counted().late, 1u) << "the late view is reported, not silently lost";
}

TEST(StreamingWindowState, DifferingWindowLengthsAndGarbageAreClearErrors) {
  window_state s;
  s.add(partial{0, 10, 100, false, {}, {}});
  EXPECT_THROW(s.add(partial{1, 20, 50, false, {}, {}}), std::invalid_argument);
  EXPECT_THROW(decode("hello\n"), std::invalid_argument);
  EXPECT_THROW(decode("partial 1 2 x 0 0 0 0 0\n"), std::invalid_argument);
  EXPECT_THROW(decode("count 1 2 3\n"), std::invalid_argument);
  EXPECT_THROW(decode(""), std::invalid_argument);
}

TEST(StreamingWindowState, EncodeDecodeRoundTrips) {
  made m = make_stream(small(), 10);
  window_state s;
  for (std::size_t k : {0, 1, 2, 5, 7}) s.add(decode(m.partials[k]).batch);
  s.advance();
  decoded d = decode(s.encode());
  ASSERT_TRUE(d.is_state);
  EXPECT_EQ(d.state, s);
  EXPECT_EQ(decode(m.partials[3]).batch.encode(), m.partials[3]);
}

// The model test: seeded random deliveries. Each firing takes a random
// handful of what has landed (partials, some twice; carries, some delayed
// past the next firing so that firings overlap), and some firings run
// twice (a re-run: same inputs, only the first carry counts).
TEST(StreamingWindowState, RandomDeliveriesAreExact) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    made m = make_stream(small(seed), 60 + seed % 40);
    std::vector<std::string> landed, delayed;
    std::vector<std::size_t> order(m.partials.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    // Nearly in order, as a real stream arrives: swap neighbours now and then.
    for (std::size_t i = 1; i < order.size(); ++i)
      if (rng() % 3 == 0) std::swap(order[i - 1], order[i]);
    published p;
    std::size_t sent = 0;
    for (int round = 0; round < 10000 && !(p.final_state && sent == order.size()); ++round) {
      for (std::size_t n = rng() % 6; n > 0 && sent < order.size(); --n) {
        landed.push_back(m.partials[order[sent]]);
        if (rng() % 10 == 0) landed.push_back(m.partials[order[sent]]);  // a duplicate
        ++sent;
      }
      if (rng() % 2) landed.insert(landed.end(), delayed.begin(), delayed.end()), delayed.clear();
      if (landed.empty()) continue;
      std::vector<std::string> in;
      in.swap(landed);
      std::string carry = fire(in, p);
      if (rng() % 8 == 0) fire(in, p);  // a re-run: its results are written again, its carry dropped
      if (!carry.empty()) delayed.push_back(carry);
    }
    expect_exact(p, m.sent);
  }
}

}  // namespace
}  // namespace streaming
