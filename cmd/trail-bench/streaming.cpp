// trail-bench streaming: deploys examples/streaming on a node, sends events
// open-loop at a fixed rate in batches through put, reads every result back
// with get and checks it exactly (streaming/driver.hpp does all that), then
// prints one JSON line: the window-close-to-result latency — the original
// benchmark's metric: result written (wall clock) minus window end (event
// time is wall-clock time) — beside the floor measured in the same run: the
// round trip of the stream's own batch puts (the ingestion every event pays).
// The design adds up to one batch (batch_ms) and one by_time period
// (trigger_ms) on top of it; both are printed with the result.
#include "streaming.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "driver.hpp"
#include "node_process.hpp"
#include "stats.hpp"

namespace trail::bench {
namespace {

std::string default_manifest() {
  auto bin = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  return (bin.parent_path() / "examples" / "streaming" / "streaming.yaml").string();
}

// The by_time period of the manifest's partials trigger, for the report.
std::int64_t trigger_ms(const std::string& manifest) {
  std::ifstream in(manifest);
  std::stringstream text;
  text << in.rdbuf();
  std::smatch m;
  std::string s = text.str();
  if (std::regex_search(s, m, std::regex(R"(type:\s*by_time,\s*window_ms:\s*(\d+))"))) return std::stoll(m[1]);
  return 0;
}

summary of_ms(const std::vector<double>& ms) {
  std::vector<double> us;
  for (double v : ms) us.push_back(v * 1000.0);
  return summarize(us);
}

int report(const streaming_options& s, const std::string& manifest, const streaming::stream_report& r) {
  for (const auto& m : r.mismatches) std::fprintf(stderr, "trail-bench streaming: mismatch: %s\n", m.c_str());
  nlohmann::json line{{"bench", "streaming"}, {"rate", s.rate}, {"for_s", s.seconds}, {"window_ms", s.window_ms},
                      {"batch_ms", s.batch_ms}, {"trigger_ms", trigger_ms(manifest)},
                      {"events", r.sent.sent.events}, {"views", r.sent.sent.views}, {"batches", r.sent.batches},
                      {"events_per_s", r.events_per_s}, {"max_behind_ms", r.max_behind_ms},
                      {"windows", r.sent.counts.size()}, {"windows_checked", r.windows_checked},
                      {"timed_windows", r.latency_ms.size()}, {"mismatches", r.mismatch_count},
                      {"wrong", r.wrong_count},
                      {"exact", r.exact()}};
  auto lat = of_ms(r.latency_ms);
  line["latency_ms_p50"] = lat.p50_us / 1000, line["latency_ms_p99"] = lat.p99_us / 1000;
  emit(line, lat, "put_rtt", "block", summarize(r.put_rtt_us));
  return r.exact() ? 0 : 1;
}

}  // namespace

CLI::App* add_streaming(CLI::App& app, streaming_options& s) {
  auto* c = app.add_subcommand("streaming", "the Yahoo streaming benchmark: events/s, window-close-to-result latency, "
                                            "every (campaign, window) count checked");
  c->add_option("--rate", s.rate, "events per second, sent open-loop")->check(CLI::PositiveNumber)->capture_default_str();
  c->add_option("--for", s.seconds, "seconds of events")->check(CLI::PositiveNumber)->capture_default_str();
  c->add_option("--window-ms", s.window_ms, "tumbling event-time window")->check(CLI::PositiveNumber)->capture_default_str();
  c->add_option("--batch-ms", s.batch_ms, "one put per batch of this much event time")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--connect", s.connect, "HOST:PORT of a running node (default: start one)");
  c->add_option("--manifest", s.manifest, "the streaming app's manifest")->default_str("../examples/streaming/streaming.yaml");
  c->add_flag("--json", s.json, "print JSON lines (the default and only format)");
  return c;
}

int run_streaming(const options& o, const streaming_options& s) {
  std::string manifest = s.manifest.empty() ? default_manifest() : s.manifest;
  std::unique_ptr<node_process> own;
  std::optional<client> remote;
  client* c = nullptr;
  if (s.connect.empty()) {
    auto n = node_process::start(o.node_path, "256M", o.executors);
    if (!n) return fail(n.error());
    own = std::move(*n), c = &own->cli();
  } else {
    auto r = client::connect(s.connect);
    if (!r) return fail(r.error());
    remote.emplace(std::move(*r)), c = &*remote;
  }
  // Results are kept until undeploy and written once per key: a stream on
  // top of an earlier one's results would read those back.
  if (auto apps = c->apps(); apps && std::find(apps->begin(), apps->end(), "streaming") != apps->end())
    return fail(status::invalid("app \"streaming\" is already deployed on the node; undeploy it first"));
  if (auto d = c->deploy(manifest); !d) return fail(d.error());
  streaming::stream_options so;
  so.rate = s.rate, so.duration_ms = static_cast<std::int64_t>(s.seconds * 1000);
  so.window_ms = s.window_ms, so.batch_ms = s.batch_ms;
  auto r = streaming::run_stream(*c, so);
  auto u = c->undeploy("streaming");
  if (!r) return fail(r.error());
  int code = report(s, manifest, *r);
  if (!u) return fail(u.error());
  return code;
}

}  // namespace trail::bench
