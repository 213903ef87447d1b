// A node's work from arrival to report: sessions, tasks, the executors and
// the bucket actors. See state.hpp for the steps and cluster.cpp for work
// that crosses nodes.
#include "actors/cluster_types.hpp"
#include "actors/core/retry.hpp"
#include "actors/sched/state.hpp"

namespace trail::actors::sched {

using holder = core::session_refs::holder;

// -- the store ------------------------------------------------------------------------

void release_inputs(self_ptr self, const std::vector<core::object_meta>& inputs) {
  for (auto& o : inputs) self->state.store->release(o.id);
}

void hold_session(self_ptr self, std::uint64_t s, holder h) {
  if (self->state.store_sessions.acquire(s, h)) self->state.store->open_session(s);
}

void let_go_session(self_ptr self, std::uint64_t s, holder h) {
  if (self->state.store_sessions.release(s, h)) self->state.store->release_session(s);
}

core::object_meta meta_of(self_ptr self, std::uint64_t object) {
  const shm::object_info* o = self->state.store->info(object);
  return o ? core::object_meta{o->session, o->bucket, o->key, o->id, o->size} : core::object_meta{};
}

std::string read_output(self_ptr self, std::uint64_t object) {
  auto& store = *self->state.store;
  const shm::object_info* o = store.info(object);
  return o ? std::string(reinterpret_cast<const char*>(store.data(*o)), o->size) : std::string();
}

void note_failure(self_ptr self, std::string what) {
  auto& st = self->state;
  st.recent_failures.push_back(std::move(what));
  if (st.recent_failures.size() > 20) st.recent_failures.pop_front();
}

// -- sessions ---------------------------------------------------------------------------

result<std::uint64_t> start_session(self_ptr self, const app_ref& app, core::session_origin origin,
                                    std::optional<std::chrono::milliseconds> deadline, std::uint64_t id) {
  auto& st = self->state;
  std::uint64_t s = id ? id : st.next_session++;
  if (st.sessions->live(s) || st.session_app.contains(s)) return status::invalid("session " + std::to_string(s) + " exists");
  if (auto r = st.sessions->start(s, app->app, origin, clock::now(), deadline); !r.ok()) return r;
  st.session_app[s] = app;
  st.trace->session_started(s, app->app, wall_now());
  hold_session(self, s, holder::home);
  if (st.opts.metrics) st.opts.metrics->session_started(s, clock::now());
  return s;
}

namespace {

nlohmann::json summary_of(const core::session_end& e, const outcome& o) {
  nlohmann::json j{{"session", e.session}, {"app", e.app}};
  if (e.how == core::session_end::kind::output) j["output"] = o.output.substr(0, 200);
  else if (e.how == core::session_end::kind::failed) j["error"] = e.error;
  else j["ended"] = "without output";
  return j;
}

void finish_session(self_ptr self, const core::session_end& e) {
  auto& st = self->state;
  using k = core::session_end::kind;
  outcome o;
  if (e.how == k::output) {
    o.ok = true;
    o.output = read_output(self, e.output_object);
    ++st.count.sessions_ok;
  } else if (e.how == k::failed) {
    o.error = status(e.code, e.error);
    ++st.count.sessions_failed;
    note_failure(self, "session " + std::to_string(e.session) + " (" + e.app + "): " + e.error);
  } else {
    o.error = status::not_found("session ended without output");
  }
  st.trace->session_ended(e.session, e.how != k::failed, e.error, wall_now());
  st.recent_sessions.push_back(summary_of(e, o));
  if (st.recent_sessions.size() > 20) st.recent_sessions.pop_front();
  // (In a cluster the shard keeps how the sessions it placed ended; this
  // node, those it started itself: clients' direct invokes, app triggers.)
  st.results->ended(e.session, o, e.how != k::quiet && !shard_of_session(e.session));
  if (st.cluster) on_session_end(self, e.session, o, e.how == k::quiet);
  if (st.opts.metrics) st.opts.metrics->session_ended(e.session, clock::now());
  let_go_session(self, e.session, holder::home);
  if (auto a = st.session_app.find(e.session); a != st.session_app.end()) {
    for (auto& [name, b] : a->second->buckets) self->send(b, end_atom::value, e.session);
    st.session_app.erase(a);
  }
}

void collect_ended(self_ptr self) {
  for (auto& e : self->state.sessions->collect(clock::now())) finish_session(self, e);
}

}  // namespace

// -- tasks ------------------------------------------------------------------------------

status enqueue(self_ptr self, const app_ref& app, std::string_view fn, std::uint64_t s,
               std::vector<std::string> args, std::vector<core::object_meta> inputs) {
  auto& st = self->state;
  const core::function_spec* spec = app->manifest.function(fn);
  if (!spec) {
    release_inputs(self, inputs);
    return status::not_found("app '" + app->app + "' has no function '" + std::string(fn) + "'");
  }
  if (st.queue.size() >= st.opts.max_queue) {
    release_inputs(self, inputs);
    return status::overloaded("overloaded: " + std::to_string(st.queue.size()) + " invocations queued");
  }
  task t;
  t.app = app;
  t.fn = spec;
  t.session = s;
  t.args = std::move(args);
  t.inputs = std::move(inputs);
  t.queued_at = clock::now();
  if (!t.inputs.empty()) t.producer = st.executors.producer_of(t.inputs.back().id);
  st.sessions->work_added(s);
  st.queue.push_back(st.tasks.add(std::move(t)).id);
  return {};
}

void retire(self_ptr self, task& t) {
  release_inputs(self, t.inputs);
  if (!t.home) self->state.sessions->work_done(t.session);  // work of another home: not ours to count
  self->state.tasks.erase(t);
}

void requeue(self_ptr self, std::uint64_t task_id) {
  task* t = self->state.tasks.find(task_id);
  if (!t || t->state != task_state::backoff) return;  // stale or forged
  self->state.tasks.requeue(*t, clock::now());
  self->state.queue.push_back(task_id);
}

namespace {

// A task that cannot start here: its session fails, or (work of another
// home) the home hears of it and decides.
void fail_unstarted(self_ptr self, task& t, const status& why) {
  if (t.home) {
    exec_event e;
    e.what = exec_event::kind::finished;
    e.session = t.session;
    e.outcome = why;
    report_event(self, t, e);  // (retires it)
    return;
  }
  self->state.sessions->fail(t.session, why.prefixed("cannot start '" + t.fn->name + "'"));
  retire(self, t);
}

// Starts queued tasks where the dispatch policy says; in a cluster, sends
// those that should not run here away. Tasks that must wait keep their order.
void dispatch_queued(self_ptr self) {
  auto& st = self->state;
  std::deque<std::uint64_t> waiting;
  auto now = clock::now();
  while (!st.queue.empty()) {
    std::uint64_t id = st.queue.front();
    st.queue.pop_front();
    task* t = st.tasks.find(id);
    if (!t || t->state != task_state::queued) continue;
    bool live = t->home ? st.cluster && st.cluster->foreign.contains(t->session) : st.sessions->live(t->session);
    if (!live) {  // the session ended while this waited
      retire(self, *t);
      continue;
    }
    auto choice = st.executors.choose(*t, st.tasks, now);
    if (st.cluster && should_forward(self, *t, choice.has_value())) {
      forward(self, *t);
      continue;
    }
    if (!choice) {
      if (st.executors.live_executors() == 0)
        fail_unstarted(self, *t, status::unavailable("no executor can run on this node (see `trail status`)"));
      else
        waiting.push_back(id);
      continue;
    }
    std::uint64_t inv = st.next_invocation++;
    bool behind = st.executors.info(*choice).state == shm::executor_state::busy;
    if (status s = st.executors.run(*choice, *t, inv); !s.ok()) {
      if (s.code() == errc::unavailable) waiting.push_back(id);  // that executor is full or dying: later
      else fail_unstarted(self, *t, s);                          // (the message cannot be sent at all)
      continue;
    }
    st.tasks.start(*t, inv, task_state::running);
    auto wall = wall_now();
    st.trace->attempt_started(t->session, inv, t->fn->name, t->attempt, *choice, t->inputs,
                              to_wall(t->queued_at, now, wall), wall);
    t->started_at = now;
    t->seal_sum_ns = 0, t->seals = 0;
    ++st.count.invocations;
    if (st.opts.metrics) st.opts.metrics->hop.record(now - t->queued_at);
    if (behind) ++st.count.batched;
  }
  st.queue = std::move(waiting);
}

// Sends `msg` to session `s`'s bucket actor, counting it as work in flight;
// false when the session is over or the bucket has no triggers. With
// `carry`, the object gets a reference for the trip (the session may end
// before the bucket sees it), which the bucket drops.
bool route_to_bucket(self_ptr self, std::uint64_t s, const std::string& bucket, caf::message msg,
                     std::optional<std::uint64_t> carry = std::nullopt) {
  auto& st = self->state;
  auto app = st.session_app.find(s);
  if (app == st.session_app.end()) return false;  // session over: dropped
  auto b = app->second->buckets.find(bucket);
  if (b == app->second->buckets.end()) return false;
  if (carry) st.store->retain(*carry);
  st.sessions->work_added(s);
  self->send(b->second, std::move(msg));
  return true;
}

}  // namespace

// -- what executors report ----------------------------------------------------------------

void on_attempt_end(self_ptr self, std::uint64_t invocation, const status& outcome) {
  auto& st = self->state;
  if (st.cluster) st.cluster->reports.forget(invocation);
  task* t = st.tasks.end_attempt(invocation);
  if (!t) return;
  if (outcome.ok()) return retire(self, *t);
  core::retry_policy policy{t->fn->retries};
  auto delay = core::retryable(outcome) ? core::retry_delay(policy, t->attempt) : std::nullopt;
  if (delay && st.sessions->live(t->session)) {
    ++t->attempt;
    ++st.count.retries;
    st.tasks.backoff(*t);
    self->delayed_send(self, *delay, retry_atom::value, t->id);
    return;
  }
  std::string tries = t->attempt > 0 ? " after " + std::to_string(t->attempt + 1) + " attempts" : "";
  std::string error = "function '" + t->fn->name + "' failed" + tries + ": " + outcome.message();
  // What the function did is the app's failure; a full store or no executor
  // keeps its own code.
  errc code = outcome.code() == errc::internal ? errc::app_error : outcome.code();
  auto app = st.session_app.find(t->session);
  if (app != st.session_app.end() && !app->second->redundant_buckets.empty()) {
    // Maybe one replica of several: its redundant buckets decide whether
    // the session can still succeed (they answer with a problem if not).
    for (auto& b : app->second->redundant_buckets)
      route_to_bucket(self, t->session, b, caf::make_message(bucket_announce{t->session, 0, false, t->id, true, error}));
  } else {
    st.sessions->fail(t->session, status(code, error));
  }
  retire(self, *t);
}

void on_object(self_ptr self, const core::object_meta& o) {
  auto& st = self->state;
  if (!st.sessions->live(o.session)) return;
  if (st.cluster && !st.cluster->fed[o.session].insert(o.id).second) return;  // fed already
  auto app = st.session_app.find(o.session);
  if (app == st.session_app.end()) return;
  // App-scoped triggers and kept objects of another node's app scope get
  // the object there (cluster.cpp: send_to_owner); the rest happens here.
  const app_ref& v = app->second;
  const bool kept = v->kept_buckets.contains(o.bucket), app_scoped = v->app_scoped_buckets.contains(o.bucket);
  const bool sent = (kept || app_scoped) && send_to_owner(self, v, o);
  if (kept && !sent) keep_in_app(self, v, o);
  auto scope = sent && app_scoped ? bucket_object::scope_filter::session_only : bucket_object::scope_filter::all;
  route_to_bucket(self, o.session, o.bucket, caf::make_message(bucket_object{o, scope}), o.id);
}

void on_output(self_ptr self, std::uint64_t session, const core::object_meta& o) {
  auto& st = self->state;
  if (o.size > st.opts.max_output_bytes)
    st.sessions->fail(session, status::app_error("output of " + std::to_string(o.size) +
                                                 " bytes exceeds the limit of " +
                                                 std::to_string(st.opts.max_output_bytes)));
  else
    st.sessions->output(session, o.id);
}

void on_announce(self_ptr self, task& t, const std::string& bucket, std::uint64_t count, bool is_done) {
  auto msg = caf::make_message(bucket_announce{t.session, count, is_done, t.id, false, {}});
  if (!route_to_bucket(self, t.session, bucket, std::move(msg)))  // (fail is a no-op once it ended)
    self->state.sessions->fail(t.session, status::app_error("'" + t.fn->name + "' " +
                                                            (is_done ? "called done on" : "announced on") +
                                                            " bucket '" + bucket + "', which has no dynamic trigger"));
}

namespace {

// An attempt handed to an executor that died before starting it: it runs
// again as it is (nothing of it ran; no retry is counted).
void on_returned(self_ptr self, std::uint64_t invocation) {
  auto& st = self->state;
  task* t = st.tasks.end_attempt(invocation);
  if (!t) return;
  ++st.count.returned;
  t->producer.reset();
  st.tasks.requeue(*t, clock::now());
  st.queue.push_front(t->id);
}

void on_executor_died(self_ptr self, const status& why) {
  auto& st = self->state;
  note_failure(self, why.message());
  if (st.executors.live_executors() > 0) return;
  // Nothing can run any more: say so now rather than at each deadline.
  for (auto id : st.queue)
    if (task* t = st.tasks.find(id); t && !t->home)
      st.sessions->fail(t->session, why.prefixed("no executor can run"));
}

void trace_event(self_ptr self, const exec_event& e) {
  using k = exec_event::kind;
  auto& trace = *self->state.trace;
  switch (e.what) {
    case k::sealed:
    case k::output: trace.attempt_wrote(e.invocation, e.object); break;
    case k::finished:
    case k::lost: trace.attempt_ended(e.invocation, e.outcome.ok() ? "ok" : e.outcome.message(), wall_now()); break;
    case k::returned: trace.attempt_ended(e.invocation, "returned: runs again", wall_now()); break;
    default: break;
  }
}

void on_exec_event(self_ptr self, const exec_event& e) {
  auto& st = self->state;
  using k = exec_event::kind;
  task* t = e.invocation ? st.tasks.by_attempt(e.invocation) : nullptr;
  st.executors.learn(e, t, clock::now());
  trace_event(self, e);
  if (e.what == k::returned) return on_returned(self, e.invocation);
  if (e.what == k::died) return on_executor_died(self, e.outcome);
  if (st.opts.metrics && (e.what == k::finished || e.what == k::lost)) st.opts.metrics->failures += !e.outcome.ok();
  if (t && t->home) {  // work run for another home: everything goes there
    report_event(self, *t, e);
    return;
  }
  switch (e.what) {
    case k::sealed:
      if (e.fresh) on_object(self, e.object);
      break;
    case k::output:
      if (e.fresh) on_output(self, e.session, e.object);
      break;
    case k::announce:
    case k::done:
      if (t) on_announce(self, *t, e.bucket, e.count, e.what == k::done);
      break;
    case k::finished:
    case k::lost: on_attempt_end(self, e.invocation, e.outcome); break;
    default: break;
  }
}

}  // namespace

void on_exec_events(self_ptr self, std::vector<exec_event> events) {
  for (auto& e : events) on_exec_event(self, e);
}

// -- what buckets decide ----------------------------------------------------------------------

void on_bucket_result(self_ptr self, bucket_result& r) {
  auto& st = self->state;
  for (auto id : r.retain) st.store->retain(id);
  for (auto id : r.release) st.store->release(id);
  if (r.counted) {
    st.sessions->set_waiting(r.session, r.bucket, r.waiting);
    if (!r.problem.ok()) st.sessions->fail(r.session, r.problem);
  }
  for (auto& f : r.fires) {
    if (f.session) {
      auto app = st.session_app.find(*f.session);
      if (app == st.session_app.end() || !st.sessions->live(*f.session)) {
        release_inputs(self, f.inputs);
        continue;
      }
      if (auto s = enqueue(self, app->second, f.target, *f.session, {}, std::move(f.inputs)); !s.ok())
        st.sessions->fail(*f.session, s);
      continue;
    }
    app_ref app = st.apps->by_uid(r.app_uid);  // app scope: every firing starts a session
    auto s = app ? start_session(self, app, core::session_origin::app_trigger, {}, 0)
                 : result<std::uint64_t>(status::not_found("app gone"));
    if (!s) {
      release_inputs(self, f.inputs);
      note_failure(self, "app-scoped trigger on '" + r.bucket + "': " + s.error().message());
      continue;
    }
    if (auto e = enqueue(self, app, f.target, *s, {}, std::move(f.inputs)); !e.ok()) st.sessions->fail(*s, e);
  }
  for (auto [session, waiting] : r.waiting_updates) st.sessions->set_waiting(session, r.bucket, waiting);
  if (r.counted) st.sessions->work_done(r.session);
}

// -- the pump ----------------------------------------------------------------------------------

void pump(self_ptr self) {
  auto& st = self->state;
  for (;;) {
    collect_ended(self);
    dispatch_queued(self);
    collect_ended(self);  // a dispatch error fails its session: now, not at the next message
    auto events = st.executors.service(false);  // (freed space may let a waiting allocation go on)
    if (events.empty()) break;
    on_exec_events(self, std::move(events));
  }
  auto d = st.sessions->next_deadline();
  if (auto p = st.executors.next_deadline(); p && (!d || *p < *d)) d = p;
  if (d && (!st.armed || *d < *st.armed)) {
    st.armed = d;
    self->delayed_send(self, std::max(*d - clock::now(), clock::duration::zero()), tick_atom_t::value);
  }
}

}  // namespace trail::actors::sched
