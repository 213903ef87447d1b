#include "actors/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

#include <trail/check.hpp>

namespace trail::metrics {

// -- names and values -------------------------------------------------------------

namespace {

bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool digit(char c) { return c >= '0' && c <= '9'; }

const char* type_name(metric_type t) {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

// "0.000001" ... "16.777216": a bucket bound in seconds, exact.
std::string seconds_of_us(std::uint64_t us) {
  std::string frac = std::to_string(us % 1000000);
  frac.insert(0, 6 - frac.size(), '0');
  while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
  return std::to_string(us / 1000000) + "." + frac;
}

}  // namespace

bool valid_metric_name(std::string_view name) {
  if (name.empty() || !(alpha(name[0]) || name[0] == ':')) return false;
  for (char c : name)
    if (!alpha(c) && !digit(c) && c != ':') return false;
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || !alpha(name[0]) || name.starts_with("__")) return false;
  for (char c : name)
    if (!alpha(c) && !digit(c)) return false;
  return true;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::trunc(v) && std::fabs(v) < 1e18) return std::to_string(static_cast<std::int64_t>(v));
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, r.ptr);
}

// -- exposition ---------------------------------------------------------------------

void exposition::family(std::string_view name, std::string_view help, metric_type type) {
  TRAIL_REQUIRE(valid_metric_name(name), name);
  bool fresh = families_.emplace(std::string(name), type).second;
  TRAIL_REQUIRE(fresh, "metric family given twice:", name);
  out_.append("# HELP ").append(name).append(" ").append(escape_help(help)).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type_name(type)).append("\n");
}

void exposition::labels(std::initializer_list<label> ls, std::string_view extra_name, std::string_view extra_value) {
  if (ls.size() == 0 && extra_name.empty()) return;
  out_ += '{';
  bool first = true;
  auto one = [&](std::string_view n, std::string_view v) {
    TRAIL_REQUIRE(valid_label_name(n), n);
    if (!first) out_ += ',';
    first = false;
    out_.append(n).append("=\"").append(escape_label_value(v)).append("\"");
  };
  for (auto& l : ls) one(l.name, l.value);
  if (!extra_name.empty()) one(extra_name, extra_value);
  out_ += '}';
}

void exposition::sample(std::string_view name, std::initializer_list<label> ls, double value) {
  TRAIL_REQUIRE(valid_metric_name(name), name);
  out_.append(name);
  labels(ls);
  out_.append(" ").append(format_value(value)).append("\n");
}

void exposition::histogram(std::string_view name, std::string_view help, const metrics::histogram& h) {
  family(name, help, metric_type::histogram);
  std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (int k = 0; k <= metrics::histogram::finite_buckets; ++k) {
    cumulative += h.in_bucket(k);
    out_.append(bucket);
    labels({}, "le", k < metrics::histogram::finite_buckets ? seconds_of_us(metrics::histogram::bound_us(k)) : "+Inf");
    out_.append(" ").append(std::to_string(cumulative)).append("\n");
  }
  sample(std::string(name) + "_sum", static_cast<double>(h.sum_ns()) / 1e9);
  sample(std::string(name) + "_count", static_cast<double>(h.count()));
}

void exposition::counter(std::string_view name, std::string_view help, double value) {
  family(name, help, metric_type::counter);
  sample(name, value);
}

void exposition::gauge(std::string_view name, std::string_view help, double value) {
  family(name, help, metric_type::gauge);
  sample(name, value);
}

// -- HTTP ---------------------------------------------------------------------------

http_request parse_http_request(std::string_view buffered) {
  http_request r;
  auto end = buffered.find("\r\n\r\n");
  if (end == std::string_view::npos) end = buffered.find("\n\n");  // (lenient: bare newlines)
  auto line_end = buffered.find('\n');
  if (line_end == std::string_view::npos) return r;  // not even the request line yet
  std::string_view line = buffered.substr(0, line_end);
  if (line.ends_with('\r')) line.remove_suffix(1);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.") || sp1 == 0) {
    r.st = http_request::state::bad;
    return r;
  }
  if (end == std::string_view::npos) return r;  // the headers are still coming
  r.method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  r.path = target.substr(0, target.find('?'));
  r.st = r.path.empty() ? http_request::state::bad : http_request::state::complete;
  return r;
}

std::string http_response(int code, std::string_view reason, std::string_view type, std::string_view body,
                          bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
  out.append("Content-Type: ").append(type).append("\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append("Connection: close\r\n\r\n");
  if (!head_only) out.append(body);
  return out;
}

route route_of(const http_request& r) {
  if (r.st != http_request::state::complete) return {400, false};
  if (r.method != "GET" && r.method != "HEAD") return {405, false};
  if (r.path != "/metrics") return {404, false};
  return {200, true};
}

// -- node and coordinator -------------------------------------------------------------

namespace {

using json = nlohmann::json;

// The number at `path` of `j`, if there is one.
std::optional<double> number_at(const json& j, const char* path) {
  json::json_pointer p(path);
  if (!j.contains(p) || !j.at(p).is_number()) return std::nullopt;
  return j.at(p).get<double>();
}

void counter_from(exposition& x, const json& status, const char* name, const char* help, const char* path) {
  if (auto v = number_at(status, path)) x.counter(name, help, *v);
}

void gauge_from(exposition& x, const json& status, const char* name, const char* help, const char* path) {
  if (auto v = number_at(status, path)) x.gauge(name, help, *v);
}

void node_invocations(exposition& x, const json& st, const node_metrics& m) {
  counter_from(x, st, "trail_invocations_started_total", "Attempts dispatched to an executor of this node.",
               "/invocations/started");
  x.counter("trail_invocation_failures_total",
            "Attempts run on this node that ended failed (an error, a crash, a timeout, a lost executor).",
            static_cast<double>(m.failures));
  counter_from(x, st, "trail_invocation_retries_total", "Failed attempts of sessions homed here that run again.",
               "/invocations/retries");
  counter_from(x, st, "trail_invocations_returned_total",
               "Attempts handed back unstarted by a dying executor (they run again; not failures).",
               "/invocations/returned");
  counter_from(x, st, "trail_invocations_batched_total",
               "Attempts queued in a busy executor's ring, to run there without a round trip through the node.",
               "/invocations/batched");
  gauge_from(x, st, "trail_queue_depth", "Tasks queued on this node, waiting for an executor.", "/invocations/queued");
  gauge_from(x, st, "trail_invocations_running", "Attempts running now (on this node's executors or, for sessions "
             "homed here, elsewhere).", "/invocations/running");
}

void node_sessions(exposition& x, const json& st) {
  gauge_from(x, st, "trail_sessions_in_flight", "Sessions homed on this node that have not ended.", "/sessions/in_flight");
  auto ok = number_at(st, "/sessions/ok"), failed = number_at(st, "/sessions/failed");
  if (!ok || !failed) return;
  x.family("trail_sessions_total", "Sessions homed on this node that ended, by outcome.", metric_type::counter);
  x.sample("trail_sessions_total", {{"outcome", "ok"}}, *ok);
  x.sample("trail_sessions_total", {{"outcome", "failed"}}, *failed);
}

void node_resources(exposition& x, const json& st) {
  gauge_from(x, st, "trail_store_bytes_used", "Bytes allocated in the node's shared-memory object store.",
             "/store/bytes_used");
  gauge_from(x, st, "trail_store_capacity_bytes", "Size of the node's shared-memory object store.", "/store/capacity");
  gauge_from(x, st, "trail_store_objects", "Objects in the node's store.", "/store/objects");
  auto total = number_at(st, "/executors/total"), busy = number_at(st, "/executors/busy"),
       idle = number_at(st, "/executors/idle");
  if (!total || !busy || !idle) return;
  x.family("trail_executors", "Executor processes by state (other: starting, or dead and being replaced).",
           metric_type::gauge);
  x.sample("trail_executors", {{"state", "busy"}}, *busy);
  x.sample("trail_executors", {{"state", "idle"}}, *idle);
  x.sample("trail_executors", {{"state", "other"}}, std::max(0.0, *total - *busy - *idle));
}

void node_cluster(exposition& x, const json& st, const transfer_bytes& t) {
  // (Standalone, the status has no cluster part: nothing was forwarded.)
  x.counter("trail_forwarded_total", "Attempts this node sent to other nodes to run.",
            number_at(st, "/cluster/forwarded").value_or(0));
  x.counter("trail_worked_for_others_total", "Attempts this node ran for sessions homed on other nodes.",
            number_at(st, "/cluster/worked_for_others").value_or(0));
  if (auto c = st.find("cluster"); c != st.end() && c->is_object())
    x.gauge("trail_node_detached", "1 while this node has lost its coordinator and serves only the synchronous "
            "invokes clients send it, until a coordinator answers.", c->value("detached", false) ? 1 : 0);
  x.family("trail_transfer_bytes_total", "Object bytes moved over the data path: in = pulled into this node's "
           "store, out = served to other nodes.", metric_type::counter);
  x.sample("trail_transfer_bytes_total", {{"direction", "in"}}, static_cast<double>(t.in));
  x.sample("trail_transfer_bytes_total", {{"direction", "out"}}, static_cast<double>(t.out));
}

}  // namespace

std::string render_node(const json& status, const node_metrics& m, const transfer_bytes& t) {
  exposition x;
  node_invocations(x, status, m);
  node_sessions(x, status);
  node_resources(x, status);
  node_cluster(x, status, t);
  x.histogram("trail_hop_latency_seconds",
              "From a task becoming runnable on this node (its trigger fired, its session was invoked, its retry's "
              "delay ended, forwarded work arrived) to its dispatch into an executor's ring.",
              m.hop);
  x.histogram("trail_session_duration_seconds", "Sessions homed on this node, from their start to their end.",
              m.session);
  return x.take();
}

namespace {

void shard_samples(exposition& x, const json& shards, const char* family, const char* path,
                   std::initializer_list<label> extra = {}) {
  for (auto& sh : shards) {
    auto v = number_at(sh, path);
    if (!v) continue;
    std::string index = std::to_string(sh.value("shard", 0));
    if (extra.size() == 0) x.sample(family, {{"shard", index}}, *v);
    else x.sample(family, {{"shard", index}, *extra.begin()}, *v);
  }
}

}  // namespace

std::string render_coordinator(const json& status) {
  exposition x;
  const json nodes = status.value("nodes", json::array());
  const json shards = status.value("shards", json::array());
  x.gauge("trail_nodes_live", "Nodes the coordinator counts as live members.", static_cast<double>(nodes.size()));
  x.family("trail_node_free_executors", "Free executors of each live node, as its last heartbeat said.",
           metric_type::gauge);
  for (auto& n : nodes)
    if (n.contains("free_executors") && n["free_executors"].is_number())
      x.sample("trail_node_free_executors", {{"node", n.value("name", std::string())}}, n["free_executors"].get<double>());
  gauge_from(x, status, "trail_coordinator_shards", "Shards of this coordinator.", "/coordinator/shards");
  gauge_from(x, status, "trail_coordinator_etcd_writes_kept_back",
             "Writes nobody waits for (ends, node listings) that etcd refused, going again until it takes them.",
             "/coordinator/etcd_writes/kept_back");
  counter_from(x, status, "trail_coordinator_etcd_refused_groups_total", "Groups of writes etcd did not take.",
               "/coordinator/etcd_writes/refused_groups");
  if (status.contains("coordinator") && status["coordinator"].contains("etcd_writes"))  // (with etcd)
    x.gauge("trail_coordinator_paused",
            "1 while this coordinator cannot renew its lease on the shards and may no longer hold them.",
            status["coordinator"].contains("paused") ? 1.0 : 0.0);
  if (status.contains("coordinator") &&
      (status["coordinator"].contains("holds_shards_as") || status["coordinator"].contains("standing_by")))
    x.gauge("trail_coordinator_holds_shards",
            "With etcd: 1 while this coordinator holds the shards, 0 while it stands by (a sum of 0 over the "
            "coordinators: nobody does).",
            status["coordinator"].contains("holds_shards_as") ? 1.0 : 0.0);
  if (status.contains("coordinator") && status["coordinator"].contains("partition")) {  // (several partitions)
    const auto& part = status["coordinator"]["partition"];
    x.gauge("trail_coordinator_partition", "With several partitions: the one this coordinator holds.",
            part.value("index", 0.0));
    double unheld = 0;
    for (auto& p : part.value("each", nlohmann::json::array()))
      if (!p.contains("holder")) ++unheld;
    x.gauge("trail_coordinator_partitions_without_holder",
            "With several partitions: those no coordinator holds now, as etcd last said (their apps' async "
            "invokes, deploys, puts and gets wait until a standby claims them).",
            unheld);
  }
  x.family("trail_shard_sessions_in_flight", "Sessions each shard follows that have not ended.", metric_type::gauge);
  shard_samples(x, shards, "trail_shard_sessions_in_flight", "/sessions/in_flight");
  x.family("trail_shard_sessions_waiting", "Sessions waiting for a node that can run their app.", metric_type::gauge);
  shard_samples(x, shards, "trail_shard_sessions_waiting", "/sessions/waiting_for_a_node");
  x.family("trail_shard_sessions_total", "Sessions each shard saw end, by outcome.", metric_type::counter);
  shard_samples(x, shards, "trail_shard_sessions_total", "/sessions/ok", {{"outcome", "ok"}});
  shard_samples(x, shards, "trail_shard_sessions_total", "/sessions/failed", {{"outcome", "failed"}});
  x.family("trail_shard_sessions_restarted_total", "Sessions started again on another node after their home was lost.",
           metric_type::counter);
  shard_samples(x, shards, "trail_shard_sessions_restarted_total", "/sessions/restarted_elsewhere");
  x.family("trail_shard_placements_total", "Placements each shard made: session = a session's run sent to its home "
           "node (first or again), forwarded = forwarded work sent to a node, client = a client sent to a node "
           "with a synchronous invoke (the node runs it as its own session).", metric_type::counter);
  shard_samples(x, shards, "trail_shard_placements_total", "/sessions/placed", {{"kind", "session"}});
  shard_samples(x, shards, "trail_shard_placements_total", "/sessions/clients_sent_to_nodes", {{"kind", "client"}});
  shard_samples(x, shards, "trail_shard_placements_total", "/forwarded/placed", {{"kind", "forwarded"}});
  return x.take();
}

}  // namespace trail::metrics
