// What the data path has done so far, counted by every thread of one
// transfer_service and read by transfer_service::stats().
#pragma once

#include <atomic>
#include <cstdint>

namespace trail::net {

struct counters {
  std::atomic<std::uint64_t> served{0};              // transfers served to their last chunk
  std::atomic<std::uint64_t> served_bytes{0};        // payload bytes of those
  std::atomic<std::uint64_t> pulls{0};               // transfers run as requester
  std::atomic<std::uint64_t> joined{0};              // pull() calls that joined a transfer
  std::atomic<std::uint64_t> pulled_bytes{0};        // payload bytes received into the store
  std::atomic<std::uint64_t> copied_chunks{0};       // chunks not received in place (copied once)
  std::atomic<std::uint64_t> connections_opened{0};  // outgoing data connections made
  std::atomic<std::uint64_t> protocol_errors{0};     // connections dropped for a bad frame
  std::atomic<std::uint64_t> refused{0};             // served connections failing the secret handshake

  static void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
};

}  // namespace trail::net
