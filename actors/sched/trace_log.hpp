// What a node remembers of recent sessions for operators: each session homed
// here (app, state, start, end, error) and each attempt run here (function,
// executor, when it was queued, started and ended, the objects it read and
// wrote). `trail sessions`, `session ID` and `trace ID` read it; in a cluster
// the coordinator merges the answers of every node (merge_traces).
//
// Times are wall-clock microseconds since the Unix epoch, so that attempts
// recorded on different nodes of one machine or of NTP-synchronised hosts
// line up on one timeline; the JSON answers give them relative to the
// session's start.
//
// Bounded: the newest `max_sessions` sessions are kept (older ones are
// forgotten whole, live or not), each with at most `max_attempts` attempts
// and `max_objects` inputs and outputs per attempt (beyond: counted, not
// kept). Pure bookkeeping: no CAF, no store; one owner (the scheduler actor).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/core/trigger.hpp"

namespace trail::actors::sched {

using wall_us = std::int64_t;  // microseconds since the Unix epoch
wall_us wall_now();

struct trace_limits {
  std::size_t max_sessions = 4096;
  std::size_t max_attempts = 256;  // per session
  std::size_t max_objects = 32;    // inputs and outputs per attempt
};

// Which sessions `sessions` lists.
struct session_filter {
  std::string app;    // empty: every app
  std::string state;  // running | ok | failed; empty: every state
  std::size_t limit = 100;
};

class trace_log {
 public:
  explicit trace_log(std::string node, trace_limits limits = {});

  // -- the session's home --
  void session_started(std::uint64_t session, const std::string& app, wall_us at);
  void session_ended(std::uint64_t session, bool ok, const std::string& error, wall_us at);

  // -- every node that runs an attempt --
  void attempt_started(std::uint64_t session, std::uint64_t invocation, const std::string& function,
                       std::uint32_t attempt, int executor, const std::vector<core::object_meta>& inputs,
                       wall_us queued, wall_us started);
  // An object the attempt sealed (an output of the session included).
  void attempt_wrote(std::uint64_t invocation, const core::object_meta& o);
  // outcome: "ok", or what went wrong.
  void attempt_ended(std::uint64_t invocation, const std::string& outcome, wall_us at);
  // (home) The attempt went to another node, which records it there.
  void attempt_forwarded(std::uint64_t invocation, const std::string& to);

  // -- answers (JSON, see the admin contract in README "Operating trail") --
  nlohmann::json sessions(const session_filter& f) const;
  // This node's part of a session's trace: its record (if homed here) and
  // the attempts run here, with absolute times. nullopt: nothing known.
  std::optional<nlohmann::json> part(std::uint64_t session) const;

  std::size_t size() const { return sessions_.size(); }
  const std::string& node() const { return node_; }

 private:
  struct object_ref {
    std::string bucket, key;
    std::uint64_t size = 0;
  };
  struct attempt_rec {
    std::uint64_t invocation = 0;
    std::string function, outcome = "running", forwarded_to;
    std::uint32_t attempt = 0;
    int executor = -1;
    wall_us queued = 0, started = 0, ended = 0;
    std::vector<object_ref> inputs, outputs;
    std::uint32_t objects_dropped = 0;
  };
  struct session_rec {
    bool home = false;  // started here: app/state/start are known
    std::string app, state = "running", error;
    wall_us started = 0, ended = 0;
    std::vector<attempt_rec> attempts;
    std::uint32_t attempts_dropped = 0;
  };
  session_rec& record(std::uint64_t session);
  attempt_rec* find_attempt(std::uint64_t invocation);
  void add_object(attempt_rec& a, const core::object_meta& o, bool output);

  std::string node_;
  trace_limits limits_;
  std::unordered_map<std::uint64_t, session_rec> sessions_;
  std::deque<std::uint64_t> order_;  // oldest first
  // Attempts still running here -> their session (an index into sessions_).
  std::unordered_map<std::uint64_t, std::uint64_t> running_;
};

// One session's trace from the parts of every node that knew it: the home's
// record, every attempt in start order, times relative to the session's
// start. not found when no part knows the session.
std::optional<nlohmann::json> merge_traces(std::uint64_t session, const std::vector<nlohmann::json>& parts);
// `session ID`'s answer from the same parts: the record and its attempts
// with their states.
std::optional<nlohmann::json> merge_session(std::uint64_t session, const std::vector<nlohmann::json>& parts);

}  // namespace trail::actors::sched
