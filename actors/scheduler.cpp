// The scheduler actor's shell: its handlers, each handing over to a step of
// sched/flow.cpp or sched/cluster.cpp (see sched/state.hpp).
#include "actors/scheduler.hpp"

#include "actors/cluster_types.hpp"
#include "actors/sched/state.hpp"

namespace trail::actors {
namespace sched {
namespace {

caf::result<std::uint64_t, std::string> invoke(self_ptr self, const std::string& name, std::vector<std::string>& args,
                                               std::uint32_t timeout_ms, bool async) {
  auto& st = self->state;
  app_ref app = st.apps->current(name);
  // A cluster node runs the synchronous invokes a client brings it while it
  // is a member; when it cannot, the client goes through the coordinator.
  if (st.cluster) {
    if (st.cluster->number == 0) return to_error(not_here("node " + st.cluster->name + " has not joined a coordinator"));
    if (!app) return to_error(not_here("no app \"" + name + "\" is deployed on node " + st.cluster->name));
    if (st.draining) return to_error(not_here("node " + st.cluster->name + " is draining"));
    if (st.cluster->rejoining) return to_error(not_here("node " + st.cluster->name + " is rejoining the cluster"));
  }
  if (!app) return to_error(status::not_found("no app \"" + name + "\" is deployed"));
  if (st.draining) return to_error(status::unavailable("this node is draining (`trail drain --off` ends that)"));
  std::size_t bytes = 0;
  for (auto& a : args) bytes += a.size();
  if (bytes > st.opts.max_args_bytes)
    return to_error(status::invalid("arguments of " + std::to_string(bytes) + " bytes exceed the limit of " +
                                    std::to_string(st.opts.max_args_bytes)));
  std::optional<std::chrono::milliseconds> deadline;
  if (timeout_ms > 0) deadline = std::chrono::milliseconds(timeout_ms);
  auto s = start_session(self, app, core::session_origin::invoked, deadline, 0);
  if (!s) return to_error(s.error());
  if (st.cluster) st.cluster->direct.insert(*s);
  if (auto e = enqueue(self, app, app->manifest.entry, *s, std::move(args), {}); !e.ok()) {
    st.sessions->fail(*s, e);
    pump(self);
    return to_error(e);
  }
  if (async) {
    pump(self);
    return {*s, std::string()};
  }
  // Wait before pumping: the session may end within this very pump.
  auto rp = self->make_response_promise<std::uint64_t, std::string>();
  (void)st.results->wait(*s, rp);  // (the first waiter of a new session)
  pump(self);
  return rp;
}

caf::result<std::uint64_t, std::string> result_of(self_ptr self, std::uint64_t s) {
  auto& st = self->state;
  if (const outcome* o = st.results->find(s)) {
    if (o->ok) return {s, o->output};
    return to_error(o->error);
  }
  if (!st.sessions->live(s)) return to_error(status::not_found("no session " + std::to_string(s)));
  auto rp = self->make_response_promise<std::uint64_t, std::string>();
  if (status w = st.results->wait(s, rp); !w.ok()) rp.deliver(to_error(w));
  return rp;
}

std::string status_json(self_ptr self) {
  auto& st = self->state;
  nlohmann::json j;
  int busy = 0, idle = 0;
  for (int i = 0; i < st.executors.size(); ++i) {
    busy += st.executors.info(i).state == shm::executor_state::busy;
    idle += st.executors.info(i).state == shm::executor_state::idle;
  }
  j["executors"] = {{"total", st.executors.size()}, {"busy", busy}, {"idle", idle}};
  j["apps"] = st.apps->listing();
  j["store"] = {{"objects", st.store->object_count()}, {"bytes_used", st.store->used_bytes()},
                {"capacity", st.store->capacity()}};
  j["sessions"] = {{"in_flight", st.sessions->in_flight()}, {"ok", st.count.sessions_ok},
                   {"failed", st.count.sessions_failed}};
  j["invocations"] = {{"started", st.count.invocations}, {"retries", st.count.retries},
                      {"returned", st.count.returned}, {"batched", st.count.batched}, {"queued", st.queue.size()},
                      {"running", st.tasks.attempts()}};
  if (st.cluster) {
    j["cluster"] = {{"name", st.cluster->name}, {"number", st.cluster->number}, {"forwarded", st.count.forwarded},
                    {"worked_for_others", st.count.worked}, {"peers", st.cluster->peers.size()},
                    {"detached", st.cluster->detached}};
  }
  j["recent_failures"] = st.recent_failures;
  j["recent_sessions"] = st.recent_sessions;
  // Outputs and error texts are arbitrary bytes: never let invalid UTF-8 throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

caf::message load(self_ptr self) {
  auto& st = self->state;
  return caf::make_message(st.executors.idle(), static_cast<std::uint32_t>(st.queue.size()), st.store->used_bytes());
}

caf::result<std::string> undeploy(self_ptr self, const std::string& app) {
  if (!self->state.apps->remove(app)) return to_error(status::not_found("no app \"" + app + "\" is deployed"));
  forget_app_data(self, app);
  return "undeployed " + app + " (sessions in flight finish on their version)";
}

void on_drain(self_ptr self, bool fds) {
  if (!fds) self->state.executors.drained();
  on_exec_events(self, self->state.executors.service(fds));
  pump(self);
}

caf::behavior scheduler_actor(self_ptr self, shm::store* store, shm::pool_options pool, scheduler_options opts,
                              std::promise<status>* started) {
  auto& st = self->state;
  st.store = store;
  st.sessions = std::make_unique<core::session_table>(opts.limits);
  st.trace = std::make_unique<trace_log>(opts.node_name.empty() ? "local" : opts.node_name);
  st.apps = std::make_unique<catalogue>(opts.cluster);
  if (opts.cluster) {
    auto& c = st.cluster.emplace();
    c.name = opts.node_name;
    c.xfer = opts.xfer;
    c.data_address = opts.xfer ? opts.xfer->address() : std::string();
    c.forward_wait = opts.forward_wait;
  }
  st.results = std::make_unique<outcomes>(opts.result_cache, opts.result_cache_bytes);
  st.opts = std::move(opts);
  st.executors.tune(st.opts.dispatch);
  status up = st.executors.start(self->loop(), *store, std::move(pool), caf::actor_cast<caf::actor>(self));
  started->set_value(up);
  if (!up.ok()) {
    self->quit();
    return {};
  }
  reject_unexpected(self, "trail-node: scheduler");
  caf::message_handler local{
      [=](invoke_atom, const std::string& app, std::vector<std::string>& args, std::uint32_t timeout_ms, bool async) {
        return invoke(self, app, args, timeout_ms, async);
      },
      [=](result_atom, std::uint64_t s) { return result_of(self, s); },
      [=](status_atom) { return status_json(self); },
      [=](apps_atom) { return self->state.apps->listing(); },
      [=](const app_ref& app) { self->state.apps->add(app); },
      [=](undeploy_atom, const std::string& app) { return undeploy(self, app); },
      [=](put_atom, const std::string& app, const std::string& bucket, const std::string& key, std::uint64_t size,
          bool new_session, std::uint32_t timeout_ms, std::uint64_t session) {
        return begin_put(self, app, bucket, key, size, new_session, timeout_ms, session);
      },
      [=](putend_atom, std::uint64_t put, bool commit) { return end_put(self, put, commit); },
      [=](get_atom, const std::string& app, const std::string& bucket, const std::string& key) {
        return begin_get(self, app, bucket, key);
      },
      [=](getend_atom, std::uint64_t object) { end_get(self, object); },
      [=](admin_atom, const std::string& command, const std::vector<std::string>& words) {
        return admin_request(self, command, words);
      },
      [=](drain_atom, bool fds) { on_drain(self, fds); },
      [=](load_atom) { return load(self); },
      [=](bucket_result& r) {
        on_bucket_result(self, r);
        pump(self);
      },
      [=](bucket_released& r) {
        for (auto id : r.release) self->state.store->release(id);
        pump(self);
      },
      [=](retry_atom, std::uint64_t task_id) {
        requeue(self, task_id);
        pump(self);
      },
      [=](tick_atom_t) {
        self->state.armed.reset();
        pump(self);
      },
  };
  return local.or_else(cluster_handlers(self));
}

}  // namespace
}  // namespace sched

caf::actor spawn_scheduler(node_loop& loop, shm::store& store, shm::pool_options pool, scheduler_options opts,
                           std::promise<status>* started) {
  return spawn_on(loop, sched::scheduler_actor, &store, std::move(pool), std::move(opts), started);
}

}  // namespace trail::actors
