// Idle data connections of the requester side, per peer address: a pull
// takes one (or connects anew), uses it for one transfer, and gives it back
// when the transfer left it clean. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/net/stream.hpp"

namespace trail::net {

class connection_pool {
 public:
  using clock = std::chrono::steady_clock;

  // Keeps at most `per_peer` idle connections per address, each at most
  // `max_idle` (shorter than the server's idle timeout, so the server rarely
  // closes one under a requester).
  connection_pool(std::chrono::milliseconds max_idle, std::size_t per_peer)
      : max_idle_(max_idle), per_peer_(per_peer) {}

  // The most recently used idle connection to `address` that is still fit:
  // not idle too long, and with nothing to read (an end of stream, or stray
  // bytes, would mean the peer closed it or broke the protocol).
  std::optional<stream> take(const std::string& address, clock::time_point now);
  // Returns a connection that finished a transfer cleanly.
  void give(const std::string& address, stream s, clock::time_point now);
  // Closes every idle connection.
  void clear();

 private:
  struct idle {
    stream s;
    clock::time_point since;
  };
  std::chrono::milliseconds max_idle_;
  std::size_t per_peer_;
  std::mutex mu_;
  std::map<std::string, std::vector<idle>> idle_;  // oldest first
};

}  // namespace trail::net
