#include "actors/keeper.hpp"

#include "actors/durable/app_records.hpp"
#include "actors/types.hpp"

namespace trail::actors {
namespace {

struct keeper_state {
  std::optional<durable::etcd> db;
  static inline const char* name = "trail.keeper";
};

caf::behavior keeper(caf::stateful_actor<keeper_state>* self, durable::etcd db) {
  self->state.db.emplace(std::move(db));
  reject_unexpected(self, "trail-coordinator: keeper");
  return {
      [=](keep_atom, const std::string& app, std::uint32_t version, const std::string& manifest,
          const std::vector<std::string>& names, const std::vector<std::string>& bytes) -> caf::result<bool> {
        status s = durable::save_app(*self->state.db, {app, version, manifest, names, bytes});
        if (!s.ok()) return to_error(status(s.code(), "cannot keep " + app + " in etcd: " + s.message()));
        return true;
      },
      [=](forget_atom, const std::string& app) -> caf::result<bool> {
        status s = durable::forget_app(*self->state.db, app);
        if (!s.ok()) return to_error(status(s.code(), "cannot remove " + app + " from etcd: " + s.message()));
        return true;
      },
  };
}

}  // namespace

caf::actor spawn_keeper(caf::actor_system& sys, durable::etcd db) {
  return sys.spawn<caf::detached>(keeper, std::move(db));
}

}  // namespace trail::actors
