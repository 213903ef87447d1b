// Data in and out: objects a client puts into an app's bucket, and
// app-scoped objects it reads back (client wire: put, putData, get).
//
// A put lands exactly where a function's seal would: in a new session's
// scope it is sealed into that session and goes through on_object, as an
// executor's seal does; in the app's scope it is sealed into the app's data
// session (a store name space kept from the app's first put until its
// undeploy, never a session of the session table) and goes to the app-scoped
// triggers of its bucket, as an object imported from another node's session
// does. Either way the bytes are written once, by the gateway, straight into
// the object's store allocation (put_window).
//
// While a put is being written, its object holds the creator's reference
// and, in a new session, one piece of the session's work (so the session
// does not end for being quiet). putend gives both back in every outcome.
#include <algorithm>

#include "actors/sched/state.hpp"
#include "schema/channel.hpp"

namespace trail::actors::sched {
namespace {

using holder = core::session_refs::holder;

status check_names(const app_ref& app, const std::string& bucket, const std::string& key) {
  const auto& buckets = app->manifest.buckets;
  bool known = std::any_of(buckets.begin(), buckets.end(), [&](auto& b) { return b.name == bucket; });
  if (!known) return status::not_found("app \"" + app->app + "\" has no bucket \"" + bucket + "\"");
  if (key.empty()) return status::invalid("an object's key must not be empty");
  if (key.size() > schema::max_name_length)
    return status::invalid("an object's key is longer than " + std::to_string(schema::max_name_length) + " bytes");
  return {};
}

result<app_ref> current_app(self_ptr self, const std::string& name) {
  if (self->state.cluster)  // (a cluster node's front answers this itself)
    return status::invalid("put and get on a cluster node are not supported yet");
  app_ref app = self->state.apps->current(name);
  if (!app) return status::not_found("no app \"" + name + "\" is deployed");
  return app;
}

// The app's data session, opened by its first app-scoped put.
std::uint64_t data_session(self_ptr self, const std::string& app) {
  auto& st = self->state;
  auto [it, fresh] = st.app_data.try_emplace(app, 0);
  if (fresh) {
    it->second = st.next_session++;  // an id no session will take
    hold_session(self, it->second, holder::home);
  }
  return it->second;
}

// The scope a put is written into: a new session, or the app's data session.
result<std::uint64_t> put_scope(self_ptr self, const app_ref& app, const std::string& bucket, const std::string& key,
                                bool new_session, std::uint32_t timeout_ms) {
  auto& st = self->state;
  if (!new_session) {
    std::uint64_t s = data_session(self, app->app);
    if (st.store->find(s, bucket, key))
      return status::invalid("app \"" + app->app + "\" has an object \"" + bucket + "/" + key +
                             "\" already (app-scoped objects are written once)");
    return s;
  }
  if (st.draining) return status::unavailable("this node is draining (`trail drain --off` ends that)");
  std::optional<std::chrono::milliseconds> deadline;
  if (timeout_ms > 0) deadline = std::chrono::milliseconds(timeout_ms);
  auto s = start_session(self, app, core::session_origin::invoked, deadline, 0);
  if (s) st.sessions->work_added(*s);  // the put in flight: given back at putend
  return s;
}

// The put's object is sealed: to the triggers, as any other object of its scope.
void feed(self_ptr self, const open_put& p, const core::object_meta& o) {
  auto& st = self->state;
  if (p.session) return on_object(self, o);
  if (!p.app->app_scoped_buckets.contains(o.bucket)) return;
  auto b = p.app->buckets.find(o.bucket);
  st.store->retain(o.id);  // the object's reference for the trip (the bucket drops it)
  self->send(b->second, bucket_object{o, bucket_object::scope_filter::app_only});
}

}  // namespace

void keep_in_app(self_ptr self, const app_ref& app, const core::object_meta& o) {
  auto& st = self->state;
  if (st.cluster) return;  // (get is standalone-only too; README "Data in and out")
  auto kept = st.store->alias(o.id, data_session(self, app->app));
  if (!kept) actors::log_line("trail-node: object " + o.bucket + "/" + o.key + " not kept in app scope: " + kept.error().message());
}

caf::result<put_window> begin_put(self_ptr self, const std::string& name, const std::string& bucket,
                                  const std::string& key, std::uint64_t size, bool new_session,
                                  std::uint32_t timeout_ms) {
  auto& st = self->state;
  auto app = current_app(self, name);
  if (!app) return to_error(app.error());
  if (status s = check_names(*app, bucket, key); !s.ok()) return to_error(s);
  if (size > st.store->capacity())
    return to_error(status::invalid("an object of " + std::to_string(size) + " bytes exceeds the store's capacity of " +
                                    std::to_string(st.store->capacity()) + " bytes"));
  auto scope = put_scope(self, *app, bucket, key, new_session, timeout_ms);
  if (!scope) return to_error(scope.error());
  auto id = st.store->create_object(*scope, bucket, key, std::max<std::uint64_t>(size, 1));
  if (!id) {
    if (new_session) {
      st.sessions->fail(*scope, "put of " + bucket + "/" + key + ": " + id.error().message());
      st.sessions->work_done(*scope);
      pump(self);
    }
    return to_error(id.error());
  }
  st.puts[*id] = open_put{*app, new_session ? *scope : 0, size};
  return put_window{*id, new_session ? *scope : 0, st.store->data(*st.store->info(*id)), size};
}

caf::result<std::uint64_t> end_put(self_ptr self, std::uint64_t put, bool commit) {
  auto& st = self->state;
  auto it = st.puts.find(put);
  if (it == st.puts.end()) return to_error(status::not_found("no put " + std::to_string(put) + " in progress"));
  open_put p = std::move(it->second);
  st.puts.erase(it);
  status outcome;
  if (!commit) {
    st.store->release(put);  // the creator's reference: the bytes go
    outcome = status::unavailable("the put was cancelled");
  } else if (auto sealed = st.store->seal(put, p.size); !sealed) {
    outcome = sealed.error();  // (its session ended meanwhile: the object is gone)
  } else if (!sealed->fresh) {
    outcome = status::invalid("an object of that name was put meanwhile (app-scoped objects are written once)");
  } else {
    feed(self, p, meta_of(self, sealed->id));
  }
  if (p.session) {
    if (!outcome.ok()) st.sessions->fail(p.session, "put: " + outcome.message());
    st.sessions->work_done(p.session);
  }
  pump(self);
  if (!outcome.ok()) return to_error(outcome);
  return p.session;
}

caf::result<get_window> begin_get(self_ptr self, const std::string& name, const std::string& bucket,
                                  const std::string& key) {
  auto& st = self->state;
  auto app = current_app(self, name);
  if (!app) return to_error(app.error());
  if (status s = check_names(*app, bucket, key); !s.ok()) return to_error(s);
  auto data = st.app_data.find(name);
  auto id = data == st.app_data.end() ? std::nullopt : st.store->find(data->second, bucket, key);
  if (!id) return to_error(status::not_found("app \"" + name + "\" has no object \"" + bucket + "/" + key + "\""));
  const shm::object_info* o = st.store->info(*id);
  st.store->retain(*id);  // the reader's, until getend
  st.reading.insert(*id);
  return get_window{*id, st.store->data(*o), o->size};
}

void end_get(self_ptr self, std::uint64_t object) {
  auto& st = self->state;
  auto it = st.reading.find(object);
  if (it == st.reading.end()) return;  // (not being read: stale)
  st.reading.erase(it);
  st.store->release(object);
}

void forget_app_data(self_ptr self, const std::string& app) {
  auto& st = self->state;
  auto it = st.app_data.find(app);
  if (it == st.app_data.end()) return;
  let_go_session(self, it->second, holder::home);  // objects being read or fed live on by their references
  st.app_data.erase(it);
}

}  // namespace trail::actors::sched
