// trail's commands as a table: one entry per command (its name, synopsis,
// one-line and detailed help, what its arguments complete to, its handler).
// The shell, one-shot commands and scripts all run commands through it, and
// `help` is rendered from it. No I/O here beyond building help text.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace trail::cli {

class session;

// What a command's arguments complete to in the shell.
enum class completes { nothing, apps, nodes, sessions, files };

// One command line, split into words: the words after the command's name.
// The table takes `--json` and `--help` out before the handler runs.
struct call {
  std::vector<std::string> args;
  bool json = false;  // --json given: machine-readable stdout
};

// Runs a command; returns its exit code (0 = ok). Results go to stdout,
// diagnostics to stderr.
using handler = std::function<int(session&, const call&)>;

struct command {
  std::string name;      // the first word of the line
  std::string synopsis;  // e.g. "sessions [--app A] [--state S] [--limit N]"
  std::string summary;   // one line, for `help`
  std::string details;   // several lines, for `help NAME` and `NAME --help`
  std::string group;     // heading in `help`: "app", "admin", "scenario" (shown as "GROUP commands:")
  completes args = completes::nothing;
  handler run;
};

class command_table {
 public:
  // REQUIRES: no command named c.name yet.
  void add(command c);
  // nullptr if there is no such command.
  const command* find(std::string_view name) const;
  // The command whose name is nearest to `word` by edit distance, if near
  // enough to be a plausible typo; "" otherwise.
  std::string nearest(std::string_view word) const;
  // Every command, grouped in the order groups were first added, in the order added within a group.
  std::vector<const command*> all() const;
  // Command names starting with `prefix`, sorted.
  std::vector<std::string> names_starting(std::string_view prefix) const;

  // `help`: every command with one line each, grouped.
  std::string list_help() const;
  // `help NAME`: the synopsis, summary and details of one command.
  static std::string detail_help(const command& c);

 private:
  std::map<std::string, command, std::less<>> commands_;
  std::vector<std::string> order_;   // command names in the order added
  std::vector<std::string> groups_;  // in the order they first appeared
};

// Levenshtein distance between two words.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Splits a line into words like a shell would: whitespace separates, "double"
// or 'single' quotes group (a backslash escapes the next character inside
// double quotes and outside quotes), and a word starting with '#' begins a
// comment to the end of the line. Returns false (with `error` set) for an
// unterminated quote.
bool split_line(std::string_view line, std::vector<std::string>& words, std::string& error);

// Defined by cmd/trail/scenario.cpp: registers the scenario words
// (/work/coord/hook-A-C.md describes the contract).
void add_scenario_commands(command_table& table);

}  // namespace trail::cli
