// A coordinator shard; see coordinator.hpp.
//
// Sessions. An invocation gets a session id from this shard; its first
// attempt runs under that id on the home node the shard picks (capacity
// first: core::place_session). If the home is lost, the session starts again
// from its arguments under a new node-level id (a new attempt) on a live
// node; whatever the lost attempt left is ignored (reports of a dead node
// are rejected everywhere, and its session ids are never reused). The client
// sees one session id and exactly one outcome.
//
// Invocations that arrive while no node holds the app wait, bounded by
// `placement_wait` (or the invocation's own timeout), then fail "unavailable".
//
// Puts and gets (data in and out) are not carried here: the shard picks the
// node and the client is redirected there. A put into a new session starts
// that session on the node (expect_atom) before the client is told where to
// go; having no arguments to start again from, such a session fails when its
// home is lost. App-scoped objects live on the app's owner.
#include <filesystem>
#include <set>
#include <span>

#include <nlohmann/json.hpp>

#include "actors/cluster_types.hpp"
#include "actors/coordinator.hpp"
#include "actors/core/placement.hpp"
#include "actors/core/session_asks.hpp"
#include "actors/durable/session_records.hpp"
#include "actors/keeper.hpp"
#include "actors/registry.hpp"
#include "actors/types.hpp"

namespace trail::actors {
namespace {

using clock = std::chrono::steady_clock;
using sweep_atom = caf::atom_constant<caf::atom("tsweep")>;
using resend_atom = caf::atom_constant<caf::atom("tresend")>;  // u64 number: start its sessions again

// Clients waiting for one session's result, at most.
constexpr std::size_t max_waiters = 64;

struct node_view {
  std::string name;
  caf::actor scheduler, registry;
  std::uint32_t executors = 0;
  std::uint32_t free = 0;     // hint: last heartbeat, lowered as work is placed
  std::uint32_t backlog = 0;  // hint: work queued there at the last heartbeat, plus work placed since
  std::string client;         // its client wire: where clients' puts and gets go
};

void placed_on(node_view& n) {
  if (n.free > 0) --n.free;
  else ++n.backlog;
}

struct app_entry {
  std::uint32_t version = 0;
  std::string manifest;
  std::vector<std::string> names, bytes;
  std::set<std::string> buckets;     // its buckets' names
  std::set<std::uint64_t> holders;   // nodes that hold this version
  std::uint64_t owner = 0;           // node holding its app scope (app-scoped triggers, kept and put
                                     // objects); 0: none yet
  std::string entry_node;            // the node its entry function is pinned to (`node:`), if any
};

struct session_rec {
  std::string app;
  std::uint32_t version = 0;
  std::vector<std::string> args;
  std::uint32_t timeout_ms = 0;
  std::uint64_t request = 0;       // the client's id for the invocation that started it (0: none)
  bool put = false;                // started by a client's put on its home: it cannot start again elsewhere
  bool accepting = false;          // being written to etcd: placed once it is there
  bool kept = false;               // written to etcd: erased there when it ends
  std::uint64_t node_session = 0;  // id of the current attempt on its home; 0 while waiting
  std::uint64_t home = 0;
  std::uint32_t attempt = 0;
  clock::time_point wait_until{};  // while waiting for a node
  std::optional<core::session_asks> asks;  // when to ask its home again (placed only)
  std::vector<caf::response_promise> waiters;
};

struct outcome {
  bool ok = false;
  std::string output;
  status error;
  std::uint64_t request = 0;  // of the invocation that started the session (0: none)
  std::string app{};          // (empty when restored from etcd: not kept there)
};

struct shard_state {
  std::uint32_t index = 0;
  caf::actor keeper;  // etcd's writer (keeper.hpp), if the coordinator keeps its apps there
  std::uint64_t reserved = 0;  // with a keeper: session ids below this are reserved in etcd
  bool reserving = false;
  // Invocations that came while no id was reserved and a reservation was on
  // its way (just after a takeover, say): asked again once it is there, or
  // answered its error.
  std::vector<std::function<void(const status&)>> awaiting_ids;
  caf::actor wire;  // the coordinator's node wire: sessions start over it
  coordinator_options opts;
  // Why the coordinator is paused (it cannot renew its lease: the front
  // says); empty while it holds the shards.
  std::string paused;
  std::map<std::uint64_t, node_view> nodes;            // live
  std::map<std::string, app_entry> apps;
  std::map<std::string, std::uint32_t> versions;       // latest version number ever given, per app
  std::unordered_map<std::uint64_t, session_rec> sessions;   // by client-visible id
  std::unordered_map<std::uint64_t, std::uint64_t> attempts;  // node-level id -> client-visible id
  std::unordered_map<std::uint64_t, outcome> results;
  // Client request id -> the session it started, while the session runs or its
  // result is kept: the same request sent again (its coordinator died before
  // answering) gets that session, never a second one.
  std::unordered_map<std::uint64_t, std::uint64_t> requests;
  std::vector<std::uint64_t> forgotten;  // results dropped from the cache, to erase from etcd with the next end
  std::deque<std::uint64_t> result_order;
  std::uint64_t next = 1;
  std::uint64_t ok = 0, failed = 0, replaced = 0, forwarded = 0;
  std::uint64_t placed = 0;  // runs of sessions sent to a home node (first or again)
  std::set<std::uint64_t> cordoned;  // draining nodes (`trail drain`): placement leaves them out
  static inline const char* name = "trail.shard";
};

using self_ptr = caf::stateful_actor<shard_state, loop_actor>*;

void log_line(self_ptr self, const std::string& what) {
  actors::log_line("trail-coordinator: shard " + std::to_string(self->state.index) + ": " + what);
}

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

status can_number(self_ptr self) {
  auto& st = self->state;
  if (!st.keeper || shard_session_base(st.index) + st.next + 2 < st.reserved) return {};
  reserve_ahead(self);
  return status::unavailable("no session ids are reserved in etcd right now (is etcd up?); try again");
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

// -- sessions ------------------------------------------------------------------------

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
  // A session's home is where its entry function is pinned, if it is;
  // else by the placement ranking (core::place_session).
  auto home = named_holder(self, a->second, a->second.entry_node);
  if (!home)
    if (auto ranked = core::place_session(loads(self, a->second), {})) home = *ranked;
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
              if (async) rp->deliver(to_error(status::unavailable("session " + std::to_string(id) + " was cancelled")));
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

// -- apps ------------------------------------------------------------------------------

void announce_owner(self_ptr self, const std::string& app, std::uint64_t owner) {
  for (auto& [n, node] : self->state.nodes) self->send(node.scheduler, owner_atom::value, app, owner);
}

// Counts the nodes a deployment still waits for; answers the client when
// every live node holds it (or could not take it).
struct deploy_wait {
  caf::response_promise rp;
  std::string reply;
  std::size_t left = 0, held = 0;
  std::string first_error;
  void done(bool ok, const std::string& error) {
    ok ? ++held : 0;
    if (!ok && first_error.empty()) first_error = error;
    if (--left > 0) return;
    if (held == 0 && !first_error.empty()) rp.deliver(to_error(status::unavailable("no node could deploy it: " + first_error)));
    else rp.deliver(reply);
  }
};

void push_deploy(self_ptr self, const std::string& app, std::uint64_t number,
                 std::shared_ptr<deploy_wait> wait = nullptr) {
  auto& st = self->state;
  auto a = st.apps.find(app);
  auto n = st.nodes.find(number);
  if (a == st.apps.end() || n == st.nodes.end()) {
    if (wait) wait->done(false, "node gone");
    return;
  }
  std::uint32_t version = a->second.version;
  self->request(n->second.registry, std::chrono::seconds(30), cdeploy_atom::value, version, a->second.manifest,
                a->second.names, a->second.bytes)
      .then(
          [=](const std::string&) {
            auto& st = self->state;
            auto a = st.apps.find(app);
            if (a == st.apps.end() || a->second.version != version || !st.nodes.contains(number)) {
              if (wait) wait->done(false, "redeployed meanwhile");
              return;
            }
            a->second.holders.insert(number);
            if (a->second.owner == 0) {
              a->second.owner = number;
              announce_owner(self, app, number);
            } else if (a->second.owner) {
              self->send(st.nodes.at(number).scheduler, owner_atom::value, app, a->second.owner);
            }
            place_waiting(self, app);
            if (wait) wait->done(true, {});
          },
          [=](caf::error& e) {
            auto why = to_status(e, self->system()).message();
            log_line(self, "node #" + std::to_string(number) + " cannot deploy " + app + ": " + why);
            if (wait) wait->done(false, why);
          });
}

// Takes app `m` as version `version` (a deploy, or one kept in etcd).
app_entry& install(self_ptr self, const core::app_manifest& m, std::uint32_t version, const std::string& manifest,
                   const std::vector<std::string>& names, const std::vector<std::string>& bytes) {
  auto& st = self->state;
  auto& a = st.apps[m.app];
  a = app_entry{};
  a.version = version;
  st.versions[m.app] = std::max(st.versions[m.app], version);
  a.manifest = manifest;
  a.names = names;
  a.bytes = bytes;
  for (auto& b : m.buckets) a.buckets.insert(b.name);
  if (auto* entry = m.function(m.entry)) a.entry_node = entry->node;
  return a;
}

caf::result<std::string> deploy_now(self_ptr self, const core::app_manifest& m, std::uint32_t version,
                                    const std::string& manifest, const std::vector<std::string>& names,
                                    const std::vector<std::string>& bytes);

caf::result<std::string> deploy(self_ptr self, const std::string& manifest, const std::vector<std::string>& names,
                                const std::vector<std::string>& bytes) {
  auto& st = self->state;
  auto m = prepare_upload(st.opts.state_dir / "libs", max_library_bytes, manifest, names, bytes);
  if (!m) return to_error(m.error());
  std::uint32_t version = ++st.versions[m->app];
  if (!st.keeper) return deploy_now(self, *m, version, manifest, names, bytes);
  // Kept in etcd first: a deploy that is answered survives the coordinator.
  auto rp = self->make_response_promise<std::string>();
  self->request(st.keeper, caf::infinite, keep_atom::value, m->app, version, manifest, names, bytes)
      .then(
          [=](bool) mutable {
            auto& st = self->state;
            if (st.versions[m->app] != version) {  // deployed again meanwhile: that one is newer
              rp.deliver(to_error(status::unavailable(m->app + " was deployed again meanwhile")));
              return;
            }
            rp.delegate(caf::actor_cast<caf::actor>(self), deploy_atom::value, manifest, names, bytes, version);
          },
          [=](caf::error& e) mutable { rp.deliver(e); });
  return rp;
}

caf::result<std::string> deploy_now(self_ptr self, const core::app_manifest& m, std::uint32_t version,
                                    const std::string& manifest, const std::vector<std::string>& names,
                                    const std::vector<std::string>& bytes) {
  auto& st = self->state;
  auto& a = install(self, m, version, manifest, names, bytes);
  std::string reply = m.app + " v" + std::to_string(a.version);
  if (st.nodes.empty()) return reply + " (no node has joined yet)";
  auto wait = std::make_shared<deploy_wait>();
  wait->rp = self->make_response_promise<std::string>();
  wait->reply = reply;
  wait->left = st.nodes.size();
  for (auto& [n, node] : st.nodes) push_deploy(self, m.app, n, wait);
  return wait->rp;
}

caf::result<std::string> undeploy_now(self_ptr self, const std::string& app) {
  auto& st = self->state;
  if (st.apps.erase(app) == 0) return to_error(status::not_found("no app \"" + app + "\" is deployed"));
  for (auto& [n, node] : st.nodes)
    self->request(node.registry, std::chrono::seconds(5), undeploy_atom::value, app).then([](const std::string&) {}, [](caf::error&) {});
  return "undeployed " + app + " (sessions in flight finish on their version)";
}

// -- nodes -----------------------------------------------------------------------------

void on_node_down(self_ptr self, std::uint64_t number) {
  auto& st = self->state;
  if (st.nodes.erase(number) == 0) return;
  for (auto& [app, a] : st.apps) {
    a.holders.erase(number);
    if (a.owner == number) {
      a.owner = a.holders.empty() ? 0 : *a.holders.begin();
      if (a.owner) announce_owner(self, app, a.owner);
    }
  }
  std::vector<std::uint64_t> lost;
  for (auto& [id, rec] : st.sessions)
    if (rec.home == number) lost.push_back(id);
  for (auto id : lost) {
    auto& rec = st.sessions.at(id);
    if (rec.put) {  // its object was on the lost node alone
      finish(self, id, {false, {}, status::unavailable("session " + std::to_string(id) + " lost node #" +
                                                       std::to_string(number) + ", which held its put object: put it again")});
      continue;
    }
    st.attempts.erase(rec.node_session);
    ++rec.attempt;
    ++st.replaced;
    rec.wait_until = clock::now() + st.opts.placement_wait;
    log_line(self, "session " + std::to_string(id) + " lost its home #" + std::to_string(number) + ": attempt " +
                       std::to_string(rec.attempt + 1));
    place(self, id);
  }
}

// Where forwarded work goes: the node its function is pinned to, else by
// the placement ranking, never back to `origin` while another node can take
// it (core::place_forwarded). `origin` means: run it yourself.
std::uint64_t place_work(self_ptr self, const std::string& app, std::uint64_t origin, const std::string& hint) {
  auto& st = self->state;
  auto a = st.apps.find(app);
  if (a == st.apps.end()) return origin;
  auto target = named_holder(self, a->second, hint);
  if (!target)
    if (auto placed = core::place_forwarded(loads(self, a->second), {}, origin)) target = *placed;
  if (!target || *target == origin) return origin;
  placed_on(st.nodes.at(*target));
  ++st.forwarded;
  return *target;
}

// -- data in and out ----------------------------------------------------------------------

// A client's put: into the app's scope, on the node that holds it; or into a
// new session, started on the node placement picks, which then waits for the
// client's bytes (expect_atom). Either way the client is sent there.
caf::result<put_window> put(self_ptr self, const std::string& app, const std::string& bucket, const std::string& key,
                            std::uint64_t size, bool new_session, std::uint32_t timeout_ms) {
  auto& st = self->state;
  auto a = st.apps.find(app);
  if (a == st.apps.end()) return to_error(status::not_found("no app \"" + app + "\" is deployed"));
  if (!a->second.buckets.contains(bucket))
    return to_error(status::not_found("app \"" + app + "\" has no bucket \"" + bucket + "\""));
  if (!new_session) {
    auto owner = st.nodes.find(a->second.owner);
    if (owner == st.nodes.end()) return to_error(status::unavailable("no node holds app \"" + app + "\" yet"));
    return put_window{0, 0, nullptr, size, owner->second.client};
  }
  auto home = core::place_session(loads(self, a->second), {});
  if (!home) return to_error(status::unavailable("no node can take a put for app \"" + app + "\" now (none holds it)"));
  std::uint64_t id = next_id(self);
  auto& rec = st.sessions[id];
  rec.app = app;
  rec.version = a->second.version;
  rec.timeout_ms = timeout_ms;
  rec.put = true;
  rec.home = *home;
  rec.node_session = id;
  st.attempts[id] = id;
  auto& node = st.nodes.at(*home);
  placed_on(node);
  ++st.placed;
  auto rp = self->make_response_promise<put_window>();
  std::string client = node.client;
  self->request(node.scheduler, std::chrono::seconds(10), expect_atom::value, id, app, rec.version, bucket, key, size,
                timeout_ms)
      .then(
          [=](std::uint64_t) mutable {
            auto it = self->state.sessions.find(id);
            if (it == self->state.sessions.end()) {  // (its node was lost meanwhile)
              rp.deliver(to_error(status::unavailable("the node chosen for the put was lost: put it again")));
              return;
            }
            it->second.asks.emplace(clock::now(), timeout_ms);
            rp.deliver(put_window{0, id, nullptr, size, client});
          },
          [=](caf::error& e) mutable {
            auto why = to_status(e, self->system());
            finish(self, id, {false, {}, why});
            rp.deliver(to_error(why));
          });
  return rp;
}

// A client's get: app-scoped objects are on the node holding the app's scope.
caf::result<get_window> get(self_ptr self, const std::string& app, const std::string& bucket) {
  auto& st = self->state;
  auto a = st.apps.find(app);
  if (a == st.apps.end()) return to_error(status::not_found("no app \"" + app + "\" is deployed"));
  if (!a->second.buckets.contains(bucket))
    return to_error(status::not_found("app \"" + app + "\" has no bucket \"" + bucket + "\""));
  auto owner = st.nodes.find(a->second.owner);
  if (owner == st.nodes.end()) return to_error(status::unavailable("no node holds app \"" + app + "\" yet"));
  return get_window{0, nullptr, 0, owner->second.client};
}

std::string status_json(self_ptr self) {
  auto& st = self->state;
  std::size_t waiting = 0;
  for (auto& [id, rec] : st.sessions) waiting += rec.home == 0;
  nlohmann::json apps = nlohmann::json::object();
  for (auto& [name, a] : st.apps)
    apps[name] = {{"version", a.version}, {"holders", a.holders}, {"owner", a.owner}};
  nlohmann::json j{{"shard", st.index},
                   {"apps", apps},
                   {"sessions", {{"in_flight", st.sessions.size()}, {"waiting_for_a_node", waiting}, {"ok", st.ok},
                                 {"failed", st.failed}, {"restarted_elsewhere", st.replaced},
                                 {"placed", st.placed}}},
                   {"forwarded", {{"placed", st.forwarded}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

caf::behavior shard_actor(self_ptr self, std::uint32_t index, coordinator_options opts) {
  self->state.index = index;
  self->state.opts = std::move(opts);
  std::filesystem::create_directories(self->state.opts.state_dir / "libs");
  reject_unexpected(self, "trail-coordinator: shard " + std::to_string(index));
  self->send(self, sweep_atom::value);
  return {
      [=](sweep_atom) { sweep(self); },
      [=](peers_atom, const caf::actor& wire) { self->state.wire = wire; },
      [=](peer_atom, std::uint64_t number, const std::string& name, const caf::actor& scheduler,
          const caf::actor& registry, std::uint32_t executors, const std::string& client) {
        self->state.nodes[number] = {name, scheduler, registry, executors, executors, 0, client};
        for (auto& [app, a] : self->state.apps) push_deploy(self, app, number);
      },
      [=](down_atom, std::uint64_t number) { on_node_down(self, number); },
      [=](lost_atom, std::uint64_t number) {  // (after a moment: the node redials, or is declared dead)
        self->delayed_send(self, std::chrono::milliseconds(100), resend_atom::value, number);
      },
      [=](resend_atom, std::uint64_t number) { resend_runs(self, number); },
      [=](beat_atom, std::uint64_t number, std::uint32_t free, std::uint32_t queued) {
        if (auto it = self->state.nodes.find(number); it != self->state.nodes.end()) {
          it->second.free = free;
          it->second.backlog = queued;
        }
      },
      [=](ended_atom, std::uint64_t number, std::uint64_t session, bool ok, std::string& output, std::uint8_t code,
          std::string& error) { on_ended(self, number, session, ok, output, code, error); },
      [=](fwd_atom, const std::string& app, std::uint64_t origin, const std::string& hint) {
        return place_work(self, app, origin, hint);
      },
      [=](deploy_atom, const std::string& manifest, const std::vector<std::string>& names,
          const std::vector<std::string>& bytes) { return deploy(self, manifest, names, bytes); },
      [=](deploy_atom, const std::string& manifest, const std::vector<std::string>& names,
          const std::vector<std::string>& bytes, std::uint32_t version) -> caf::result<std::string> {
        auto m = core::parse_manifest(manifest, upload_root);  // (checked, and its libraries written, before)
        if (!m) return to_error(m.error());
        return deploy_now(self, *m, version, manifest, names, bytes);
      },
      [=](restore_atom, const std::string& manifest, const std::vector<std::string>& names,
          const std::vector<std::string>& bytes, std::uint32_t version) {
        auto m = prepare_upload(self->state.opts.state_dir / "libs", max_library_bytes, manifest, names, bytes);
        if (!m) return log_line(self, "a kept app cannot be deployed again: " + m.error().message());
        install(self, *m, version, manifest, names, bytes);
        log_line(self, "deployed " + m->app + " v" + std::to_string(version) + " again, as kept in etcd");
      },
      [=](pause_atom, bool paused, const std::string& why) {
        auto& st = self->state;
        st.paused = paused ? why : std::string();
        if (paused) return;
        for (auto& [id, rec] : st.sessions)  // (they waited for nothing meanwhile)
          if (rec.home == 0) rec.wait_until = std::max(rec.wait_until, clock::now() + st.opts.placement_wait);
      },
      [=](restore_atom, const caf::actor& keeper) {
        self->state.keeper = keeper;
        reserve_ahead(self);
      },
      [=](restore_atom, std::uint64_t reserved) {  // ids below were handed out before
        auto& st = self->state;
        st.reserved = std::max(st.reserved, reserved);
        if (reserved > shard_session_base(st.index)) st.next = std::max(st.next, reserved - shard_session_base(st.index));
      },
      [=](restore_atom, std::uint64_t id, const std::string& app, std::vector<std::string>& args,
          std::uint32_t timeout_ms, std::uint64_t request) { restore_session(self, id, app, std::move(args), timeout_ms, request); },
      [=](restore_atom, std::uint64_t id, bool ok, std::string& output, std::uint64_t size, std::uint16_t code,
          std::string& message, std::uint64_t request) {  // how a session ended, as kept
        outcome o{ok, std::move(output), {}, request};
        if (!ok) o.error = status(static_cast<errc>(code), std::move(message));
        else if (o.output.size() != size)
          o = outcome{false, {}, status::unavailable("the output of session " + std::to_string(id) + " (" +
                                                     std::to_string(size) + " bytes) was too large to keep across a "
                                                     "change of coordinator"), request};
        remember(self, id, std::move(o), false);
      },
      [=](restore_atom, const std::string& app, std::uint32_t latest) {  // a version number given before
        auto& v = self->state.versions[app];
        v = std::max(v, latest);
      },
      [=](invoke_atom, const std::string& app, std::vector<std::string>& args, std::uint32_t timeout_ms, bool async,
          std::uint64_t request) { return invoke(self, app, args, timeout_ms, async, request); },
      [=](put_atom, const std::string& app, const std::string& bucket, const std::string& key, std::uint64_t size,
          bool new_session, std::uint32_t timeout_ms) { return put(self, app, bucket, key, size, new_session, timeout_ms); },
      [=](get_atom, const std::string& app, const std::string& bucket, const std::string&) { return get(self, app, bucket); },
      [=](result_atom, std::uint64_t id) { return result_of(self, id); },
      [=](undeploy_atom, const std::string& app) -> caf::result<std::string> {
        auto& st = self->state;
        if (!st.apps.contains(app)) return to_error(status::not_found("no app \"" + app + "\" is deployed"));
        if (st.keeper) {  // gone from etcd first: an answered undeploy stays undone
          auto rp = self->make_response_promise<std::string>();
          self->request(st.keeper, caf::infinite, forget_atom::value, app)
              .then([=](bool) mutable { rp.delegate(caf::actor_cast<caf::actor>(self), undeploy_atom::value, app, true); },
                    [=](caf::error& e) mutable { rp.deliver(e); });
          return rp;
        }
        return undeploy_now(self, app);
      },
      [=](undeploy_atom, const std::string& app, bool) { return undeploy_now(self, app); },
      [=](apps_atom) {
        std::vector<std::string> out;
        for (auto& [name, a] : self->state.apps) out.push_back(name + " v" + std::to_string(a.version));
        return out;
      },
      [=](status_atom) { return status_json(self); },
      [=](admin_atom, const std::string& what, std::uint64_t number, bool on) {  // "cordon": from the front
        if (what != "cordon") return;
        if (on) self->state.cordoned.insert(number);
        else self->state.cordoned.erase(number);
      },
  };
}

}  // namespace

caf::actor spawn_shard(node_loop& loop, std::uint32_t index, const coordinator_options& opts) {
  return spawn_on(loop, shard_actor, index, opts);
}

}  // namespace trail::actors
