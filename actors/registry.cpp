#include "actors/registry.hpp"

#include <fstream>
#include <map>
#include <optional>
#include <set>

#include <boost/uuid/detail/sha1.hpp>
#include <nlohmann/json.hpp>

#include "actors/bucket.hpp"
#include "actors/core/kept_apps.hpp"
#include "actors/cluster_types.hpp"
#include "actors/front_handlers.hpp"

namespace trail::actors {
namespace {

namespace fs = std::filesystem;


std::string sha1_hex(const std::string& bytes) {
  boost::uuids::detail::sha1 h;
  h.process_bytes(bytes.data(), bytes.size());
  boost::uuids::detail::sha1::digest_type d;
  h.get_digest(d);
  char out[41];
  for (int i = 0; i < 5; ++i) std::snprintf(out + 8 * i, 9, "%08x", d[i]);
  return out;
}

// A library's content-addressed file name.
std::string library_file_name(const std::string& bytes) { return sha1_hex(bytes) + ".so"; }

// Writes `bytes` to <dir>/<sha1>.so unless that file exists (same content).
result<fs::path> store_library(const fs::path& dir, const std::string& bytes) {
  fs::path path = dir / library_file_name(bytes);
  std::error_code ec;
  if (fs::exists(path, ec)) return path;
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return status::internal("cannot write library to '" + tmp.string() + "'");
  }
  // Readable whatever the umask: executors of another user (--executor-user)
  // read it through libs/, which only they and the node may enter.
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read, ec);
  fs::rename(tmp, path, ec);  // atomic: an executor never maps a half-written file
  if (ec) return status::internal("cannot store library '" + path.string() + "': " + ec.message());
  return path;
}

// A library as the user's manifest names it.
std::string display_name(const fs::path& resolved) {
  auto rel = resolved.lexically_relative(upload_root);
  return rel.empty() || *rel.begin() == ".." ? resolved.string() : rel.string();
}

struct registry_state {
  registry_options opts;
  caf::actor scheduler;
  std::map<std::string, std::uint32_t> versions;            // latest version number given, per app
  std::set<std::pair<std::string, std::uint32_t>> built;    // (app, version) built here
  std::uint64_t next_uid = 1;
  std::optional<core::kept_apps> kept;                      // standalone with a state dir
  static inline const char* name = "trail.registry";
};

using self_ptr = caf::stateful_actor<registry_state, loop_actor>*;

}  // namespace

result<core::app_manifest> prepare_upload(const fs::path& dir, std::size_t max_library_bytes,
                                          const std::string& manifest, const std::vector<std::string>& names,
                                          const std::vector<std::string>& bytes) {
  if (names.size() != bytes.size()) return status::invalid("malformed deploy request: names and libraries differ");
  std::map<fs::path, fs::path> stored;  // as the manifest resolves it -> content-addressed copy
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (bytes[i].size() > max_library_bytes)
      return status::invalid("library '" + names[i] + "' is larger than " + std::to_string(max_library_bytes) + " bytes");
    auto path = store_library(dir, bytes[i]);
    if (!path) return path.error();
    stored[fs::path(names[i]).lexically_normal()] = *path;
  }
  auto m = core::parse_manifest(manifest, fs::path(upload_root));
  if (!m) return m.error();
  for (auto& f : m->functions) {
    auto it = stored.find(fs::path(f.library).lexically_normal());
    if (it == stored.end())
      return status::invalid("functions." + f.name + ".library: library \"" +
                             display_name(f.library) + "\" was not uploaded");
    f.library = it->second.string();
  }
  if (auto s = core::check_libraries(*m); !s.ok()) {
    // Speak of libraries by the names the user gave them, not their stored copies.
    std::string msg = s.message();
    for (auto& [as_named, copy] : stored)
      for (auto at = msg.find(copy.string()); at != std::string::npos; at = msg.find(copy.string()))
        msg.replace(at, copy.string().size(), display_name(as_named));
    return status(s.code(), msg);
  }
  return m;
}

namespace {

// Builds an app version from an uploaded manifest and its libraries; `version`
// 0: the next one of the app here (a coordinator numbers them in a cluster).
result<std::shared_ptr<app_version>> build(self_ptr self, const std::string& manifest,
                                           const std::vector<std::string>& names,
                                           const std::vector<std::string>& bytes, std::uint32_t version) {
  auto& st = self->state;
  auto m = prepare_upload(st.opts.library_dir, st.opts.max_library_bytes, manifest, names, bytes);
  if (!m) return m.error();
  auto v = std::make_shared<app_version>();
  v->app = m->app;
  auto& latest = st.versions[m->app];
  latest = version ? std::max(latest, version) : latest + 1;
  v->version = version ? version : latest;
  v->uid = st.next_uid++;
  v->manifest = std::move(*m);
  for (auto& b : v->manifest.buckets) {
    if (b.keep_app) v->kept_buckets.insert(b.name);
    if (b.triggers.empty()) continue;
    v->buckets[b.name] = spawn_bucket(self->loop(), v->uid, b.name, b.triggers, st.scheduler);
    for (auto& t : b.triggers)
      if (t.type == "redundant") v->redundant_buckets.push_back(b.name);
    for (auto& t : b.triggers)
      if (t.sc == core::scope::app) v->app_scoped_buckets.insert(b.name);
  }
  return v;
}

// Builds the version and hands it to the scheduler, which catalogues it: the
// app's current version from now on.
result<app_ref> install(self_ptr self, const std::string& manifest, const std::vector<std::string>& names,
                        const std::vector<std::string>& bytes, std::uint32_t version) {
  auto v = build(self, manifest, names, bytes, version);
  if (!v) return v.error();
  app_ref ref = *v;
  self->state.built.emplace(ref->app, ref->version);
  self->send(self->state.scheduler, ref);
  return ref;
}

caf::result<std::string> deploy(self_ptr self, const std::string& manifest, const std::vector<std::string>& names,
                                const std::vector<std::string>& bytes, std::uint32_t version) {
  auto v = install(self, manifest, names, bytes, version);
  if (!v) return to_error(v.error());
  return (*v)->app + " v" + std::to_string((*v)->version);
}

// -- apps kept across restarts (standalone, --state-dir) ---------------------------

void log_line(const std::string& what) { actors::log_line("trail-node: " + what); }

// Records a deployed version in the kept-apps file. A failure to record it
// leaves the deployment in place (it runs) and says so: only the restart
// would miss it.
void keep(self_ptr self, const app_version& v, const std::string& manifest, const std::vector<std::string>& names,
          const std::vector<std::string>& bytes) {
  auto& kept = self->state.kept;
  if (!kept) return;
  core::kept_app a{v.app, v.version, manifest, {}};
  for (std::size_t i = 0; i < names.size(); ++i) a.libraries.push_back({names[i], library_file_name(bytes[i])});
  if (status s = kept->keep(std::move(a)); !s.ok())
    log_line("deployed " + v.app + " v" + std::to_string(v.version) + ", but it will not survive a restart: " + s.message());
}

// Deploys again what the kept-apps file lists (at start). An app that cannot
// be is said and skipped; the rest come back.
void restore(self_ptr self) {
  auto& st = self->state;
  auto kept = core::kept_apps::load(st.opts.kept_apps_file);
  if (!kept) {  // set aside for the operator; a fresh list from here
    fs::path aside = st.opts.kept_apps_file.string() + ".unreadable";
    std::error_code ec;
    fs::rename(st.opts.kept_apps_file, aside, ec);
    log_line(kept.error().message() + "; starting without the apps it lists (moved to " + aside.string() + ")");
    kept = core::kept_apps::load(st.opts.kept_apps_file);
    if (!kept) return log_line("apps will not be kept across restarts: " + kept.error().message());
  }
  st.kept = std::move(*kept);
  for (const auto& [name, a] : st.kept->apps()) {
    std::vector<std::string> names, bytes;
    status s;
    for (const auto& l : a.libraries) {
      std::ifstream in(st.opts.library_dir / l.file, std::ios::binary);
      if (!in) {
        s = status::not_found("library '" + l.name + "' is gone from the state dir");
        break;
      }
      names.push_back(l.name);
      bytes.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto v = s.ok() ? install(self, a.manifest, names, bytes, a.version) : result<app_ref>(s);
    if (v) log_line("kept app " + name + " v" + std::to_string(a.version) + " deployed again");
    else log_line("kept app " + name + " not deployed again: " + v.error().message());
  }
}

caf::behavior registry_actor(self_ptr self, registry_options opts, caf::actor scheduler) {
  std::filesystem::create_directories(opts.library_dir);
  self->state.opts = std::move(opts);
  self->state.scheduler = std::move(scheduler);
  reject_unexpected(self, "trail-node: registry");
  if (!self->state.opts.kept_apps_file.empty()) restore(self);
  caf::message_handler own{
      [=](hello_atom, std::uint32_t version) { return answer_hello(version, "node"); },
      [=](deploy_atom, const std::string& manifest, const std::vector<std::string>& names,
          const std::vector<std::string>& bytes) -> caf::result<std::string> {
        auto v = install(self, manifest, names, bytes, 0);
        if (!v) return to_error(v.error());
        keep(self, **v, manifest, names, bytes);
        return (*v)->app + " v" + std::to_string((*v)->version);
      },
      [=](cdeploy_atom, std::uint32_t version, const std::string& manifest, const std::vector<std::string>& names,
          const std::vector<std::string>& bytes) -> caf::result<std::string> {
        // The same version again (a deployment racing a join): nothing to do.
        if (auto m = core::parse_manifest(manifest, upload_root); m && self->state.built.contains({m->app, version}))
          return m->app + " v" + std::to_string(version);
        return deploy(self, manifest, names, bytes, version);
      },
      // The rest is the scheduler's: it keeps the catalogue and the sessions.
      [=](invoke_atom, std::string& app, std::vector<std::string>& args, std::uint32_t timeout_ms, bool async,
          std::uint64_t) {  // (a standalone node keeps no request ids: its sessions end with it)
        return self->delegate(self->state.scheduler, invoke_atom::value, std::move(app), std::move(args), timeout_ms, async);
      },
      [=](result_atom, std::uint64_t session) {
        return self->delegate(self->state.scheduler, result_atom::value, session);
      },
      [=](status_atom) { return self->delegate(self->state.scheduler, status_atom::value); },
      [=](apps_atom) { return self->delegate(self->state.scheduler, apps_atom::value); },
      [=](admin_atom, std::string& command, std::vector<std::string>& words) {
        return self->delegate(self->state.scheduler, admin_atom::value, std::move(command), std::move(words));
      },
      [=](undeploy_atom, std::string& app) -> caf::result<std::string> {
        // Forgotten in the kept-apps file only once the scheduler agreed.
        auto rp = self->make_response_promise<std::string>();
        self->request(self->state.scheduler, caf::infinite, undeploy_atom::value, app)
            .then(
                [=](std::string& said) mutable {
                  if (auto& kept = self->state.kept)
                    if (status s = kept->forget(app); !s.ok()) log_line("undeployed " + app + ", but " + s.message());
                  rp.deliver(std::move(said));
                },
                [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
  };
  return own.or_else(forward_data_to(self, self->state.scheduler));  // puts and gets: its scheduler's
}

}  // namespace

caf::actor spawn_registry(node_loop& loop, registry_options opts, caf::actor scheduler) {
  return spawn_on(loop, registry_actor, std::move(opts), std::move(scheduler));
}

}  // namespace trail::actors
