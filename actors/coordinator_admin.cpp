#include "actors/coordinator_admin.hpp"

#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "actors/core/admin_args.hpp"
#include "actors/sched/state.hpp"  // merge_traces, merge_session, logs_json
#include "actors/types.hpp"

namespace trail::actors {
namespace {

using nlohmann::json;

constexpr auto node_timeout = std::chrono::seconds(3);

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// One node's answer: its JSON, or why there is none.
struct answer {
  admin_node node;
  json body;
  status error;
};

using answers = std::vector<answer>;

// Asks every node in `scope` and calls `done` once with all answers (in
// the nodes' order; a silent or failing node gives its error).
void ask_all(caf::event_based_actor* self, std::shared_ptr<admin_scope> scope, const std::string& command,
             const std::vector<std::string>& words, std::function<void(answers&)> done) {
  auto acc = std::make_shared<answers>(scope->nodes.size());
  auto left = std::make_shared<std::size_t>(scope->nodes.size());
  if (*left == 0) return done(*acc);
  for (std::size_t i = 0; i < scope->nodes.size(); ++i) {
    (*acc)[i].node = scope->nodes[i];
    auto finish = [=] {
      if (--*left == 0) done(*acc);
    };
    self->request(scope->nodes[i].scheduler, node_timeout, admin_atom::value, command, words)
        .then(
            [=](std::string& text) {
              auto j = json::parse(text, nullptr, false);
              if (j.is_discarded()) (*acc)[i].error = status::internal("malformed answer: " + text.substr(0, 100));
              else (*acc)[i].body = std::move(j);
              finish();
            },
            [=](caf::error& e) {
              (*acc)[i].error = to_status(e, self->system());
              finish();
            });
  }
}

const admin_node* by_name(const admin_scope& s, const std::string& name) {
  for (auto& n : s.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

status unknown_node(const admin_scope& s, const std::string& name) {
  std::string known;
  for (auto& n : s.nodes) known += (known.empty() ? "" : ", ") + n.name;
  return status::not_found("no live node '" + name + "' (live: " + (known.empty() ? "none" : known) + ")");
}

// The node's answer, as the caller's.
caf::result<std::string> ask_one(caf::event_based_actor* self, const caf::actor& node, const std::string& command,
                                 const std::vector<std::string>& words) {
  auto rp = self->make_response_promise<std::string>();
  self->request(node, node_timeout, admin_atom::value, command, words)
      .then([rp](std::string& text) mutable { rp.deliver(std::move(text)); },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

// Sends a node-addressed command (`drain NODE`, `fault NODE ...`, `logs NODE`) to its node.
caf::result<std::string> to_node(caf::event_based_actor* self, const admin_scope& scope, const std::string& command,
                                 const std::vector<std::string>& words) {
  const admin_node* n = by_name(scope, words[0]);
  if (!n) return to_error(unknown_node(scope, words[0]));
  return ask_one(self, n->scheduler, command, words);
}

caf::result<std::string> nodes(caf::event_based_actor* self, std::shared_ptr<admin_scope> scope) {
  auto rp = self->make_response_promise<std::string>();
  ask_all(self, scope, "node", {}, [rp, scope](answers& all) mutable {
    json list = json::array();
    for (auto& a : all) {
      json j = a.error.ok() ? std::move(a.body) : json{{"state", "unreachable"}, {"error", a.error.message()}};
      j["name"] = a.node.name;  // as the cluster knows it
      j["number"] = a.node.number;
      j["wire"] = a.node.wire;
      list.push_back(std::move(j));
    }
    rp.deliver(dump(json{{"nodes", std::move(list)}, {"coordinator", describe_coordinator(*scope)}}));
  });
  return rp;
}

caf::result<std::string> sessions(caf::event_based_actor* self, std::shared_ptr<admin_scope> scope,
                                  const std::vector<std::string>& words) {
  auto a = core::parse_admin_args("sessions", words, {"--app", "--state", "--limit"}, {}, 0);
  if (!a) return to_error(a.error());
  std::size_t limit = 100;
  if (auto l = a->option("--limit"); !l.empty()) {
    auto n = core::parse_number("--limit", l);
    if (!n) return to_error(n.error());
    limit = *n;
  }
  auto rp = self->make_response_promise<std::string>();
  ask_all(self, scope, "sessions", words, [rp, limit](answers& all) mutable {
    std::vector<json> list;
    for (auto& x : all) {
      if (!x.error.ok()) {
        // An invalid filter is invalid everywhere: say so once.
        if (x.error.code() == errc::invalid_argument) {
          rp.deliver(to_error(x.error));
          return;
        }
        continue;
      }
      for (auto& s : x.body["sessions"]) {
        s["node"] = x.node.name;
        list.push_back(std::move(s));
      }
    }
    std::stable_sort(list.begin(), list.end(), [](const json& l, const json& r) {
      return l.value("started_ms", std::int64_t{0}) > r.value("started_ms", std::int64_t{0});
    });
    if (list.size() > limit) list.resize(limit);
    rp.deliver(dump(json{{"sessions", std::move(list)}}));
  });
  return rp;
}

// `session ID`, `trace ID`: every node's part of it, merged.
caf::result<std::string> session_view(caf::event_based_actor* self, std::shared_ptr<admin_scope> scope,
                                      const std::string& command, const std::vector<std::string>& words) {
  auto a = core::parse_admin_args(command, words, {}, {}, 1);
  if (!a) return to_error(a.error());
  if (a->positional.empty()) return to_error(status::invalid(command + ": which session? (" + command + " ID)"));
  auto id = core::parse_number("session id", a->positional[0]);
  if (!id) return to_error(id.error());
  auto rp = self->make_response_promise<std::string>();
  ask_all(self, scope, "part", {a->positional[0]}, [rp, command, id = *id](answers& all) mutable {
    std::vector<json> parts;
    for (auto& x : all) {
      if (!x.error.ok()) continue;  // (not_found: it knows nothing of the session)
      json p = std::move(x.body);
      p["node"] = x.node.name;
      for (auto& at : p["attempts"]) at["node"] = x.node.name;
      parts.push_back(std::move(p));
    }
    auto j = command == "trace" ? sched::merge_traces(id, parts) : sched::merge_session(id, parts);
    if (!j) rp.deliver(to_error(status::not_found("no live node knows session " + std::to_string(id))));
    else rp.deliver(dump(*j));
  });
  return rp;
}

caf::result<std::string> cancel(caf::event_based_actor* self, std::shared_ptr<admin_scope> scope,
                                const std::vector<std::string>& words) {
  auto a = core::parse_admin_args("cancel", words, {}, {}, 1);
  if (!a) return to_error(a.error());
  if (a->positional.empty()) return to_error(status::invalid("cancel: which session? (cancel ID)"));
  auto id = core::parse_number("session id", a->positional[0]);
  if (!id) return to_error(id.error());
  auto rp = self->make_response_promise<std::string>();
  ask_all(self, scope, "cancel", words, [rp, id = *id](answers& all) mutable {
    for (auto& x : all)
      if (x.error.ok()) {
        rp.deliver(dump(json{{"cancelled", id}, {"node", x.node.name}}));
        return;
      }
    rp.deliver(to_error(status::not_found("no session " + std::to_string(id) + " runs on a live node")));
  });
  return rp;
}

caf::result<std::string> drain(caf::event_based_actor* self, const admin_scope& scope,
                               const std::vector<std::string>& words) {
  auto a = core::parse_admin_args("drain", words, {}, {"--off"}, 1);
  if (!a) return to_error(a.error());
  if (a->positional.empty()) return to_error(status::invalid("drain: which node? (drain NODE [--off])"));
  const admin_node* n = by_name(scope, a->positional[0]);
  if (!n) return to_error(unknown_node(scope, a->positional[0]));
  // Placement leaves it out at once; the node refuses what was already on its way.
  for (auto& s : scope.shards) self->send(s, admin_atom::value, std::string("cordon"), n->number, !a->flag("--off"));
  return ask_one(self, n->scheduler, "drain", words);
}

}  // namespace

caf::result<std::string> coordinator_admin(caf::event_based_actor* self, admin_scope scope_in,
                                           const std::string& command, const std::vector<std::string>& words) {
  auto scope = std::make_shared<admin_scope>(std::move(scope_in));
  if (command == "nodes") {
    if (!words.empty()) return to_error(status::invalid("nodes: takes no arguments"));
    return nodes(self, scope);
  }
  if (command == "sessions") return sessions(self, scope, words);
  if (command == "session" || command == "trace") return session_view(self, scope, command, words);
  if (command == "cancel") return cancel(self, scope, words);
  if (command == "drain") return drain(self, *scope, words);
  if (command == "logs") {
    if (words.empty() || words[0].rfind("--", 0) == 0 || words[0] == "coordinator") {
      auto rest = words;
      if (!rest.empty() && rest[0] == "coordinator") rest.erase(rest.begin());
      auto a = core::parse_admin_args("logs", rest, {"--since", "--limit"}, {}, 0);
      if (!a) return to_error(a.error());
      auto since = core::parse_number("--since", a->option("--since", "0"));
      auto limit = core::parse_number("--limit", a->option("--limit", "1000"));
      if (!since) return to_error(since.error());
      if (!limit) return to_error(limit.error());
      return dump(sched::logs_json("coordinator", *since, *limit));
    }
    return to_node(self, *scope, command, words);
  }
  if (command == "fault") {
    if (words.empty()) return to_error(status::invalid("fault: which node? (fault NODE delay|drop|partition|heal|list ...)"));
    if (words[0] == "coordinator") return to_error(status::unavailable("fault: the coordinator has no fault points; arm them on its nodes"));
    return to_node(self, *scope, command, words);
  }
  return to_error(status::invalid("unknown admin command '" + command + "'"));
}

nlohmann::json describe_coordinator(const admin_scope& scope) {
  json j{{"pid", ::getpid()}, {"shards", scope.shard_count}};
  if (scope.claim.empty()) return j;
  j["holds_shards_as"] = scope.claim;
  // (The claim's identity is "<who> lease N"; who is "<address> pid N".)
  auto partition_of = [&](const std::string& who) -> std::optional<std::uint32_t> {
    if (scope.claim.rfind(who + " ", 0) == 0) return scope.partition;
    auto address = who.substr(0, who.find(' '));
    auto it = std::find(scope.holders.begin(), scope.holders.end(), address);
    if (it == scope.holders.end()) return std::nullopt;
    return static_cast<std::uint32_t>(it - scope.holders.begin());
  };
  json all = json::array();
  for (auto& who : scope.coordinators) {
    auto p = partition_of(who);
    json one{{"identity", who}, {"holds_shards", p.has_value()}};
    if (p && scope.partitions > 1) one["partition"] = *p;
    all.push_back(std::move(one));
  }
  j["coordinators"] = std::move(all);
  if (scope.partitions > 1) {
    json each = json::array();
    for (std::uint32_t p = 0; p < scope.partitions; ++p) {
      json one{{"index", p}};
      if (p == scope.partition) one["holder"] = scope.claim.substr(0, scope.claim.find(' '));
      else if (p < scope.holders.size() && !scope.holders[p].empty()) one["holder"] = scope.holders[p];
      if (p < scope.partition_nodes.size() && scope.partition_nodes[p] >= 0) one["nodes"] = scope.partition_nodes[p];
      each.push_back(std::move(one));
    }
    j["partition"] = {{"index", scope.partition}, {"of", scope.partitions}, {"each", std::move(each)}};
  }
  if (!scope.etcd_writes.is_null()) j["etcd_writes"] = scope.etcd_writes;
  if (!scope.etcd_prefix.empty()) j["etcd_prefix"] = scope.etcd_prefix;
  if (!scope.paused.empty()) j["paused"] = scope.paused;
  return j;
}

}  // namespace trail::actors
