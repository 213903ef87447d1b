#include "actors/core/kept_apps.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace trail::core {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool sync_path(const fs::path& p, int flags) {
  int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

result<kept_apps> kept_apps::load(fs::path file) {
  kept_apps k;
  k.file_ = std::move(file);
  std::ifstream in(k.file_);
  if (!in) return k;  // (nothing kept yet)
  std::stringstream text;
  text << in.rdbuf();
  auto bad = [&](const std::string& why) {
    return status::invalid("kept apps '" + k.file_.string() + "': " + why);
  };
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("apps") || !j["apps"].is_array())
    return bad("not a list of apps written by trail-node");
  try {
    for (auto& a : j["apps"]) {
      kept_app app{a.at("app").get<std::string>(), a.at("version").get<std::uint32_t>(),
                   a.at("manifest").get<std::string>(), {}};
      for (auto& l : a.at("libraries")) app.libraries.push_back({l.at("name"), l.at("file")});
      if (app.app.empty()) return bad("an app without a name");
      k.apps_[app.app] = std::move(app);
    }
  } catch (const json::exception& e) {
    return bad(e.what());
  }
  return k;
}

status kept_apps::keep(kept_app a) {
  apps_[a.app] = std::move(a);
  return save();
}

status kept_apps::forget(const std::string& app) {
  if (apps_.erase(app) == 0) return {};
  return save();
}

status kept_apps::save() const {
  json list = json::array();
  for (auto& [name, a] : apps_) {
    json libs = json::array();
    for (auto& l : a.libraries) libs.push_back({{"name", l.name}, {"file", l.file}});
    list.push_back({{"app", a.app}, {"version", a.version}, {"manifest", a.manifest}, {"libraries", libs}});
  }
  fs::path tmp = file_;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json{{"apps", list}}.dump(1) << '\n';
    out.flush();
    if (!out) return status::internal("cannot write '" + tmp.string() + "'");
  }
  // On disk before it replaces the old file, and the rename on disk before
  // the deploy is answered: a power loss keeps the old list or the new one.
  if (!sync_path(tmp, O_RDONLY)) return status::internal("cannot sync '" + tmp.string() + "'");
  std::error_code ec;
  fs::rename(tmp, file_, ec);
  if (ec) return status::internal("cannot replace '" + file_.string() + "': " + ec.message());
  if (!sync_path(file_.parent_path(), O_RDONLY | O_DIRECTORY))
    return status::internal("cannot sync '" + file_.parent_path().string() + "'");
  return {};
}

}  // namespace trail::core
