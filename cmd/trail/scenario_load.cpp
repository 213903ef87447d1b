#include "scenario_load.hpp"

#include <algorithm>
#include <cmath>

namespace trail::cli::scenario {
namespace {

using ms = std::chrono::duration<double, std::milli>;

// The client library's own words for a broken or silent connection (as
// opposed to an error the server reported about the session).
bool transport_error(const status& s) {
  const std::string& m = s.message();
  return s.code() == errc::unavailable &&
         (m.starts_with("connection to the node lost") || m.starts_with("request timed out") ||
          m.starts_with("cannot connect to") || m.starts_with("no trail node at"));
}

std::string describe(const status& s) { return s.to_string(); }

constexpr std::chrono::milliseconds result_grace{10000};

}  // namespace

std::string_view to_string(outcome o) {
  switch (o) {
    case outcome::ok: return "ok";
    case outcome::failed: return "failed";
    case outcome::rejected: return "rejected";
    case outcome::unknown: return "unknown";
  }
  return "?";
}

load_run::load_run(int id, std::string address, load_spec spec, clock::time_point origin, std::uint64_t first_seq)
    : id_(id), address_(std::move(address)), spec_(std::move(spec)), origin_(origin), first_seq_(first_seq),
      total_(static_cast<std::size_t>(std::max(1.0, std::floor(spec_.rate * spec_.duration.count() / 1000.0)))) {}

load_run::~load_run() {
  cancelled_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void load_run::start() {
  t0_ = clock::now();
  workers_ = std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(std::max(1, spec_.clients)), total_));
  for (std::size_t i = 0; i < workers_; ++i) threads_.emplace_back([this, i] { work(static_cast<int>(i)); });
}

void load_run::wait() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool load_run::finished() const {
  std::lock_guard lock(mu_);
  return records_.size() == total_;
}

std::vector<request_record> load_run::history() const {
  std::lock_guard lock(mu_);
  auto out = records_;
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
  return out;
}

// Thread `client` runs requests client, client + n, client + 2n, ... each at
// its due time (t0 + index / rate), or at once when it is late.
void load_run::work(int client) {
  std::optional<trail::client> c;
  for (std::uint64_t i = static_cast<std::uint64_t>(client); i < total_; i += workers_) {
    auto due = t0_ + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(i / spec_.rate));
    std::this_thread::sleep_until(due);  // the open loop's clock, not a wait for an event
    request_record r;
    if (cancelled_) {
      r.seq = first_seq_ + i, r.load = id_, r.client = client, r.app = spec_.app;
      r.how = outcome::rejected, r.error = "not sent: the scenario ended first";
    } else {
      r = one(client, i, c);
      r.scheduled_ms = ms(due - origin_).count();
    }
    std::lock_guard lock(mu_);
    records_.push_back(std::move(r));
  }
}

request_record load_run::one(int client, std::uint64_t index, std::optional<trail::client>& c) {
  request_record r;
  r.seq = first_seq_ + index;
  r.load = id_;
  r.client = client;
  r.app = spec_.app;
  auto start = clock::now();
  // The session's own deadline is spec_.timeout (the server fails it then);
  // the client waits a little longer to hear that from the server.
  auto deadline = start + spec_.timeout + result_grace;
  r.started_ms = ms(start - origin_).count();
  auto end = [&](outcome how) {
    r.how = how;
    r.ended_ms = ms(clock::now() - origin_).count();
    return r;
  };
  auto left = [&] { return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()); };
  auto connect = [&]() -> status {
    if (c) return {};
    auto made = trail::client::connect(address_, std::min(left(), std::chrono::milliseconds(5000)));
    if (!made) return made.error();
    c.emplace(std::move(*made));
    return {};
  };
  if (status s = connect(); !s.ok()) return r.error = describe(s), end(outcome::rejected);
  auto inv = c->invoke(spec_.app, spec_.args, spec_.timeout, true);
  if (!inv) {
    if (transport_error(inv.error())) c.reset();
    return r.error = describe(inv.error()), end(outcome::rejected);
  }
  r.session = inv->session;
  r.accepted_ms = ms(clock::now() - origin_).count();
  while (left().count() > 0) {
    if (status s = connect(); !s.ok()) {
      r.error = describe(s);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a coordinator coming back: retry soon
      continue;
    }
    ++r.result_calls;
    auto res = c->result_of(r.session, std::max(left(), std::chrono::milliseconds(1)));
    if (res) return r.output = std::move(res->output), end(outcome::ok);
    r.error = describe(res.error());
    if (transport_error(res.error())) {
      c.reset();  // made again for the next try
      continue;
    }
    if (left().count() <= 100) break;  // the server gave up waiting with us: still running
    return end(outcome::failed);
  }
  return end(outcome::unknown);
}

}  // namespace trail::cli::scenario
