// The pure metrics core: histogram bucketing, the text exposition and its
// escaping, the HTTP a scrape needs, and rendering a node's and a
// coordinator's status.
#include "actors/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "../support/prometheus.hpp"

namespace trail::metrics {
namespace {

using namespace std::chrono_literals;
using ns = std::chrono::nanoseconds;

TEST(Histogram, BucketsAreUpperBoundsOfPowersOfTwoMicroseconds) {
  EXPECT_EQ(histogram::index_of(ns(-5)), 0);
  EXPECT_EQ(histogram::index_of(ns(0)), 0);
  EXPECT_EQ(histogram::index_of(1us), 0);       // le 1 µs (inclusive)
  EXPECT_EQ(histogram::index_of(ns(1001)), 1);  // le 2 µs
  EXPECT_EQ(histogram::index_of(2us), 1);
  EXPECT_EQ(histogram::index_of(ns(2001)), 2);  // le 4 µs
  EXPECT_EQ(histogram::index_of(4us), 2);
  EXPECT_EQ(histogram::index_of(5us), 3);       // le 8 µs
  EXPECT_EQ(histogram::index_of(std::chrono::microseconds(1 << 24)), 24);
  EXPECT_EQ(histogram::index_of(std::chrono::microseconds((1 << 24) + 1)), histogram::finite_buckets);  // +Inf
  EXPECT_EQ(histogram::index_of(ns(std::numeric_limits<std::int64_t>::max())), histogram::finite_buckets);
}

// Against a reference that scans the bounds, for random durations spread
// over every bucket (log-uniform).
TEST(Histogram, BucketingMatchesALinearScanOfTheBounds) {
  auto seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(0, 36);  // 1 ns .. ~68 s
  for (int i = 0; i < 100000; ++i) {
    auto d = ns(static_cast<std::int64_t>(std::pow(2.0, exponent(rng))));
    int expected = histogram::finite_buckets;
    for (int k = 0; k < histogram::finite_buckets; ++k)
      if (d.count() <= static_cast<std::int64_t>(histogram::bound_us(k)) * 1000) {
        expected = k;
        break;
      }
    ASSERT_EQ(histogram::index_of(d), expected) << d.count() << " ns";
  }
}

TEST(Histogram, CountsAndSumsWhatItRecords) {
  histogram h;
  h.record(3us);
  h.record(3us);
  h.record(20s);
  h.record(ns(-1));  // (a clock that went backwards: counted as zero)
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.sum_ns(), 6000u + 20'000'000'000u);
  EXPECT_EQ(h.in_bucket(0), 1u);
  EXPECT_EQ(h.in_bucket(2), 2u);
  EXPECT_EQ(h.in_bucket(histogram::finite_buckets), 1u);
}

TEST(NodeMetrics, SessionDurationFromStartToEndOnce) {
  node_metrics m;
  auto t0 = clock::now();
  m.session_started(7, t0);
  m.session_ended(7, t0 + 3ms);
  m.session_ended(7, t0 + 9ms);  // (again: ignored)
  m.session_ended(8, t0 + 9ms);  // (never started here: ignored)
  EXPECT_EQ(m.session.count(), 1u);
  EXPECT_EQ(m.session.sum_ns(), 3'000'000u);
  EXPECT_EQ(m.open_sessions(), 0u);
}

TEST(Exposition, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)" "\n" "d"), R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_label_value("plain n1"), "plain n1");
  EXPECT_EQ(escape_help("one\\two\nthree \"quoted\""), "one\\\\two\\nthree \"quoted\"");
}

TEST(Exposition, NamesAreChecked) {
  EXPECT_TRUE(valid_metric_name("trail_hop_latency_seconds"));
  EXPECT_TRUE(valid_metric_name("a:b_c9"));
  EXPECT_FALSE(valid_metric_name("9lives"));
  EXPECT_FALSE(valid_metric_name("has-dash"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("state"));
  EXPECT_FALSE(valid_label_name("__reserved"));
  EXPECT_FALSE(valid_label_name("a:b"));
  exposition x;
  EXPECT_DEATH(x.family("bad name", "h", metric_type::gauge), "requirement failed");
}

TEST(Exposition, FormatsValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(0.5), "0.5");
  EXPECT_EQ(format_value(1e-6), "1e-06");
  EXPECT_EQ(format_value(HUGE_VAL), "+Inf");
  EXPECT_EQ(format_value(-HUGE_VAL), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(Exposition, RendersFamiliesWithLabelsThatParseBack) {
  exposition x;
  x.counter("trail_things_total", "Things.\nSecond line.", 3);
  x.family("trail_node_free_executors", "Per node.", metric_type::gauge);
  x.sample("trail_node_free_executors", {{"node", "we\"ird\\name\nhere"}}, 2);
  x.sample("trail_node_free_executors", {{"node", "n2"}}, 0);
  EXPECT_EQ(x.text(),
            "# HELP trail_things_total Things.\\nSecond line.\n"
            "# TYPE trail_things_total counter\n"
            "trail_things_total 3\n"
            "# HELP trail_node_free_executors Per node.\n"
            "# TYPE trail_node_free_executors gauge\n"
            "trail_node_free_executors{node=\"we\\\"ird\\\\name\\nhere\"} 2\n"
            "trail_node_free_executors{node=\"n2\"} 0\n");
  auto parsed = testing::parse_prometheus(x.text());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->value("trail_node_free_executors", {{"node", "we\"ird\\name\nhere"}}), 2);
}

TEST(Exposition, HistogramBucketsAreCumulativeInSecondsAndEndInInf) {
  histogram h;
  h.record(1us);
  h.record(3us);
  h.record(3us);
  h.record(1h);
  exposition x;
  x.histogram("trail_hop_latency_seconds", "Hops.", h);
  const auto& t = x.text();
  EXPECT_NE(t.find("trail_hop_latency_seconds_bucket{le=\"0.000001\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("trail_hop_latency_seconds_bucket{le=\"0.000002\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("trail_hop_latency_seconds_bucket{le=\"0.000004\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("trail_hop_latency_seconds_bucket{le=\"16.777216\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("trail_hop_latency_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << t;
  EXPECT_NE(t.find("trail_hop_latency_seconds_count 4\n"), std::string::npos) << t;
  EXPECT_NE(t.find("trail_hop_latency_seconds_sum 3600.000007\n"), std::string::npos) << t;
  auto parsed = testing::parse_prometheus(t);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->families.at("trail_hop_latency_seconds").samples.size(), histogram::finite_buckets + 1 + 2u);
}

TEST(Exposition, TheTestParserRejectsWhatIsNotValid) {
  for (const char* bad : {
           "x 1\n",                                             // no TYPE
           "# TYPE x counter\nx -1\n",                          // negative counter
           "# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",            // label twice
           "# TYPE x gauge\nx{a=\"\\t\"} 1\n",                  // unknown escape
           "# TYPE x gauge\nx 1 1700000000\n",                  // timestamp
           "# TYPE x gauge\nx 1\nx 2\n",                        // series twice
           "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  // not cumulative
           "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",                          // no +Inf
           "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n",                       // count != +Inf
           "# TYPE x gauge\n\nx 1\n",                           // blank line
       })
    EXPECT_FALSE(testing::parse_prometheus(bad).ok()) << bad;
}

TEST(Http, ParsesARequestHeadOnceItIsWhole) {
  using st = http_request::state;
  EXPECT_EQ(parse_http_request("GET /metr").st, st::incomplete);
  EXPECT_EQ(parse_http_request("GET /metrics HTTP/1.1\r\nHost: x\r\n").st, st::incomplete);
  auto r = parse_http_request("GET /metrics?debug=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.st, st::complete);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/metrics");
  EXPECT_EQ(parse_http_request("GET /metrics HTTP/1.0\n\n").st, st::complete);
  EXPECT_EQ(parse_http_request("hello there\r\n\r\n").st, st::bad);
  EXPECT_EQ(parse_http_request("GET /metrics SMTP\r\n\r\n").st, st::bad);
}

TEST(Http, RoutesOnlyGetAndHeadOfMetrics) {
  auto route = [](const char* head) { return route_of(parse_http_request(head)); };
  EXPECT_EQ(route("GET /metrics HTTP/1.1\r\n\r\n").code, 200);
  EXPECT_TRUE(route("GET /metrics HTTP/1.1\r\n\r\n").wants_metrics);
  EXPECT_EQ(route("HEAD /metrics HTTP/1.1\r\n\r\n").code, 200);
  EXPECT_EQ(route("GET / HTTP/1.1\r\n\r\n").code, 404);
  EXPECT_EQ(route("POST /metrics HTTP/1.1\r\n\r\n").code, 405);
  EXPECT_EQ(route("nonsense\r\n\r\n").code, 400);
  auto reply = http_response(200, "OK", content_type, "abc");
  EXPECT_EQ(reply, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                   "Content-Length: 3\r\nConnection: close\r\n\r\nabc");
}

nlohmann::json node_status() {
  return nlohmann::json::parse(R"({
    "executors": {"total": 3, "busy": 1, "idle": 1},
    "store": {"objects": 5, "bytes_used": 100, "capacity": 4096},
    "sessions": {"in_flight": 2, "ok": 10, "failed": 1},
    "invocations": {"started": 31, "retries": 2, "returned": 0, "batched": 4, "queued": 6, "running": 1},
    "cluster": {"forwarded": 7, "worked_for_others": 8, "peers": 2, "detached": true}})");
}

TEST(Render, NodeExportsItsStatusAndWhatItRecorded) {
  node_metrics m;
  m.failures = 3;
  m.hop.record(5us);
  auto text = render_node(node_status(), m, {11, 12});
  auto p = testing::parse_prometheus(text);
  ASSERT_TRUE(p.ok()) << p.error().to_string() << "\n" << text;
  EXPECT_EQ(p->value("trail_invocations_started_total"), 31);
  EXPECT_EQ(p->value("trail_invocation_failures_total"), 3);
  EXPECT_EQ(p->value("trail_invocation_retries_total"), 2);
  EXPECT_EQ(p->value("trail_queue_depth"), 6);
  EXPECT_EQ(p->value("trail_store_bytes_used"), 100);
  EXPECT_EQ(p->value("trail_store_capacity_bytes"), 4096);
  EXPECT_EQ(p->value("trail_store_objects"), 5);
  EXPECT_EQ(p->value("trail_executors", {{"state", "busy"}}), 1);
  EXPECT_EQ(p->value("trail_executors", {{"state", "idle"}}), 1);
  EXPECT_EQ(p->value("trail_executors", {{"state", "other"}}), 1);
  EXPECT_EQ(p->value("trail_sessions_total", {{"outcome", "ok"}}), 10);
  EXPECT_EQ(p->value("trail_sessions_total", {{"outcome", "failed"}}), 1);
  EXPECT_EQ(p->value("trail_forwarded_total"), 7);
  EXPECT_EQ(p->value("trail_worked_for_others_total"), 8);
  EXPECT_EQ(p->value("trail_node_detached"), 1);
  EXPECT_EQ(p->value("trail_transfer_bytes_total", {{"direction", "in"}}), 11);
  EXPECT_EQ(p->value("trail_transfer_bytes_total", {{"direction", "out"}}), 12);
  EXPECT_EQ(p->value("trail_hop_latency_seconds_count"), 1);
  EXPECT_EQ(p->value("trail_session_duration_seconds_count"), 0);
  for (auto& [name, f] : p->families) EXPECT_TRUE(name.starts_with("trail_")) << name;
}

TEST(Render, AFieldTheStatusLacksLeavesItsMetricOut) {
  auto status = node_status();
  status.erase("cluster");  // standalone: nothing forwarded
  status["invocations"].erase("queued");
  auto p = testing::parse_prometheus(render_node(status, {}, {}));
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_FALSE(p->value("trail_queue_depth"));
  EXPECT_EQ(p->value("trail_forwarded_total"), 0);
  EXPECT_FALSE(p->value("trail_node_detached"));  // (a cluster node's only)
}

TEST(Render, CoordinatorExportsNodesAndShards) {
  auto status = nlohmann::json::parse(R"({
    "coordinator": {"shards": 2},
    "nodes": [{"number": 1, "name": "n1", "free_executors": 2}, {"number": 2, "name": "n\"2", "free_executors": 0}],
    "shards": [
      {"shard": 0, "sessions": {"in_flight": 3, "waiting_for_a_node": 1, "ok": 5, "failed": 1, "restarted_elsewhere": 2, "placed": 9},
       "forwarded": {"placed": 4}},
      {"shard": 1, "sessions": {"in_flight": 0, "waiting_for_a_node": 0, "ok": 0, "failed": 0, "restarted_elsewhere": 0, "placed": 0},
       "forwarded": {"placed": 0}}]})");
  auto text = render_coordinator(status);
  auto p = testing::parse_prometheus(text);
  ASSERT_TRUE(p.ok()) << p.error().to_string() << "\n" << text;
  EXPECT_EQ(p->value("trail_nodes_live"), 2);
  EXPECT_EQ(p->value("trail_node_free_executors", {{"node", "n\"2"}}), 0);
  EXPECT_EQ(p->value("trail_coordinator_shards"), 2);
  EXPECT_EQ(p->value("trail_shard_sessions_in_flight", {{"shard", "0"}}), 3);
  EXPECT_EQ(p->value("trail_shard_sessions_waiting", {{"shard", "0"}}), 1);
  EXPECT_EQ(p->value("trail_shard_sessions_total", {{"shard", "0"}, {"outcome", "failed"}}), 1);
  EXPECT_EQ(p->value("trail_shard_sessions_restarted_total", {{"shard", "0"}}), 2);
  EXPECT_EQ(p->value("trail_shard_placements_total", {{"shard", "0"}, {"kind", "session"}}), 9);
  EXPECT_EQ(p->value("trail_shard_placements_total", {{"shard", "0"}, {"kind", "forwarded"}}), 4);
  EXPECT_FALSE(p->value("trail_coordinator_etcd_writes_kept_back")) << "no etcd, no etcd metrics";
  EXPECT_FALSE(p->value("trail_coordinator_paused")) << "no etcd, no lease to pause on";
  EXPECT_FALSE(p->value("trail_coordinator_holds_shards")) << "no etcd, no claim to hold";
}

TEST(Render, CoordinatorWithEtcdExportsHowItsWritesFare) {
  auto status = nlohmann::json::parse(R"({
    "coordinator": {"shards": 2, "etcd_writes": {"kept_back": 3, "refused_groups": 2, "last_refusal": "etcd is unavailable"}},
    "nodes": [], "shards": []})");
  auto text = render_coordinator(status);
  auto p = testing::parse_prometheus(text);
  ASSERT_TRUE(p.ok()) << p.error().to_string() << "\n" << text;
  EXPECT_EQ(p->value("trail_coordinator_etcd_writes_kept_back"), 3);
  EXPECT_EQ(p->value("trail_coordinator_etcd_refused_groups_total"), 2);
  EXPECT_EQ(p->value("trail_coordinator_paused"), 0);
  status["coordinator"]["paused"] = "its lease on the shards may have run out: etcd is unavailable";
  auto paused = testing::parse_prometheus(render_coordinator(status));
  ASSERT_TRUE(paused.ok()) << paused.error().to_string();
  EXPECT_EQ(paused->value("trail_coordinator_paused"), 1);
  EXPECT_FALSE(paused->value("trail_coordinator_holds_shards")) << "no claim in this status";
  status["coordinator"]["holds_shards_as"] = "127.0.0.1:7400 pid 811 lease 7";
  auto holds = testing::parse_prometheus(render_coordinator(status));
  ASSERT_TRUE(holds.ok()) << holds.error().to_string();
  EXPECT_EQ(holds->value("trail_coordinator_holds_shards"), 1);
}

TEST(Render, APartitionsHolderSaysWhichAndHowManyHaveNoHolder) {
  auto status = nlohmann::json::parse(R"({
    "coordinator": {"pid": 811, "shards": 2, "holds_shards_as": "127.0.0.1:7401 pid 811 lease 9",
                    "partition": {"index": 1, "of": 3, "each": [{"index": 0, "holder": "127.0.0.1:7400", "nodes": 2},
                                                                {"index": 1, "holder": "127.0.0.1:7401", "nodes": 1},
                                                                {"index": 2}]}},
    "nodes": [], "shards": []})");
  auto p = testing::parse_prometheus(render_coordinator(status));
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->value("trail_coordinator_partition"), 1);
  EXPECT_EQ(p->value("trail_coordinator_partitions_without_holder"), 1);
  status["coordinator"].erase("partition");
  auto one = testing::parse_prometheus(render_coordinator(status));
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  EXPECT_FALSE(one->value("trail_coordinator_partition")) << "one partition: nothing to say";
}

TEST(Render, AStandingByCoordinatorSaysItHoldsNoShards) {
  auto status = nlohmann::json::parse(R"({
    "coordinator": {"pid": 812, "standing_by": "standing by: 127.0.0.1:7400 pid 811 lease 7 holds the shards"},
    "nodes": []})");
  auto p = testing::parse_prometheus(render_coordinator(status));
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->value("trail_coordinator_holds_shards"), 0);
  EXPECT_EQ(p->value("trail_nodes_live"), 0);
  EXPECT_FALSE(p->value("trail_coordinator_shards")) << "a standby has no shards";
}

}  // namespace
}  // namespace trail::metrics
