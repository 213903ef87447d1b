#include "actors/types.hpp"

#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "actors/agent.hpp"
#include "shm/async_log.hpp"

namespace trail::actors {

caf::error to_error(const status& s) {
  if (s.ok()) return {};
  return caf::error(static_cast<std::uint8_t>(s.code()), caf::atom("trail"), caf::make_message(s.message()));
}

status to_status(const caf::error& e, caf::actor_system& sys) {
  if (!e) return {};
  if (e.category() == caf::atom("trail") && e.context().match_elements<std::string>())
    return {static_cast<errc>(e.code()), e.context().get_as<std::string>(0)};
  if (e == caf::sec::request_timeout) return status::unavailable("request timed out");
  return status::unavailable(sys.render(e));
}

core::log_ring& recent_logs() {
  static core::log_ring ring;
  return ring;
}

void log_line(std::string line) {
  static shm::async_log log{stderr};
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  recent_logs().add(ms.count(), line);
  log.post(std::move(line));
}

void remove_dead_temp_dirs(const std::string& prefix) {
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path(), ec)) {
    std::string name = e.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    int pid = std::atoi(name.c_str() + prefix.size());
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove_all(e.path(), ec);
  }
}

void reject_unexpected(caf::scheduled_actor* self, std::string who) {
  self->set_default_handler([who](caf::scheduled_actor* s, caf::message_view& x) -> caf::result<caf::message> {
    std::string what = x.content().stringify();
    if (what.size() > 200) what = what.substr(0, 200) + "...";
    std::string from = s->current_sender() ? caf::to_string(s->current_sender()->node()) : std::string("anonymous");
    log_line(who + ": rejected an unexpected message from " + from + ": " + what);
    return caf::sec::unexpected_message;
  });
}

void configure(caf::actor_system_config& cfg) {
  using namespace std::chrono_literals;
  // Workers that sleep-poll make every message from outside CAF wait 100+ us;
  // on 2 cores, two workers that block at once are the better trade.
  cfg.set("scheduler.max-threads", 2);
  cfg.set("work-stealing.moderate-poll-attempts", 0);
  cfg.set("middleman.workers", 0);
  cfg.set("middleman.heartbeat-interval", caf::timespan{100ms});
  // A silent CAF connection (node <-> coordinator; a killed peer's closes at
  // once) is given up after as long as a node waits for its coordinator's
  // heartbeat answers (agent.hpp): a coordinator stopped for a moment keeps
  // its nodes. (Nodes are declared dead by their heartbeats, not by this.)
  cfg.set("middleman.connection-timeout", caf::timespan{agent_options{}.coordinator_timeout});
  cfg.set("logger.verbosity", caf::atom("quiet"));
}

}  // namespace trail::actors
