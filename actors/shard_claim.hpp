// A coordinator's hold on the cluster's shards (issue 11), through etcd:
// the shards belong to whichever coordinator holds the claim key under a
// live lease. One holds it and acts; the others stand by and take it over
// when its lease runs out (it died, hung or lost etcd) — within about two
// lease periods: the lease's own time, plus a third of it before a standby
// looks again.
//
// Fencing: every write a holder makes to etcd checks, in the same
// transaction, that the claim key still holds its value
// (durable::etcd::fence_on) — so a coordinator that was stopped past its
// lease and wakes up has its late writes refused — and its next renewal
// learns the lease is gone: it steps down (`fenced` is called, once, and
// the process starts over as a standby), and holds the shards again only
// through a fresh claim. Nodes leave a coordinator that goes silent
// (agent.hpp) and join the one holding the claim. A holder left without
// nodes while another coordinator is listed steps down by itself
// (coordinator.hpp), and holds off its next claim (claim_options::hold_off).
//
// Membership: every coordinator process, standing by or holding, lists
// itself under trail/coordinators/<address> ("<address> pid N") under a
// lease of its own, renewed while it lives (by the standby loop, then by the
// lease warden), so `trail status` names the standbys too.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <caf/all.hpp>

#include <trail/status.hpp>

#include "actors/core/partitions.hpp"
#include "actors/durable/etcd.hpp"

namespace trail::actors {

struct shard_claim {
  std::string etcd;              // endpoints
  std::string prefix;            // --etcd-prefix: the cluster's keys live under it (etcd::within)
  core::partition_layout layout;  // --partitions, --shards
  std::uint32_t partition = 0;   // the one held; its keys (this claim's too) live under partition_prefix()
  std::chrono::seconds ttl{3};   // --lease-seconds
  std::string identity;          // what the claim key holds: who, where, which lease
  std::int64_t lease = 0;
  std::int64_t member_lease = 0;  // keeps this process listed under members_prefix
  static constexpr const char* key = "trail/coordinator/owner";  // (under the partition's prefix)
  static constexpr const char* members_prefix = "trail/coordinators/";
  static constexpr const char* layout_key = "trail/layout";  // core::partition_layout::encode, made once
  std::string partition_prefix() const { return core::partition_prefix(prefix, partition, layout.partitions); }
};

// Who holds each partition (the address of its holder; empty: none) and how
// many nodes each lists, as etcd says: what the lease warden tells the front
// after each renewal, with several partitions.
struct partition_map {
  std::vector<std::string> holders;
  std::vector<std::int32_t> nodes;  // -1: not held
};

// What a coordinator process lists itself as: "<address> pid N" (the
// claim's identity starts with it while that process holds the shards).
std::string member_identity(const std::string& who);

inline constexpr const char* stopped_standing_by = "stopped while standing by";

struct claim_options {
  std::chrono::seconds ttl{3};  // --lease-seconds
  std::string prefix;           // --etcd-prefix (etcd::within): claims and listings are the cluster's own
  // The cluster's partitions: the first coordinator makes it so (layout_key);
  // one that disagrees is refused (invalid_argument) and says what it is.
  core::partition_layout layout;
  // Waits this long, and returns true to give up (a signal to stop).
  std::function<bool(std::chrono::milliseconds)> wait;
  // Starting over after it was fenced or stepped down: etcd answered its
  // predecessor, so an outage now is waited out from the start.
  bool known_etcd = false;
  // Stepped down: it does not claim the shards before this has passed (so a
  // standby that its lost nodes can reach takes them, not itself again).
  std::chrono::milliseconds hold_off{0};
  // Told each time what it says changes ("standing by: ...", and the
  // address of the coordinator that holds the shards, if one does).
  std::function<void(const std::string& what, const std::string& holder)> standing_by;
};

// Claims the shards — with several partitions, those of the first partition
// no coordinator holds: returns once this process holds them. While others
// hold them, says so once ("standing by: ... holds the shards") and
// looks again every ttl/3, through `wait` (a true from it gives up: the
// result is then unavailable, stopped_standing_by). `who`: this
// coordinator's address, for the identity. Errors: unavailable (etcd is,
// at the first look, unless known_etcd; once it answered, outages are
// waited out).
result<shard_claim> claim_shards(const std::string& etcd, const std::string& who, const claim_options& opts);

// Renews the claim's lease for as long as it lives (a detached actor); calls
// `fenced(why)` once when etcd says the lease is gone (it ran out: this
// process was stopped, or cut off from etcd while the others were not).
// While renewals do not get through it tries on. On exit it revokes the
// lease, so a standby takes over at once. It renews the process's member
// lease too, and, once sent an actor (a caf::actor message), tells it after
// each renewal who is listed: (members_atom, [identity]).
caf::actor spawn_lease_warden(caf::actor_system& sys, shard_claim claim, std::function<void(const std::string&)> fenced);

// The status of a coordinator process that does not hold the shards (yet),
// for its metrics server: (status_atom) -> JSON {"coordinator": {"pid",
// "standing_by": why}, "nodes": []}; (standby_atom, why, holder) changes `why`.
caf::actor spawn_standby_status(caf::actor_system& sys, std::string why);

}  // namespace trail::actors
