// trail: the command-line client and interactive admin shell.
//
//   trail [--connect HOST:PORT] COMMAND ...   one command
//   trail [--connect HOST:PORT]               interactive shell (completion, history, `help`)
//   trail --script FILE                       a file of commands; stops at the first failure
//
// stdout carries results only (for `invoke`: the output bytes); everything
// else goes to stderr. Failures exit non-zero with a clear message.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "shell.hpp"

namespace {

bool blank_or_comment(const std::string& line) {
  auto first = line.find_first_not_of(" \t\r");
  return first == std::string::npos || line[first] == '#';
}

// Runs lines from `in` until EOF; with `stop_on_failure`, stops at the first
// failing line and returns its code; otherwise returns 1 if any line failed.
int run_lines(trail::cli::session& s, std::istream& in, bool stop_on_failure) {
  int failures = 0;
  for (std::string line; std::getline(in, line);) {
    if (blank_or_comment(line)) continue;
    if (!stop_on_failure && (line == "quit" || line == "exit")) break;
    int code = s.run_line(line);
    if (code != 0 && stop_on_failure) {
      std::cerr << "trail: stopped at: " << line << "\n";
      return code;
    }
    failures += code != 0;
  }
  return failures ? 1 : 0;
}

trail::cli::command_table make_commands() {
  trail::cli::command_table table;
  trail::cli::add_app_commands(table);
  trail::cli::add_data_commands(table);
  trail::cli::add_admin_commands(table);
  trail::cli::add_top_command(table);
#ifdef TRAIL_WITH_SCENARIOS
  trail::cli::add_scenario_commands(table);
#endif
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  trail::cli::options opts;
  if (const char* env = std::getenv("TRAIL_ADDR")) opts.address = env;
  const trail::cli::command_table table = make_commands();
  std::string script;
  CLI::App app{"trail: deploy and invoke trail apps, and operate nodes and clusters.\n"
               "  trail [--connect HOST:PORT] COMMAND [ARGS...]   one command\n"
               "  trail [--connect HOST:PORT]                     the interactive admin shell\n"
               "  trail --script FILE                             the commands in FILE"};
  app.add_option("--connect", opts.address,
                 "node or coordinator HOST:PORT (or TRAIL_ADDR); several coordinators: HOST:PORT,HOST:PORT,... "
                 "(the first that answers)")
      ->capture_default_str();
  app.add_option("--script", script, "run the commands in FILE, stopping at the first failure");
  std::string secret_file, token_file;
  app.add_option("--secret-file", secret_file, "the cluster's secret, for a node or coordinator that wants proof "
                                               "(or TRAIL_SECRET_FILE)");
  app.add_option("--token-file", token_file, "an invoke-only token instead (or TRAIL_TOKEN_FILE): invoke, result, get, "
                                             "put --session");
  std::string tls_ca;
  app.add_option("--tls-ca", tls_ca, "PEM CA certificate the node's or coordinator's must be signed by: talk TLS "
                                     "(or TRAIL_TLS_CA)");
  app.footer("\n" + table.list_help());
  app.prefix_command();  // everything after the global flags is the command
  CLI11_PARSE(app, argc, argv);
  // (the client library reads them from the environment, for every connection it opens)
  if (!secret_file.empty()) ::setenv("TRAIL_SECRET_FILE", secret_file.c_str(), 1);
  if (!tls_ca.empty()) ::setenv("TRAIL_TLS_CA", tls_ca.c_str(), 1);
  if (!token_file.empty()) {
    ::setenv("TRAIL_TOKEN_FILE", token_file.c_str(), 1);
    if (secret_file.empty()) ::unsetenv("TRAIL_SECRET_FILE");
  }

  trail::cli::session s(opts, table);
  if (!script.empty()) {
    std::ifstream in(script);
    if (!in) {
      std::cerr << "trail: cannot read script '" << script << "'\n";
      return 2;
    }
    return run_lines(s, in, true);
  }
  std::vector<std::string> rest = app.remaining();
  if (!rest.empty()) return s.run(rest);
  if (::isatty(0)) return trail::cli::run_interactive(s);
  return run_lines(s, std::cin, false);  // piped commands: like a script that goes on after failures
}
