// The coordinator's front actor; see coordinator.hpp.
#include "actors/coordinator.hpp"

#include <nlohmann/json.hpp>

#include "actors/cluster_types.hpp"
#include "actors/coordinator_admin.hpp"
#include "actors/front_handlers.hpp"
#include "actors/core/address_list.hpp"
#include "actors/core/partitions.hpp"
#include "actors/core/manifest.hpp"
#include "actors/core/membership.hpp"
#include "actors/core/placement.hpp"
#include "actors/durable/app_records.hpp"
#include "actors/durable/session_records.hpp"
#include "actors/durable/node_records.hpp"
#include "actors/keeper.hpp"
#include "actors/peers.hpp"
#include "actors/shard_claim.hpp"
#include "actors/types.hpp"

namespace trail::actors {
namespace {

using clock = std::chrono::steady_clock;

struct node_rec {
  std::string name;
  caf::actor agent, scheduler, registry;
  std::string wire, data;  // its node-to-node wire and data-path addresses
  std::string client;      // its client wire (where puts and gets are sent)
};

// Balancing nodes between partitions (core::hand_over_judge): how long one
// partition must look the emptiest before a node moves to it — etcd's counts
// lag joins, and at a start or after a takeover (slowly on a loaded machine)
// nodes are still on their way — and how long after one hand-over the next
// may follow.
constexpr auto shed_after = std::chrono::seconds(4);
constexpr auto hand_over_every = std::chrono::seconds(2);

struct front_state {
  coordinator_options opts;
  caf::actor wire;  // the node wire (peers.hpp): sessions start and end over it
  std::unique_ptr<core::membership> members;
  std::map<std::uint64_t, node_rec> nodes;                 // live
  std::map<caf::actor_addr, std::uint64_t> by_agent;      // monitored agents
  std::vector<caf::actor> shards;
  std::vector<std::string> coordinators;  // with etcd: every coordinator listed there (the lease warden says)
  caf::actor keeper;  // with etcd: lists the nodes there (durable/node_records.hpp)
  caf::actor gateway;  // the client wire, told the other coordinators listed (for clients)
  nlohmann::json etcd_writes;  // with etcd: how the keeper's writes fare (its last word)
  clock::time_point last_look;  // on_deaths' last look at the nodes' timeouts
  // With etcd: why this coordinator cannot renew its lease, while its own
  // clock says it may have run out (the lease warden says; empty: it holds).
  // Meanwhile no node joins it, and its nodes look for one that holds the shards.
  std::string paused;
  // Client requests that came while paused: they go on when it holds the
  // shards again, or fail "coordinator paused" at `until`.
  struct held_request {
    clock::time_point until;
    caf::response_promise rp;
    std::function<void(caf::response_promise&)> go;
  };
  std::vector<held_request> held;
  // Since when it has had no live node, after it had some (zero: it has
  // nodes, or never had any); and whether it stepped down for that.
  clock::time_point alone_since;
  bool stepped_down = false;
  // The cluster's partitions (core/partitions.hpp); with several, who holds
  // the others and how many nodes each has, as the lease warden last said,
  // and when this one last handed a node to another.
  core::partition_layout layout;
  std::vector<std::string> holders;
  std::vector<std::int32_t> partition_nodes;
  core::hand_over_judge hand_over{shed_after, hand_over_every};
  static inline const char* name = "trail.coordinator";
};

using self_ptr = caf::stateful_actor<front_state, loop_actor>*;

void log_line(const std::string& what) { actors::log_line("trail-coordinator: " + what); }

// What the admin commands and the status say about this coordinator (no nodes yet).
admin_scope admin_view(self_ptr self) {
  admin_scope scope;
  scope.shard_count = static_cast<std::uint32_t>(self->state.shards.size());
  scope.claim = self->state.opts.claim;
  scope.coordinators = self->state.coordinators;
  scope.etcd_writes = self->state.etcd_writes;
  scope.paused = self->state.paused;
  scope.etcd_prefix = self->state.opts.etcd_prefix;
  scope.partition = self->state.opts.partition;
  scope.partitions = self->state.layout.partitions;
  scope.holders = self->state.holders;
  scope.partition_nodes = self->state.partition_nodes;
  return scope;
}

// -- partitions ------------------------------------------------------------------

// `what` belongs to partition p, which another coordinator holds (or none does now).
status elsewhere(self_ptr self, const std::string& what, std::uint32_t p) {
  auto& st = self->state;
  std::string where = "partition " + std::to_string(p) + " of " + std::to_string(st.layout.partitions);
  std::string holder = p < st.holders.size() ? st.holders[p] : std::string();
  std::string says = std::string(elsewhere_prefix) + what + " is in " + where;
  if (holder.empty()) return status::unavailable(says + ", which no coordinator holds now (a standby claims it within two lease periods)");
  return status::unavailable(says + ", held by " + holder + ": ask it");
}

// The app's shard, if this coordinator holds its partition.
result<caf::actor> shard_for_app(self_ptr self, std::string_view app) {
  auto& st = self->state;
  auto shard = st.layout.shard_of_app(app);
  auto here = st.layout.local_shard(shard, st.opts.partition);
  if (!here) return elsewhere(self, "app '" + std::string(app) + "'", shard / st.layout.shards);
  return st.shards[*here];
}

// The shard that numbered `session`: nullptr if none did (a node did, or no
// one); an error if another partition's did.
result<const caf::actor*> shard_for_session(self_ptr self, std::uint64_t session) {
  auto& st = self->state;
  auto s = shard_of_session(session);
  if (!s) return nullptr;
  auto p = st.layout.partition_of_shard(*s);
  if (!p) return nullptr;
  if (*p != st.opts.partition) return elsewhere(self, "session " + std::to_string(session), *p);
  return &st.shards[*st.layout.local_shard(*s, *p)];
}

// -- pausing ---------------------------------------------------------------------

// How long a client request waits for a paused coordinator: as long as a
// write waits for etcd (durable::etcd's rounds).
constexpr auto hold_for = std::chrono::seconds(5);

// Sends a client's request on to `to` — at once, or, while paused, once it
// holds the shards again (at most hold_for from now). A paused coordinator
// that no node stays with (they left for one that holds the shards) answers
// at once: the client asks elsewhere.
template <class... Ts>
caf::result<caf::message> route(self_ptr self, const caf::actor& to, Ts... xs) {
  auto& st = self->state;
  if (st.paused.empty()) return self->delegate(to, std::move(xs)...);
  if (st.nodes.empty()) return to_error(coordinator_paused(st.paused));
  auto rp = self->make_response_promise();
  auto args = std::make_tuple(std::move(xs)...);
  st.held.push_back({clock::now() + hold_for, rp, [to, args](caf::response_promise& p) {
                       std::apply([&](const auto&... a) { p.delegate(to, a...); }, args);
                     }});
  return rp;
}

void release_held(self_ptr self, clock::time_point now) {
  auto& st = self->state;
  std::erase_if(st.held, [&](front_state::held_request& h) {
    if (st.paused.empty()) h.go(h.rp);
    else if (now >= h.until || st.nodes.empty()) h.rp.deliver(to_error(coordinator_paused(st.paused)));
    else return false;
    return true;
  });
}

// -- membership ------------------------------------------------------------------

// Looks are at most tick_every apart while the front runs; a longer gap
// means it did not (stopped, stalled), and the nodes' silence then was its own.
constexpr auto tick_every = std::chrono::milliseconds(50);
constexpr auto pause_after = std::chrono::milliseconds(250);

void on_deaths(self_ptr self) {
  auto& st = self->state;
  auto now = clock::now();
  if (st.last_look != clock::time_point{} && now - st.last_look > pause_after) {
    st.members->excuse(now - st.last_look - tick_every);
    log_line("did not run for " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - st.last_look).count()) +
             " ms: the nodes' silence then does not count");
  }
  st.last_look = now;
  for (auto& d : st.members->tick(now)) {
    const char* why = d.why == core::node_down::cause::timeout           ? "no heartbeat"
                      : d.why == core::node_down::cause::connection_lost ? "connection lost"
                                                                         : "replaced by a newer incarnation";
    log_line("node " + d.name + " (#" + std::to_string(d.node) + ") is dead: " + why);
    if (st.keeper) self->send(st.keeper, listed_atom::value, d.name, std::string());  // (before a newer incarnation's listing)
    auto it = st.nodes.find(d.node);
    if (it != st.nodes.end()) {
      // If it is only hung, it learns on waking up that it must start over.
      self->send(it->second.agent, fenced_atom::value, std::string("declared dead: ") + why);
      st.by_agent.erase(it->second.agent.address());
      st.nodes.erase(it);
    }
    for (auto& s : st.shards) self->send(s, down_atom::value, d.node);
    for (auto& [n, rec] : st.nodes) self->send(rec.agent, down_atom::value, d.node);
    self->send(st.wire, down_atom::value, d.node);
    if (st.nodes.empty()) st.alone_since = now;
  }
}

// A holder that lost every node it had, for step_down_after, while another
// coordinator is listed: it may be cut off from them while they reach the
// other, so it leaves the shards to it (opts.step_down; see coordinator.hpp).
void maybe_step_down(self_ptr self, clock::time_point now) {
  auto& st = self->state;
  if (!st.opts.step_down || st.stepped_down || !st.paused.empty() || st.alone_since == clock::time_point{} ||
      now - st.alone_since < st.opts.step_down_after)
    return;
  std::string other;  // (listed as "<address> pid N"; the claim is "<address> pid N lease L")
  for (auto& c : st.coordinators)
    if (!st.opts.claim.starts_with(c + " ")) other = c;
  if (other.empty()) return;
  st.stepped_down = true;
  auto alone = std::chrono::duration_cast<std::chrono::milliseconds>(now - st.alone_since).count();
  st.opts.step_down("it has had no node for " + std::to_string(alone) + " ms, and " + other +
                    " is listed, which they may reach");
}

// The addresses of the coordinators etcd lists (their identities start with them).
std::vector<std::string> listed_addresses(self_ptr self) {
  std::vector<std::string> out;
  for (auto& identity : self->state.coordinators) out.push_back(identity.substr(0, identity.find(' ')));
  return out;
}

// ... but this one, and those on every interface (no use on another
// machine): what clients connected here are told of.
std::vector<std::string> other_addresses(self_ptr self) {
  std::vector<std::string> out;
  for (auto& address : listed_addresses(self))
    if (!self->state.opts.claim.starts_with(address + " ") && !core::wildcard_address(address)) out.push_back(address);
  return out;
}

// The lease warden says who is listed. Nodes and the gateway are told when
// the addresses change, so that a node or a client given some of them can
// find the others (a standby added later) when this one is lost.
void on_listed(self_ptr self, std::vector<std::string> listed) {
  auto& st = self->state;
  auto before = listed_addresses(self);
  st.coordinators = std::move(listed);
  auto now = listed_addresses(self);
  if (now == before) return;
  if (st.gateway) self->send(st.gateway, coordinators_atom::value, other_addresses(self));
  for (auto& [n, rec] : st.nodes) self->send(rec.agent, coordinators_atom::value, now);
}


// With several partitions, the lease warden says who holds each and how many
// nodes each lists. Clients are told the holders (the gateway names them),
// and a holder with two nodes more than the emptiest held partition hands
// one over: the node starts over and joins that partition's holder. So a
// partition a standby took over gets nodes again, and so does one whose
// holder started after the nodes joined the others.
void on_partitions(self_ptr self, std::vector<std::string> holders, std::vector<std::int32_t> nodes) {
  auto& st = self->state;
  const auto me = st.opts.partition;
  if (holders != st.holders && st.gateway) self->send(st.gateway, partitions_atom::value, holders, st.layout.shards, me);
  st.holders = std::move(holders);
  st.partition_nodes = std::move(nodes);
  auto now = clock::now();
  if (!st.paused.empty() || st.nodes.empty() || st.partition_nodes.size() != st.layout.partitions)
    return st.hand_over.forget();
  std::vector<std::optional<std::uint32_t>> counts(st.layout.partitions);
  for (std::uint32_t p = 0; p < counts.size(); ++p)
    if (p == me) counts[p] = static_cast<std::uint32_t>(st.nodes.size());  // (its own: exact)
    else if (st.partition_nodes[p] >= 0 && !st.holders[p].empty()) counts[p] = static_cast<std::uint32_t>(st.partition_nodes[p]);
  auto to = st.hand_over.look(me, counts, now);
  if (!to) return;
  // The node with the most free executors: the least work is run again.
  std::uint64_t pick = 0;
  std::uint32_t most = 0;
  for (auto& [n, rec] : st.nodes) {
    auto free = st.members->free_executors(n).value_or(0);
    if (pick == 0 || free > most) pick = n, most = free;
  }
  auto& rec = st.nodes.at(pick);
  std::string why = "partition " + std::to_string(*to) + " has " + std::to_string(*counts[*to]) + " node(s), this one " +
                    std::to_string(st.nodes.size());
  log_line("hands node " + rec.name + " over to " + st.holders[*to] + ": " + why);
  self->send(rec.agent, move_atom::value, st.holders[*to], why);
}

caf::result<std::uint64_t> join(self_ptr self, std::uint32_t protocol, const std::string& name, std::uint64_t incarnation,
                                const std::string& wire, const std::string& data, const std::string& client,
                                std::uint32_t executors,
                                const caf::actor& agent, const caf::actor& scheduler, const caf::actor& registry) {
  auto& st = self->state;
  if (!st.paused.empty())
    return to_error(coordinator_paused(st.paused));
  if (protocol != protocol_version)
    return to_error(status::invalid("protocol version " + std::to_string(protocol) + " is not " +
                                    std::to_string(protocol_version) + ": node and coordinator are from different trail builds"));
  if (!agent || !scheduler || !registry) return to_error(status::invalid("malformed join: missing actor handles"));
  auto id = st.members->register_node(name, incarnation, wire, executors, clock::now());
  if (!id) return to_error(id.error());
  on_deaths(self);  // an older incarnation it replaced
  if (!st.nodes.contains(*id)) {
    node_rec rec{name, agent, scheduler, registry, wire, data, client};
    self->monitor(agent);
    st.by_agent[agent.address()] = *id;
    // Peers learn of each other; the newcomer of everyone.
    for (auto& [n, other] : st.nodes) {
      self->send(other.agent, peer_atom::value, *id, name, scheduler, data, wire, false);
      self->send(agent, peer_atom::value, n, other.name, other.scheduler, other.data, other.wire, false);
    }
    st.nodes.emplace(*id, rec);
    st.alone_since = {};
    if (!st.coordinators.empty()) self->send(agent, coordinators_atom::value, listed_addresses(self));
    if (st.opts.invoke_token && st.opts.members.secret)  // (it arrives before the join's answer)
      self->send(agent, token_atom::value, net::wrap_key(*st.opts.members.secret, *st.opts.invoke_token));
    self->send(st.wire, peer_atom::value, *id, wire);
    for (auto& s : st.shards) self->send(s, peer_atom::value, *id, name, scheduler, registry, executors, client);
    log_line("node " + name + " joined as #" + std::to_string(*id) + " (" + wire + ")");
    if (st.keeper) {
      const auto& claim = st.opts.claim;
      self->send(st.keeper, listed_atom::value, name,
                 durable::encode_node({name, *id, incarnation, wire, data, client, executors, claim.substr(0, claim.find(' '))}));
    }
  }
  return *id;
}

void beat(self_ptr self, std::uint64_t number, std::uint64_t incarnation, std::uint32_t free, std::uint32_t queued,
          std::uint64_t used) {
  auto& st = self->state;
  auto s = st.members->heartbeat(number, incarnation, free, used, clock::now());
  if (!s.ok()) {
    if (auto sender = caf::actor_cast<caf::actor>(self->current_sender()))
      self->send(sender, fenced_atom::value, s.message());
    return;
  }
  for (auto& sh : st.shards) self->send(sh, beat_atom::value, number, free, queued);
}

// -- client requests -------------------------------------------------------------

// Asks every shard and merges the answers into one.
template <class T, class Merge>
caf::result<T> gather(self_ptr self, caf::message request, T init, Merge merge) {
  auto rp = self->make_response_promise<T>();
  auto acc = std::make_shared<T>(std::move(init));
  auto left = std::make_shared<std::size_t>(self->state.shards.size());
  for (auto& s : self->state.shards) {
    self->request(s, std::chrono::seconds(5), request)
        .then([=](T& part) mutable {
          merge(*acc, part);
          if (--*left == 0) rp.deliver(*acc);
        },
        [=](caf::error& e) mutable {
          if (*left > 0) rp.deliver(std::move(e));
          *left = 0;
        });
  }
  return rp;
}

std::string nodes_json(self_ptr self) {
  nlohmann::json nodes = nlohmann::json::array();
  for (auto& [n, rec] : self->state.nodes) {
    nlohmann::json j{{"number", n}, {"name", rec.name}, {"address", rec.wire}, {"data", rec.data}};
    if (auto free = self->state.members->free_executors(n)) j["free_executors"] = *free;
    if (auto info = self->state.members->find(n)) j["executors"] = info->executors;
    nodes.push_back(std::move(j));
  }
  return nodes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // names come from the network
}

caf::behavior front_actor(self_ptr self, coordinator_options opts, std::vector<caf::actor> shards) {
  auto& st = self->state;
  st.opts = opts;
  st.layout = core::partition_layout{std::max<std::uint32_t>(opts.partitions, 1), std::max<std::uint32_t>(opts.shards, 1)};
  st.members = std::make_unique<core::membership>(core::membership_config{
      opts.node_timeout, st.layout.first_node(opts.partition), st.layout.last_node(opts.partition)});
  st.shards = std::move(shards);
  for (auto& s : st.shards) self->link_to(s);
  reject_unexpected(self, "trail-coordinator");
  self->set_down_handler([=](caf::down_msg& m) {
    auto it = self->state.by_agent.find(m.source);
    if (it == self->state.by_agent.end()) return;
    self->state.members->connection_lost(it->second, clock::now());
    on_deaths(self);
  });
  self->send(self, tick_atom_t::value);
  return {
      [=](tick_atom_t) {
        on_deaths(self);
        maybe_step_down(self, clock::now());
        if (!self->state.held.empty()) release_held(self, clock::now());
        self->delayed_send(self, tick_every, tick_atom_t::value);
      },
      [=](restore_atom, const caf::actor& keeper) {
        self->state.keeper = keeper;
        self->state.etcd_writes = {{"kept_back", 0}, {"refused_groups", 0}};
      },
      [=](etcd_writes_atom, std::uint64_t kept_back, std::uint64_t refused, std::string& last) {
        self->state.etcd_writes = {{"kept_back", kept_back}, {"refused_groups", refused}, {"last_refusal", std::move(last)}};
      },
      // -- nodes --
      [=](join_atom, std::uint32_t protocol, const std::string& name, std::uint64_t incarnation,
          const std::string& wire, const std::string& data, const std::string& client, std::uint32_t executors,
          const caf::actor& agent, const caf::actor& scheduler, const caf::actor& registry) {
        return join(self, protocol, name, incarnation, wire, data, client, executors, agent, scheduler, registry);
      },
      [=](peer_atom, std::uint64_t number) {  // a node lost its handles of its peers: again, please
        auto& st = self->state;
        auto me = st.nodes.find(number);
        if (me == st.nodes.end()) return;
        for (auto& [n, other] : st.nodes)
          if (n != number)
            // Both ends usually ask: the lower number dials, so one connection results.
            self->send(me->second.agent, peer_atom::value, n, other.name, other.scheduler, other.data, other.wire,
                       false);
      },
      [=](beat_atom, std::uint64_t number, std::uint64_t incarnation, std::uint32_t free, std::uint32_t queued,
          std::uint64_t used) {
        beat(self, number, incarnation, free, queued, used);
        return beat_atom::value;  // the node hears this coordinator lives
      },
      [=](peers_atom, const caf::actor& wire) {
        self->state.wire = wire;
        self->link_to(wire);  // it stops with the front
        for (auto& s : self->state.shards) self->send(s, peers_atom::value, wire);
      },
      [=](peer_in& m) {  // from a node, on the node wire
        auto* e = std::get_if<schema::session_ended>(&m.message);
        if (!e) return;
        if (auto s = self->state.members->check(m.from, m.incarnation); !s.ok())
          return log_line("ignored the end of session " + std::to_string(e->session) + ": " + s.message());
        if (auto shard = shard_for_session(self, e->session); shard && *shard)
          self->send(**shard, ended_atom::value, m.from, e->session, e->ok, std::move(e->output),
                     static_cast<std::uint8_t>(e->code), std::move(e->message));
      },
      [=](lost_atom, std::uint64_t number) {  // the wire to a node broke (redialed at its next frame)
        log_line("lost the node wire to node #" + std::to_string(number));
        for (auto& s : self->state.shards) self->send(s, lost_atom::value, number);  // runs may be lost with it
      },
      [=](fwd_atom, const std::string& app, std::uint64_t origin, const std::string& hint) -> caf::result<caf::message> {
        if (!self->state.members->live(origin)) return to_error(status::invalid("fenced: node " + std::to_string(origin) + " is not live"));
        auto shard = shard_for_app(self, app);
        if (!shard) return to_error(shard.error());
        return self->delegate(*shard, fwd_atom::value, app, origin, hint);
      },
      // -- clients --
      [=](hello_atom, std::uint32_t version) { return answer_hello(version, "coordinator"); },
      [=](deploy_atom, const std::string& manifest, const std::vector<std::string>& names,
          const std::vector<std::string>& bytes) -> caf::result<caf::message> {
        auto m = core::parse_manifest(manifest, upload_root);
        if (!m) return to_error(m.error());
        auto shard = shard_for_app(self, m->app);
        if (!shard) return to_error(shard.error());
        return route(self, *shard, deploy_atom::value, manifest, names, bytes);
      },
      [=](invoke_atom, const std::string& app, std::vector<std::string>& args, std::uint32_t timeout_ms, bool async,
          std::uint64_t request) -> caf::result<caf::message> {
        auto shard = shard_for_app(self, app);
        if (!shard) return to_error(shard.error());
        return route(self, *shard, invoke_atom::value, app, std::move(args), timeout_ms, async, request);
      },
      [=](alive_atom, const std::string& address) {
        for (auto& [n, rec] : self->state.nodes)
          if (rec.client == address) return true;
        return false;
      },
      [=](direct_atom, const std::string& app) -> caf::result<caf::message> {
        if (!self->state.paused.empty()) return caf::make_message(std::string());  // (held by invoke)
        auto shard = shard_for_app(self, app);
        if (!shard) return to_error(shard.error());
        return self->delegate(*shard, direct_atom::value, app);
      },
      [=](result_atom, std::uint64_t session) -> caf::result<caf::message> {
        if (auto number = node_of_session(session)) {  // a session a node started itself: it keeps its result
          auto& layout = self->state.layout;
          if (auto p = layout.partition_of_node(*number); p && *p != self->state.opts.partition)
            return to_error(elsewhere(self, "session " + std::to_string(session), *p));
          auto n = self->state.nodes.find(*number);
          if (n == self->state.nodes.end())
            return to_error(status::not_found("no session " + std::to_string(session) + " (its node #" +
                                              std::to_string(*number) + " is gone)"));
          return self->delegate(n->second.scheduler, result_atom::value, session);
        }
        auto shard = shard_for_session(self, session);
        if (!shard) return to_error(shard.error());
        if (!*shard) return to_error(status::not_found("no session " + std::to_string(session)));
        return route(self, **shard, result_atom::value, session);
      },
      [=](undeploy_atom, const std::string& app) -> caf::result<caf::message> {
        auto shard = shard_for_app(self, app);
        if (!shard) return to_error(shard.error());
        return route(self, *shard, undeploy_atom::value, app);
      },
      // Data in and out: the app's shard picks the node, and the client is
      // redirected there (the bytes never pass through the coordinator).
      [=](put_atom, std::string& app, std::string& bucket, std::string& key, std::uint64_t size, bool new_session,
          std::uint32_t timeout_ms, std::uint64_t session) -> caf::result<caf::message> {
        if (session != 0) return to_error(status::invalid("a put names a session only when sent to a node"));
        auto shard = shard_for_app(self, app);
        if (!shard) return to_error(shard.error());
        return route(self, *shard, put_atom::value, std::move(app), std::move(bucket), std::move(key), size,
                     new_session, timeout_ms);
      },
      [=](putend_atom, std::uint64_t, bool) -> caf::result<std::uint64_t> {
        return to_error(status::invalid("no put is written through a coordinator"));
      },
      [=](get_atom, std::string& app, std::string& bucket, std::string& key) -> caf::result<caf::message> {
        auto shard = shard_for_app(self, app);
        if (!shard) return to_error(shard.error());
        return route(self, *shard, get_atom::value, std::move(app), std::move(bucket), std::move(key));
      },
      [=](getend_atom, std::uint64_t) {},
      [=](admin_atom, const std::string& command, const std::vector<std::string>& words) {
        admin_scope scope = admin_view(self);
        for (auto& [n, rec] : self->state.nodes) scope.nodes.push_back({n, rec.name, rec.wire, rec.scheduler});
        scope.shards = self->state.shards;
        return coordinator_admin(self, std::move(scope), command, words);
      },
      [=](members_atom, std::vector<std::string>& listed) { on_listed(self, std::move(listed)); },
      [=](partitions_atom, std::vector<std::string>& holders, std::vector<std::int32_t>& nodes) {
        on_partitions(self, std::move(holders), std::move(nodes));
      },
      [=](coordinators_atom, caf::actor& gateway) {
        auto& st = self->state;
        st.gateway = std::move(gateway);
        self->send(st.gateway, coordinators_atom::value, other_addresses(self));
        if (!st.holders.empty()) self->send(st.gateway, partitions_atom::value, st.holders, st.layout.shards, st.opts.partition);
      },
      [=](pause_atom, bool paused, const std::string& why) {
        auto& st = self->state;
        st.paused = paused ? why : std::string();
        log_line(paused ? "paused (" + why + "): its nodes look for a coordinator that holds the shards"
                        : "holds the shards again: no longer paused");
        for (auto& [n, rec] : st.nodes) self->send(rec.agent, pause_atom::value, paused, why);
        for (auto& sh : st.shards) self->send(sh, pause_atom::value, paused, why);
        if (!paused) release_held(self, clock::now());
      },
      [=](apps_atom) {
        return gather<std::vector<std::string>>(self, caf::make_message(apps_atom::value), {},
                                                [](auto& acc, auto& part) { acc.insert(acc.end(), part.begin(), part.end()); });
      },
      [=](status_atom) -> caf::result<std::string> {
        nlohmann::json init{{"coordinator", describe_coordinator(admin_view(self))},
                            {"nodes", nlohmann::json::parse(nodes_json(self))}};
        return gather<std::string>(self, caf::make_message(status_atom::value), init.dump(),
                                          [](std::string& acc, std::string& part) {
                                            auto j = nlohmann::json::parse(acc);
                                            j["shards"].push_back(nlohmann::json::parse(part));
                                            acc = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                                          });
      },
  };
}

}  // namespace

namespace {

// The apps kept in etcd, deployed again on their shards (before any node or
// client can reach them); then the keeper that writes every later change.
result<caf::actor> restore_from_etcd(node_loop& loop, const coordinator_options& opts,
                                     const std::vector<caf::actor>& shards) {
  auto db = durable::etcd::open(opts.etcd);
  if (!db) return db.error();
  const auto where = core::partition_prefix(opts.etcd_prefix, opts.partition, opts.partitions);
  db->within(where);
  if (!opts.claim.empty()) db->fence_on(shard_claim::key, opts.claim);
  // The nodes listed by the previous holder rejoin this one, and are listed again.
  if (status s = db->erase_prefix(durable::nodes_prefix); !s.ok()) {
    if (db->fenced() && opts.fenced) opts.fenced("a write to etcd was refused: " + s.message());  // (it starts over)
    return s;
  }
  auto versions = durable::load_versions(*db);
  if (!versions) return versions.error();
  std::vector<std::string> skipped;
  auto apps = durable::load_apps(*db, skipped);
  if (!apps) return apps.error();
  // (Everything kept under a partition's prefix is that partition's: the
  // layout is the cluster's for good, shard_claim.hpp.)
  const core::partition_layout layout{std::max<std::uint32_t>(opts.partitions, 1), static_cast<std::uint32_t>(shards.size())};
  auto local = [&](std::uint32_t global) { return layout.local_shard(global, opts.partition); };
  auto shard = [&](const std::string& app) { return shards[layout.shard_of_app(app) % layout.shards]; };
  auto reserved = durable::load_reserved(*db);
  if (!reserved) return reserved.error();
  auto sessions = durable::load_sessions(*db, skipped);
  if (!sessions) return sessions.error();
  auto results = durable::load_results(*db, skipped);
  if (!results) return results.error();
  for (auto& why : skipped) log_line("a kept record is skipped: " + why);
  for (auto& [app, v] : *versions) caf::anon_send(shard(app), restore_atom::value, app, v);
  for (auto& [index, upto] : *reserved)
    if (auto i = local(index)) caf::anon_send(shards[*i], restore_atom::value, upto);
  for (auto& a : *apps) caf::anon_send(shard(a.app), restore_atom::value, a.manifest, a.names, a.bytes, a.version);
  std::size_t restored = 0;
  for (auto& s : *sessions) {
    auto index = shard_of_session(s.id);
    if (!index || !local(*index)) {
      log_line("kept session " + std::to_string(s.id) + " belongs to a shard this coordinator does not have: dropped");
      continue;
    }
    caf::anon_send(shards[*local(*index)], restore_atom::value, s.id, s.app, s.args, s.timeout_ms, s.request);
    ++restored;
  }
  for (auto& r : *results)
    if (auto index = shard_of_session(r.id); index && local(*index))
      caf::anon_send(shards[*local(*index)], restore_atom::value, r.id, r.ok, r.output, r.output_size, r.code, r.message,
                     r.request);
  log_line(std::to_string(apps->size()) + " app(s), " + std::to_string(restored) + " session(s) and " +
           std::to_string(results->size()) + " result(s) kept in etcd at " + opts.etcd +
           (where.empty() ? "" : " under " + where));
  return spawn_keeper(loop.system(), std::move(*db), opts.fenced);
}

}  // namespace

result<coordinator_handles> spawn_coordinator(node_loop& loop, const std::string& host,
                                              const coordinator_options& opts) {
  std::vector<caf::actor> shards;
  const std::uint32_t count = std::max<std::uint32_t>(opts.shards, 1);
  for (std::uint32_t i = 0; i < count; ++i) shards.push_back(spawn_shard(loop, opts.partition * count + i, opts));
  caf::actor keeper;
  if (!opts.etcd.empty()) {
    auto kept = restore_from_etcd(loop, opts, shards);
    if (!kept) {
      for (auto& s : shards) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
      return kept.error();
    }
    keeper = *kept;
    for (auto& s : shards) caf::anon_send(s, restore_atom::value, keeper);
  }
  auto front = spawn_on(loop, front_actor, opts, shards);
  if (keeper) {
    caf::anon_send(front, restore_atom::value, keeper);  // first in its mailbox: before any node joins
    caf::anon_send(keeper, front);                        // told how the writes fare
    caf::anon_send(keeper, writers_atom::value, shards);  // it ends once they and the front are gone
  }
  auto wire = spawn_peers(loop, host, front, nullptr, opts.members,  // what nodes send on it goes to the front
                         schema::coordinator_number);
  if (!wire) {
    caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
    return wire.error();
  }
  caf::anon_send(front, peers_atom::value, wire->first);  // it tells the shards
  return coordinator_handles{front, wire->second, keeper};
}

}  // namespace trail::actors
