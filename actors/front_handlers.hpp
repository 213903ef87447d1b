// What the fronts of the client protocol (types.hpp) answer alike: a
// standalone node's registry, a coordinator's front and a cluster node's
// agent.
#pragma once

#include <cstdint>
#include <string>

#include <caf/all.hpp>

namespace trail::actors {

// hello: this build's protocol version, or why a client of another build
// cannot talk to `server` ("node", "coordinator").
caf::result<std::uint32_t> answer_hello(std::uint32_t version, const std::string& server);

// Puts and gets (put, putend, get, getend) handed on to the node's
// scheduler, which holds the store.
caf::message_handler forward_data_to(caf::event_based_actor* self, caf::actor scheduler);

}  // namespace trail::actors
