#include "session.hpp"

#include <algorithm>
#include <iostream>

namespace trail::cli {

int fail(const std::string& what) {
  std::cerr << "trail: " << what << "\n";
  return 1;
}
int fail(const status& s) { return fail(s.to_string()); }

client* session::connect(bool report) {
  if (client_) return &*client_;
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
  const command* c = table_.find(words[0]);
  if (!c) {
    std::string near = table_.nearest(words[0]);
    std::cerr << "trail: unknown command '" << words[0] << "'";
    if (!near.empty()) std::cerr << " \u2014 did you mean '" << near << "'?\n";
    else std::cerr << " (`help` lists commands)\n";
    return 2;
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
