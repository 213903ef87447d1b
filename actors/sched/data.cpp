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
// In a cluster the coordinator's shard sends the client here (a redirect):
// into a session it started here for the put (expect_put; the put names the
// session), or into the app's scope if this node holds it (the app's owner;
// kept objects sealed on other nodes come here too: deliver_app_object).
//
// While a put is being written, its object holds the creator's reference
// and, in a new session, one piece of the session's work (so the session
// does not end for being quiet). putend gives both back in every outcome.
#include <algorithm>

#include "actors/cluster_types.hpp"
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

// A cluster node takes a client's put only as its coordinator arranged: into
// a session the coordinator started here (expect_put), or into the app's
// scope if it is the app's owner.
status cluster_put_allowed(self_ptr self, const std::string& app, bool new_session) {
  auto& c = *self->state.cluster;
  if (new_session)
    return status::invalid("this node is part of a cluster: put through its coordinator, which starts the session");
  auto owner = c.owners.find(app);
  if (owner == c.owners.end() || owner->second != c.number)
    return status::unavailable("node " + c.name + " does not hold app \"" + app +
                               "\"'s app-scoped objects (any more): put through the coordinator");
  return {};
}

status check_size(self_ptr self, std::uint64_t size) {
  auto cap = self->state.store->capacity();
  if (size <= cap) return {};
  return status::invalid("an object of " + std::to_string(size) + " bytes exceeds the store's capacity of " +
                         std::to_string(cap) + " bytes");
}

}  // namespace

void keep_in_app(self_ptr self, const app_ref& app, const core::object_meta& o) {
  auto& st = self->state;
  auto kept = st.store->alias(o.id, data_session(self, app->app));
  if (!kept) actors::log_line("trail-node: object " + o.bucket + "/" + o.key + " not kept in app scope: " + kept.error().message());
}

void deliver_app_object(self_ptr self, const app_ref& app, const core::object_meta& o) {
  auto& st = self->state;
  if (app->kept_buckets.contains(o.bucket)) keep_in_app(self, app, o);
  auto b = app->buckets.find(o.bucket);
  if (!app->app_scoped_buckets.contains(o.bucket) || b == app->buckets.end()) return st.store->release(o.id);
  self->send(b->second, bucket_object{o, bucket_object::scope_filter::app_only});  // (the reference goes along)
}

caf::result<std::uint64_t> expect_put(self_ptr self, std::uint64_t session, const std::string& name,
                                      std::uint32_t version, const std::string& bucket, const std::string& key,
                                      std::uint64_t size, std::uint32_t timeout_ms) {
  auto& st = self->state;
  if (!st.cluster) return to_error(status::invalid("not a cluster node"));
  auto& c = *st.cluster;
  if (st.draining) return to_error(status::unavailable("node " + c.name + " is draining"));
  app_ref app = st.apps->version(name, version);
  if (!app) return to_error(status::not_found(name + " v" + std::to_string(version) + " is not deployed on " + c.name));
  if (status s = check_names(app, bucket, key); !s.ok()) return to_error(s);
  if (status s = check_size(self, size); !s.ok()) return to_error(s);
  if (c.placed.contains(session) || c.ended.find(session) || c.ended.forgot(session))
    return to_error(status::invalid("session " + std::to_string(session) + " exists on " + c.name + " already"));
  std::optional<std::chrono::milliseconds> deadline;
  if (timeout_ms > 0) deadline = std::chrono::milliseconds(timeout_ms);
  auto s = start_session(self, app, core::session_origin::invoked, deadline, session);
  if (!s) return to_error(s.error());
  c.placed.insert(session);           // its end goes to the coordinator
  st.sessions->work_added(session);   // the put to come: given back at putend (or when overdue)
  c.expected_puts[session] = {app, bucket, key, size};
  self->delayed_send(self, expect_put_wait, putwait_atom::value, session);
  return session;
}

void expected_put_overdue(self_ptr self, std::uint64_t session) {
  auto& st = self->state;
  if (!st.cluster || st.cluster->expected_puts.erase(session) == 0) return;  // (it came)
  st.sessions->fail(session, status::deadline_exceeded("the client did not send its put within " +
                                                       std::to_string(expect_put_wait.count()) + " s"));
  st.sessions->work_done(session);
  pump(self);
}

namespace {

// The put the coordinator announced for `session` (expect_put), now that
// its client is here.
caf::result<put_window> begin_expected_put(self_ptr self, const std::string& name, const std::string& bucket,
                                           const std::string& key, std::uint64_t size, std::uint64_t session) {
  auto& st = self->state;
  if (!st.cluster) return to_error(status::invalid("a put into a coordinator's session, but this node is standalone"));
  auto& c = *st.cluster;
  auto it = c.expected_puts.find(session);
  if (it == c.expected_puts.end())
    return to_error(status::not_found("node " + c.name + " expects no put for session " + std::to_string(session) +
                                      " (it was put already, or came too late)"));
  auto& e = it->second;
  if (e.app->app != name || e.bucket != bucket || e.key != key || e.size != size)
    return to_error(status::invalid("the put is not the one the coordinator announced for session " + std::to_string(session)));
  app_ref app = e.app;
  c.expected_puts.erase(it);
  auto id = st.store->create_object(session, bucket, key, std::max<std::uint64_t>(size, 1));
  if (!id) {
    st.sessions->fail(session, id.error().prefixed("put of " + bucket + "/" + key));
    st.sessions->work_done(session);
    pump(self);
    return to_error(id.error());
  }
  st.puts[*id] = open_put{app, session, size};
  return put_window{*id, session, st.store->data(*st.store->info(*id)), size, {}};
}

}  // namespace

caf::result<put_window> begin_put(self_ptr self, const std::string& name, const std::string& bucket,
                                  const std::string& key, std::uint64_t size, bool new_session,
                                  std::uint32_t timeout_ms, std::uint64_t session) {
  auto& st = self->state;
  if (session != 0) return begin_expected_put(self, name, bucket, key, size, session);
  auto app = current_app(self, name);
  if (!app) return to_error(app.error());
  if (status s = check_names(*app, bucket, key); !s.ok()) return to_error(s);
  if (status s = check_size(self, size); !s.ok()) return to_error(s);
  if (st.cluster)
    if (status s = cluster_put_allowed(self, name, new_session); !s.ok()) return to_error(s);
  auto scope = put_scope(self, *app, bucket, key, new_session, timeout_ms);
  if (!scope) return to_error(scope.error());
  auto id = st.store->create_object(*scope, bucket, key, std::max<std::uint64_t>(size, 1));
  if (!id) {
    if (new_session) {
      st.sessions->fail(*scope, id.error().prefixed("put of " + bucket + "/" + key));
      st.sessions->work_done(*scope);
      pump(self);
    }
    return to_error(id.error());
  }
  st.puts[*id] = open_put{*app, new_session ? *scope : 0, size};
  return put_window{*id, new_session ? *scope : 0, st.store->data(*st.store->info(*id)), size, {}};
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
    if (!outcome.ok()) st.sessions->fail(p.session, outcome.prefixed("put"));
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
  return get_window{*id, st.store->data(*o), o->size, {}};
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
