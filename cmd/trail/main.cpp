// trail: the command-line client and interactive admin shell.
//
//   trail [--connect HOST:PORT] COMMAND ...   one command
//   trail [--connect HOST:PORT]               interactive shell (history, `help`)
//   trail --script FILE                       a file of commands; stops at the first failure
//
// stdout carries results only (for `invoke`: the output bytes); everything
// else goes to stderr. Failures exit non-zero with a clear message.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <editline/readline.h>

#include "commands.hpp"

namespace {

// Runs lines from `in` until EOF; with `stop_on_failure`, stops at the first
// failing line and returns its code.
int run_lines(trail::cli::session& s, std::istream& in, bool stop_on_failure) {
  std::string line;
  int last = 0;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') continue;
    last = s.run_line(line);
    if (last != 0 && stop_on_failure) {
      std::cerr << "trail: stopped at: " << line << "\n";
      return last;
    }
  }
  return last;
}

int run_shell(trail::cli::session& s) {
  if (!::isatty(0)) {  // piped commands: like a script that goes on after failures
    int failures = 0;
    std::string line;
    while (std::getline(std::cin, line)) {
      auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#') continue;
      if (line == "quit" || line == "exit") break;
      failures += s.run_line(line) != 0;
    }
    return failures ? 1 : 0;
  }
  std::cerr << "trail admin shell — `help` lists commands, `quit` leaves\n";
  while (char* raw = ::readline("trail> ")) {
    std::string line(raw);
    std::free(raw);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    ::add_history(line.c_str());
    if (line == "quit" || line == "exit") break;
    s.run_line(line);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  trail::cli::options opts;
  if (const char* env = std::getenv("TRAIL_ADDR")) opts.address = env;
  std::string script;
  CLI::App app{"trail: deploy and invoke trail apps; without a command, an interactive admin shell"};
  app.add_option("--connect", opts.address, "node or coordinator HOST:PORT (or TRAIL_ADDR)")->capture_default_str();
  app.add_option("--script", script, "run the commands in FILE, stopping at the first failure");
  app.prefix_command();  // everything after the global flags is the command
  CLI11_PARSE(app, argc, argv);

  trail::cli::session s(opts);
  if (!script.empty()) {
    std::ifstream in(script);
    if (!in) {
      std::cerr << "trail: cannot read script '" << script << "'\n";
      return 2;
    }
    return run_lines(s, in, true);
  }
  std::vector<std::string> rest = app.remaining();
  if (rest.empty()) return run_shell(s);
  return s.run(rest);
}
