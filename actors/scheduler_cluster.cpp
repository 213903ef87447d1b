// The scheduler's cluster half (issue 4 §2, §3): two-level scheduling
// between nodes.
//
// Home side. A session lives on its home node: its trigger state, its tasks
// and (after they arrive) all its objects. A task that cannot run here —
// no executor free, or its function names another node — goes to the app's
// coordinator shard, which places it on a node with capacity. That worker
// runs it and reports back, in the invocation's program order: every sealed
// object (inline up to 64 KiB, otherwise pulled from the worker's store
// straight into ours), announcements, the output and the attempt's end. A
// report waits behind a pull of an earlier one, so triggers see objects in
// the order they were sealed. An attempt on a node declared dead ends as
// "unavailable" and is retried like any failed attempt.
//
// Worker side. Work from another home is never forwarded again: its inputs
// are brought into the local store (inline or pulled from the home), it
// queues for a local executor, and everything it does is reported to the
// home, which alone decides (retries, triggers). Its objects stay here under
// the home's session id until the home says the session is over.
//
// Fencing: reports of nodes declared dead are rejected.
#include <cstring>

#include "actors/cluster_types.hpp"
#include "actors/core/placement.hpp"
#include "actors/scheduler_state.hpp"

namespace trail::actors::sched {
namespace {

cluster_state& cl(self_ptr self) { return *self->state.cluster; }

void log_line(const std::string& what) { actors::log_line("trail-node: " + what); }

// -- objects in and out -------------------------------------------------------------

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

void send_to(self_ptr self, const caf::actor& to, std::uint64_t to_number, schema::report r) {
  auto& c = cl(self);
  if (!to || c.dead.contains(to_number)) return;
  r.from_number = c.number;
  r.from_incarnation = c.incarnation;
  self->send(to, report_atom::value, schema::encode(r));
}

// Reports of work run here go to its home, numbered.
void send_report(self_ptr self, task& t, schema::report r) {
  r.seq = t.reports++;
  send_to(self, t.home, t.home_number, std::move(r));
}

// -- home side -------------------------------------------------------------------------


void on_placed(self_ptr self, std::uint64_t invocation, std::uint64_t session, std::uint64_t number,
               const status& error) {
  auto& st = self->state;
  auto& c = cl(self);
  task* t = task_of(self, invocation);
  if (!t || !t->forwarding) {  // the attempt ended meanwhile (e.g. it already reported)
    if (number && number != c.number && !st.sessions->live(session))
      if (auto p = c.peers.find(number); p != c.peers.end()) self->send(p->second.scheduler, release_atom::value, session);
    return;
  }
  t->forwarding = false;
  if (!error.ok() || number == c.number || number == 0) {
    // Nobody else can take it (or the shard is unreachable): it waits here,
    // as a fresh attempt — whatever the abandoned one might still do is ignored.
    if (!error.ok()) log_line("forwarding '" + t->fn->name + "' failed, running it here: " + error.message());
    st.running.erase(invocation);
    forget(c, invocation);
    t->invocation = 0;
    t->no_forward = true;
    st.queue.push_front(t->id);
    return;
  }
  if (!st.sessions->live(t->session)) {  // it ended while this was placed: the worker may let go
    if (auto p = c.peers.find(number); p != c.peers.end()) self->send(p->second.scheduler, release_atom::value, t->session);
    st.running.erase(invocation);
    forget(c, invocation);
    return retire(self, *t);
  }
  c.workers[t->session].insert(number);
  if (c.dead.contains(number) || !c.peers.contains(number))
    return on_attempt_end(self, invocation, status::unavailable("node " + std::to_string(number) + " lost"));
  t->remote = number;
  t->heard = clock::now();
  // Should its reports never come (they cannot be lost while the peer is
  // monitored, but be sure), the attempt ends well after its own timeout.
  self->delayed_send(self, std::chrono::milliseconds(t->fn->timeout_ms) + std::chrono::seconds(30), watchdog_atom::value,
                     invocation);
}

void apply_report(self_ptr self, schema::report r);

void on_pulled(self_ptr self, std::uint64_t invocation, bool output, std::uint64_t id, const status& outcome) {
  auto& st = self->state;
  auto& c = cl(self);
  c.pulling.erase(invocation);
  task* t = task_of(self, invocation);
  if (!outcome.ok()) {
    if (t && !t->home) {
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
  st.with_store([&](shm::store& s) { s.release(id); });  // the pull's reference
  auto box = c.inbox.find(invocation);
  while (box != c.inbox.end() && !box->second.empty() && !c.pulling.contains(invocation)) {
    auto next = std::move(box->second.front());
    box->second.pop_front();
    apply_report(self, std::move(next));
    box = c.inbox.find(invocation);
  }
  if (box != c.inbox.end() && box->second.empty()) c.inbox.erase(box);
}

// A sealed object or output of a worker: made local, then handled as if sealed here.
void bring_home(self_ptr self, const schema::report& r) {
  auto& st = self->state;
  auto& c = cl(self);
  bool output = r.what == schema::report::kind::output;
  auto existing = st.with_store([&](shm::store& s) { return s.find(r.session, r.object.bucket, r.object.key); });
  if (existing) return;  // an earlier seal of the name won
  if (r.object.has_inline) {
    auto id = st.with_store([&](shm::store& s) { return import_inline(s, r.object); });
    if (!id) return on_attempt_end(self, r.invocation, status::unavailable("cannot store a reported object: " + id.error().message()));
    auto meta = meta_of(self, *id);
    if (output) on_output(self, r.session, meta);
    else on_object(self, meta);
    st.with_store([&](shm::store& s) { s.release(*id); });
    return;
  }
  c.pulling.insert(r.invocation);
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
  task* t = task_of(self, r.invocation);
  if (!t || t->home || t->session != r.session) return;  // an abandoned attempt
  using k = schema::report::kind;
  switch (r.what) {
    case k::sealed:
    case k::output:
      if (st.sessions->live(r.session)) bring_home(self, r);
      break;
    case k::announce:
    case k::done: on_announce(self, *t, r.session, r.bucket, r.count, r.what == k::done); break;
    case k::finished:
      on_attempt_end(self, r.invocation, status(static_cast<errc>(r.code), r.message));
      break;
    case k::app_object: break;
  }
}

// Imports of app-scoped objects seal into the name space of a session that
// is not ours; it stays open while any import into it runs, and is closed
// after the last one unless it is (still) this node's, as home or worker.
// Every open_for_import() is matched by one close_after_import().
void open_for_import(self_ptr self, std::uint64_t s) {
  if (cl(self).import_opens[s]++ == 0)
    self->state.with_store([&](shm::store& st) {
      if (!st.session_open(s)) st.open_session(s);
    });
}

void close_after_import(self_ptr self, std::uint64_t s) {
  auto& c = cl(self);
  auto it = c.import_opens.find(s);
  if (it == c.import_opens.end() || --it->second > 0) return;
  c.import_opens.erase(it);
  if (c.foreign.contains(s) || self->state.session_app.contains(s)) return;
  self->state.with_store([&](shm::store& st) { st.release_session(s); });
}

// An object of another node's session for an app-scoped trigger owned here.
void import_app_object(self_ptr self, const schema::report& r) {
  auto& st = self->state;
  auto& c = cl(self);
  auto give_back = [&] {  // a lent object we will not pull
    if (auto p = c.peers.find(r.from_number); p != c.peers.end() && !r.object.has_inline)
      self->send(p->second.scheduler, lent_atom::value, r.object.id);
  };
  auto v = c.versions.find({r.app, r.version});
  if (v == c.versions.end()) {
    give_back();
    return log_line("object for app " + r.app + " v" + std::to_string(r.version) + ", not deployed here: dropped");
  }
  auto b = v->second->buckets.find(r.object.bucket);
  if (b == v->second->buckets.end()) return give_back();
  caf::actor bucket = b->second;
  auto deliver = [self, bucket](std::uint64_t id) {  // `id` carries one reference, which the bucket drops
    self->send(bucket, bucket_object{meta_of(self, id), bucket_object::scope_filter::app_only});
  };
  // The session is not ours: open its name space while imports into it run.
  open_for_import(self, r.session);
  auto close = [self, s = r.session] { close_after_import(self, s); };
  if (r.object.has_inline) {
    auto id = st.with_store([&](shm::store& s) { return import_inline(s, r.object); });
    if (id) deliver(*id);
    else log_line("app-scoped object dropped: " + id.error().message());
    return close();
  }
  std::uint64_t key = c.next_import++;
  caf::actor lender;
  if (auto p = c.peers.find(r.from_number); p != c.peers.end()) lender = p->second.scheduler;
  c.app_imports[key] = {r.session, bucket, lender, r.object.id};
  caf::actor me = caf::actor_cast<caf::actor>(self);
  c.xfer->pull(r.data_address, r.object.id, r.object.size, r.session, r.object.bucket, r.object.key,
               [me, key](result<shm::object_id> got) {
                 status s = got ? status{} : got.error();
                 caf::anon_send(me, apppulled_atom::value, key, got ? *got : std::uint64_t{0},
                                static_cast<std::uint8_t>(s.code()), s.message());
               });
}

void return_lent(self_ptr self, std::uint64_t object) {
  if (cl(self).lent.erase(object) == 0) return;  // (not lent: stale or forged)
  self->state.with_store([&](shm::store& s) { s.release(object); });
}

void on_app_object_pulled(self_ptr self, std::uint64_t key, std::uint64_t id, const status& outcome) {
  auto& c = cl(self);
  auto it = c.app_imports.find(key);
  if (it == c.app_imports.end()) return;
  auto imp = it->second;
  c.app_imports.erase(it);
  auto meta = outcome.ok() ? meta_of(self, id) : core::object_meta{};
  if (meta.id != 0) self->send(imp.bucket, bucket_object{meta, bucket_object::scope_filter::app_only});
  else log_line("app-scoped object dropped: " + (outcome.ok() ? std::string("no such object") : outcome.message()));
  close_after_import(self, imp.session);
  if (imp.lender) self->send(imp.lender, lent_atom::value, imp.lent_object);  // done with it
}

void on_report(self_ptr self, std::string& blob) {
  auto& c = cl(self);
  auto r = schema::decode_report(blob);
  if (!r) return log_line("rejected a report: " + r.error().message());
  if (c.dead.contains(r->from_number))
    return log_line("rejected a report of node " + std::to_string(r->from_number) + ": fenced (declared dead)");
  if (r->what == schema::report::kind::app_object) return import_app_object(self, *r);
  if (self->state.sessions->live(r->session)) {
    c.workers[r->session].insert(r->from_number);
  } else if (!self->state.session_app.contains(r->session)) {  // over: the worker may let go
    if (auto p = c.peers.find(r->from_number); p != c.peers.end())
      self->send(p->second.scheduler, release_atom::value, r->session);
    if (task* t = task_of(self, r->invocation); t && !t->home)  // and the attempt is over too
      on_attempt_end(self, r->invocation,
                     r->what == schema::report::kind::finished ? status(static_cast<errc>(r->code), r->message)
                                                                 : status::unavailable("session ended"));
    return;
  }
  // Reports may overtake each other (through the coordinator, then on a
  // direct connection once it is up): apply them in the worker's order.
  std::uint64_t inv = r->invocation;
  task* t = task_of(self, inv);
  if (!t || t->home) return;  // an attempt that is over
  if (t->remote != 0 && r->from_number != t->remote) return;  // not the node running it (a stray duplicate)
  t->heard = clock::now();
  std::uint32_t next = c.next_seq[inv];
  if (r->seq != next) {
    if (r->seq > next) c.early[inv].emplace(r->seq, std::move(*r));
    return;
  }
  std::optional<schema::report> cur = std::move(*r);
  while (cur) {
    c.next_seq[inv] = cur->seq + 1;
    if (c.pulling.contains(inv)) c.inbox[inv].push_back(std::move(*cur));
    else apply_report(self, std::move(*cur));
    cur.reset();
    if (!task_of(self, inv)) break;  // the attempt ended (on_attempt_end forgot its bookkeeping)
    auto e = c.early.find(inv);
    if (e == c.early.end() || e->second.empty() || e->second.begin()->first != c.next_seq[inv]) break;
    cur = std::move(e->second.begin()->second);
    e->second.erase(e->second.begin());
  }
  if (auto e = c.early.find(inv); e != c.early.end() && e->second.empty()) c.early.erase(e);
}

// -- worker side -----------------------------------------------------------------------

// The attempt of work run here ends before it could start: tell its home.
void report_unstarted(self_ptr self, task& t, const status& why) {
  schema::report r;
  r.what = schema::report::kind::finished;
  r.invocation = t.home_invocation;
  r.session = t.session;
  r.code = static_cast<std::uint16_t>(why.code());
  r.message = why.message();
  send_report(self, t, std::move(r));
  retire(self, t);
}

caf::result<bool> on_work(self_ptr self, std::string& blob) {
  auto& st = self->state;
  auto& c = cl(self);
  auto w = schema::decode_work(blob);
  if (!w) {
    log_line("rejected work: " + w.error().message());
    return to_error(w.error());
  }
  if (c.dead.contains(w->home_number)) return to_error(status::unavailable("the home node was declared dead"));
  auto home = c.peers.find(w->home_number);
  if (home == c.peers.end()) return to_error(status::unavailable("unknown home node " + std::to_string(w->home_number)));
  auto v = c.versions.find({w->app, w->version});
  if (v == c.versions.end())
    return to_error(status::not_found(w->app + " v" + std::to_string(w->version) + " is not deployed on " + c.name));
  const core::function_spec* fn = v->second->manifest.function(w->function);
  if (!fn) return to_error(status::not_found("app '" + w->app + "' has no function '" + w->function + "'"));
  if (!c.foreign.contains(w->session)) {
    c.foreign[w->session] = {w->home_number, home->second.scheduler};
    st.with_store([&](shm::store& s) { s.open_session(w->session); });
  }
  task t;
  t.id = st.next_task++;
  t.app = v->second;
  t.fn = fn;
  t.session = w->session;
  t.args = std::move(w->args);
  t.attempt = w->attempt;
  t.home = home->second.scheduler;
  t.home_number = w->home_number;
  t.home_invocation = w->invocation;
  t.no_forward = true;
  t.inputs.resize(w->inputs.size());
  caf::actor me = caf::actor_cast<caf::actor>(self);
  std::vector<std::size_t> to_pull;
  status problem;
  st.with_store([&](shm::store& s) {
    for (std::size_t i = 0; i < w->inputs.size(); ++i) {
      auto& in = w->inputs[i];
      in.session = w->session;
      if (auto existing = s.find(in.session, in.bucket, in.key)) {  // brought here for an earlier task
        s.retain(*existing);
        t.inputs[i] = {in.session, in.bucket, in.key, *existing, s.info(*existing)->size};
      } else if (in.has_inline) {
        auto id = import_inline(s, in);
        if (!id) {
          problem = id.error();
          continue;
        }
        t.inputs[i] = {in.session, in.bucket, in.key, *id, in.size};
      } else {
        to_pull.push_back(i);
      }
    }
  });
  std::uint64_t task_id = t.id;
  t.pending_inputs = static_cast<std::uint32_t>(to_pull.size());
  ++st.worked;
  auto& placed = st.tasks.emplace(task_id, std::move(t)).first->second;
  if (!problem.ok()) {
    placed.pending_inputs = 0;
    std::erase_if(placed.inputs, [](const core::object_meta& m) { return m.id == 0; });  // only these hold references
    report_unstarted(self, placed, problem);
    return true;
  }
  for (auto i : to_pull) {
    auto& in = w->inputs[i];
    c.xfer->pull(w->home_data, in.id, in.size, in.session, in.bucket, in.key,
                 [me, task_id, i](result<shm::object_id> got) {
                   status s = got ? status{} : got.error();
                   caf::anon_send(me, inpulled_atom::value, task_id, static_cast<std::uint64_t>(i),
                                  got ? *got : std::uint64_t{0}, static_cast<std::uint8_t>(s.code()), s.message());
                 });
  }
  if (placed.pending_inputs == 0) st.queue.push_back(task_id);
  pump(self);
  return true;
}

void on_input_pulled(self_ptr self, std::uint64_t task_id, std::uint64_t index, std::uint64_t id, const status& outcome) {
  auto& st = self->state;
  auto it = st.tasks.find(task_id);
  if (it == st.tasks.end() || index >= it->second.inputs.size() || it->second.inputs[index].id != 0) {
    if (id) st.with_store([&](shm::store& s) {
      if (s.info(id)) s.release(id);
    });
    return;
  }
  task& t = it->second;
  if (outcome.ok()) t.inputs[index] = meta_of(self, id);
  if (t.pending_inputs == 0) return;  // already failed
  if (!outcome.ok()) {
    t.pending_inputs = 0;
    // Only the inputs that arrived hold references.
    std::erase_if(t.inputs, [](const core::object_meta& m) { return m.id == 0; });
    return report_unstarted(self, t, status::unavailable("cannot pull an input from the home node: " + outcome.message()));
  }
  if (--t.pending_inputs == 0) st.queue.push_back(task_id);
}

void drop_foreign(self_ptr self, std::uint64_t session) {
  auto& c = cl(self);
  if (c.foreign.erase(session) == 0) return;
  if (c.import_opens.contains(session)) return;  // an app-scoped import still writes into it; the last one closes it
  self->state.with_store([&](shm::store& s) { s.release_session(session); });
}

// -- membership ------------------------------------------------------------------------

// `number` is dead (fenced for good), or only its connection to this node
// broke (`dead` false: it may come back through the coordinator). Either
// way, work it ran for us ends as unavailable and is retried, and work we
// ran for it can no longer report.
void on_peer_down(self_ptr self, std::uint64_t number, bool dead = true) {
  auto& st = self->state;
  auto& c = cl(self);
  if (number == c.number) return;
  if (dead) c.dead.insert(number);
  if (auto p = c.peers.find(number); p != c.peers.end()) {
    c.peer_of.erase(p->second.scheduler.address());
    c.peers.erase(p);
  }
  std::vector<std::uint64_t> lost;
  for (auto& [id, t] : st.tasks)
    if (t.invocation && !t.home && t.remote == number) lost.push_back(t.invocation);
  for (auto inv : lost) on_attempt_end(self, inv, status::unavailable("node " + std::to_string(number) + " was lost"));
  std::vector<std::uint64_t> orphans;
  for (auto& [s, f] : c.foreign)
    if (f.home_number == number) orphans.push_back(s);
  for (auto s : orphans) drop_foreign(self, s);
  if (dead) {
    std::erase_if(c.owners, [&](auto& kv) { return kv.second == number; });
    std::vector<std::uint64_t> back;  // what it was pulling from us will never be asked for
    for (auto& [id, to] : c.lent)
      if (to == number) back.push_back(id);
    for (auto id : back) return_lent(self, id);
  }
}

void on_run(self_ptr self, std::uint64_t s, const std::string& app, std::uint32_t version,
            std::vector<std::string>& args, std::uint32_t timeout_ms) {
  auto& st = self->state;
  auto& c = cl(self);
  auto refuse = [&](const status& why) {
    self->send(c.front, ended_atom::value, c.number, c.incarnation, s, false, std::string(),
               static_cast<std::uint8_t>(why.code()), why.message());
  };
  auto v = c.versions.find({app, version});
  if (v == c.versions.end()) return refuse(status::not_found(app + " v" + std::to_string(version) + " is not deployed on " + c.name));
  std::optional<std::chrono::milliseconds> deadline;
  if (timeout_ms > 0) deadline = std::chrono::milliseconds(timeout_ms);
  auto started = start_session(self, v->second, core::session_origin::invoked, deadline, s);
  if (!started) return refuse(started.error());
  c.placed.insert(s);
  if (auto e = enqueue(self, v->second, v->second->manifest.entry, s, std::move(args), {}); !e.ok())
    st.sessions->fail(s, e.message());
}

}  // namespace

// -- shared with scheduler.cpp ---------------------------------------------------------

void forget(cluster_state& c, std::uint64_t invocation) {
  c.inbox.erase(invocation);
  c.pulling.erase(invocation);
  c.next_seq.erase(invocation);
  c.early.erase(invocation);
}

bool should_forward(self_ptr self, const task& t, bool local_free) {
  auto& c = cl(self);
  if (t.home || t.no_forward || !c.front) return false;
  // Inputs of several sessions (an app-scoped fire) keep their own names
  // only here: such work does not travel.
  for (auto& in : t.inputs)
    if (in.session != t.session) return false;
  if (!t.fn->node.empty()) {  // a placement hint: go there if it is someone else and alive
    if (t.fn->node == c.name) return false;
    for (auto& [n, p] : c.peers)
      if (p.name == t.fn->node) return true;
  }
  if (local_free || c.peers.empty()) return false;
  core::forwarding_policy policy(c.forward_wait);
  auto d = policy.decide({t.queued_at, false}, 0, clock::now());
  if (d == core::forward_decision::forward) return true;
  auto at = policy.forward_at({t.queued_at, false});
  self->delayed_send(self, std::max(at - clock::now(), clock::duration::zero()), tick_atom_t::value);
  return false;
}

void forward(self_ptr self, task& t) {
  auto& st = self->state;
  auto& c = cl(self);
  std::uint64_t inv = st.next_invocation++;
  t.invocation = inv;
  t.forwarding = true;
  st.running[inv] = t.id;
  ++st.forwarded;
  schema::work w{t.session, inv, t.attempt, t.app->app, t.app->version, t.fn->name, t.args, {},
                 c.number, c.data_address, t.fn->timeout_ms};
  st.with_store([&](shm::store& s) {
    for (auto& in : t.inputs) w.inputs.push_back(ref_of(s, in));
  });
  std::uint64_t session = t.session;
  std::string blob = schema::encode(w);
  auto via_shard = [self, inv, session, app = t.app->app, hint = t.fn->node](std::string blob) {
    auto& c = cl(self);
    self->request(c.front, std::chrono::seconds(5), fwd_atom::value, app, c.number, hint, std::move(blob))
        .then([self, inv, session](std::uint64_t number) { on_placed(self, inv, session, number, {}), pump(self); },
              [self, inv, session](caf::error& e) {
                on_placed(self, inv, session, 0, to_status(e, self->system()));
                pump(self);
              });
  };
  // Pinned to a live peer: straight there, one hop instead of two. If it
  // refuses (it does not hold the app yet, say), the shard decides.
  if (!t.fn->node.empty()) {
    for (auto& [number, p] : c.peers) {
      if (p.name != t.fn->node) continue;
      std::uint64_t target = number;
      self->request(p.scheduler, std::chrono::seconds(5), work_atom::value, blob)
          .then([self, inv, session, target](bool) { on_placed(self, inv, session, target, {}), pump(self); },
                [self, inv, session, via_shard, blob](caf::error& e) {
                  task* t = task_of(self, inv);
                  if (!t || !t->forwarding) return;
                  if (e == caf::sec::request_timeout)  // it may have taken it after all: a fresh attempt here
                    return on_placed(self, inv, session, 0, status::unavailable("node did not answer")), pump(self);
                  via_shard(blob);  // refused: the shard decides
                });
      return;
    }
  }
  via_shard(std::move(blob));
}

bool report_event(self_ptr self, const exec_event& e) {
  auto& st = self->state;
  task* t = task_of(self, e.invocation);
  if (!t || !t->home) return false;
  using k = exec_event::kind;
  schema::report r;
  r.invocation = t->home_invocation;
  r.session = t->session;
  switch (e.what) {
    case k::sealed:
    case k::output:
      // (Not fresh: an earlier seal holds the name — maybe of an attempt
      // whose report never made it home; report the winner, home dedups.)
      r.what = e.what == k::sealed ? schema::report::kind::sealed : schema::report::kind::output;
      r.object = st.with_store([&](shm::store& s) { return ref_of(s, e.object); });
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
      st.running.erase(e.invocation);
      send_report(self, *t, std::move(r));
      retire(self, *t);
      return true;
    default: return false;
  }
  send_report(self, *t, std::move(r));
  return true;
}

bool send_to_owner(self_ptr self, const app_ref& app, const core::object_meta& o) {
  if (!self->state.cluster) return false;
  auto& c = cl(self);
  auto owner = c.owners.find(app->app);
  if (owner == c.owners.end() || owner->second == c.number) return false;
  auto p = c.peers.find(owner->second);
  if (p == c.peers.end()) return false;  // the owner is gone: evaluate here until the shard names a new one
  schema::report r;
  r.what = schema::report::kind::app_object;
  r.session = o.session;
  r.object = self->state.with_store([&](shm::store& s) { return ref_of(s, o); });
  r.data_address = c.data_address;
  r.app = app->app;
  r.version = app->version;
  // The owner pulls it: keep it alive until it says it is done, even if its
  // session ends here first.
  if (!r.object.has_inline && c.lent.emplace(o.id, owner->second).second)
    self->state.with_store([&](shm::store& s) { s.retain(o.id); });
  send_to(self, p->second.scheduler, owner->second, std::move(r));
  return true;
}

void on_session_end(self_ptr self, std::uint64_t session, const outcome* o, bool quiet) {
  auto& c = cl(self);
  c.fed.erase(session);
  if (auto w = c.workers.find(session); w != c.workers.end()) {
    for (auto number : w->second)
      if (auto p = c.peers.find(number); p != c.peers.end()) self->send(p->second.scheduler, release_atom::value, session);
    c.workers.erase(w);
  }
  if (!c.placed.erase(session) || !c.front) return;
  status err = quiet ? status::not_found("session ended without output") : o->error;
  self->send(c.front, ended_atom::value, c.number, c.incarnation, session, !quiet && o->ok,
             !quiet && o->ok ? o->output : std::string(), static_cast<std::uint8_t>(err.code()), err.message());
}

caf::message_handler cluster_handlers(self_ptr self) {
  if (!self->state.cluster) return {};
  // A peer's scheduler handle dies when the connection to that node breaks
  // (CAF drops every proxy of a node whose direct connection closes), even
  // if the node lives on. Messages to a dead handle vanish: end what ran
  // there now, and learn the peer again through the coordinator.
  self->set_down_handler([self](caf::down_msg& m) {
    auto& c = cl(self);
    auto it = c.peer_of.find(m.source);
    if (it == c.peer_of.end()) return;
    std::uint64_t number = it->second;
    if (m.reason != caf::exit_reason::remote_link_unreachable) {  // its scheduler stopped: the node is going away
      on_peer_down(self, number, false);
      return pump(self);
    }
    log_line("lost the connection to node " + std::to_string(number) + " (" + self->system().render(m.reason) +
             "); its work here is retried");
    on_peer_down(self, number, false);
    if (c.front) self->send(c.front, peer_atom::value, c.number);  // send me the peers again
    pump(self);
  });
  return caf::message_handler{
      [=](cluster_atom, const caf::actor& front, std::uint64_t number, std::uint64_t incarnation) {
        auto& c = cl(self);
        c.front = front;
        c.number = number;
        c.incarnation = incarnation;
        self->state.next_session = node_session_base(number) + 1;
      },
      [=](peer_atom, std::uint64_t number, const std::string& name, const caf::actor& scheduler, const std::string& data) {
        auto& c = cl(self);
        if (c.dead.contains(number) || number == c.number || !scheduler) return;
        if (auto old = c.peers.find(number); old != c.peers.end()) c.peer_of.erase(old->second.scheduler.address());
        c.peers[number] = {name, scheduler, data};
        c.peer_of[scheduler.address()] = number;
        self->monitor(scheduler);
      },
      [=](watchdog_atom, std::uint64_t invocation) {
        task* t = task_of(self, invocation);
        if (!t || t->home || t->remote == 0) return;
        auto quiet_for = std::chrono::milliseconds(t->fn->timeout_ms) + std::chrono::seconds(30);
        if (auto due = t->heard + quiet_for; due > clock::now())  // it reported meanwhile: wait again
          return self->delayed_send(self, due - clock::now(), watchdog_atom::value, invocation);
        on_attempt_end(self, invocation, status::unavailable("no word from node " + std::to_string(t->remote) +
                                                             " about '" + t->fn->name + "'"));
        pump(self);
      },
      [=](down_atom, std::uint64_t number) {
        on_peer_down(self, number);
        pump(self);
      },
      [=](owner_atom, const std::string& app, std::uint64_t number) { cl(self).owners[app] = number; },
      [=](run_atom, std::uint64_t s, const std::string& app, std::uint32_t version, std::vector<std::string>& args,
          std::uint32_t timeout_ms) {
        on_run(self, s, app, version, args, timeout_ms);
        pump(self);
      },
      [=](work_atom, std::string& blob) { return on_work(self, blob); },
      [=](report_atom, std::string& blob) {
        on_report(self, blob);
        pump(self);
      },
      [=](lent_atom, std::uint64_t object) { return_lent(self, object); },
      [=](release_atom, std::uint64_t session) {
        drop_foreign(self, session);
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
