#include "actors/shard_claim.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "actors/cluster_types.hpp"
#include "actors/core/lease_clock.hpp"
#include "actors/durable/node_records.hpp"
#include "actors/types.hpp"

namespace trail::actors {
namespace {

using clock = std::chrono::steady_clock;
using renew_atom = caf::atom_constant<caf::atom("trenew")>;

void say(const std::string& what) { actors::log_line("trail-coordinator: " + what); }

// Keeps this process listed under members_prefix: under `lease` (granted
// when 0 or gone). Quiet: a listing is for `trail status`, never a reason to
// stop; it is tried again at the next renewal.
// Its renewal is one call; a fresh listing's calls are made only while
// `until` holds, and a lease granted too late is left to run out (no
// revoke: one call fewer before the caller's deadline).
void stay_listed(durable::etcd& db, std::chrono::seconds ttl, const std::string& who, std::int64_t& lease,
                 const std::function<bool()>& until = [] { return true; }) {
  if (lease != 0) {
    auto left = db.keep_alive(lease);
    if (left || left.error().code() != errc::not_found) return;
    lease = 0;
  }
  if (!until()) return;
  auto fresh = db.grant_lease(ttl);
  if (!fresh) return;
  if (!until()) return;
  // (A stale entry of an earlier process at this address stays until its lease runs out.)
  auto put = db.claim(shard_claim::members_prefix + who, member_identity(who), *fresh);
  if (put && put->won) lease = *fresh;
  else (void)db.revoke_lease(*fresh);
}

struct warden_state {
  std::optional<durable::etcd> db;
  // The listing's own client, with short calls: etcd stalling on a listing
  // must never push the next renewal past its time.
  std::optional<durable::etcd> listing;
  shard_claim claim;
  core::lease_clock lease{std::chrono::milliseconds(0)};
  std::function<void(const std::string&)> fenced;
  bool gone = false;  // fenced already
  bool late = false;  // said that renewals do not get through
  std::string who;    // this coordinator's address
  caf::actor tell;    // told who is listed after each renewal
  static inline const char* name = "trail.lease-warden";

  ~warden_state() {
    if (late) return;  // etcd does not answer it: the leases run out by themselves (no waiting on the way out)
    if (db && !gone) (void)db->revoke_lease(claim.lease);  // hand over at once
    if (db && claim.member_lease) (void)db->revoke_lease(claim.member_lease);
  }
};

using warden_ptr = caf::stateful_actor<warden_state>*;

// How long one listing call may wait for etcd.
std::chrono::milliseconds listing_call(std::chrono::seconds ttl) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 12;
}

// With several partitions: who holds each, and how many nodes each lists
// (durable/node_records.hpp), for the front (partitions_atom). Nothing is
// said when a call does not get through in time: it is asked again next time.
template <class InTime>
void look_at_partitions(warden_ptr self, const InTime& in_time) {
  auto& st = self->state;
  const auto& layout = st.claim.layout;
  std::vector<std::string> holders(layout.partitions);
  std::vector<std::int32_t> nodes(layout.partitions, -1);
  for (std::uint32_t p = 0; p < layout.partitions; ++p) {
    if (!in_time()) return;
    auto under = core::partition_prefix("", p, layout.partitions);
    auto held = st.listing->get(under + shard_claim::key);
    if (!held) return;
    if (!*held) continue;
    holders[p] = (*held)->value.substr(0, (*held)->value.find(' '));
    if (!in_time()) return;
    auto listed = st.listing->range(under + durable::nodes_prefix);
    if (!listed) return;
    nodes[p] = static_cast<std::int32_t>(listed->size());
  }
  self->send(st.tell, partitions_atom::value, std::move(holders), std::move(nodes));
}

// Renews the lease. Only etcd saying it is gone fences: a renewal that
// cannot get through (etcd down, electing) is tried again soon, and etcd
// keeps leases alive while it has no leader, so a cluster whose etcd was
// down for everyone carries on when it is back.
void renew(warden_ptr self) {
  auto& st = self->state;
  if (st.gone) return;
  auto sent = clock::now();
  auto left = st.db->keep_alive(st.claim.lease);
  if (left) {
    st.lease.renewed(sent, std::chrono::seconds(*left));
  } else if (left.error().code() == errc::not_found) {
    st.lease.lost();
    st.gone = true;
    st.fenced("its lease on the shards is gone (" + left.error().message() + ")");
    return;
  } else if (!st.lease.current(clock::now()) && !st.late) {
    st.late = true;
    say("cannot renew its lease on the shards: " + left.error().message() +
        " (trying on; not acting meanwhile: its nodes look for a coordinator that holds the shards)");
    if (st.tell) self->send(st.tell, pause_atom::value, true, "its lease on the shards may have run out: " + left.error().message());
  }
  if (left && st.late) {
    say("renewed its lease on the shards again");
    if (st.tell) self->send(st.tell, pause_atom::value, false, std::string());
  }
  if (left) st.late = false;
  // Listing calls (each at most listing_call) only while they end before the next renewal is due.
  auto in_time = [&] { return clock::now() + listing_call(st.claim.ttl) < st.lease.renew_at(); };
  if (left && in_time()) stay_listed(*st.listing, st.claim.ttl, st.who, st.claim.member_lease, in_time);
  if (left && st.tell && in_time()) {
    if (auto listed = st.listing->range(shard_claim::members_prefix)) {
      std::vector<std::string> members;
      for (auto& kv : *listed) members.push_back(kv.value);
      self->send(st.tell, members_atom::value, std::move(members));
    }
  }
  if (left && st.tell && st.claim.layout.partitions > 1 && in_time()) look_at_partitions(self, in_time);
  auto now = clock::now();
  auto next = std::max(st.lease.renew_at(), now + std::chrono::milliseconds(100));
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::milliseconds>(next - now), renew_atom::value);
}

caf::behavior warden(warden_ptr self, durable::etcd db, durable::etcd listing, shard_claim claim,
                     std::function<void(const std::string&)> fenced) {
  auto& st = self->state;
  st.db.emplace(std::move(db));
  st.listing.emplace(std::move(listing));
  st.claim = std::move(claim);
  // A quarter of the lease as margin: a renewal call waits at most a third.
  st.lease = core::lease_clock(std::chrono::duration_cast<std::chrono::milliseconds>(st.claim.ttl) / 4);
  st.lease.renewed(clock::now(), st.claim.ttl);  // claimed just now (a slight overestimate: renewed at once)
  st.fenced = std::move(fenced);
  st.who = st.claim.identity.substr(0, st.claim.identity.find(' '));
  self->send(self, renew_atom::value);
  return {[=](renew_atom) { renew(self); },
          [=](const caf::actor& tell) {
            auto& st = self->state;
            st.tell = tell;
            // (At once, not at the next renewal: clients and the balance of nodes wait for it.)
            if (st.claim.layout.partitions > 1) look_at_partitions(self, [] { return true; });
          }};
}

struct standby_status_state {
  std::string why;
  static inline const char* name = "trail.standby-status";
};

caf::behavior standby_status(caf::stateful_actor<standby_status_state>* self, std::string why) {
  self->state.why = std::move(why);
  return {
      [=](status_atom) {
        nlohmann::json j{{"coordinator", {{"pid", ::getpid()}, {"standing_by", self->state.why}}},
                         {"nodes", nlohmann::json::array()}};
        return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      },
      [=](standby_atom, std::string& why, const std::string&) { self->state.why = std::move(why); },
  };
}

}  // namespace

caf::actor spawn_standby_status(caf::actor_system& sys, std::string why) {
  return sys.spawn(standby_status, std::move(why));
}

std::string member_identity(const std::string& who) { return who + " pid " + std::to_string(::getpid()); }

// The cluster's layout in etcd: made by the first coordinator, and the same
// for every later one (the apps' shards and the session ids depend on it).
status agree_on_layout(durable::etcd& db, const core::partition_layout& mine) {
  auto made = db.claim(shard_claim::layout_key, mine.encode(), 0);
  if (!made) return made.error();
  if (made->won || made->holder == mine.encode()) return {};
  auto theirs = core::partition_layout::decode(made->holder);
  std::string what = theirs ? theirs->encode() : "'" + made->holder.substr(0, 64) + "'";
  return status::invalid("the cluster in etcd was made with " + what + "; this coordinator was given " +
                         mine.encode() + " (--partitions, --shards): give it the cluster's");
}

// What one partition's claim key is called, relative to the cluster's prefix.
std::string claim_key(const core::partition_layout& layout, std::uint32_t p) {
  return core::partition_prefix("", p, layout.partitions) + shard_claim::key;
}

result<shard_claim> claim_shards(const std::string& endpoints, const std::string& who, const claim_options& o) {
  auto db = durable::etcd::open(endpoints);
  if (!db) return db.error();
  db->within(o.prefix);
  if (status s = o.layout.check(); !s.ok()) return s;
  const auto ttl = o.ttl;
  const auto& wait = o.wait;
  const auto look_again = std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 3;
  const auto not_before = clock::now() + o.hold_off;
  const auto k = o.layout.partitions;
  std::string said;     // what it last said
  bool reached = o.known_etcd;  // etcd answered once: later outages are waited out
  bool agreed = false;  // on the layout
  std::int64_t member_lease = 0;
  auto tell = [&](const std::string& what, const std::string& holder = {}) {
    say(what);
    if (o.standing_by) o.standing_by(what, holder);
  };
  auto stopped = [&] {
    if (member_lease) (void)db->revoke_lease(member_lease);
    return status::unavailable(stopped_standing_by);
  };
  auto stand_by = [&](const std::string& what, const std::string& holder = {}) {
    if (said != what) tell(said = what, holder);
    return wait(look_again);
  };
  for (;;) {
    if (!agreed) {
      status s = agree_on_layout(*db, o.layout);
      if (s.code() == errc::invalid_argument || (!s.ok() && !reached)) return s;
      if (!s.ok()) {
        if (stand_by("standing by: " + s.message())) return stopped();
        continue;
      }
      agreed = reached = true;
    }
    // Who holds each partition (the claim keys' values), and the first free one.
    std::vector<std::string> holders(k);
    std::optional<std::uint32_t> free;
    status failed;
    for (std::uint32_t p = 0; p < k && failed.ok(); ++p) {
      auto held = db->get(claim_key(o.layout, p));
      if (!held) failed = held.error();
      else if (*held) holders[p] = (*held)->value;
      else if (!free) free = p;
    }
    if (failed.ok()) stay_listed(*db, ttl, who, member_lease);
    if (!failed.ok()) {
      if (stand_by("standing by: " + failed.message())) return stopped();
      continue;
    }
    if (free && clock::now() < not_before) {
      if (stand_by("standing by: it stepped down, and leaves the shards to the others for " +
                   std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(o.hold_off).count()) + " ms"))
        return stopped();
      continue;
    }
    if (free) {
      auto lease = db->grant_lease(ttl);
      if (!lease) {  // etcd went away in between: look again
        if (wait(look_again)) return stopped();
        continue;
      }
      shard_claim c{endpoints, o.prefix, o.layout, *free, ttl,
                    member_identity(who) + " lease " + std::to_string(*lease), *lease, member_lease};
      auto won = db->claim(claim_key(o.layout, *free), c.identity, *lease);
      if (!won) {
        if (wait(look_again)) return stopped();
        continue;
      }
      if (won->won) return c;
      (void)db->revoke_lease(*lease);
      continue;  // another took it meanwhile: look at them all again
    }
    // All held: it names the holder of the first (a client it sends there
    // learns of the others from it).
    std::string what = "standing by: " + holders[0] + " holds the shards";
    if (k > 1) {
      what = "standing by: every partition is held (";
      for (std::uint32_t p = 0; p < k; ++p) what += (p ? "; p" : "p") + std::to_string(p) + " by " + holders[p];
      what += ")";
    }
    if (stand_by(what, holders[0].substr(0, holders[0].find(' ')))) return stopped();
  }
}

caf::actor spawn_lease_warden(caf::actor_system& sys, shard_claim claim, std::function<void(const std::string&)> fenced) {
  // Its own client: a renewal must never wait behind the keeper's writes, and
  // gives up after a third of the lease (then it is tried again, or fenced).
  auto db = durable::etcd::open(claim.etcd, std::chrono::duration_cast<std::chrono::milliseconds>(claim.ttl) / 3);
  auto listing = durable::etcd::open(claim.etcd, listing_call(claim.ttl));
  db->within(claim.prefix);
  listing->within(claim.prefix);
  return sys.spawn<caf::detached>(warden, std::move(*db), std::move(*listing), std::move(claim), std::move(fenced));
}

}  // namespace trail::actors
