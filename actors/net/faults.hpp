// Fault points in trail's own network layer (like etcd's gofail failpoints):
// an operator arms rules per peer — delay, loss, partition — and the node
// wire (actors/peers.cpp) and the data path (transfer.cpp) consult them for
// every frame or pull. Nothing is armed by default; an unarmed registry costs
// one relaxed atomic load per frame.
//
// What each rule does where:
//   delay PEER D     node wire: every frame to PEER leaves D later, in order
//                    (a per-peer FIFO: as if the link were D longer);
//                    data path: each pull from PEER starts D later.
//   drop PEER P%     node wire: each frame to PEER is lost with probability P
//                    (a whole frame, so the stream stays well-formed);
//                    data path: each pull from PEER fails (unavailable) with P.
//   partition PEER.. everything to and from each PEER is lost (frames both
//                    ways, pulls). Arm it on both sides for a symmetric cut.
// PEER is a node name ("n2"), "coordinator", or "*" (every peer). For one
// peer the strongest of its own rule and "*" wins (longest delay, highest
// loss, partition if either says so).
//
// Randomness: one seeded generator (seed in `list` and in every answer) so
// that a failing run can be replayed with the same seed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <trail/status.hpp>

namespace trail::net {

// What to do with one frame (or pull).
struct fault_verdict {
  bool drop = false;                 // lose it
  std::chrono::milliseconds delay{0};  // hold it this long first (kept in order)
};

// The rules for one peer (or "*").
struct fault_rule {
  std::chrono::milliseconds delay{0};  // 0: none
  std::uint32_t drop_percent = 0;      // 0..100
  bool partition = false;
  bool empty() const { return delay.count() == 0 && drop_percent == 0 && !partition; }
};

// The pure core: rules by peer name and the decision for one frame. No
// threads, no clock; the roll (0..99) is an input. Not thread-safe.
class fault_rules {
 public:
  // Applies one command: delay/drop/partition/heal/list (see the file
  // comment; `heal` alone clears everything, `heal PEER...` those peers).
  // Errors: invalid_argument, saying what is wrong; nothing changes then.
  status apply(const std::vector<std::string>& spec);

  // The verdict for a frame to (`sending`) or from `peer`; `roll` in 0..99
  // decides a loss. Receiving only ever loses frames to a partition.
  fault_verdict decide(std::string_view peer, bool sending, std::uint32_t roll) const;

  // The rule in force for `peer` (its own combined with "*").
  fault_rule effective(std::string_view peer) const;

  bool empty() const { return rules_.empty(); }
  const std::map<std::string, fault_rule, std::less<>>& rules() const { return rules_; }

 private:
  std::map<std::string, fault_rule, std::less<>> rules_;  // peer name or "*" -> its rule; no empty rules
};

// A process's fault points: the rules, a seeded generator, counters of what
// was injected, and a directory of peer names (the rules speak names; the
// wire knows numbers, the data path addresses). Owned by the node
// (actors/node.cpp) and lent by pointer to the node wire, the data path and
// the scheduler, which all outlive none of it. Thread-safe: the node loop,
// transfer threads and the admin command call it concurrently.
class faults {
 public:
  // `seed` 0: a random one (printed in every answer).
  explicit faults(std::uint64_t seed = 0);
  faults(const faults&) = delete;
  faults& operator=(const faults&) = delete;

  // Runs an admin command's words (`delay n2 30ms`, `drop * 20%`,
  // `partition n2 n3`, `heal`, `list`) and answers, as JSON text, the rules
  // now armed, the seed and what was injected so far:
  //   {"seed":S,"rules":[{"peer":"n2","delay_ms":30,"drop_percent":0,"partition":false}],
  //    "injected":{"dropped":N,"delayed":N,"refused_pulls":N}}
  // Errors: invalid_argument (unknown word, bad duration or percentage).
  result<std::string> arm(const std::vector<std::string>& spec);

  // Names a peer: its cluster number, node-wire and data-path addresses
  // (either may be empty). The coordinator is known from the start as
  // number 0, "coordinator".
  void learn(std::uint64_t number, const std::string& name, const std::string& wire, const std::string& data);

  // -- the fault points ---------------------------------------------------
  // A frame about to be sent to peer `number` on the node wire.
  fault_verdict on_send(std::uint64_t number) {
    return armed() ? decide(number_name(number), true, dropped_) : fault_verdict{};
  }
  // A frame that arrived from peer `number` on the node wire.
  fault_verdict on_receive(std::uint64_t number) {
    return armed() ? decide(number_name(number), false, dropped_) : fault_verdict{};
  }
  // A pull about to start from the peer serving its data at `address`.
  fault_verdict on_pull(const std::string& address);

  std::uint64_t seed() const { return seed_; }

 private:
  bool armed() const { return armed_.load(std::memory_order_relaxed); }
  std::string number_name(std::uint64_t number);
  // Rolls and decides; counts a loss in `losses` (guarded by mu_).
  fault_verdict decide(const std::string& peer, bool sending, std::uint64_t& losses);
  std::string describe() const;  // REQUIRES: mu_ held

  const std::uint64_t seed_;
  std::atomic<bool> armed_{false};  // mirrors !rules_.empty(): the unarmed fast path
  mutable std::mutex mu_;           // guards everything below; held only briefly, never across I/O
  fault_rules rules_;
  std::mt19937_64 rng_;
  std::map<std::uint64_t, std::string> names_;         // cluster number -> name
  std::map<std::string, std::string> address_names_;  // wire or data address -> name
  std::uint64_t dropped_ = 0, delayed_ = 0, refused_pulls_ = 0;
};

}  // namespace trail::net

namespace trail::actors {
using net::faults;  // the admin command's `fault NODE SPEC...` lands in faults::arm
}
