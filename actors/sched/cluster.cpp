// The scheduler's cluster half: two-level scheduling between nodes (brief §3).
//
// Home side. A session lives on its home node: its trigger state, its tasks
// and (after they arrive) all its objects. A task that cannot run here — no
// executor takes it, or its function names another node — goes to another
// node: straight to the one it names, else where the app's coordinator
// shard places it. That worker runs it and reports back over the
// node-to-node wire, in the attempt's program order (core::report_sequencer):
// every sealed object (inline up to 64 KiB, otherwise pulled from the
// worker's store straight into ours), announcements, the output and the
// attempt's end. A report waits behind the pull of an earlier one, so
// triggers see objects in the order they were sealed. An attempt on a node
// that is lost ends as "unavailable" and is retried like any failed attempt.
//
// Worker side. Work from another home is never forwarded again: its inputs
// are brought into the local store (inline or pulled from the home), it
// queues for a local executor, and everything it does is reported to the
// home, which alone decides (retries, triggers). Its objects stay here under
// the home's session id until the home says the session is over.
//
// Fencing: frames of nodes declared dead are rejected.
#include <cstring>

#include "actors/cluster_types.hpp"
#include "actors/core/placement.hpp"
#include "actors/net/faults.hpp"
#include "actors/sched/state.hpp"

namespace trail::actors::sched {
namespace {

using holder = core::session_refs::holder;
using resend_ends_atom = caf::atom_constant<caf::atom("tresendend")>;  // say how placed sessions ended, again
using lent_check_atom = caf::atom_constant<caf::atom("tlentchk")>;     // u64 number, [object]: still lent?

// After the wire to a peer broke, objects it was pulling from us are kept
// this long for it (its pull may go on, its "done" frame may be lost): then
// they are given back to the store.
constexpr auto lent_grace = std::chrono::seconds(60);

cluster_state& cl(self_ptr self) { return *self->state.cluster; }

void log_line(const std::string& what) { actors::log_line("trail-node: " + what); }

// -- the wire and the store ---------------------------------------------------------------

void send_peer(self_ptr self, std::uint64_t number, schema::peer_message m) {
  auto& c = cl(self);
  if (c.dead.contains(number) || !c.wire) return;
  self->send(c.wire, peer_out{number, std::move(m)});
}

schema::object_ref ref_of(shm::store& st, const core::object_meta& o) {
  schema::object_ref r{o.session, o.bucket, o.key, o.id, o.size, false, {}};
  if (o.size <= schema::max_inline_object) {
    if (const shm::object_info* info = st.info(o.id)) {
      r.has_inline = true;
      r.bytes.assign(reinterpret_cast<const char*>(st.data(*info)), o.size);
    }
  }
  return r;
}

// Puts an inline object into the store under its name, or finds the object
// that already holds the name. Returns it with one reference for the caller.
result<std::uint64_t> import_inline(shm::store& st, const schema::object_ref& r) {
  if (auto existing = st.find(r.session, r.bucket, r.key)) {
    st.retain(*existing);
    return *existing;
  }
  auto id = st.create_object(r.session, r.bucket, r.key, r.size);
  if (!id) return id.error();
  if (r.size > 0) std::memcpy(st.data(*st.info(*id)), r.bytes.data(), r.size);
  auto sealed = st.seal(*id, r.size);
  if (!sealed) return sealed.error();
  st.retain(sealed->id);
  return sealed->id;
}

// Reports of work run here go to its home, numbered.
void send_report(self_ptr self, task& t, schema::report r) {
  auto& c = cl(self);
  r.seq = t.home->reports++;
  r.from_number = c.number;
  r.from_incarnation = c.incarnation;
  send_peer(self, t.home->number, std::move(r));
}

// -- home side: reports in, objects home ------------------------------------------------------

void apply_report(self_ptr self, schema::report r);

// Applies the attempt's reports that are ready, in order, until one holds
// the rest back (a pull) or the attempt ends.
void drain_reports(self_ptr self, std::uint64_t invocation) {
  while (auto r = cl(self).reports.next(invocation)) apply_report(self, std::move(*r));
}

void on_pulled(self_ptr self, std::uint64_t invocation, bool output, std::uint64_t id, const status& outcome) {
  auto& st = self->state;
  cl(self).reports.release(invocation);
  if (!outcome.ok()) {
    if (task* t = st.tasks.by_attempt(invocation); t && !t->home) {
      auto code = outcome.code() == errc::invalid_argument ? errc::invalid_argument : errc::unavailable;
      on_attempt_end(self, invocation, status(code, "cannot bring an object home: " + outcome.message()));
    }
    return;
  }
  auto meta = meta_of(self, id);
  if (meta.id == 0) return;  // (not an object of ours: a forged completion)
  // Sealed here now: it feeds its triggers even if its attempt was given up
  // meanwhile — the name is taken, a re-run's seal would not be fresh.
  if (st.sessions->live(meta.session)) {
    if (output) on_output(self, meta.session, meta);
    else on_object(self, meta);
  }
  st.store->release(id);  // the pull's reference
  drain_reports(self, invocation);
}

// A sealed object or output of a worker: made local, then handled as if sealed here.
void bring_home(self_ptr self, const schema::report& r) {
  auto& st = self->state;
  auto& c = cl(self);
  bool output = r.what == schema::report::kind::output;
  if (st.store->find(r.session, r.object.bucket, r.object.key)) return;  // an earlier seal of the name won
  if (r.object.has_inline) {
    auto id = import_inline(*st.store, r.object);
    if (!id) return on_attempt_end(self, r.invocation, status::unavailable("cannot store a reported object: " + id.error().message()));
    auto meta = meta_of(self, *id);
    if (output) on_output(self, r.session, meta);
    else on_object(self, meta);
    st.store->release(*id);
    return;
  }
  c.reports.hold(r.invocation);  // later reports wait for this object
  caf::actor me = caf::actor_cast<caf::actor>(self);
  std::uint64_t inv = r.invocation;
  c.xfer->pull(r.data_address, r.object.id, r.object.size, r.session, r.object.bucket, r.object.key,
               [me, inv, output](result<shm::object_id> got) {
                 status s = got ? status{} : got.error();
                 caf::anon_send(me, pulled_atom::value, inv, output, got ? *got : std::uint64_t{0},
                                static_cast<std::uint8_t>(s.code()), s.message());
               });
}

void apply_report(self_ptr self, schema::report r) {
  auto& st = self->state;
  task* t = st.tasks.by_attempt(r.invocation);
  if (!t || t->home || t->session != r.session) return;  // an abandoned attempt
  using k = schema::report::kind;
  switch (r.what) {
    case k::sealed:
    case k::output:
      if (st.sessions->live(r.session)) bring_home(self, r);
      break;
    case k::announce:
    case k::done: on_announce(self, *t, r.bucket, r.count, r.what == k::done); break;
    case k::finished: on_attempt_end(self, r.invocation, status(static_cast<errc>(r.code), r.message)); break;
    case k::app_object: break;
  }
}

// -- app-scope owner side: objects of other nodes' sessions -------------------------------------

// Imports seal into the name space of a session that is not this node's: it
// stays open while any import into it runs (core::session_refs).
void import_app_object(self_ptr self, std::uint64_t from, const schema::report& r) {
  auto& st = self->state;
  auto& c = cl(self);
  auto give_back = [&] {  // a lent object we will not pull
    if (!r.object.has_inline) send_peer(self, from, schema::lent_object{r.object.id});
  };
  app_ref v = st.apps->version(r.app, r.version);
  if (!v) {
    give_back();
    return log_line("object for app " + r.app + " v" + std::to_string(r.version) + ", not deployed here: dropped");
  }
  if (!v->app_scoped_buckets.contains(r.object.bucket) && !v->kept_buckets.contains(r.object.bucket)) return give_back();
  hold_session(self, r.session, holder::import);
  if (r.object.has_inline) {
    auto id = import_inline(*st.store, r.object);  // its reference goes to deliver_app_object
    if (id) deliver_app_object(self, v, meta_of(self, *id));
    else log_line("app-scoped object dropped: " + id.error().message());
    return let_go_session(self, r.session, holder::import);
  }
  std::uint64_t key = c.next_import++;
  c.imports[key] = {r.session, v, from, r.object.id};
  caf::actor me = caf::actor_cast<caf::actor>(self);
  c.xfer->pull(r.data_address, r.object.id, r.object.size, r.session, r.object.bucket, r.object.key,
               [me, key](result<shm::object_id> got) {
                 status s = got ? status{} : got.error();
                 caf::anon_send(me, apppulled_atom::value, key, got ? *got : std::uint64_t{0},
                                static_cast<std::uint8_t>(s.code()), s.message());
               });
}

void on_app_object_pulled(self_ptr self, std::uint64_t key, std::uint64_t id, const status& outcome) {
  auto& c = cl(self);
  auto it = c.imports.find(key);
  if (it == c.imports.end()) return;
  auto imp = it->second;
  c.imports.erase(it);
  auto meta = outcome.ok() ? meta_of(self, id) : core::object_meta{};
  if (meta.id != 0) deliver_app_object(self, imp.app, meta);
  else log_line("app-scoped object dropped: " + (outcome.ok() ? std::string("no such object") : outcome.message()));
  let_go_session(self, imp.session, holder::import);
  send_peer(self, imp.lender, schema::lent_object{imp.lent_object});  // done with it
}

void return_lent(self_ptr self, std::uint64_t object) {
  if (cl(self).lent.erase(object) == 0) return;  // (not lent: stale or forged)
  self->state.store->release(object);
}

void on_report(self_ptr self, std::uint64_t from, schema::report& r) {
  auto& st = self->state;
  auto& c = cl(self);
  if (r.what == schema::report::kind::app_object) return import_app_object(self, from, r);
  if (st.sessions->live(r.session)) {
    c.workers[r.session].insert(from);
  } else if (!st.session_app.contains(r.session)) {  // over: the worker may let go
    send_peer(self, from, schema::release_session{r.session});
    if (task* t = st.tasks.by_attempt(r.invocation); t && !t->home)  // and the attempt is over too
      on_attempt_end(self, r.invocation,
                     r.what == schema::report::kind::finished ? status(static_cast<errc>(r.code), r.message)
                                                                : status::unavailable("session ended"));
    return;
  }
  task* t = st.tasks.by_attempt(r.invocation);
  if (!t || t->home || t->state != task_state::remote || t->remote != from) return;  // over, or a stray
  t->heard = clock::now();
  std::uint64_t inv = r.invocation;
  c.reports.push(inv, r.seq, std::move(r));
  drain_reports(self, inv);
}

// -- worker side ------------------------------------------------------------------------------

// The attempt of work run here ends before it started: its home hears why.
void report_unstarted(self_ptr self, task& t, const status& why) {
  schema::report r;
  r.what = schema::report::kind::finished;
  r.invocation = t.home->invocation;
  r.session = t.session;
  r.code = static_cast<std::uint16_t>(why.code());
  r.message = why.message();
  send_report(self, t, std::move(r));
  retire(self, t);
}

void on_work(self_ptr self, std::uint64_t from, schema::work& w) {
  auto& st = self->state;
  auto& c = cl(self);
  auto refuse = [&](const status& why) {
    log_line("refused work from node " + std::to_string(from) + ": " + why.message());
    send_peer(self, from, schema::refused{w.invocation, static_cast<std::uint16_t>(why.code()), why.message()});
  };
  if (!c.peers.contains(from)) return refuse(status::unavailable("unknown home node " + std::to_string(from)));
  app_ref v = st.apps->version(w.app, w.version);
  if (!v) return refuse(status::not_found(w.app + " v" + std::to_string(w.version) + " is not deployed on " + c.name));
  const core::function_spec* fn = v->manifest.function(w.function);
  if (!fn) return refuse(status::not_found("app '" + w.app + "' has no function '" + w.function + "'"));
  if (c.foreign.emplace(w.session, from).second) hold_session(self, w.session, holder::worker);
  task t;
  t.app = v;
  t.fn = fn;
  t.session = w.session;
  t.args = std::move(w.args);
  t.attempt = w.attempt;
  t.home = home_link{from, w.invocation, 0};
  t.local_only = true;
  t.queued_at = clock::now();
  t.inputs.resize(w.inputs.size());
  std::vector<std::size_t> to_pull;
  status problem;
  for (std::size_t i = 0; i < w.inputs.size(); ++i) {
    auto& in = w.inputs[i];
    in.session = w.session;
    if (auto existing = st.store->find(in.session, in.bucket, in.key)) {  // brought here for an earlier task
      st.store->retain(*existing);
      t.inputs[i] = {in.session, in.bucket, in.key, *existing, st.store->info(*existing)->size};
    } else if (in.has_inline) {
      auto id = import_inline(*st.store, in);
      if (!id) {
        problem = id.error();
        continue;
      }
      t.inputs[i] = {in.session, in.bucket, in.key, *id, in.size};
    } else {
      to_pull.push_back(i);
    }
  }
  t.pending_inputs = static_cast<std::uint32_t>(to_pull.size());
  t.state = to_pull.empty() || !problem.ok() ? task_state::queued : task_state::pulling;
  ++st.count.worked;
  task& added = st.tasks.add(std::move(t));
  if (!problem.ok()) {
    std::erase_if(added.inputs, [](const core::object_meta& m) { return m.id == 0; });  // only these hold references
    return report_unstarted(self, added, problem);
  }
  caf::actor me = caf::actor_cast<caf::actor>(self);
  std::uint64_t task_id = added.id;
  for (auto i : to_pull) {
    auto& in = w.inputs[i];
    c.xfer->pull(c.peers.at(from).data, in.id, in.size, in.session, in.bucket, in.key,
                 [me, task_id, i](result<shm::object_id> got) {
                   status s = got ? status{} : got.error();
                   caf::anon_send(me, inpulled_atom::value, task_id, static_cast<std::uint64_t>(i),
                                  got ? *got : std::uint64_t{0}, static_cast<std::uint8_t>(s.code()), s.message());
                 });
  }
  if (to_pull.empty()) st.queue.push_back(task_id);
}

void on_input_pulled(self_ptr self, std::uint64_t task_id, std::uint64_t index, std::uint64_t id, const status& outcome) {
  auto& st = self->state;
  task* t = st.tasks.find(task_id);
  if (!t || t->state != task_state::pulling || index >= t->inputs.size() || t->inputs[index].id != 0) {
    if (id && st.store->info(id)) st.store->release(id);
    return;
  }
  if (!outcome.ok()) {
    if (id && st.store->info(id)) st.store->release(id);
    // Only the inputs that arrived hold references.
    std::erase_if(t->inputs, [](const core::object_meta& m) { return m.id == 0; });
    return report_unstarted(self, *t, status::unavailable("cannot pull an input from the home node: " + outcome.message()));
  }
  t->inputs[index] = meta_of(self, id);
  if (--t->pending_inputs > 0) return;
  st.tasks.requeue(*t, clock::now());
  st.queue.push_back(task_id);
}

void drop_foreign(self_ptr self, std::uint64_t session) {
  if (cl(self).foreign.erase(session) == 0) return;
  let_go_session(self, session, holder::worker);
}

// -- home side: sending work away ------------------------------------------------------------------

// The attempt now belongs to `number`, which hears of it with `w`.
void send_work(self_ptr self, task& t, std::uint64_t number, schema::work w) {
  auto& c = cl(self);
  std::uint64_t inv = t.invocation;
  auto now = clock::now();
  self->state.tasks.placed(t, number, now);
  auto wall = wall_now();
  auto& trace = *self->state.trace;  // the node that runs it records the run
  trace.attempt_started(t.session, inv, t.fn->name, t.attempt, -1, t.inputs, to_wall(t.queued_at, now, wall), wall);
  auto peer = c.peers.find(number);
  trace.attempt_forwarded(inv, peer != c.peers.end() ? peer->second.name : "#" + std::to_string(number));
  c.workers[t.session].insert(number);
  c.reports.expect(inv);
  send_peer(self, number, std::move(w));
  // Should its reports never come (they are not lost while the wire holds,
  // but be sure), the attempt ends well after its own timeout.
  self->delayed_send(self, std::chrono::milliseconds(t.fn->timeout_ms) + std::chrono::seconds(30), watchdog_atom::value, inv);
}

// The attempt cannot leave: it waits here, as a fresh attempt — whatever the
// abandoned one might still do is ignored.
void keep_here(self_ptr self, std::uint64_t invocation) {
  auto& st = self->state;
  cl(self).reports.forget(invocation);
  task* t = st.tasks.end_attempt(invocation);
  if (!t) return;
  t->local_only = true;
  st.tasks.requeue(*t, clock::now());
  st.queue.push_front(t->id);
}

void on_placed(self_ptr self, std::uint64_t invocation, std::uint64_t session, std::uint64_t number,
               const status& error, schema::work w) {
  auto& st = self->state;
  auto& c = cl(self);
  task* t = st.tasks.by_attempt(invocation);
  if (!t || t->state != task_state::placing) return;  // the attempt ended meanwhile
  if (!error.ok() || number == c.number || number == 0) {
    if (!error.ok()) log_line("forwarding '" + t->fn->name + "' failed, running it here: " + error.message());
    return keep_here(self, invocation);
  }
  if (!st.sessions->live(session)) {  // it ended while this was placed
    st.tasks.end_attempt(invocation);
    return retire(self, *t);
  }
  if (c.dead.contains(number) || !c.peers.contains(number))
    return on_attempt_end(self, invocation, status::unavailable("node " + std::to_string(number) + " lost"));
  send_work(self, *t, number, std::move(w));
}

void on_refused(self_ptr self, std::uint64_t from, const schema::refused& r) {
  task* t = self->state.tasks.by_attempt(r.invocation);
  if (!t || t->home || t->state != task_state::remote || t->remote != from) return;
  log_line("node " + std::to_string(from) + " refused '" + t->fn->name + "' (" + r.message + "): running it here");
  keep_here(self, r.invocation);
}

// -- membership ---------------------------------------------------------------------------------

// `number` is dead (fenced for good), or only the wire to it broke (`dead`
// false: it may come back through the coordinator). Either way, work it ran
// for us ends as unavailable and is retried, and work we ran for it can no
// longer report.
void on_peer_down(self_ptr self, std::uint64_t number, bool dead) {
  auto& st = self->state;
  auto& c = cl(self);
  if (number == c.number) return;
  if (dead) c.dead.insert(number);
  c.peers.erase(number);
  std::vector<std::uint64_t> lost;
  st.tasks.for_each([&](task& t) {
    if (!t.home && t.state == task_state::remote && t.remote == number) lost.push_back(t.invocation);
  });
  for (auto inv : lost) on_attempt_end(self, inv, status::unavailable("node " + std::to_string(number) + " was lost"));
  std::vector<std::uint64_t> orphans;
  for (auto& [s, home] : c.foreign)
    if (home == number) orphans.push_back(s);
  for (auto s : orphans) drop_foreign(self, s);
  if (dead) {
    std::erase_if(c.owners, [&](auto& kv) { return kv.second == number; });
    std::vector<std::uint64_t> back;  // what it was pulling from us will never be asked for
    for (auto& [id, to] : c.lent)
      if (to == number) back.push_back(id);
    for (auto id : back) return_lent(self, id);
  }
}

// The coordinator hears how a session it placed here ended (and can hear
// it again: see on_run).
void send_ended(self_ptr self, std::uint64_t session, bool ok, std::string output, const status& error) {
  auto& c = cl(self);
  schema::session_ended e{session, ok, std::move(output), static_cast<std::uint16_t>(error.code()), error.message()};
  c.ended.put(session, e, e.output.size() + e.message.size());
  // (Detached, the coordinator is gone: whichever takes over runs the
  // session again. Not dialled, so not logged as unreachable at every end.)
  if (c.wire && !c.detached) self->send(c.wire, peer_out{schema::coordinator_number, std::move(e)});
}

// The wire to the coordinator broke: how sessions ended lately is said
// again (at most once a second: a coordinator that is down is not
// hammered). It ignores what it already knows.
void resend_ends(self_ptr self) {
  auto& c = cl(self);
  auto now = clock::now();
  if (c.ends_resent && now < *c.ends_resent + std::chrono::seconds(1)) {
    auto at = *c.ends_resent + std::chrono::seconds(1);
    return self->delayed_send(self, at - now, resend_ends_atom::value);
  }
  c.ends_resent = now;
  if (!c.wire || c.detached || c.ended.size() == 0) return;
  c.ended.for_each([&](std::uint64_t, const schema::session_ended& e) {
    self->send(c.wire, peer_out{schema::coordinator_number, e});
  });
}

void on_run(self_ptr self, schema::run_session& r) {
  auto& st = self->state;
  auto& c = cl(self);
  // Asked again (the coordinator lost the wire, or waited too long): a
  // session runs once per id.
  if (c.placed.contains(r.session)) return;  // running: its end is said when it comes
  if (auto* e = c.ended.find(r.session)) return self->send(c.wire, peer_out{schema::coordinator_number, *e});
  if (c.ended.forgot(r.session)) {
    schema::session_ended e{r.session, false, {}, static_cast<std::uint16_t>(errc::unavailable),
                            "session " + std::to_string(r.session) + " ended on " + c.name + "; how is no longer kept"};
    return self->send(c.wire, peer_out{schema::coordinator_number, std::move(e)});
  }
  auto refuse = [&](const status& why) { send_ended(self, r.session, false, {}, why); };
  app_ref v = st.apps->version(r.app, r.version);
  if (!v) return refuse(status::not_found(r.app + " v" + std::to_string(r.version) + " is not deployed on " + c.name));
  std::optional<std::chrono::milliseconds> deadline;
  if (r.timeout_ms > 0) deadline = std::chrono::milliseconds(r.timeout_ms);
  auto started = start_session(self, v, core::session_origin::invoked, deadline, r.session);
  if (!started) return refuse(started.error());
  c.placed.insert(r.session);
  if (auto e = enqueue(self, v, v->manifest.entry, r.session, std::move(r.args), {}); !e.ok())
    st.sessions->fail(r.session, e);
}

void on_peer_in(self_ptr self, peer_in& m) {
  auto& c = cl(self);
  if (c.dead.contains(m.from))
    return log_line("rejected a frame of node " + std::to_string(m.from) + ": fenced (declared dead)");
  struct visitor {
    self_ptr self;
    std::uint64_t from;
    void operator()(schema::peer_hello&) {}
    void operator()(schema::work& w) { on_work(self, from, w); }
    void operator()(schema::refused& r) { on_refused(self, from, r); }
    void operator()(schema::report& r) { on_report(self, from, r); }
    void operator()(schema::release_session& r) { drop_foreign(self, r.session); }
    void operator()(schema::lent_object& l) { return_lent(self, l.object); }
    void operator()(schema::run_session& r) {
      if (from == schema::coordinator_number) on_run(self, r);
    }
    void operator()(schema::session_ended&) {}  // (for coordinators)
  };
  std::visit(visitor{self, m.from}, m.message);
}

}  // namespace

// -- shared with flow.cpp ---------------------------------------------------------------------------

bool should_forward(self_ptr self, const task& t, bool local_choice) {
  auto& c = cl(self);
  if (t.home || t.local_only) return false;
  // Inputs of several sessions (an app-scoped fire) keep their own names
  // only here: such work does not travel.
  for (auto& in : t.inputs)
    if (in.session != t.session) return false;
  if (!t.fn->node.empty()) {  // a placement hint: go there if it is someone else and alive
    if (t.fn->node == c.name) return false;
    for (auto& [n, p] : c.peers)
      if (p.name == t.fn->node) return true;
  }
  // (Without a coordinator — not joined yet, or detached — nobody says where: here.)
  if (!c.front || local_choice || c.peers.empty()) return false;
  core::forwarding_policy policy(c.forward_wait);
  if (policy.decide({t.queued_at, false}, 0, clock::now()) == core::forward_decision::forward) return true;
  auto at = policy.forward_at({t.queued_at, false});
  self->delayed_send(self, std::max(at - clock::now(), clock::duration::zero()), tick_atom_t::value);
  return false;
}

void forward(self_ptr self, task& t) {
  auto& st = self->state;
  auto& c = cl(self);
  std::uint64_t inv = st.next_invocation++;
  st.tasks.start(t, inv, task_state::placing);
  ++st.count.forwarded;
  schema::work w{t.session, inv, t.attempt, t.app->app, t.app->version, t.fn->name, t.args, {},
                 c.number, c.data_address, t.fn->timeout_ms};
  for (auto& in : t.inputs) w.inputs.push_back(ref_of(*st.store, in));
  // Pinned to a live peer: straight there, no placement round trip.
  if (!t.fn->node.empty())
    for (auto& [number, p] : c.peers)
      if (p.name == t.fn->node) return send_work(self, t, number, std::move(w));
  std::uint64_t session = t.session;
  self->request(c.front, std::chrono::seconds(5), fwd_atom::value, t.app->app, c.number, t.fn->node)
      .then([self, inv, session, w](std::uint64_t number) mutable {
              on_placed(self, inv, session, number, {}, std::move(w));
              pump(self);
            },
            [self, inv, session](caf::error& e) {
              on_placed(self, inv, session, 0, to_status(e, self->system()), {});
              pump(self);
            });
}

bool report_event(self_ptr self, task& t, const exec_event& e) {
  auto& st = self->state;
  if (!t.home) return false;
  using k = exec_event::kind;
  schema::report r;
  r.invocation = t.home->invocation;
  r.session = t.session;
  switch (e.what) {
    case k::sealed:
    case k::output:
      // (Not fresh: an earlier seal holds the name — maybe of an attempt
      // whose report never made it home; report the winner, home dedups.)
      r.what = e.what == k::sealed ? schema::report::kind::sealed : schema::report::kind::output;
      r.object = ref_of(*st.store, e.object);
      r.data_address = cl(self).data_address;
      break;
    case k::announce:
    case k::done:
      r.what = e.what == k::done ? schema::report::kind::done : schema::report::kind::announce;
      r.bucket = e.bucket;
      r.count = e.count;
      break;
    case k::finished:
    case k::lost:
      r.what = schema::report::kind::finished;
      r.code = static_cast<std::uint16_t>(e.outcome.code());
      r.message = e.outcome.message();
      send_report(self, t, std::move(r));
      retire(self, t);
      return true;
    default: return false;
  }
  send_report(self, t, std::move(r));
  return true;
}

bool send_to_owner(self_ptr self, const app_ref& app, const core::object_meta& o) {
  if (!self->state.cluster) return false;
  auto& c = cl(self);
  auto owner = c.owners.find(app->app);
  if (owner == c.owners.end() || owner->second == c.number) return false;
  if (!c.peers.contains(owner->second)) return false;  // the owner is gone: evaluate here until the shard names a new one
  schema::report r;
  r.what = schema::report::kind::app_object;
  r.session = o.session;
  r.object = ref_of(*self->state.store, o);
  r.data_address = c.data_address;
  r.app = app->app;
  r.version = app->version;
  r.from_number = c.number;
  r.from_incarnation = c.incarnation;
  // The owner pulls it: keep it alive until it says it is done, even if its
  // session ends here first.
  if (!r.object.has_inline && c.lent.emplace(o.id, owner->second).second) self->state.store->retain(o.id);
  send_peer(self, owner->second, std::move(r));
  return true;
}

void on_session_end(self_ptr self, std::uint64_t session, const outcome& o, bool quiet) {
  auto& c = cl(self);
  if (c.direct.erase(session) && c.direct.empty() && c.rejoined) {  // (its client was answered first)
    c.rejoined->deliver(c.rejoin_waited);
    c.rejoined.reset();
  }
  c.fed.erase(session);
  if (auto w = c.workers.find(session); w != c.workers.end()) {
    for (auto number : w->second) send_peer(self, number, schema::release_session{session});
    c.workers.erase(w);
  }
  if (!c.placed.erase(session)) return;
  send_ended(self, session, !quiet && o.ok, !quiet && o.ok ? o.output : std::string(), o.error);
}

caf::message_handler cluster_handlers(self_ptr self) {
  if (!self->state.cluster) return {};
  return caf::message_handler{
      [=](peers_atom, const caf::actor& wire) { cl(self).wire = wire; },
      [=](cluster_atom, const caf::actor& front, std::uint64_t number, std::uint64_t incarnation,
          std::string& coordinator_wire) {
        auto& c = cl(self);
        c.front = front;
        c.number = number;
        c.incarnation = incarnation;
        self->state.next_session = node_session_base(number) + 1;
        if (!c.wire) return;
        self->send(c.wire, cluster_atom::value, number, incarnation);
        self->send(c.wire, peer_atom::value, schema::coordinator_number, std::move(coordinator_wire));
      },
      [=](detached_atom) {  // no coordinator to ask where work goes: it all runs here (or where pinned)
        cl(self).front = caf::actor{};
        cl(self).detached = true;
      },
      [=](rejoin_atom) -> caf::result<std::uint32_t> {
        auto& c = cl(self);
        c.rejoining = true;
        if (c.direct.empty()) return std::uint32_t{0};
        c.rejoin_waited = static_cast<std::uint32_t>(c.direct.size());
        log_line("a coordinator answers: starting over once the " + std::to_string(c.rejoin_waited) +
                 " invokes clients sent here end (new ones go through the coordinator)");
        if (!c.rejoined) c.rejoined = self->make_response_promise<std::uint32_t>();
        return *c.rejoined;
      },
      [=](peer_atom, std::uint64_t number, const std::string& name, const std::string& data, std::string& wire) {
        auto& c = cl(self);
        if (c.dead.contains(number) || number == c.number) return;
        c.peers[number] = {name, data};
        if (auto* f = self->state.opts.faults) f->learn(number, name, wire, data);  // fault points go by name
        if (c.wire) self->send(c.wire, peer_atom::value, number, std::move(wire));
      },
      [=](lost_atom, std::uint64_t number) {  // the wire to a peer broke: learn it again
        if (number == schema::coordinator_number) return resend_ends(self);  // (redialed at the next frame)
        log_line("lost the wire to node " + std::to_string(number) + "; its work here is retried");
        on_peer_down(self, number, false);
        std::vector<std::uint64_t> lent;
        for (auto& [id, to] : cl(self).lent)
          if (to == number) lent.push_back(id);
        if (!lent.empty()) self->delayed_send(self, lent_grace, lent_check_atom::value, number, std::move(lent));
        if (auto& c = cl(self); c.front) self->send(c.front, peer_atom::value, c.number);
        pump(self);
      },
      [=](resend_ends_atom) { resend_ends(self); },
      [=](lent_check_atom, std::uint64_t number, const std::vector<std::uint64_t>& objects) {
        auto& c = cl(self);
        std::size_t n = 0;
        for (auto id : objects)
          if (auto it = c.lent.find(id); it != c.lent.end() && it->second == number) return_lent(self, id), ++n;
        if (n)
          log_line("gave back " + std::to_string(n) + " object(s) node " + std::to_string(number) +
                   " did not finish pulling after its wire broke");
      },
      [=](watchdog_atom, std::uint64_t invocation) {
        task* t = self->state.tasks.by_attempt(invocation);
        if (!t || t->home || t->state != task_state::remote) return;
        auto quiet_for = std::chrono::milliseconds(t->fn->timeout_ms) + std::chrono::seconds(30);
        if (auto due = t->heard + quiet_for; due > clock::now())  // it reported meanwhile: wait again
          return self->delayed_send(self, due - clock::now(), watchdog_atom::value, invocation);
        on_attempt_end(self, invocation, status::unavailable("no word from node " + std::to_string(t->remote) +
                                                             " about '" + t->fn->name + "'"));
        pump(self);
      },
      [=](down_atom, std::uint64_t number) {
        on_peer_down(self, number, true);
        if (auto& c = cl(self); c.wire) self->send(c.wire, down_atom::value, number);
        pump(self);
      },
      [=](owner_atom, const std::string& app, std::uint64_t number) { cl(self).owners[app] = number; },
      [=](expect_atom, std::uint64_t session, const std::string& app, std::uint32_t version, const std::string& bucket,
          const std::string& key, std::uint64_t size, std::uint32_t timeout_ms) {
        return expect_put(self, session, app, version, bucket, key, size, timeout_ms);
      },
      [=](putwait_atom, std::uint64_t session) { expected_put_overdue(self, session); },
      [=](peer_in& m) {
        on_peer_in(self, m);
        pump(self);
      },
      [=](pulled_atom, std::uint64_t invocation, bool output, std::uint64_t id, std::uint8_t code, const std::string& msg) {
        on_pulled(self, invocation, output, id, status(static_cast<errc>(code), msg));
        pump(self);
      },
      [=](apppulled_atom, std::uint64_t key, std::uint64_t id, std::uint8_t code, const std::string& msg) {
        on_app_object_pulled(self, key, id, status(static_cast<errc>(code), msg));
        pump(self);
      },
      [=](inpulled_atom, std::uint64_t task_id, std::uint64_t index, std::uint64_t id, std::uint8_t code,
          const std::string& msg) {
        on_input_pulled(self, task_id, index, id, status(static_cast<errc>(code), msg));
        pump(self);
      },
  };
}

}  // namespace trail::actors::sched
