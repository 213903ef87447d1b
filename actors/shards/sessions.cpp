// A shard's sessions: numbering, placement, results, restored sessions, the sweep (state.hpp).
#include "actors/durable/session_records.hpp"
#include "actors/keeper.hpp"
#include "actors/shards/state.hpp"

namespace trail::actors::shards {
namespace {

// Whether a new session can be numbered now: with etcd, only inside a block
// reserved there (else the next block is asked for).
status can_number(self_ptr self) {
  auto& st = self->state;
  if (!st.keeper || shard_session_base(st.index) + st.next + 2 < st.reserved) return {};
  reserve_ahead(self);
  return status::unavailable("no session ids are reserved in etcd right now (is etcd up?); try again");
}

}  // namespace

std::uint64_t next_id(self_ptr self) { return shard_session_base(self->state.index) + self->state.next++; }

// With etcd, session ids are numbered within blocks reserved there first, so
// a shard started again never hands out an id a client may still hold.
void reserve_ahead(self_ptr self) {
  auto& st = self->state;
  std::uint64_t at = shard_session_base(st.index) + st.next;
  if (!st.keeper || st.reserving || (st.reserved > at && st.reserved - at > 5000)) return;
  st.reserving = true;
  std::uint64_t upto = at + 20000;
  auto reserved = [=](const status& s) {
    auto& st = self->state;
    st.reserving = false;
    if (s.ok()) st.reserved = std::max(st.reserved, upto);
    else log_line(self, s.message());
    for (auto& go : std::exchange(st.awaiting_ids, {})) go(s);
  };
  self->request(st.keeper, caf::infinite, reserve_atom::value, st.index, upto)
      .then([=](bool) { reserved({}); }, [=](caf::error& e) { reserved(to_status(e, self->system())); });
}


std::vector<core::node_load> loads(self_ptr self, const app_entry& a) {
  std::vector<core::node_load> out;
  for (auto n : a.holders)
    if (auto it = self->state.nodes.find(n); it != self->state.nodes.end() && !self->state.cordoned.contains(n))
      out.push_back({n, it->second.free, it->second.backlog});
  return out;
}

// The holder of the app named `name` (a manifest's `node:`), if live.
std::optional<std::uint64_t> named_holder(self_ptr self, const app_entry& a, const std::string& name) {
  if (name.empty()) return std::nullopt;
  for (auto n : a.holders)
    if (auto it = self->state.nodes.find(n); it != self->state.nodes.end() && it->second.name == name) return n;
  return std::nullopt;
}

// A new session's home: where the app's entry function is pinned, if it is;
// else by the placement ranking (core::place_session). None while no live
// node holds the app.
std::optional<std::uint64_t> home_for(self_ptr self, const app_entry& a) {
  if (auto pinned = named_holder(self, a, a.entry_node)) return pinned;
  if (auto ranked = core::place_session(loads(self, a), {})) return *ranked;
  return std::nullopt;
}

// Keeps how session `id` ended for `trail result`, forgetting the oldest
// beyond the cache. With etcd, a kept session's result replaces its record
// there (and outlives this coordinator); the results forgotten go too.
void remember(self_ptr self, std::uint64_t id, outcome o, bool kept) {
  auto& st = self->state;
  if (kept && st.keeper) {
    std::string output = o.ok && o.output.size() <= durable::max_kept_output ? o.output : std::string();
    self->send(st.keeper, ended_atom::value, id, o.ok, std::move(output), std::uint64_t{o.output.size()},
               static_cast<std::uint16_t>(o.error.code()), o.error.message(), o.request, std::exchange(st.forgotten, {}));
  }
  if (o.request) st.requests[o.request] = id;
  st.results[id] = std::move(o);
  st.result_order.push_back(id);
  while (st.result_order.size() > st.opts.result_cache) {
    if (auto old = st.results.find(st.result_order.front()); old != st.results.end() && old->second.request)
      st.requests.erase(old->second.request);
    st.results.erase(st.result_order.front());
    if (st.keeper) st.forgotten.push_back(st.result_order.front());
    st.result_order.pop_front();
  }
}

void finish(self_ptr self, std::uint64_t id, outcome o) {
  auto& st = self->state;
  auto it = st.sessions.find(id);
  if (it == st.sessions.end()) return;
  for (auto& rp : it->second.waiters) {
    if (o.ok) rp.deliver(id, o.output);
    else rp.deliver(to_error(o.error));
  }
  if (it->second.node_session) st.attempts.erase(it->second.node_session);
  o.request = it->second.request;
  if (o.request) o.app = it->second.app;  // (only to check a request sent again)
  bool kept = it->second.kept;
  st.sessions.erase(it);
  (o.ok ? st.ok : st.failed)++;
  remember(self, id, std::move(o), kept);
}

void send_run(self_ptr self, session_rec& rec, std::uint32_t timeout_ms) {
  self->send(self->state.wire, peer_out{rec.home, schema::run_session{rec.node_session, rec.app, rec.version, rec.args, timeout_ms}});
}

// Starts (or restarts) a session's attempt on a home node, or lets it wait.
void place(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto& rec = st.sessions.at(id);
  auto a = st.apps.find(rec.app);
  if (a == st.apps.end()) return finish(self, id, {false, {}, status::not_found("no app \"" + rec.app + "\" is deployed")});
  auto home = home_for(self, a->second);
  if (!home) {  // nobody holds the app (yet): wait
    rec.node_session = 0;
    rec.home = 0;
    rec.asks.reset();
    return;
  }
  rec.version = a->second.version;
  rec.home = *home;
  rec.node_session = rec.attempt == 0 ? id : next_id(self);
  st.attempts[rec.node_session] = id;
  auto& node = st.nodes.at(*home);
  placed_on(node);
  ++st.placed;
  rec.asks.emplace(clock::now(), rec.timeout_ms);
  send_run(self, rec, rec.timeout_ms);
}

// Sessions of `number` start again there after its wire broke: a run frame
// may have been lost with it (the node ignores runs of sessions it has, and
// answers those it finished with how they ended).
void resend_runs(self_ptr self, std::uint64_t number) {
  auto& st = self->state;
  if (!st.nodes.contains(number)) return;  // gone: its sessions were placed again
  std::size_t n = 0;
  for (auto& [id, rec] : st.sessions)
    if (rec.home == number && rec.node_session) send_run(self, rec, rec.timeout_ms), ++n;
  if (n) log_line(self, "sent " + std::to_string(n) + " session(s) to #" + std::to_string(number) + " again after its wire broke");
}

void place_waiting(self_ptr self, const std::string& app) {
  std::vector<std::uint64_t> ready;
  for (auto& [id, rec] : self->state.sessions)
    if (rec.home == 0 && rec.app == app && !rec.accepting) ready.push_back(id);
  for (auto id : ready) place(self, id);
}

// How session `id` ended, or (while it runs) a promise of it.
caf::result<std::uint64_t, std::string> result_of(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  if (auto r = st.results.find(id); r != st.results.end()) {
    if (r->second.ok) return {id, r->second.output};
    return to_error(r->second.error);
  }
  auto s = st.sessions.find(id);
  if (s == st.sessions.end()) return to_error(status::not_found("no session " + std::to_string(id)));
  if (s->second.waiters.size() >= max_waiters)
    return to_error(status::unavailable(std::to_string(max_waiters) + " clients already wait for session " + std::to_string(id)));
  return s->second.waiters.emplace_back(self->make_response_promise<std::uint64_t, std::string>());
}

std::string direct(self_ptr self, const std::string& app) {
  auto& st = self->state;
  auto a = st.apps.find(app);
  if (a == st.apps.end() || !st.paused.empty()) return {};
  auto home = home_for(self, a->second);
  if (!home) return {};
  auto& node = st.nodes.at(*home);
  if (node.client.empty()) return {};
  placed_on(node);
  ++st.sent;
  return node.client;
}

caf::result<std::uint64_t, std::string> invoke(self_ptr self, const std::string& app, std::vector<std::string>& args,
                                               std::uint32_t timeout_ms, bool async, std::uint64_t request) {
  auto& st = self->state;
  if (auto known = request ? st.requests.find(request) : st.requests.end(); known != st.requests.end()) {
    // Sent again (its coordinator died before answering): the session it started.
    // Ids are 64 random bits per request: one that started another app's session is misuse, not a retry.
    std::string started;
    if (auto s = st.sessions.find(known->second); s != st.sessions.end()) started = s->second.app;
    else if (auto r = st.results.find(known->second); r != st.results.end()) started = r->second.app;
    if (!started.empty() && started != app)
      return to_error(status::invalid("request id " + std::to_string(request) + " already started a session of app \"" +
                                      started + "\": send a fresh id"));
    if (async) return {known->second, std::string()};
    return result_of(self, known->second);
  }
  if (!st.apps.contains(app)) return to_error(status::not_found("no app \"" + app + "\" is deployed"));
  if (status s = can_number(self); !s.ok()) {
    if (!st.reserving) return to_error(s);
    auto rp = self->make_response_promise();
    auto me = caf::actor_cast<caf::actor>(self);
    st.awaiting_ids.push_back([=, args = std::move(args)](const status& reserved) mutable {
      if (reserved.ok()) rp.delegate(me, invoke_atom::value, app, std::move(args), timeout_ms, async, request);
      else rp.deliver(to_error(status::unavailable("no session ids are reserved in etcd: " + reserved.message())));
    });
    return rp;
  }
  std::uint64_t id = next_id(self);
  reserve_ahead(self);
  auto& rec = st.sessions[id];
  rec.app = app;
  rec.args = std::move(args);
  rec.timeout_ms = timeout_ms;
  if (request) rec.request = request, st.requests[request] = id;
  auto wait = timeout_ms > 0 ? std::min<std::chrono::milliseconds>(st.opts.placement_wait, std::chrono::milliseconds(timeout_ms))
                             : st.opts.placement_wait;
  rec.wait_until = clock::now() + wait;
  std::optional<caf::response_promise> rp;
  if (!async) rp = rec.waiters.emplace_back(self->make_response_promise<std::uint64_t, std::string>());
  if (!st.keeper) {
    place(self, id);
    if (async) return {id, std::string()};
    return *rp;
  }
  // Kept in etcd before it starts and before its id is answered: an
  // accepted session outlives the coordinator (restored, then placed again).
  rec.accepting = true;
  if (async) rp = self->make_response_promise<std::uint64_t, std::string>();
  self->request(st.keeper, caf::infinite, accept_atom::value, id, app, rec.args, timeout_ms, request)
      .then(
          [=](bool) mutable {
            auto it = self->state.sessions.find(id);
            if (it == self->state.sessions.end()) {  // cancelled meanwhile: nothing to start again later
              self->send(self->state.keeper, drop_atom::value, id);
              if (async) rp->deliver(to_error(status::cancelled("session " + std::to_string(id) + " was cancelled")));
              return;
            }
            it->second.accepting = false;
            it->second.kept = true;
            if (async) rp->deliver(id, std::string());
            place(self, id);
          },
          [=](caf::error& e) mutable {
            auto why = to_status(e, self->system());
            // Paused meanwhile: the client asks the coordinator that holds the
            // shards now, with the same request id (which etcd may have kept).
            if (why.code() == errc::unavailable && !self->state.paused.empty())
              why = coordinator_paused(self->state.paused);
            if (auto it = self->state.sessions.find(id); it != self->state.sessions.end() && request) {
              it->second.request = 0;  // never accepted: the same request sent again may start it
              self->state.requests.erase(request);
            }
            finish(self, id, {false, {}, why});  // (answers a synchronous invocation)
            if (async) rp->deliver(to_error(why));
          });
  return *rp;
}

// A session etcd kept for a coordinator that died: it waits for a node that
// holds its app (they rejoin and get their apps again), then starts again
// from its arguments under a new attempt.
void restore_session(self_ptr self, std::uint64_t id, const std::string& app, std::vector<std::string> args,
                     std::uint32_t timeout_ms, std::uint64_t request) {
  auto& st = self->state;
  if (st.sessions.contains(id)) return;
  auto& rec = st.sessions[id];
  rec.app = app;
  rec.args = std::move(args);
  rec.timeout_ms = timeout_ms;
  if (request) rec.request = request, st.requests[request] = id;
  rec.attempt = 1;
  rec.kept = true;
  rec.wait_until = clock::now() + std::max<std::chrono::milliseconds>(st.opts.placement_wait, std::chrono::seconds(60));
  if (st.apps.contains(app)) place(self, id);
}

void on_ended(self_ptr self, std::uint64_t number, std::uint64_t node_session, bool ok, std::string& output,
              std::uint8_t code, std::string& error) {
  auto& st = self->state;
  auto a = st.attempts.find(node_session);
  if (a == st.attempts.end()) return;  // an attempt that was replaced
  auto it = st.sessions.find(a->second);
  if (it == st.sessions.end() || it->second.home != number) return;
  finish(self, a->second, ok ? outcome{true, std::move(output), {}} : outcome{false, {}, status(static_cast<errc>(code), error)});
}

// Fails sessions that waited too long for a node; asks their homes again
// about placed ones that have not ended (core::session_asks), and gives up on
// those whose home stays silent long past their deadline.
void sweep(self_ptr self) {
  auto now = clock::now();
  std::vector<std::pair<std::uint64_t, status>> expired;
  for (auto& [id, rec] : self->state.sessions) {
    if (rec.accepting) continue;
    if (rec.home == 0) {
      if (!self->state.paused.empty()) {
        // Its nodes are leaving for the coordinator that holds the shards
        // now, which runs the session again from etcd: its clients ask that
        // one (with their request id, or the session's), and it waits here.
        for (auto& rp : rec.waiters) rp.deliver(to_error(coordinator_paused(self->state.paused)));
        rec.waiters.clear();
        continue;
      }
      if (now >= rec.wait_until)
        expired.emplace_back(id, status::unavailable("no node can run app \"" + rec.app + "\": none joined or none holds it yet"));
      continue;
    }
    if (!rec.asks) continue;
    auto step = rec.asks->at(now);
    if (step.what == core::session_asks::verdict::ask) send_run(self, rec, step.timeout_ms);
    if (step.what == core::session_asks::verdict::give_up) {
      auto n = self->state.nodes.find(rec.home);
      auto node = n == self->state.nodes.end() ? "#" + std::to_string(rec.home) : n->second.name;
      log_line(self, "session " + std::to_string(id) + ": " + node + " has not said how it ended long after its deadline");
      expired.emplace_back(id, status::unavailable("session " + std::to_string(id) + " timed out: its node " + node +
                                                   " stopped answering for it"));
    }
  }
  for (auto& [id, why] : expired) finish(self, id, {false, {}, std::move(why)});
  self->delayed_send(self, std::chrono::milliseconds(100), sweep_atom::value);
}

}  // namespace trail::actors::shards
