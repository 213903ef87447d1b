// Physical floors, measured in the same run as the results they frame.
#pragma once

#include <chrono>
#include <utility>
#include <vector>

namespace trail::bench {

// Round trips of a raw two-process shared-memory ping-pong (one atomic word
// each way) with the wake-up the channel uses: spin briefly, then futex.
// `spin` = false measures the pure blocking wake-up. With `idle`, each trip
// starts after the initiator slept that long and the other side waited
// blocked meanwhile (as a hop after idling does: caches and vCPUs go cold).
std::vector<double> shm_rtt_us(std::size_t trips, bool spin, std::chrono::microseconds idle = {});

}  // namespace trail::bench

namespace trail::bench {

// Round trips of `bytes` over a TCP loopback connection between two threads
// (blocking sockets, TCP_NODELAY): the floor for anything that crosses a socket.
std::vector<double> tcp_rtt_us(std::size_t trips, std::size_t bytes = 64);

// One-way latencies of an 8-byte message over TCP loopback between two
// threads (blocking sockets, TCP_NODELAY): the sender's timestamp against
// the receiver's clock (one steady clock). The next message leaves once the
// previous one was acknowledged, so none waits behind another.
std::vector<double> tcp_oneway_us(std::size_t trips);

// Starting a process and seeing it end: posix_spawn of `binary` (with
// `arg`) to its reap — the floor for replacing a crashed executor.
std::vector<double> spawn_us(std::size_t runs, const char* binary = "/bin/true", const char* arg = nullptr);

// A connected TCP loopback socket pair (TCP_NODELAY both ends), for floors.
std::pair<int, int> tcp_pair();

}  // namespace trail::bench
