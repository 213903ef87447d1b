// The coordinator's CAF control port behind the cluster secret. CAF's BASP
// has no authentication of its own, so with a secret the coordinator does
// not publish its front with middleman().publish(): a control_gate accepts
// each connection itself, runs the members' handshake (net/handshake.hpp)
// on it, and only then hands the socket to CAF's BASP broker, which serves
// it as if its own doorman had accepted it. A joining node does the same
// from its side: dial_control() dials, proves, and gives the socket to BASP
// as a connection it made. A peer that fails the handshake is closed with
// one log line; BASP never reads a byte of it.
//
// With TLS, the TLS handshake comes first and the members' handshake runs
// inside it; BASP then gets one end of a socketpair and a tls_relay
// (net/tls_relay.hpp) carries its bytes through TLS, on a thread per
// connection.
//
// Each handshake runs on a short-lived thread of its own (at most 5 s), so
// a silent stranger holds up no one else.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <trail/status.hpp>

#include "actors/net/handshake.hpp"
#include "actors/net/tls_relay.hpp"

namespace trail::actors {

class control_gate {
 public:
  // Listens on host (any free port) and admits proven peers to `published`.
  // `security`: the secret's handshake (if any) and TLS (if any; its server
  // side). Errors: unavailable (cannot listen).
  static result<std::unique_ptr<control_gate>> start(caf::actor_system& sys, caf::actor published,
                                                     const std::string& host, net::member_security security);
  ~control_gate();  // stops accepting; handshakes in flight end at once

  std::string address() const;  // host:port
  std::uint16_t port() const;
  std::uint64_t refused() const;  // connections closed for failing the handshake

  struct impl;

 private:
  explicit control_gate(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

// A dialed control connection: the scribe for BASP to take over, and with
// TLS the relay that carries its bytes (keep it as long as the connection).
struct control_dial {
  caf::io::scribe_ptr scribe;
  std::unique_ptr<net::tls_relay> relay;
};

// Dials a gate at "host:port", runs TLS (with `tls`, a client context) and
// proves the secret (with `secret`). The connection comes back as a CAF
// scribe for BASP to take over: request (connect_atom, scribe, port) of
// basp_broker(), as the middleman does when it dials, answered with
// (node_id, strong_actor_ptr, std::set<std::string>). Errors: unavailable
// (unreachable; the gate closed on us: another secret), invalid_argument
// (the gate did not prove it holds ours, or its certificate is not the CA's).
result<control_dial> dial_control(caf::actor_system& sys, const std::string& address,
                                  const std::optional<net::key>& secret, std::shared_ptr<net::tls_context> tls,
                                  std::chrono::milliseconds timeout);
caf::actor basp_broker(caf::actor_system& sys);

}  // namespace trail::actors
