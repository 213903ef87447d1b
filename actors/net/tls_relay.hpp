// A TLS relay: carries a TLS connection's plaintext to and from a local
// socket, on a thread of its own, for a peer that cannot speak TLS itself —
// CAF's BASP, which reads and writes plain file descriptors. The relay owns
// the TLS stream and one end of a socketpair; the caller hands the other end
// to whoever speaks the protocol. Either side closing closes both.
//
// Backpressure both ways: at most `max_buffered` bytes wait for a slow side
// before the relay stops reading the other.
#pragma once

#include <memory>
#include <thread>

#include <trail/status.hpp>

#include "actors/net/stream.hpp"

namespace trail::net {

class tls_relay {
 public:
  static constexpr std::size_t max_buffered = 1u << 20;

  // Starts relaying `tls` (REQUIRES: encrypted(), handshakes done). Returns
  // the relay and the plaintext end for the caller (a socket it owns).
  // Errors: unavailable (no socketpair: out of descriptors).
  static result<std::pair<std::unique_ptr<tls_relay>, socket>> start(stream tls);
  // Stops at once and closes both connections.
  ~tls_relay();
  tls_relay(const tls_relay&) = delete;
  tls_relay& operator=(const tls_relay&) = delete;

  // The relay ended: either side closed or broke.
  bool ended() const;

 private:
  struct state;
  explicit tls_relay(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
  std::thread thread_;
};

}  // namespace trail::net
