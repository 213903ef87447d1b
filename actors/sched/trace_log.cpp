#include "actors/sched/trace_log.hpp"

#include <algorithm>
#include <chrono>

namespace trail::actors::sched {

using nlohmann::json;

wall_us wall_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

trace_log::trace_log(std::string node, trace_limits limits) : node_(std::move(node)), limits_(limits) {}

trace_log::session_rec& trace_log::record(std::uint64_t session) {
  auto [it, fresh] = sessions_.try_emplace(session);
  if (!fresh) return it->second;
  order_.push_back(session);
  while (order_.size() > limits_.max_sessions) {
    auto old = sessions_.find(order_.front());
    if (old != sessions_.end()) {
      for (auto& a : old->second.attempts) running_.erase(a.invocation);
      sessions_.erase(old);
    }
    order_.pop_front();
  }
  return sessions_[session];  // (a rehash may have moved it)
}

void trace_log::session_started(std::uint64_t session, const std::string& app, wall_us at) {
  auto& s = record(session);
  s.home = true;
  s.app = app;
  s.started = at;
}

void trace_log::session_ended(std::uint64_t session, bool ok, const std::string& error, wall_us at) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  it->second.state = ok ? "ok" : "failed";
  it->second.error = error;
  it->second.ended = at;
}

void trace_log::add_object(attempt_rec& a, const core::object_meta& o, bool output) {
  auto& into = output ? a.outputs : a.inputs;
  if (a.inputs.size() + a.outputs.size() >= limits_.max_objects) {
    ++a.objects_dropped;
    return;
  }
  into.push_back({o.bucket, o.key, o.size});
}

void trace_log::attempt_started(std::uint64_t session, std::uint64_t invocation, const std::string& function,
                                std::uint32_t attempt, int executor, const std::vector<core::object_meta>& inputs,
                                wall_us queued, wall_us started) {
  auto& s = record(session);
  if (s.attempts.size() >= limits_.max_attempts) {
    ++s.attempts_dropped;
    return;
  }
  attempt_rec a;
  a.invocation = invocation;
  a.function = function;
  a.attempt = attempt;
  a.executor = executor;
  a.queued = queued;
  a.started = started;
  for (auto& o : inputs) add_object(a, o, false);
  s.attempts.push_back(std::move(a));
  running_[invocation] = session;
}

trace_log::attempt_rec* trace_log::find_attempt(std::uint64_t invocation) {
  auto r = running_.find(invocation);
  if (r == running_.end()) return nullptr;
  auto s = sessions_.find(r->second);
  if (s == sessions_.end()) return nullptr;
  auto& v = s->second.attempts;
  // The newest attempts are the likely ones.
  for (auto it = v.rbegin(); it != v.rend(); ++it)
    if (it->invocation == invocation) return &*it;
  return nullptr;
}

void trace_log::attempt_wrote(std::uint64_t invocation, const core::object_meta& o) {
  if (auto* a = find_attempt(invocation)) add_object(*a, o, true);
}

void trace_log::attempt_ended(std::uint64_t invocation, const std::string& outcome, wall_us at) {
  if (auto* a = find_attempt(invocation)) {
    a->outcome = outcome;
    a->ended = at;
  }
  running_.erase(invocation);
}

void trace_log::attempt_forwarded(std::uint64_t invocation, const std::string& to) {
  if (auto* a = find_attempt(invocation)) {
    a->outcome = "forwarded";
    a->forwarded_to = to;
  }
  running_.erase(invocation);
}

json trace_log::sessions(const session_filter& f) const {
  json out = json::array();
  for (auto it = order_.rbegin(); it != order_.rend() && out.size() < f.limit; ++it) {
    auto s = sessions_.find(*it);
    if (s == sessions_.end() || !s->second.home) continue;
    const session_rec& r = s->second;
    if (!f.app.empty() && r.app != f.app) continue;
    if (!f.state.empty() && r.state != f.state) continue;
    json j{{"id", *it}, {"app", r.app}, {"state", r.state}, {"node", node_},
           {"started_ms", r.started / 1000}, {"ended_ms", r.ended / 1000}};
    if (r.state == "failed") j["error"] = r.error;
    out.push_back(std::move(j));
  }
  return out;
}

namespace {

json objects_json(const auto& v) {
  json out = json::array();
  for (auto& o : v) out.push_back({{"bucket", o.bucket}, {"key", o.key}, {"size", o.size}});
  return out;
}

}  // namespace

std::optional<json> trace_log::part(std::uint64_t session) const {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return std::nullopt;
  const session_rec& r = it->second;
  json j{{"session", session}, {"node", node_}, {"home", r.home}};
  if (r.home)
    j.update({{"app", r.app}, {"state", r.state}, {"error", r.error}, {"started_us", r.started},
              {"ended_us", r.ended}});
  json attempts = json::array();
  for (auto& a : r.attempts) {
    json x{{"function", a.function}, {"invocation", a.invocation}, {"attempt", a.attempt}, {"node", node_},
           {"executor", a.executor}, {"queued_us", a.queued}, {"started_us", a.started}, {"ended_us", a.ended},
           {"outcome", a.outcome}, {"inputs", objects_json(a.inputs)}, {"outputs", objects_json(a.outputs)}};
    if (!a.forwarded_to.empty()) x["forwarded_to"] = a.forwarded_to;
    if (a.objects_dropped) x["objects_not_kept"] = a.objects_dropped;
    attempts.push_back(std::move(x));
  }
  j["attempts"] = std::move(attempts);
  if (r.attempts_dropped) j["attempts_not_kept"] = r.attempts_dropped;
  return j;
}

// -- merging the parts of several nodes --------------------------------------------

namespace {

struct merged {
  const json* home = nullptr;
  std::vector<json> attempts;  // absolute times
  wall_us start = 0;
};

std::optional<merged> gather(std::uint64_t session, const std::vector<json>& parts) {
  merged m;
  bool any = false;
  for (auto& p : parts) {
    if (!p.is_object() || p.value("session", std::uint64_t{0}) != session) continue;
    any = true;
    // A session restarted on another node has two homes: the later one speaks for it.
    if (p.value("home", false) && (!m.home || p.value("started_us", wall_us{0}) > m.home->value("started_us", wall_us{0})))
      m.home = &p;
  }
  if (!any) return std::nullopt;
  // Attempts sent to another node are recorded there too; keep the home's
  // "forwarded" record only where the node that ran it had nothing to say.
  std::vector<const json*> ran;
  for (auto& p : parts)
    if (p.is_object() && p.value("session", std::uint64_t{0}) == session && p.contains("attempts"))
      for (auto& a : p["attempts"]) ran.push_back(&a);
  for (auto* a : ran) {
    if (a->value("outcome", "") == "forwarded") {
      auto fn = a->value("function", "");
      bool elsewhere = std::any_of(ran.begin(), ran.end(), [&](const json* b) {
        return b->value("outcome", "") != "forwarded" && b->value("function", "") == fn &&
               b->value("node", "") != a->value("node", "");
      });
      if (elsewhere) continue;
    }
    m.attempts.push_back(*a);
  }
  std::stable_sort(m.attempts.begin(), m.attempts.end(), [](const json& a, const json& b) {
    auto key = [](const json& x) { return x.value("started_us", wall_us{0}) ? x.value("started_us", wall_us{0}) : x.value("queued_us", wall_us{0}); };
    return key(a) < key(b);
  });
  if (m.home) m.start = m.home->value("started_us", wall_us{0});
  for (auto& a : m.attempts) {
    auto q = a.value("queued_us", wall_us{0});
    if (q && (!m.start || q < m.start)) m.start = q;
  }
  return m;
}

wall_us rel(const json& a, const char* field, wall_us start) {
  auto v = a.value(field, wall_us{0});
  return v ? v - start : 0;
}

std::string attempt_state(const json& a) {
  auto o = a.value("outcome", "");
  if (o == "running" || o == "ok" || o == "forwarded") return o;
  return "failed";
}

}  // namespace

std::optional<json> merge_traces(std::uint64_t session, const std::vector<json>& parts) {
  auto m = gather(session, parts);
  if (!m) return std::nullopt;
  json events = json::array();
  for (auto& a : m->attempts) {
    json e = a;
    for (auto* f : {"queued_us", "started_us", "ended_us"}) e[f] = rel(a, f, m->start);
    events.push_back(std::move(e));
  }
  json out{{"session", session}, {"started_ms", m->start / 1000}, {"events", std::move(events)}};
  out["app"] = m->home ? m->home->value("app", "") : std::string();
  out["node"] = m->home ? m->home->value("node", "") : std::string();
  return out;
}

std::optional<json> merge_session(std::uint64_t session, const std::vector<json>& parts) {
  auto m = gather(session, parts);
  if (!m) return std::nullopt;
  json out{{"id", session}, {"started_ms", m->start / 1000}};
  if (m->home) {
    out.update({{"app", m->home->value("app", "")}, {"state", m->home->value("state", "")},
                {"node", m->home->value("node", "")}, {"ended_ms", m->home->value("ended_us", wall_us{0}) / 1000},
                {"error", m->home->value("error", "")}});
  } else {
    out.update({{"app", ""}, {"state", "unknown"}, {"node", ""}, {"ended_ms", 0}, {"error", ""}});
  }
  json attempts = json::array();
  for (auto& a : m->attempts) {
    json x{{"function", a.value("function", "")}, {"invocation", a.value("invocation", std::uint64_t{0})},
           {"attempt", a.value("attempt", 0)}, {"node", a.value("node", "")}, {"executor", a.value("executor", -1)},
           {"state", attempt_state(a)}, {"queued_us", rel(a, "queued_us", m->start)},
           {"started_us", rel(a, "started_us", m->start)}, {"ended_us", rel(a, "ended_us", m->start)}};
    if (attempt_state(a) == "failed") x["error"] = a.value("outcome", "");
    if (a.contains("forwarded_to")) x["forwarded_to"] = a["forwarded_to"];
    attempts.push_back(std::move(x));
  }
  out["attempts"] = std::move(attempts);
  out["waiting"] = m->home && m->home->contains("waiting") ? (*m->home)["waiting"] : json::array();
  return out;
}

}  // namespace trail::actors::sched
