// A shard's apps: deploys and undeploys, kept in etcd first, pushed to every node (state.hpp).
#include <filesystem>

#include "actors/keeper.hpp"
#include "actors/registry.hpp"
#include "actors/shards/state.hpp"

namespace trail::actors::shards {

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
                 std::shared_ptr<deploy_wait> wait) {
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

caf::result<std::string> undeploy(self_ptr self, const std::string& app) {
  auto& st = self->state;
  if (!st.apps.contains(app)) return to_error(status::not_found("no app \"" + app + "\" is deployed"));
  if (!st.keeper) return undeploy_now(self, app);
  // Gone from etcd first: an answered undeploy stays undone.
  auto rp = self->make_response_promise<std::string>();
  self->request(st.keeper, caf::infinite, forget_atom::value, app)
      .then([=](bool) mutable { rp.delegate(caf::actor_cast<caf::actor>(self), undeploy_atom::value, app, true); },
            [=](caf::error& e) mutable { rp.deliver(e); });
  return rp;
}

}  // namespace trail::actors::shards
