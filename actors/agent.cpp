#include "actors/agent.hpp"

#include <algorithm>
#include <charconv>

#include <caf/io/all.hpp>

#include "actors/cluster_types.hpp"
#include "actors/control_gate.hpp"
#include "actors/core/address_list.hpp"
#include "actors/front_handlers.hpp"
#include "actors/net/control.hpp"
#include "actors/types.hpp"

namespace trail::actors {
namespace {

using connect_retry_atom = caf::atom_constant<caf::atom("tconnect")>;
using probe_atom = caf::atom_constant<caf::atom("tprobe")>;  // look for a coordinator that holds the shards
using moving_atom = caf::atom_constant<caf::atom("tmoving")>;  // does the coordinator it is handed over to answer?

struct agent_state {
  agent_options opts;
  caf::actor scheduler, registry;
  caf::actor gateway;  // the node's client wire (told the coordinator's invoke token)
  caf::actor front;
  std::unique_ptr<net::tls_relay> control_relay;  // (TLS) carries the control connection's bytes
  std::string coordinator_wire;  // where the coordinator's node wire listens
  std::string seen_as;           // this node's host on its connection to the coordinator
  std::uint64_t number = 0;
  std::chrono::milliseconds backoff{100};
  std::size_t at = 0;                    // the coordinator of opts.coordinators tried (or joined)
  std::chrono::steady_clock::time_point heard;  // its last answer to a heartbeat
  bool restarting = false;
  std::string paused;    // why the coordinator joined says it may no longer hold the shards
  std::string detached;  // why it lost the coordinator joined (it died, or went silent)
  bool probing = false;  // a look at the coordinators is on its way
  bool moving = false;   // a look at the coordinator it is handed over to is on its way
  bool rejoining = false;  // another coordinator answers: starting over once the direct invokes end
  static inline const char* name = "trail.agent";
};

using self_ptr = caf::stateful_actor<agent_state>*;

void log_line(const std::string& what) { actors::log_line("trail-node: " + what); }

void restart(self_ptr self, const std::string& why) {
  if (self->state.restarting) return;
  self->state.restarting = true;
  log_line(why + "; dropping every session and rejoining as a new incarnation");
  if (self->state.opts.restart) self->state.opts.restart(why);
}

const std::string& coordinator(self_ptr self) {
  auto& st = self->state;
  return st.opts.coordinators[st.at % st.opts.coordinators.size()];
}

status use_the_coordinator(self_ptr self) {
  return status::invalid("node " + self->state.opts.name + " is part of a cluster: connect to its coordinator at " +
                         coordinator(self));
}

// Tries the next coordinator of the list: at once while this round of the
// list is not over (a node that started over after one was lost tries the
// lost one first), else after a backoff.
void retry_later(self_ptr self, const std::string& why) {
  auto& st = self->state;
  std::string tried = "coordinator " + coordinator(self) + " not reachable (" + why + "); ";
  if (++st.at % st.opts.coordinators.size() != 0) {
    log_line(tried + "trying " + coordinator(self));
    return self->send(self, connect_retry_atom::value);
  }
  log_line(tried + "retrying in " + std::to_string(st.backoff.count()) + " ms");
  self->delayed_send(self, st.backoff, connect_retry_atom::value);
  st.backoff = std::min<std::chrono::milliseconds>(st.backoff * 2, std::chrono::seconds(2));
}

// The first of `candidates` that answers as a coordinator holding shards
// (standbys do not), or "" — looked for from a thread of its own (each look
// may wait up to a second), and handed to `tell` there.
template <class Tell>
void look_for(self_ptr self, std::vector<std::string> candidates, Tell tell) {
  auto& st = self->state;
  self->system().spawn([candidates = std::move(candidates), secret = st.opts.secret, tls = st.opts.tls,
                        agent = caf::actor_cast<caf::actor>(self), tell](caf::blocking_actor* prober) {
    std::string found;
    for (auto& address : candidates) {
      auto c = net::control_address(address, std::chrono::milliseconds(1000), protocol_version,
                                    secret ? &*secret : nullptr, tls);
      if (c) {
        found = address;
        break;
      }
    }
    tell(prober, agent, std::move(found));
  });
}

// Looks for a coordinator that answers (standbys answer every request
// "standing by": one that answers holds the shards) from a thread of its
// own (each look may wait up to a second), and is told which (probe_atom,
// address; empty: none): while the coordinator joined is paused, among the
// others of the list; while detached from it, among all of them (it may be
// back at its address).
void probe(self_ptr self) {
  auto& st = self->state;
  if (st.probing || st.restarting || st.rejoining || (st.paused.empty() && st.detached.empty())) return;
  std::vector<std::string> candidates;
  for (std::size_t i = 0; i < st.opts.coordinators.size(); ++i)
    if (!st.detached.empty() || i != st.at % st.opts.coordinators.size()) candidates.push_back(st.opts.coordinators[i]);
  if (candidates.empty()) return;  // none to go to: it stays, and carries on once the coordinator does
  st.probing = true;
  look_for(self, std::move(candidates), [](caf::blocking_actor* prober, const caf::actor& agent, std::string found) {
    prober->send(agent, probe_atom::value, std::move(found));
  });
}

// The coordinator joined is gone (its connection dropped) or silent. What
// this node was doing for it is no longer its own — a coordinator that
// takes over starts those sessions again — but what it does for clients
// directly (the synchronous invokes they send here) needs no coordinator:
// it goes on serving those, and starts over only once a coordinator
// answers (then it joins that one as a new incarnation). A detached node
// forwards nothing (the scheduler is told).
void detach(self_ptr self, const std::string& why) {
  auto& st = self->state;
  if (st.restarting || !st.detached.empty()) return;
  st.detached = why;
  log_line(why + "; serving the invokes clients send here until a coordinator answers");
  self->send(st.scheduler, detached_atom::value);
  probe(self);
}

// Another coordinator answers (this node's is lost, or paused). It takes no
// more direct invokes (their clients go through a coordinator), lets those
// running end — their clients get their outputs, and nothing runs twice —
// and then starts over to join it (after `rejoin_patience` at the latest).
void rejoin(self_ptr self, const std::string& why) {
  auto& st = self->state;
  st.rejoining = true;
  self->request(st.scheduler, st.opts.rejoin_patience, rejoin_atom::value)
      .then(
          [=](std::uint32_t waited) {
            restart(self, waited == 0 ? why
                                      : why + " (and the " + std::to_string(waited) +
                                            " invokes clients sent here ended)");
          },
          [=](caf::error&) {
            restart(self, why + " (invokes clients sent here still run after " +
                              std::to_string(self->state.opts.rejoin_patience.count()) + " ms)");
          });
}

void join(self_ptr self) {
  auto& st = self->state;
  auto& o = st.opts;
  self->request(st.front, std::chrono::seconds(5), join_atom::value, protocol_version, o.name, o.incarnation,
                core::reachable_at(o.listen, st.seen_as), core::reachable_at(o.data, st.seen_as),
                core::reachable_at(o.client, st.seen_as),
                o.executors, caf::actor_cast<caf::actor>(self), st.scheduler, st.registry)
      .then(
          [=](std::uint64_t number) {
            auto& st = self->state;
            st.number = number;
            self->monitor(st.front);
            self->send(st.scheduler, cluster_atom::value, st.front, number, st.opts.incarnation, st.coordinator_wire);
            std::printf("trail-node: joined %s as %s\n", coordinator(self).c_str(), st.opts.name.c_str());
            st.heard = std::chrono::steady_clock::now();
            std::fflush(stdout);
            self->send(self, beat_atom::value);
          },
          [=](caf::error& e) {
            auto s = to_status(e, self->system());
            if (s.code() == errc::invalid_argument) {
              log_line("the coordinator refused this node: " + s.message());
              if (s.message().find("fenced") != std::string::npos) restart(self, "fenced");
              return;
            }
            retry_later(self, s.message());
          });
}

void connect(self_ptr self) {
  auto& st = self->state;
  // (A short blocking exchange: this actor has nothing else to do until joined.)
  auto control = net::control_address(coordinator(self),
                                      std::chrono::milliseconds(1000), protocol_version,
                                      st.opts.secret ? &*st.opts.secret : nullptr, st.opts.tls);
  if (!control) return retry_later(self, control.error().message());
  auto& caf_address = control->caf;
  auto colon = caf_address.rfind(':');
  std::uint16_t port = 0;
  if (std::from_chars(caf_address.data() + colon + 1, caf_address.data() + caf_address.size(), port).ec != std::errc{})
    return retry_later(self, "malformed control address '" + caf_address + "'");
  st.coordinator_wire = control->wire;
  st.seen_as = control->seen_as;
  auto replied = [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
    if (!ptr) return retry_later(self, "no actor published there");
    self->state.front = caf::actor_cast<caf::actor>(ptr);
    self->state.backoff = std::chrono::milliseconds(100);
    join(self);
  };
  auto failed = [=](caf::error& e) { retry_later(self, self->system().render(e)); };
  if (st.opts.secret || st.opts.tls) {  // the control port is a gate: TLS, the secret, then CAF takes the socket
    std::optional<net::key> secret;
    if (st.opts.secret) secret = st.opts.secret->k;
    auto dialed = dial_control(self->system(), caf_address, secret, st.opts.tls, std::chrono::seconds(5));
    if (!dialed) return retry_later(self, "control port " + caf_address + ": " + dialed.error().message());
    st.control_relay = std::move(dialed->relay);
    self->request(basp_broker(self->system()), std::chrono::seconds(5), caf::connect_atom::value,
                  std::move(dialed->scribe), port)
        .then(replied, failed);
    return;
  }
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, std::chrono::seconds(5), caf::connect_atom::value, caf_address.substr(0, colon), port)
      .then(replied, failed);
}

caf::behavior agent_actor(self_ptr self, agent_options opts, caf::actor scheduler, caf::actor registry) {
  self->state.opts = std::move(opts);
  self->state.scheduler = std::move(scheduler);
  self->state.registry = std::move(registry);
  reject_unexpected(self, "trail-node: agent");
  self->set_down_handler([=](caf::down_msg& m) {
    if (m.source == self->state.front.address()) detach(self, "lost the connection to the coordinator");
  });
  caf::message_handler own{
      [=](cluster_atom, const std::string& listen, const std::string& address, const caf::actor& gateway) {
        // (both ports open: join)
        self->state.gateway = gateway;
        self->state.opts.listen = listen;
        self->state.opts.client = address;
        if (self->state.opts.name.empty()) self->state.opts.name = address;
        connect(self);
      },
      [=](connect_retry_atom) { connect(self); },
      [=](beat_atom) {
        auto& st = self->state;
        if (st.restarting || !st.detached.empty()) return;
        if (std::chrono::steady_clock::now() - st.heard > st.opts.coordinator_timeout)
          return detach(self, "the coordinator at " + coordinator(self) + " answered no heartbeat for " +
                                  std::to_string(st.opts.coordinator_timeout.count()) + " ms");
        self->delayed_send(self, st.opts.heartbeat, beat_atom::value);
        self->request(st.scheduler, st.opts.heartbeat, load_atom::value)
            .then([=](std::uint32_t free, std::uint32_t queued, std::uint64_t used) {
              auto& st = self->state;
              if (st.restarting) return;
              // Answered: the coordinator lives (a stopped one does not answer, and its
              // connection may stay open for a long time).
              self->request(st.front, self->state.opts.coordinator_timeout, beat_atom::value, st.number,
                            st.opts.incarnation, free, queued, used)
                  .then([=](beat_atom) { self->state.heard = std::chrono::steady_clock::now(); },
                        [](caf::error&) {});  // silence counts above
            },
            [](caf::error&) {});  // a busy node beats with the next one
      },
      [=](token_atom, const std::string& sealed) {
        auto& st = self->state;
        if (!st.opts.secret) return;
        auto token = net::unwrap_key(st.opts.secret->k, sealed);
        if (!token) return log_line("the coordinator's invoke token: " + token.error().message());
        self->send(st.gateway, token_atom::value, std::move(token->bytes));
      },
      [=](coordinators_atom, const std::vector<std::string>& listed) {
        // (Appended, never dropped: `at` indexes the list, and one listed
        // once may come back at its address.)
        auto& known = self->state.opts.coordinators;
        std::string learned;
        for (auto& address : listed) {
          if (address.empty() || std::find(known.begin(), known.end(), address) != known.end()) continue;
          known.push_back(address);
          learned += (learned.empty() ? "" : ", ") + address;
        }
        if (learned.empty()) return;
        log_line("learned of coordinator(s) " + learned + " (etcd lists them)");
        if (self->state.opts.learned) self->state.opts.learned(known);
      },
      [=](fenced_atom, const std::string& why) { restart(self, "the coordinator fenced this node (" + why + ")"); },
      [=](move_atom, const std::string& to, const std::string& why) {
        // (Only to one that answers: the holder etcd names may have died
        // since, and its claim not run out yet.)
        auto& st = self->state;
        if (st.restarting || st.rejoining || st.moving || to.empty()) return;
        st.moving = true;
        look_for(self, {to}, [to, why](caf::blocking_actor* prober, const caf::actor& agent, std::string found) {
          prober->send(agent, moving_atom::value, to, why, !found.empty());
        });
      },
      [=](moving_atom, const std::string& to, const std::string& why, bool answers) {
        auto& st = self->state;
        st.moving = false;
        if (st.restarting || st.rejoining) return;
        if (!answers)
          return log_line("the coordinator at " + coordinator(self) + " hands this node over to " + to +
                          ", which does not answer: it stays");
        auto& known = st.opts.coordinators;
        if (std::find(known.begin(), known.end(), to) == known.end()) {
          known.push_back(to);
          if (st.opts.learned) st.opts.learned(known);
        }
        if (st.opts.join_first) st.opts.join_first(to);
        rejoin(self, "the coordinator at " + coordinator(self) + " hands this node over to " + to + " (" + why + ")");
      },
      [=](pause_atom, bool paused, const std::string& why) {
        auto& st = self->state;
        st.paused = paused ? why : std::string();
        if (!paused) return log_line("the coordinator at " + coordinator(self) + " holds the shards again");
        log_line("the coordinator at " + coordinator(self) + " is paused (" + why +
                 "): looking for one that holds the shards");
        probe(self);
      },
      [=](probe_atom, const std::string& found) {
        auto& st = self->state;
        st.probing = false;
        if (st.restarting || st.rejoining || (st.paused.empty() && st.detached.empty())) return;
        if (!found.empty() && !st.detached.empty()) return rejoin(self, st.detached + "; " + found + " answers");
        if (!found.empty())
          return rejoin(self, "the coordinator at " + coordinator(self) + " may no longer hold the shards (" +
                                  st.paused + "); " + found + " answers");
        self->delayed_send(self, std::chrono::milliseconds(500), probe_atom::value);  // none yet: look again
      },
      [=](probe_atom) { probe(self); },
      [=](peer_atom, std::uint64_t number, const std::string& name, const caf::actor&, const std::string& data,
          const std::string& wire, bool) {
        self->send(self->state.scheduler, peer_atom::value, number, name, data, wire);
      },
      [=](down_atom, std::uint64_t number) { self->send(self->state.scheduler, down_atom::value, number); },
      // -- clients (its gateway): only the puts and gets a coordinator sent here --
      [=](hello_atom, std::uint32_t version) { return answer_hello(version, "node"); },
      [=](invoke_atom, const std::string&, const std::vector<std::string>&, std::uint32_t, bool,
          std::uint64_t) -> caf::result<void> {
        return to_error(use_the_coordinator(self));
      },
      [=](result_atom, std::uint64_t) -> caf::result<void> { return to_error(use_the_coordinator(self)); },
      [=](deploy_atom, const std::string&, const std::vector<std::string>&, const std::vector<std::string>&)
          -> caf::result<void> { return to_error(use_the_coordinator(self)); },
      [=](undeploy_atom, const std::string&) -> caf::result<void> { return to_error(use_the_coordinator(self)); },
      [=](status_atom) -> caf::result<void> { return to_error(use_the_coordinator(self)); },
      [=](apps_atom) -> caf::result<void> { return to_error(use_the_coordinator(self)); },
      [=](admin_atom, const std::string&, const std::vector<std::string>&) -> caf::result<void> {
        return to_error(use_the_coordinator(self));
      },
  };
  return own.or_else(forward_data_to(self, self->state.scheduler));  // puts and gets: its scheduler's
}

}  // namespace

caf::actor spawn_agent(caf::actor_system& sys, agent_options opts, caf::actor scheduler, caf::actor registry) {
  return sys.spawn(agent_actor, std::move(opts), std::move(scheduler), std::move(registry));
}

}  // namespace trail::actors
