// Reports of remote attempts come out in the worker's order, one at a time,
// whatever order they arrive in; against a reference model.
#include "actors/core/report_sequencer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace trail::core {
namespace {

TEST(ReportSequencer, OutOfOrderReportsComeOutInOrder) {
  report_sequencer<std::string> seq;
  seq.expect(7);
  EXPECT_TRUE(seq.push(7, 2, "c"));
  EXPECT_TRUE(seq.push(7, 1, "b"));
  EXPECT_FALSE(seq.next(7)) << "report 0 has not arrived";
  EXPECT_TRUE(seq.push(7, 0, "a"));
  std::string got;
  while (auto r = seq.next(7)) got += *r;
  EXPECT_EQ(got, "abc");
}

TEST(ReportSequencer, AHeldReportKeepsTheNextWaiting) {
  report_sequencer<int> seq;
  seq.expect(1);
  seq.push(1, 0, 10);
  seq.push(1, 1, 11);
  ASSERT_EQ(seq.next(1), 10);
  seq.hold(1);  // report 0 starts a pull
  EXPECT_FALSE(seq.next(1));
  seq.release(1);
  EXPECT_EQ(seq.next(1), 11);
}

TEST(ReportSequencer, UnexpectedDuplicateAndLateReportsAreDropped) {
  report_sequencer<int> seq;
  EXPECT_FALSE(seq.push(5, 0, 1)) << "never expected";
  EXPECT_EQ(seq.size(), 0u);
  seq.expect(5);
  EXPECT_TRUE(seq.push(5, 0, 1));
  EXPECT_FALSE(seq.push(5, 0, 2)) << "a duplicate of a waiting one";
  ASSERT_EQ(seq.next(5), 1);
  EXPECT_FALSE(seq.push(5, 0, 3)) << "a duplicate of an applied one";
  seq.forget(5);
  EXPECT_FALSE(seq.push(5, 1, 4)) << "the attempt is over";
  EXPECT_EQ(seq.size(), 0u) << "nothing kept for it";
}

// Random arrival orders, holds, releases and forgets against a model that
// just sorts each attempt's reports.
TEST(ReportSequencer, MatchesAReferenceModel) {
  std::uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (int round = 0; round < 300; ++round) {
    report_sequencer<std::pair<int, int>> seq;  // (attempt, number)
    const int attempts = 1 + rng() % 4;
    std::vector<std::pair<int, int>> arrivals;
    std::vector<int> counts(attempts), forgotten_at(attempts, -1);
    for (int a = 0; a < attempts; ++a) {
      seq.expect(a);
      counts[a] = 1 + rng() % 6;
      for (int n = 0; n < counts[a]; ++n) {
        arrivals.emplace_back(a, n);
        if (rng() % 4 == 0) arrivals.emplace_back(a, n);  // a duplicate
      }
      if (rng() % 5 == 0) forgotten_at[a] = static_cast<int>(rng() % counts[a]);  // ends early
    }
    std::shuffle(arrivals.begin(), arrivals.end(), rng);
    std::vector<std::vector<int>> applied(attempts);
    std::vector<bool> holding(attempts, false);
    auto drain = [&](int a) {
      while (auto r = seq.next(a)) {
        applied[a].push_back(r->second);
        if (forgotten_at[a] == r->second) {
          seq.forget(a);
          return;
        }
        if (rng() % 3 == 0) {  // this one takes a while
          seq.hold(a);
          holding[a] = true;
          return;
        }
      }
    };
    for (auto [a, n] : arrivals) {
      seq.push(a, static_cast<std::uint32_t>(n), {a, n});
      if (!holding[a]) drain(a);
      for (int b = 0; b < attempts; ++b)  // pulls finish at random moments
        if (holding[b] && rng() % 2 == 0) {
          holding[b] = false;
          seq.release(b);
          drain(b);
        }
    }
    for (int b = 0; b < attempts; ++b)
      while (holding[b]) {
        holding[b] = false;
        seq.release(b);
        drain(b);
      }
    for (int a = 0; a < attempts; ++a) {
      int last = forgotten_at[a] >= 0 ? forgotten_at[a] : counts[a] - 1;
      std::vector<int> want;
      for (int n = 0; n <= last; ++n) want.push_back(n);
      EXPECT_EQ(applied[a], want) << "attempt " << a << " in round " << round;
    }
  }
}

}  // namespace
}  // namespace trail::core
