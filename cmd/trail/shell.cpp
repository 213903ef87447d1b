#include "shell.hpp"

#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>

#include <editline/readline.h>
#include <nlohmann/json.hpp>

namespace trail::cli {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

// History as plain lines, at most `cap`: read at start, appended line by line
// (so that a shell killed later still kept them), trimmed at start when too long.
class history_file {
 public:
  history_file(std::filesystem::path p, std::size_t cap) : path_(std::move(p)), cap_(cap) {}

  void load() {
    ::stifle_history(static_cast<int>(cap_));
    if (path_.empty()) return;
    std::deque<std::string> lines;
    std::ifstream in(path_);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      lines.push_back(std::move(line));
      if (lines.size() > cap_) lines.pop_front();
    }
    for (auto& l : lines) ::add_history(l.c_str());
    if (in.eof() && lines.size() == cap_) {  // maybe trimmed: rewrite it with what was kept
      std::ofstream out(path_, std::ios::trunc);
      for (auto& l : lines) out << l << "\n";
    }
  }

  void append(const std::string& line) {
    ::add_history(line.c_str());
    if (path_.empty()) return;
    std::ofstream(path_, std::ios::app) << line << "\n";
  }

 private:
  std::filesystem::path path_;
  std::size_t cap_;
};

// What completes a command's arguments, asked of the server and kept for a
// few seconds so that repeated tabs do not each cost a round trip.
class completer {
 public:
  explicit completer(session& s) : s_(s) {}

  std::vector<std::string> candidates(const std::string& before, const std::string& word) {
    std::vector<std::string> words;
    std::string error;
    split_line(before, words, error);
    if (words.empty() || (words.size() == 1 && words[0] == "help")) return s_.commands().names_starting(word);
    const command* c = s_.commands().find(words[0]);
    if (!c) return {};
    completes kind = c->args;
    if (words.back() == "--app") kind = completes::apps;  // sessions --app A
    if (words.back() == "--state") return starting({"running", "ok", "failed"}, word);
    if (kind == completes::nothing || kind == completes::files) return {};
    return starting(lookup(kind), word);
  }

  static std::vector<std::string> starting(const std::vector<std::string>& values, const std::string& prefix) {
    std::vector<std::string> out;
    for (auto& v : values)
      if (v.compare(0, prefix.size(), prefix) == 0) out.push_back(v);
    return out;
  }

  bool completes_files(const std::string& before) {
    std::vector<std::string> words;
    std::string error;
    split_line(before, words, error);
    const command* c = words.empty() ? nullptr : s_.commands().find(words[0]);
    return c && c->args == completes::files;
  }

 private:
  const std::vector<std::string>& lookup(completes kind) {
    auto& [when, values] = cache_[kind];
    auto now = clock_type::now();
    if (when != clock_type::time_point{} && now - when < std::chrono::seconds(3)) return values;
    values = ask(kind);
    when = now;
    return values;
  }

  std::vector<std::string> ask(completes kind) {
    std::vector<std::string> out;
    client* c = s_.connect(false);
    if (!c) return out;
    c->set_request_timeout(std::chrono::seconds(2));  // a tab must not hang the shell
    if (kind == completes::apps) {
      if (auto r = c->apps())
        for (auto& a : *r) out.push_back(a.substr(0, a.rfind(" v")));  // "NAME vN"
    } else {
      auto r = c->admin(kind == completes::nodes ? "nodes" : "sessions");
      auto j = r ? json::parse(*r, nullptr, false) : json();
      if (kind == completes::nodes && j.is_object()) {
        for (auto& n : j.value("nodes", json::array())) out.push_back(n.value("name", std::string()));
        if (j.contains("coordinator")) out.push_back("coordinator");  // `logs coordinator`
      }
      if (kind == completes::sessions && j.is_object())
        for (auto& x : j.value("sessions", json::array()))
          if (x.contains("id")) out.push_back(x["id"].is_string() ? x["id"].get<std::string>() : x["id"].dump());
    }
    c->set_request_timeout(std::chrono::seconds(10));
    return out;
  }

  session& s_;
  std::map<completes, std::pair<clock_type::time_point, std::vector<std::string>>> cache_;
};

// editline's completion hooks are plain C functions without a user pointer:
// they reach the shell's completer and its current matches through these,
// set only while run_interactive runs (on the one thread that runs it).
completer* active_completer = nullptr;
std::vector<std::string> current_matches;

char* next_match(const char*, int state) {
  static std::size_t at;
  if (state == 0) at = 0;
  return at < current_matches.size() ? ::strdup(current_matches[at++].c_str()) : nullptr;
}

char** complete(const char* text, int start, int) {
  std::string before(rl_line_buffer ? rl_line_buffer : "", static_cast<std::size_t>(std::max(start, 0)));
  if (active_completer->completes_files(before)) return nullptr;  // editline's file name completion
  rl_attempted_completion_over = 1;
  current_matches = active_completer->candidates(before, text);
  if (current_matches.empty()) return nullptr;
  return ::rl_completion_matches(text, next_match);
}

// Set by SIGINT while the shell runs: Ctrl-C at the prompt or during a
// command must not end the shell (live views take Ctrl-C through their own
// interrupt_watch; other commands run to their end or timeout).
volatile std::sig_atomic_t interrupted = 0;
void on_interrupt(int) { interrupted = 1; }

// Installs on_interrupt for the shell's lifetime; restores the old handler.
// At the prompt, Ctrl-C interrupts editline's read (so that readline returns
// and the line typed so far goes); while a command runs, system calls restart.
class interrupt_guard {
 public:
  interrupt_guard() { install(true, &old_); }
  ~interrupt_guard() { ::sigaction(SIGINT, &old_, nullptr); }
  void at_prompt(bool yes) { install(!yes, nullptr); }

 private:
  static void install(bool restart, struct sigaction* old) {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, old);
  }
  struct sigaction old_ {};
};

}  // namespace

std::filesystem::path history_path() {
  if (const char* p = std::getenv("TRAIL_HISTORY"); p && *p) return p;
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".trail_history";
  return {};
}

int run_interactive(session& s) {
  completer comp(s);
  active_completer = &comp;
  rl_readline_name = "trail";
  rl_attempted_completion_function = complete;
  history_file history(history_path(), 1000);
  ::using_history();
  history.load();
  std::cerr << "trail admin shell \u2014 `help` lists commands, Tab completes, `quit` leaves\n";
  interrupt_guard guard;
  for (;;) {
    interrupted = 0;
    guard.at_prompt(true);
    char* raw = ::readline("trail> ");
    guard.at_prompt(false);
    if (!raw) {
      if (!interrupted) break;  // EOF (Ctrl-D)
      std::cerr << "\n";       // Ctrl-C at the prompt: a fresh line
      continue;
    }
    std::string line(raw);
    std::free(raw);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    history.append(line);
    if (line == "quit" || line == "exit") break;
    s.run_line(line);
  }
  active_completer = nullptr;
  return 0;
}

}  // namespace trail::cli
