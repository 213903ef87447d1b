// Where a coordinator's control port is. A coordinator is known by its
// gateway's address (the client wire); it answers a `control` request with
// the address of its CAF endpoint, which changes with every start of it.
// Joining nodes (and tests and benchmarks that act like one) ask first.
#pragma once

#include <chrono>
#include <string>

#include <trail/status.hpp>

namespace trail::net {

// "host:port" of the control port of the coordinator whose gateway listens
// at `address` ("host:port"). Errors: unavailable (unreachable, silent for
// `timeout`), not_found (not a coordinator), invalid_argument (a malformed answer).
result<std::string> control_address(const std::string& address, std::chrono::milliseconds timeout);

}  // namespace trail::net
