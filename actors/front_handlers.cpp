#include "actors/front_handlers.hpp"

#include "actors/types.hpp"

namespace trail::actors {

caf::result<std::uint32_t> answer_hello(std::uint32_t version, const std::string& server) {
  if (version != protocol_version)
    return to_error(status::invalid("protocol version " + std::to_string(version) + " is not " +
                                    std::to_string(protocol_version) + ": client and " + server +
                                    " are from different trail builds"));
  return protocol_version;
}

caf::message_handler forward_data_to(caf::event_based_actor* self, caf::actor scheduler) {
  return {
      [=](put_atom, std::string& app, std::string& bucket, std::string& key, std::uint64_t size, bool new_session,
          std::uint32_t timeout_ms, std::uint64_t session) {
        return self->delegate(scheduler, put_atom::value, std::move(app), std::move(bucket), std::move(key), size,
                              new_session, timeout_ms, session);
      },
      [=](putend_atom, std::uint64_t put, bool commit) { return self->delegate(scheduler, putend_atom::value, put, commit); },
      [=](get_atom, std::string& app, std::string& bucket, std::string& key) {
        return self->delegate(scheduler, get_atom::value, std::move(app), std::move(bucket), std::move(key));
      },
      [=](getend_atom, std::uint64_t object) { self->send(scheduler, getend_atom::value, object); },
  };
}

}  // namespace trail::actors
