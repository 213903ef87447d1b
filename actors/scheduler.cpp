#include "actors/scheduler.hpp"

#include <sys/epoll.h>

#include "actors/cluster_types.hpp"
#include "actors/core/retry.hpp"
#include "actors/scheduler_state.hpp"

namespace trail::actors {
namespace sched {

using retry_atom = caf::atom_constant<caf::atom("tretry")>;


// -- store references ------------------------------------------------------------

void release_inputs(self_ptr self, const std::vector<core::object_meta>& inputs) {
  if (inputs.empty()) return;
  self->state.with_store([&](shm::store& st) {
    for (auto& o : inputs) st.release(o.id);
  });
}

std::optional<int> producer_of(self_ptr self, std::uint64_t object);

// -- tasks ------------------------------------------------------------------------

// Queues an invocation of `fn` in live session `s`; takes the inputs' references.
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
  t.id = st.next_task++;
  t.app = app;
  t.fn = spec;
  t.session = s;
  t.args = std::move(args);
  t.inputs = std::move(inputs);
  t.queued_at = clock::now();
  if (!t.inputs.empty()) t.producer = producer_of(self, t.inputs.back().id);
  st.sessions->work_added(s);
  st.queue.push_back(t.id);
  st.tasks.emplace(t.id, std::move(t));
  return {};
}

// Ends a task for good: its references go, the session loses a piece of work.
void retire(self_ptr self, task& t) {
  release_inputs(self, t.inputs);
  if (!t.home) self->state.sessions->work_done(t.session);  // work for another node: not ours to count
  self->state.tasks.erase(t.id);
}

// A task that cannot start here: its session fails, or (work of another
// node) its home hears of the failed attempt and decides.
void fail_unstarted(self_ptr self, task& t, const status& why) {
  auto& st = self->state;
  if (t.home) {
    std::uint64_t inv = st.next_invocation++;
    t.invocation = inv;
    st.running[inv] = t.id;
    exec_event e;
    e.what = exec_event::kind::finished;
    e.invocation = inv;
    e.session = t.session;
    e.outcome = why;
    report_event(self, e);
    return;
  }
  st.sessions->fail(t.session, "cannot start '" + t.fn->name + "': " + why.message());
  retire(self, t);
}

shm::invocation to_invocation(const task& t, std::uint64_t id) {
  shm::invocation inv{id, t.session, t.attempt, t.fn->library, t.fn->name, t.args, {},
                      std::chrono::milliseconds(t.fn->timeout_ms)};
  for (auto& o : t.inputs) inv.inputs.push_back(o.id);
  return inv;
}

// The executors as the dispatch policy sees them, for a task of `fn`.
std::vector<core::executor_view> executor_views(self_ptr self, const core::function_spec& fn) {
  auto& pool = *self->state.pool;
  std::vector<core::executor_view> v(static_cast<std::size_t>(pool.size()));
  for (int i = 0; i < pool.size(); ++i) {
    const auto& info = pool.info(i);
    auto& x = v[static_cast<std::size_t>(i)];
    x.st = info.state == shm::executor_state::idle   ? core::executor_view::state::idle
           : info.state == shm::executor_state::busy ? core::executor_view::state::busy
                                                      : core::executor_view::state::unavailable;
    x.since = info.since;
    x.queued = info.queued;
    x.has_library = std::find(info.libraries.begin(), info.libraries.end(), fn.library) != info.libraries.end();
  }
  return v;
}

core::task_view task_view_of(self_ptr self, const task& t) {
  auto& st = self->state;
  core::task_view v;
  v.producer = t.producer;
  if (t.producer && *t.producer < st.pool->size()) {
    auto inv = st.pool->info(*t.producer).invocation;
    if (const task* p = inv ? task_of(self, inv) : nullptr)
      if (auto it = st.timing.find(p->fn); it != st.timing.end()) v.producer_tail = it->second.tail.get();
  }
  if (auto it = st.timing.find(t.fn); it != st.timing.end()) v.expected_run = it->second.run.get();
  return v;
}

// Starts queued tasks where the dispatch policy says (core/dispatch_policy);
// in a cluster, sends those that cannot run here away (two-level
// scheduling). Tasks that must wait keep their order.
void dispatch_queued(self_ptr self) {
  auto& st = self->state;
  std::deque<std::uint64_t> waiting;
  auto now = clock::now();
  while (!st.queue.empty()) {
    std::uint64_t id = st.queue.front();
    st.queue.pop_front();
    auto it = st.tasks.find(id);
    if (it == st.tasks.end()) continue;
    task& t = it->second;
    bool live = t.home ? st.cluster && st.cluster->foreign.contains(t.session) : st.sessions->live(t.session);
    if (!live) {  // the session ended while this waited
      retire(self, t);
      continue;
    }
    if (t.pending_inputs > 0) {  // (not queued until its pulls are in)
      waiting.push_back(id);
      continue;
    }
    auto choice = core::choose_executor(executor_views(self, *t.fn), task_view_of(self, t), now);
    if (st.cluster && should_forward(self, t, choice.has_value())) {
      forward(self, t);
      continue;
    }
    if (!choice) {
      if (st.pool->live_executors() == 0) {
        fail_unstarted(self, t, status::unavailable("no executor can run on this node (see `trail status`)"));
        continue;
      }
      waiting.push_back(id);
      continue;
    }
    std::uint64_t inv = st.next_invocation++;
    status s = st.pool->dispatch(*choice, to_invocation(t, inv));
    if (!s.ok()) {
      fail_unstarted(self, t, s);
      continue;
    }
    t.invocation = inv;
    t.started_at = now;
    t.seal_sum_ns = 0, t.seals = 0;
    st.running[inv] = t.id;
    ++st.invocations;
  }
  st.queue = std::move(waiting);
}

// -- sessions ---------------------------------------------------------------------

std::string read_output(self_ptr self, std::uint64_t object) {
  return self->state.with_store([&](shm::store& s) {
    const shm::object_info* o = s.info(object);
    return o ? std::string(reinterpret_cast<const char*>(s.data(*o)), o->size) : std::string();
  });
}

void remember(self_ptr self, std::uint64_t s, outcome o) {
  auto& st = self->state;
  st.result_bytes += o.output.size();
  st.results[s] = std::move(o);
  st.result_order.push_back(s);
  while (st.result_order.size() > st.opts.result_cache || st.result_bytes > st.opts.result_cache_bytes) {
    auto old = st.results.find(st.result_order.front());
    st.result_bytes -= old->second.output.size();
    st.results.erase(old);
    st.result_order.pop_front();
  }
}

void note_failure(self_ptr self, std::string what) {
  auto& st = self->state;
  st.recent_failures.push_back(std::move(what));
  if (st.recent_failures.size() > 20) st.recent_failures.pop_front();
}

void finish_session(self_ptr self, const core::session_end& e) {
  auto& st = self->state;
  outcome o;
  if (e.how == core::session_end::kind::output) {
    o.ok = true;
    o.output = read_output(self, e.output_object);
    ++st.sessions_ok;
  } else if (e.how == core::session_end::kind::failed) {
    o.error = status::internal(e.error);
    ++st.sessions_failed;
    note_failure(self, "session " + std::to_string(e.session) + " (" + e.app + "): " + e.error);
  }
  if (auto w = st.waiters.find(e.session); w != st.waiters.end()) {
    for (auto& rp : w->second) {
      if (o.ok) rp.deliver(e.session, o.output);
      else rp.deliver(to_error(e.how == core::session_end::kind::quiet ? status::not_found("session ended without output") : o.error));
    }
    st.waiters.erase(w);
  }
  nlohmann::json summary{{"session", e.session}, {"app", e.app}};
  if (e.how == core::session_end::kind::output) summary["output"] = o.output.substr(0, 200);
  else if (e.how == core::session_end::kind::failed) summary["error"] = e.error;
  else summary["ended"] = "without output";
  st.recent_sessions.push_back(std::move(summary));
  if (st.recent_sessions.size() > 20) st.recent_sessions.pop_front();
  if (st.cluster) on_session_end(self, e.session, &o, e.how == core::session_end::kind::quiet);
  if (e.how != core::session_end::kind::quiet) remember(self, e.session, std::move(o));
  st.with_store([&](shm::store& s) { s.release_session(e.session); });
  if (auto a = st.session_app.find(e.session); a != st.session_app.end()) {
    for (auto& [name, b] : a->second->buckets) self->send(b, end_atom::value, e.session);
    st.session_app.erase(a);
  }
}

void on_exec_event(self_ptr self, const exec_event& e);

// Handles what the executors reported in one service() of the pool.
bool handle_pool_events(self_ptr self) {
  auto& st = self->state;
  if (st.listener.events.empty()) return false;
  auto events = std::exchange(st.listener.events, {});
  for (auto& e : events) on_exec_event(self, e);
  return true;
}

// Collects ended sessions, starts what can start, serves the pool until it
// has nothing more to say, and arms the timer for the next deadline.
void pump(self_ptr self) {
  auto& st = self->state;
  do {
    for (auto& e : st.sessions->collect(clock::now())) finish_session(self, e);
    dispatch_queued(self);
    // A dispatch error fails its session: report it now, not at the next message.
    for (auto& e : st.sessions->collect(clock::now())) finish_session(self, e);
    st.pool->service(false);  // freed space may let a waiting allocation go on
  } while (handle_pool_events(self));
  auto d = st.sessions->next_deadline();
  if (auto p = st.pool->next_deadline(); p && (!d || *p < *d)) d = p;
  if (d && (!st.armed || *d < *st.armed)) {
    st.armed = d;
    self->delayed_send(self, std::max(*d - clock::now(), clock::duration::zero()), tick_atom_t::value);
  }
}

result<std::uint64_t> start_session(self_ptr self, const app_ref& app, core::session_origin origin,
                                    std::optional<std::chrono::milliseconds> deadline, std::uint64_t id) {
  auto& st = self->state;
  std::uint64_t s = id ? id : st.next_session++;
  if (st.sessions->live(s) || st.session_app.contains(s)) return status::invalid("session " + std::to_string(s) + " exists");
  if (auto r = st.sessions->start(s, app->app, origin, clock::now(), deadline); !r.ok()) return r;
  st.session_app[s] = app;
  st.with_store([&](shm::store& store) { store.open_session(s); });
  return s;
}

// -- events -----------------------------------------------------------------------

task* task_of(self_ptr self, std::uint64_t invocation) {
  auto& st = self->state;
  auto r = st.running.find(invocation);
  if (r == st.running.end()) return nullptr;
  auto t = st.tasks.find(r->second);
  return t == st.tasks.end() ? nullptr : &t->second;
}

// Sends `msg` to session `s`'s bucket actor, counting it as work in flight;
// false when the session is over or the bucket has no triggers. With
// `carry`, the object gets a reference for the trip (the session may end
// before the bucket sees it), which the bucket drops.
bool route_to_bucket(self_ptr self, std::uint64_t s, const std::string& bucket, caf::message msg,
                     std::optional<std::uint64_t> carry) {
  auto& st = self->state;
  auto app = st.session_app.find(s);
  if (app == st.session_app.end()) return false;  // session over: dropped
  auto b = app->second->buckets.find(bucket);
  if (b == app->second->buckets.end()) return false;
  if (carry) st.with_store([&](shm::store& store) { store.retain(*carry); });
  st.sessions->work_added(s);
  self->send(b->second, std::move(msg));
  return true;
}

void on_attempt_end(self_ptr self, std::uint64_t invocation, const status& outcome) {
  auto& st = self->state;
  task* t = task_of(self, invocation);
  st.running.erase(invocation);
  if (st.cluster) forget(*st.cluster, invocation);
  if (!t) return;
  t->invocation = 0;
  t->remote = 0;
  t->forwarding = false;
  if (outcome.ok()) return retire(self, *t);
  core::retry_policy policy{t->fn->retries};
  auto delay = core::retryable(outcome) ? core::retry_delay(policy, t->attempt) : std::nullopt;
  if (delay && st.sessions->live(t->session)) {
    ++t->attempt;
    ++st.retries;
    t->retry_pending = true;
    self->delayed_send(self, *delay, retry_atom::value, t->id);
    return;
  }
  std::string tries = t->attempt > 0 ? " after " + std::to_string(t->attempt + 1) + " attempts" : "";
  std::string error = "function '" + t->fn->name + "' failed" + tries + ": " + outcome.message();
  auto app = st.session_app.find(t->session);
  if (app != st.session_app.end() && !app->second->redundant_buckets.empty()) {
    // Maybe one replica of several: its redundant buckets decide whether
    // the session can still succeed (they answer with a problem if not).
    for (auto& b : app->second->redundant_buckets)
      route_to_bucket(self, t->session, b, caf::make_message(bucket_announce{t->session, 0, false, t->id, true, error}));
  } else {
    st.sessions->fail(t->session, error);
  }
  retire(self, *t);
}

core::object_meta meta_of(self_ptr self, std::uint64_t object) {
  return self->state.with_store([&](shm::store& st) {
    const shm::object_info* o = st.info(object);
    return o ? core::object_meta{o->session, o->bucket, o->key, o->id, o->size} : core::object_meta{};
  });
}

void on_object(self_ptr self, const core::object_meta& o) {
  auto& st = self->state;
  if (!st.sessions->live(o.session)) return;
  if (st.cluster && !st.cluster->fed[o.session].insert(o.id).second) return;  // fed already
  auto app = st.session_app.find(o.session);
  if (app == st.session_app.end()) return;
  auto scope = bucket_object::scope_filter::all;
  if (app->second->app_scoped_buckets.contains(o.bucket) && send_to_owner(self, app->second, o))
    scope = bucket_object::scope_filter::session_only;
  route_to_bucket(self, o.session, o.bucket, caf::make_message(bucket_object{o, scope}), o.id);
}

void on_output(self_ptr self, std::uint64_t session, const core::object_meta& o) {
  auto& st = self->state;
  if (o.size > st.opts.max_output_bytes)
    st.sessions->fail(session, "output of " + std::to_string(o.size) + " bytes exceeds the limit of " +
                                   std::to_string(st.opts.max_output_bytes));
  else
    st.sessions->output(session, o.id);
}

void on_announce(self_ptr self, task& t, std::uint64_t session, const std::string& bucket, std::uint64_t count,
                 bool is_done) {
  auto msg = caf::make_message(bucket_announce{session, count, is_done, t.id, false, {}});
  if (!route_to_bucket(self, session, bucket, std::move(msg)))  // (fail is a no-op once it ended)
    self->state.sessions->fail(session, "'" + t.fn->name + "' " + (is_done ? "called done on" : "announced on") +
                                            " bucket '" + bucket + "', which has no dynamic trigger");
}

// What the dispatch policy learns from an event: who produced an object,
// how long functions run and how long after sending they complete.
void learn(self_ptr self, const exec_event& e) {
  auto& st = self->state;
  using k = exec_event::kind;
  if (e.what != k::sealed && e.what != k::finished) return;
  task* t = task_of(self, e.invocation);
  if (!t) return;
  auto now = clock::now();
  if (e.what == k::sealed) {
    st.producers[st.producers_next++ % st.producers.size()] = {e.object.id, e.slot};
    t->seal_sum_ns += now.time_since_epoch().count();
    ++t->seals;
    return;
  }
  auto& timing = st.timing[t->fn];
  timing.run.add(now - t->started_at);
  if (t->seals > 0)
    timing.tail.add(std::chrono::nanoseconds(now.time_since_epoch().count() - t->seal_sum_ns / t->seals));
}

// The executor that sealed `object`, if it was one of the last few.
std::optional<int> producer_of(self_ptr self, std::uint64_t object) {
  for (auto& [id, slot] : self->state.producers)
    if (id == object && slot >= 0) return slot;
  return std::nullopt;
}

// An attempt handed to an executor that died before starting it: it runs
// again as it is (nothing of it ran; no retry is counted).
void requeue_returned(self_ptr self, std::uint64_t invocation) {
  auto& st = self->state;
  task* t = task_of(self, invocation);
  st.running.erase(invocation);
  if (!t) return;
  ++st.returned;
  t->invocation = 0;
  t->producer.reset();
  st.queue.push_front(t->id);
}

void on_exec_event(self_ptr self, const exec_event& e) {
  auto& st = self->state;
  using k = exec_event::kind;
  learn(self, e);
  if (e.what == k::returned) return requeue_returned(self, e.invocation);
  if (st.cluster && report_event(self, e)) return;  // work run for another node
  switch (e.what) {
    case k::ready: break;
    case k::sealed:
      if (e.fresh) on_object(self, e.object);
      break;
    case k::output:
      if (e.fresh) on_output(self, e.session, e.object);
      break;
    case k::died:
      note_failure(self, e.outcome.message());
      if (st.pool->live_executors() == 0) {
        // Nothing can run any more: say so now rather than at each deadline.
        for (auto id : st.queue)
          if (auto t = st.tasks.find(id); t != st.tasks.end() && !t->second.home)
            st.sessions->fail(t->second.session, "no executor can run: " + e.outcome.message());
      }
      break;
    case k::announce:
    case k::done:
      if (task* t = task_of(self, e.invocation)) on_announce(self, *t, e.session, e.bucket, e.count, e.what == k::done);
      break;
    case k::finished:
    case k::lost: on_attempt_end(self, e.invocation, e.outcome); break;
    case k::returned: break;
  }
}

void on_bucket_result(self_ptr self, bucket_result& r) {
  auto& st = self->state;
  for (auto id : r.retain) st.store->retain(id);
  for (auto id : r.release) st.store->release(id);
  if (r.counted) {
    st.sessions->set_waiting(r.session, r.bucket, r.waiting);
    if (!r.problem.ok()) st.sessions->fail(r.session, r.problem.message());
  }
  for (auto& f : r.fires) {
    if (f.session) {
      auto app = st.session_app.find(*f.session);
      if (app == st.session_app.end() || !st.sessions->live(*f.session)) {
        release_inputs(self, f.inputs);
        continue;
      }
      if (auto s = enqueue(self, app->second, f.target, *f.session, {}, std::move(f.inputs)); !s.ok())
        st.sessions->fail(*f.session, s.message());
      continue;
    }
    auto app = st.apps.find(r.app_uid);  // app scope: every firing starts a session
    auto s = app == st.apps.end() ? result<std::uint64_t>(status::not_found("app gone"))
                                  : start_session(self, app->second, core::session_origin::app_trigger, {}, 0);
    if (!s) {
      release_inputs(self, f.inputs);
      note_failure(self, "app-scoped trigger on '" + r.bucket + "': " + s.error().message());
      continue;
    }
    if (auto e = enqueue(self, app->second, f.target, *s, {}, std::move(f.inputs)); !e.ok())
      st.sessions->fail(*s, e.message());
  }
  for (auto [session, waiting] : r.waiting_updates) st.sessions->set_waiting(session, r.bucket, waiting);
  if (r.counted) st.sessions->work_done(r.session);
}

// -- client requests --------------------------------------------------------------

caf::result<std::uint64_t, std::string> invoke(self_ptr self, const app_ref& app, std::vector<std::string> args,
                                               std::uint32_t timeout_ms, bool async) {
  auto& st = self->state;
  std::size_t bytes = 0;
  for (auto& a : args) bytes += a.size();
  if (bytes > st.opts.max_args_bytes)
    return to_error(status::invalid("arguments of " + std::to_string(bytes) + " bytes exceed the limit of " +
                                    std::to_string(st.opts.max_args_bytes)));
  std::optional<std::chrono::milliseconds> deadline;
  if (timeout_ms > 0) deadline = std::chrono::milliseconds(timeout_ms);
  auto s = start_session(self, app, core::session_origin::invoked, deadline, 0);
  if (!s) return to_error(s.error());
  if (auto e = enqueue(self, app, app->manifest.entry, *s, std::move(args), {}); !e.ok()) {
    st.sessions->fail(*s, e.message());
    pump(self);
    return to_error(e);
  }
  if (async) {
    pump(self);
    return {*s, std::string()};
  }
  // Wait before pumping: the session may end within this very pump.
  auto rp = self->make_response_promise<std::uint64_t, std::string>();
  st.waiters[*s].push_back(rp);
  pump(self);
  return rp;
}

caf::result<std::uint64_t, std::string> result_of(self_ptr self, std::uint64_t s) {
  auto& st = self->state;
  if (auto r = st.results.find(s); r != st.results.end()) {
    if (r->second.ok) return {s, r->second.output};
    return to_error(r->second.error);
  }
  if (!st.sessions->live(s)) return to_error(status::not_found("no session " + std::to_string(s)));
  auto rp = self->make_response_promise<std::uint64_t, std::string>();
  st.waiters[s].push_back(rp);
  return rp;
}

std::string status_json(self_ptr self) {
  auto& st = self->state;
  nlohmann::json j;
  {
    auto& p = *st.pool;
    int busy = 0, idle = 0;
    for (int i = 0; i < p.size(); ++i) {
      busy += p.info(i).state == shm::executor_state::busy;
      idle += p.info(i).state == shm::executor_state::idle;
    }
    j["executors"] = {{"total", p.size()}, {"busy", busy}, {"idle", idle}};
  }
  st.with_store([&](shm::store& s) {
    j["store"] = {{"objects", s.object_count()}, {"bytes_used", s.used_bytes()}, {"capacity", s.capacity()}};
  });
  j["sessions"] = {{"in_flight", st.sessions->in_flight()}, {"ok", st.sessions_ok}, {"failed", st.sessions_failed}};
  j["invocations"] = {{"started", st.invocations}, {"retries", st.retries}, {"returned", st.returned},
                      {"queued", st.queue.size()}, {"running", st.running.size()}};
  if (st.cluster) {
    j["cluster"] = {{"name", st.cluster->name}, {"number", st.cluster->number}, {"forwarded", st.forwarded},
                    {"worked_for_others", st.worked}, {"peers", st.cluster->peers.size()}};
  }
  j["recent_failures"] = st.recent_failures;
  j["recent_sessions"] = st.recent_sessions;
  // Outputs and error texts are arbitrary bytes: never let invalid UTF-8 throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Starts the pool on the loop thread (its executors die with that thread)
// and lets the loop poll its rings and watch its fds.
status start_pool(self_ptr self, shm::pool_options opts) {
  auto& st = self->state;
  st.listener.store = st.store;
  st.pool = std::make_unique<shm::executor_pool>(*st.store, std::move(opts), st.listener);
  if (status s = st.pool->start(); !s.ok()) return s;
  st.pool->wait_ready(std::chrono::seconds(10));  // up (or given up) before serving
  st.listener.events.clear();                       // (nothing has run yet: only readiness)
  st.poller.pool = st.pool.get();
  st.poller.owner = caf::actor_cast<caf::actor>(self);
  st.loop = &self->loop();
  st.loop->add(st.poller);
  caf::actor me = st.poller.owner;
  self->loop().watch(st.pool->wait_fd(), EPOLLIN, [me](std::uint32_t) { caf::anon_send(me, drain_atom::value, true); });
  return {};
}

caf::behavior scheduler_actor(self_ptr self, shm::store* store, shm::pool_options pool, scheduler_options opts,
                              std::promise<status>* started) {
  self->state.store = store;
  self->state.sessions = std::make_unique<core::session_table>(opts.limits);
  if (opts.cluster) {
    auto& c = self->state.cluster.emplace();
    c.name = opts.node_name;
    c.xfer = opts.xfer;
    c.data_address = opts.xfer ? opts.xfer->address() : std::string();
    c.forward_wait = opts.forward_wait;
  }
  self->state.opts = std::move(opts);
  status up = start_pool(self, std::move(pool));
  started->set_value(up);
  if (!up.ok()) {
    self->quit();
    return {};
  }
  reject_unexpected(self, "trail-node: scheduler");
  caf::message_handler local{
      [=](invoke_atom, const app_ref& app, std::vector<std::string>& args, std::uint32_t timeout_ms, bool async) {
        return invoke(self, app, std::move(args), timeout_ms, async);
      },
      [=](result_atom, std::uint64_t s) { return result_of(self, s); },
      [=](status_atom) { return status_json(self); },
      [=](const app_ref& app) {  // a (re)deploy: app-scoped fires start sessions on it only
        std::erase_if(self->state.apps, [&](auto& kv) { return kv.second->app == app->app; });
        self->state.apps[app->uid] = app;
        if (self->state.cluster) self->state.cluster->versions[{app->app, app->version}] = app;
      },
      [=](undeploy_atom, const std::string& app) {
        std::erase_if(self->state.apps, [&](auto& kv) { return kv.second->app == app; });
        if (self->state.cluster)
          std::erase_if(self->state.cluster->versions, [&](auto& kv) { return kv.first.first == app; });
      },
      [=](drain_atom, bool fds) {  // the loop saw news in the rings (or the pool's fds)
        if (!fds) self->state.poller.notified = false;
        self->state.pool->service(fds);
        pump(self);
      },
      [=](load_atom) {
        auto& st = self->state;
        std::uint32_t free = 0;
        for (int i = 0; i < st.pool->size(); ++i) free += st.pool->info(i).state == shm::executor_state::idle;
        return caf::make_message(free, static_cast<std::uint32_t>(st.queue.size()), st.store->used_bytes());
      },
      [=](bucket_released& r) {
        for (auto id : r.release) self->state.store->release(id);
        pump(self);
      },
      [=](bucket_result& r) {
        on_bucket_result(self, r);
        pump(self);
      },
      [=](retry_atom, std::uint64_t task_id) {
        auto t = self->state.tasks.find(task_id);
        if (t == self->state.tasks.end() || !t->second.retry_pending) return;  // stale or forged
        t->second.retry_pending = false;
        t->second.queued_at = clock::now();
        self->state.queue.push_back(task_id);
        pump(self);
      },
      [=](tick_atom_t) {
        self->state.armed.reset();
        pump(self);
      },
  };
  return local.or_else(cluster_handlers(self));
}

}  // namespace sched

caf::actor spawn_scheduler(node_loop& loop, shm::store& store, shm::pool_options pool, scheduler_options opts,
                           std::promise<status>* started) {
  return spawn_on(loop, sched::scheduler_actor, &store, std::move(pool), std::move(opts), started);
}

namespace sched {

// -- the pool's events ------------------------------------------------------------

// (On the loop thread, where the actor ends.) The loop stops polling the
// pool before it goes; then the pool kills and reaps its executors.
scheduler_state::~scheduler_state() {
  if (!pool || !loop) return;
  loop->remove(poller);
  loop->unwatch(pool->wait_fd());
}

namespace {
exec_event event(exec_event::kind what, const shm::invocation& inv) {
  exec_event e;
  e.what = what;
  e.invocation = inv.id;
  e.session = inv.session;
  e.slot = inv.slot;
  return e;
}

core::object_meta meta_of(const shm::store& st, std::uint64_t id) {
  const shm::object_info* o = st.info(id);
  if (!o) return {};
  return {o->session, o->bucket, o->key, o->id, o->size};
}
}  // namespace

void pool_listener::on_ready(int) {}

void pool_listener::on_sealed(const shm::invocation& inv, const shm::sealed& s) {
  auto e = event(exec_event::kind::sealed, inv);
  e.object = meta_of(*store, s.id);
  e.fresh = s.fresh;
  events.push_back(std::move(e));
}

void pool_listener::on_output(const shm::invocation& inv, const shm::sealed& s) {
  auto e = event(exec_event::kind::output, inv);
  e.object = meta_of(*store, s.id);
  e.fresh = s.fresh;
  events.push_back(std::move(e));
}

void pool_listener::on_announce(const shm::invocation& inv, std::string_view bucket, std::uint64_t n) {
  auto e = event(exec_event::kind::announce, inv);
  e.bucket = bucket;
  e.count = n;
  events.push_back(std::move(e));
}

void pool_listener::on_done(const shm::invocation& inv, std::string_view bucket) {
  auto e = event(exec_event::kind::done, inv);
  e.bucket = bucket;
  events.push_back(std::move(e));
}

void pool_listener::on_finished(const shm::invocation& inv, const status& st) {
  auto e = event(exec_event::kind::finished, inv);
  e.outcome = st;
  events.push_back(std::move(e));
}

void pool_listener::on_executor_died(int slot, const std::string& why) {
  exec_event e;
  e.what = exec_event::kind::died;
  e.outcome = status::unavailable("executor " + std::to_string(slot) + ": " + why);
  events.push_back(std::move(e));
}

void pool_listener::on_log(int slot, const shm::invocation* inv, std::string_view line) {
  if (inv)
    log.post("[session " + std::to_string(inv->session) + " " + inv->function + "] " + std::string(line));
  else
    log.post("[executor " + std::to_string(slot) + "] " + std::string(line));
}

void pool_listener::on_lost(const shm::invocation& inv, const std::string& why) {
  auto e = event(exec_event::kind::lost, inv);
  e.outcome = status::unavailable(why);
  events.push_back(std::move(e));
}

void pool_listener::on_returned(const shm::invocation& inv, const std::string& why) {
  auto e = event(exec_event::kind::returned, inv);
  e.outcome = status::unavailable(why);
  events.push_back(std::move(e));
}

void pool_poller::fire() {
  notified = true;
  caf::anon_send(owner, drain_atom::value, false);
}

}  // namespace sched
}  // namespace trail::actors
