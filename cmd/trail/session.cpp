#include "session.hpp"

#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

namespace trail::cli {
namespace {

// Set while a command given --json runs: its errors are JSON on stdout too.
thread_local bool json_errors = false;

int report(const std::string& code, const std::string& message, int exit_code) {
  std::cerr << "trail: " << (code.empty() ? "" : code + ": ") << message << "\n";
  if (json_errors) {
    nlohmann::json e{{"message", message}};
    if (!code.empty()) e["code"] = code;
    std::cout << nlohmann::json{{"error", e}}.dump() << "\n";
  }
  return exit_code;
}

}  // namespace

int fail(const std::string& what) { return report("", what, 1); }
int fail(const status& s) { return report(std::string(to_string(s.code())), s.message(), 1); }

client* session::connect(bool report) {
  if (client_) {
    // Closed by its server (it restarted, or a coordinator died): the same
    // client connects again, through the coordinators it learned too.
    status s = client_->reconnect();
    if (s.ok()) return &*client_;
    if (report) fail(s);
    return nullptr;
  }
  auto c = client::connect(opts_.address);
  if (!c) {
    if (report) fail(c.error());
    return nullptr;
  }
  client_ = std::move(*c);
  return &*client_;
}

void session::set_address(std::string address) {
  opts_.address = std::move(address);
  client_.reset();
}

int session::run_line(const std::string& line) {
  std::vector<std::string> words;
  std::string error;
  if (!split_line(line, words, error)) return fail("cannot parse: " + error);
  return run(std::move(words));
}

int session::run(std::vector<std::string> words) {
  if (words.empty()) return 0;
  struct json_scope {
    explicit json_scope(bool on) { json_errors = on; }
    ~json_scope() { json_errors = false; }
  } scope(std::find(words.begin() + 1, words.end(), "--json") != words.end());
  const command* c = table_.find(words[0]);
  if (!c) {
    std::string near = table_.nearest(words[0]);
    std::string what = "unknown command '" + words[0] + "'";
    what += near.empty() ? " (`help` lists commands)" : " \u2014 did you mean '" + near + "'?";
    return report("", what, 2);
  }
  call k;
  bool help = false;
  for (auto it = words.begin() + 1; it != words.end(); ++it) {
    if (*it == "--json") k.json = true;
    else if (*it == "--help" || *it == "-h") help = true;
    else k.args.push_back(std::move(*it));
  }
  if (help) {
    std::cout << command_table::detail_help(*c) << std::flush;
    return 0;
  }
  int code = c->run(*this, k);
  std::cout.flush();
  return code;
}

}  // namespace trail::cli
