// `check`, Jepsen-style: judges the history the load generator recorded
// against what each load expected and the faults that were injected. Pure
// functions over plain data (no I/O), so the rules can be read in one place:
//
//   1. Every accepted request has exactly one outcome, and no two requests
//      accepted by the same coordinator share a session id (a coordinator
//      that starts again numbers its sessions afresh: reported, not judged).
//   2. A session that ended ok has the expected output (`--expect`); one
//      that failed has a clear error (a code and a message; with
//      `--expect-error TEXT`, a message saying TEXT).
//   3. A session may fail only if a fault was injected or the load expected
//      failures; its outcome may stay unknown (the client could not learn
//      it) only if the coordinator itself was hit.
//   4. Enough requests got their expected outcome (`--min-ok`, default 1).
//   5. No trigger fired twice: in a session's trace, no two attempts ended
//      ok with the same function and the same inputs (duplicate_fires).
//   6. Nothing was left behind by the cluster (scenario_cluster.hpp).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario_load.hpp"

namespace trail::cli::scenario {

// One fault the scenario injected.
struct injected_fault {
  double at_ms = 0;        // since the scenario's origin
  std::string what;        // its words, e.g. "kill n2"
  bool hits_coordinator = false;     // killed, stopped or restarted it: outcomes may be lost
  bool restarts_coordinator = false;  // a new coordinator took over: session ids start again
  std::string failed;      // "" or why it could not be injected
};

// One `load` line: what it expected, and what happened.
struct load_history {
  load_spec spec;
  std::vector<request_record> records;
};

struct check_options {
  double min_ok = 0;  // fraction of requests (0..1) with their expected outcome; at least one anyway
};

struct verdict {
  std::vector<std::string> verified;    // what was checked and held, one line each
  std::vector<std::string> violations;  // what did not hold, one line each
  bool ok() const { return violations.empty(); }
};

// Rules 1-4 over every load's history.
void judge_history(const std::vector<load_history>& loads, const std::vector<injected_fault>& injected,
                   const check_options& opts, verdict& v);

// Rule 5 over one session's `trace` answer (admin command `trace ID`):
// each violation as a line naming the function, its inputs and the attempts.
std::vector<std::string> duplicate_fires(const nlohmann::json& trace);

}  // namespace trail::cli::scenario
