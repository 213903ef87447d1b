// Where a coordinator's control ports are. A coordinator is known by its
// gateway's address (the client wire); it answers a `control` request with
// the addresses of its CAF endpoint and its node wire, which change with
// every start of it. Joining nodes (and tests that act like one) ask first.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <trail/status.hpp>

#include "actors/net/auth.hpp"

namespace trail::net {
class tls_context;
}

namespace trail::net {

struct coordinator_ports {
  // (A wildcard host the coordinator listens on is replaced by the host its gateway was reached at.)
  std::string caf;    // host:port of its CAF endpoint: membership and control
  std::string wire;   // host:port of its node wire: sessions started and ended
  std::string seen_as;  // this end's host on that connection: how the coordinator's network reaches us
};

// Where a joining node reaches the coordinator whose gateway listens at
// `address` ("host:port"), after hello (and, if the coordinator wants it,
// proof with `cred`: auth.hpp). Errors: unavailable (unreachable, silent for
// `timeout`), not_found (not a coordinator), invalid_argument (a malformed
// answer, another protocol version, no or a wrong key).
// With `tls`, over TLS (a coordinator with --tls-cert).
result<coordinator_ports> control_address(const std::string& address, std::chrono::milliseconds timeout,
                                          std::uint32_t version, const credentials* cred = nullptr,
                                          std::shared_ptr<tls_context> tls = nullptr);

}  // namespace trail::net
