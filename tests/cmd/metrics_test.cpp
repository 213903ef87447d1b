// --metrics on a real `trail-node --standalone`: the exposition fetched over
// a real socket (and with curl) is valid Prometheus text, and its numbers
// move by what ran.
#include <nlohmann/json.hpp>

#include "../support/busy_port.hpp"
#include "../support/prometheus.hpp"
#include "node_fixture.hpp"

namespace trail::testing {
namespace {

const std::string apps_dir = TRAIL_TEST_APPS_DIR;

class metrics_test : public node_test {
 protected:
  void SetUp() override {
    start_node({"--metrics", "127.0.0.1:0"});
    auto at = startup_.find("trail-node: metrics on ");
    ASSERT_NE(at, std::string::npos) << "the node did not say where its metrics are: " << startup_;
    at += 23;
    metrics_ = startup_.substr(at, startup_.find('\n', at) - at);
  }

  // GET /metrics, checked strictly.
  prom_text scrape() {
    auto r = http_request(metrics_, "GET", "/metrics");
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (!r.ok()) return {};
    EXPECT_EQ(r->code, 200) << r->body;
    EXPECT_EQ(r->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    auto p = parse_prometheus(r->body);
    EXPECT_TRUE(p.ok()) << p.error().to_string() << "\n" << r->body;
    return p.ok() ? *p : prom_text{};
  }

  static double at(const prom_text& t, const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    auto v = t.value(name, labels);
    EXPECT_TRUE(v.has_value()) << name << " is missing";
    return v.value_or(-1);
  }

  std::string metrics_;
};

TEST_F(metrics_test, ScrapeIsValidPrometheusTextAndCountsWhatRan) {
  deploy("chain");
  auto before = scrape();
  for (const char* name : {"trail_invocations_started_total", "trail_invocation_failures_total",
                           "trail_invocation_retries_total", "trail_hop_latency_seconds",
                           "trail_session_duration_seconds", "trail_queue_depth", "trail_store_bytes_used",
                           "trail_store_capacity_bytes", "trail_store_objects", "trail_executors",
                           "trail_forwarded_total", "trail_worked_for_others_total", "trail_transfer_bytes_total",
                           "trail_sessions_total"}) {
    ASSERT_TRUE(before.families.contains(name)) << name;
    EXPECT_FALSE(before.families.at(name).help.empty()) << name;
  }
  EXPECT_EQ(before.families.at("trail_hop_latency_seconds").type, "histogram");
  EXPECT_EQ(at(before, "trail_executors", {{"state", "busy"}}) + at(before, "trail_executors", {{"state", "idle"}}) +
                at(before, "trail_executors", {{"state", "other"}}),
            2);
  EXPECT_EQ(at(before, "trail_store_capacity_bytes"), 32 << 20);

  constexpr int sessions = 10;  // of 3 functions each
  for (int i = 0; i < sessions; ++i) {
    auto r = client_->invoke("chain", {"hello"}, 30s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
  auto after = scrape();
  EXPECT_EQ(at(after, "trail_invocations_started_total") - at(before, "trail_invocations_started_total"), 3 * sessions);
  EXPECT_EQ(at(after, "trail_hop_latency_seconds_count") - at(before, "trail_hop_latency_seconds_count"), 3 * sessions);
  EXPECT_EQ(at(after, "trail_session_duration_seconds_count") - at(before, "trail_session_duration_seconds_count"),
            sessions);
  EXPECT_GT(at(after, "trail_session_duration_seconds_sum"), at(before, "trail_session_duration_seconds_sum"));
  EXPECT_EQ(at(after, "trail_sessions_total", {{"outcome", "ok"}}) - at(before, "trail_sessions_total", {{"outcome", "ok"}}),
            sessions);
  EXPECT_EQ(at(after, "trail_invocation_failures_total"), 0);
  EXPECT_EQ(at(after, "trail_transfer_bytes_total", {{"direction", "in"}}), 0) << "standalone: no data path";
}

TEST_F(metrics_test, FailuresAndRetriesAreCounted) {
  ASSERT_TRUE(client_->deploy(apps_dir + "/flaky/throwing.yaml").ok());
  auto before = scrape();
  auto r = client_->invoke("throwing", {}, 30s);
  ASSERT_FALSE(r.ok());
  auto after = scrape();
  // Three attempts (retries: 2), each failed; the session failed.
  EXPECT_EQ(at(after, "trail_invocation_failures_total") - at(before, "trail_invocation_failures_total"), 3);
  EXPECT_EQ(at(after, "trail_invocation_retries_total") - at(before, "trail_invocation_retries_total"), 2);
  EXPECT_EQ(at(after, "trail_sessions_total", {{"outcome", "failed"}}) -
                at(before, "trail_sessions_total", {{"outcome", "failed"}}),
            1);
}

TEST_F(metrics_test, OnlyGetOfMetricsIsServed) {
  auto other = http_request(metrics_, "GET", "/");
  ASSERT_TRUE(other.ok()) << other.error().to_string();
  EXPECT_EQ(other->code, 404);
  auto post = http_request(metrics_, "POST", "/metrics");
  ASSERT_TRUE(post.ok()) << post.error().to_string();
  EXPECT_EQ(post->code, 405);
  auto head = http_request(metrics_, "HEAD", "/metrics");
  ASSERT_TRUE(head.ok()) << head.error().to_string();
  EXPECT_EQ(head->code, 200);
  EXPECT_TRUE(head->body.empty());
  // The node still serves clients and scrapes after all that.
  scrape();
  EXPECT_TRUE(client_->status_json().ok());
}

// Reads a whole reply from `fd` (the server closes after it).
std::string read_to_end(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

int connect_to(const std::string& address) {
  auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  return fd;
}

TEST_F(metrics_test, ARequestInPiecesIsServedAndAnOversizedOneRefused) {
  int fd = connect_to(metrics_);
  for (std::string piece : {"GET /met", "rics HTTP/1.1\r\nHo", "st: x\r\n", "\r\n"}) {
    ASSERT_EQ(::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL), static_cast<ssize_t>(piece.size()));
    pollfd p{fd, POLLIN, 0};
    if (piece != "\r\n") {
      EXPECT_EQ(::poll(&p, 1, 50), 0) << "no reply before the head is whole";
    }
  }
  std::string reply = read_to_end(fd);
  ::close(fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 OK\r\n")) << reply;
  EXPECT_NE(reply.find("trail_invocations_started_total"), std::string::npos);

  fd = connect_to(metrics_);
  std::string huge = "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(16 << 10, 'x');
  ::send(fd, huge.data(), huge.size(), MSG_NOSIGNAL);
  reply = read_to_end(fd);
  ::close(fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 Bad Request\r\n")) << reply.substr(0, 200);
  scrape();  // still serving
}

// What a Prometheus server or an operator does: curl (scripts/deps installs it).
TEST_F(metrics_test, CurlGetsValidText) {
  deploy("chain");
  ASSERT_TRUE(client_->invoke("chain", {"x"}, 30s).ok());
  auto r = run_program("/usr/bin/curl", {"--silent", "--show-error", "--fail", "--max-time", "10",
                                         "http://" + metrics_ + "/metrics"});
  ASSERT_EQ(r.code, 0) << "curl: " << r.err << " (is curl installed? scripts/deps installs it)";
  auto p = parse_prometheus(r.out);
  ASSERT_TRUE(p.ok()) << p.error().to_string() << "\n" << r.out;
  EXPECT_GE(p->value("trail_invocations_started_total").value_or(0), 3);
  auto missing = run_program("/usr/bin/curl", {"--silent", "--fail", "--max-time", "10", "http://" + metrics_ + "/nope"});
  EXPECT_EQ(missing.code, 22) << "curl --fail exits 22 on an HTTP error (404 here)";
}

TEST(Metrics, ABusyPortIsAClearErrorAtStartUp) {
  busy_port taken;
  const std::string& busy = taken.address();
  auto r = run_program(TRAIL_NODE_PATH, {"--standalone", "--listen", "127.0.0.1:0", "--executors", "1", "--store-size",
                                         "8M", "--metrics", busy});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot serve metrics on " + busy), std::string::npos) << r.err;
  auto bad = run_program(TRAIL_NODE_PATH, {"--standalone", "--listen", "127.0.0.1:0", "--executors", "1",
                                           "--store-size", "8M", "--metrics", "nonsense"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("--metrics: invalid address 'nonsense'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace trail::testing
