// A shard and its nodes: a node's loss, forwarded work, data in and out (state.hpp).
#include "actors/registry.hpp"
#include "actors/shards/state.hpp"

namespace trail::actors::shards {

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

}  // namespace trail::actors::shards
