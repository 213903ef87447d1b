// The streaming example end to end on a real standalone node: the driver
// sends batches through put at a fixed rate, waits (polling, with a
// deadline) for the stream's summary, and reads back every (campaign,
// window) result with get; each count must equal the generator's.
#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "driver.hpp"
#include "node_fixture.hpp"

namespace trail::testing {
namespace {

class streaming_test : public node_test {
 protected:
  void SetUp() override {
    store_size_ = "128M";
    node_test::SetUp();
    if (HasFatalFailure()) return;
    deploy("streaming");
  }

  void expect_exact(const streaming::stream_report& r) {
    for (const auto& m : r.mismatches) ADD_FAILURE() << m;
    EXPECT_TRUE(r.exact()) << r.mismatch_count << " mismatches; summary: " << r.summary;
    EXPECT_EQ(r.windows_checked, r.sent.counts.size());
  }
};

TEST_F(streaming_test, TenThousandEventsPerSecondForTenSecondsCountEveryWindowExactly) {
  streaming::stream_options o;
  o.rate = 10000, o.duration_ms = 10000, o.window_ms = 1000, o.batch_ms = 10;
  auto r = streaming::run_stream(*client_, o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->sent.sent.events, 100000u);
  EXPECT_GE(r->sent.counts.size(), 1000u) << "100 campaigns x 10 windows (and the edges)";
  expect_exact(*r);
  std::sort(r->latency_ms.begin(), r->latency_ms.end());
  ASSERT_FALSE(r->latency_ms.empty());
  std::printf("streaming: %.0f events/s sent; window close to result p50 %.0f ms, max %.0f ms (%zu windows)\n",
              r->events_per_s, r->latency_ms[r->latency_ms.size() / 2], r->latency_ms.back(), r->latency_ms.size());
}

TEST_F(streaming_test, MalformedLinesAreCountedAsRejectedAndEveryWindowIsStillExact) {
  streaming::stream_options o;
  o.rate = 2000, o.duration_ms = 2000, o.window_ms = 500, o.batch_ms = 20, o.malformed_every = 13;
  auto r = streaming::run_stream(*client_, o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_GT(r->sent.sent.rejected, 0u);
  expect_exact(*r);  // includes the summary's `rejected` against what was sent
  auto summary = nlohmann::json::parse(r->summary);
  EXPECT_EQ(summary["rejected"], r->sent.sent.rejected);
  // The results can be read from the shell as well.
  auto g = cli({"get", "streaming", "results", "summary"});
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out, r->summary);
}

TEST_F(streaming_test, ABatchThatCannotBePlacedFailsItsSessionWithAClearError) {
  auto expect_failure = [&](const std::string& key, const std::string& batch, const std::string& says) {
    auto p = client_->put("streaming", "events", key, batch, put_scope::new_session);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    auto r = client_->result_of(p->session, 60s);
    ASSERT_FALSE(r.ok()) << "output: " << r->output;
    EXPECT_NE(r.error().message().find(says), std::string::npos) << r.error().to_string();
  };
  expect_failure("b-0", "window_ms=1000\n", "batch 0: bad header line 'window_ms=1000': not a flat JSON object");
  expect_failure("batch-1", "{\"window_ms\":1000}\n", "batch key 'batch-1' is not b-<seq>");
  // The node serves on: a well-formed batch is processed.
  auto p = client_->put("streaming", "events", "b-5", "{\"window_ms\":1000}\nnot an event\n", put_scope::new_session);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  auto r = client_->result_of(p->session, 60s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->output, "batch 5: 0 views, 1 rejected");
}

}  // namespace
}  // namespace trail::testing
