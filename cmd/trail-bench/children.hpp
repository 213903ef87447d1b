// trail-bench's child processes: its own subcommands (each benchmark in a
// process of its own, so that none inherits another's threads or memory) and
// tools such as gnuplot.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <trail/status.hpp>

namespace trail::bench {

struct child_run {
  std::string output;  // stdout and stderr, interleaved
  std::string how;     // "exited with status 0", "killed by signal 9 (Killed)", ...
  bool ok() const { return how == "exited with status 0"; }
};

// `name` found on PATH (a name with a '/' is taken as it is), or not_found.
result<std::string> find_program(const std::string& name);

// Runs `program` with `args` to its end and collects what it printed.
result<child_run> run_child(const std::string& program, const std::vector<std::string>& args);

// Runs this binary with `args` and returns its JSON result lines (echoed to
// stdout with `echo`). An error when it printed none, or did not exit with 0.
result<std::vector<nlohmann::json>> run_self(const std::vector<std::string>& args, bool echo);

}  // namespace trail::bench
