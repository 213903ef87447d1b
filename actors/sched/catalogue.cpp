#include "actors/sched/catalogue.hpp"

namespace trail::actors::sched {

void catalogue::add(app_ref v) {
  if (auto old = current_.find(v->app); old != current_.end()) by_uid_.erase(old->second->uid);
  by_uid_[v->uid] = v;
  if (keep_versions_) versions_[{v->app, v->version}] = v;
  current_[v->app] = std::move(v);
}

bool catalogue::remove(const std::string& app) {
  auto it = current_.find(app);
  if (it == current_.end()) return false;
  by_uid_.erase(it->second->uid);
  current_.erase(it);
  std::erase_if(versions_, [&](auto& kv) { return kv.first.first == app; });
  return true;
}

app_ref catalogue::current(const std::string& app) const {
  auto it = current_.find(app);
  return it == current_.end() ? nullptr : it->second;
}

app_ref catalogue::version(const std::string& app, std::uint32_t version) const {
  if (auto c = current(app); c && c->version == version) return c;
  auto it = versions_.find({app, version});
  return it == versions_.end() ? nullptr : it->second;
}

app_ref catalogue::by_uid(std::uint64_t uid) const {
  auto it = by_uid_.find(uid);
  return it == by_uid_.end() ? nullptr : it->second;
}

std::vector<std::string> catalogue::listing() const {
  std::vector<std::string> out;
  for (auto& [name, v] : current_) out.push_back(name + " v" + std::to_string(v->version));
  return out;
}

}  // namespace trail::actors::sched
