// The words of an admin command (`sessions --app chain --state failed`):
// positional words, `--name value` options and `--flag`s, checked against
// what the command accepts so that a typo is a clear error, not ignored.
#pragma once

#include <charconv>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <trail/status.hpp>

namespace trail::core {

struct admin_args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--app" -> "chain"
  std::set<std::string> flags;                  // "--off"

  std::string option(const std::string& name, std::string fallback = {}) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  bool flag(const std::string& name) const { return flags.contains(name); }
};

// `options` take a value, `flags` do not; anything else starting with "--"
// is invalid_argument naming the command. At most `max_positional` other words.
inline result<admin_args> parse_admin_args(const std::string& command, const std::vector<std::string>& words,
                                           const std::set<std::string>& options, const std::set<std::string>& flags,
                                           std::size_t max_positional) {
  admin_args a;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.rfind("--", 0) == 0) {
      if (flags.contains(w)) {
        a.flags.insert(w);
      } else if (options.contains(w)) {
        if (i + 1 >= words.size()) return status::invalid(command + ": " + w + " needs a value");
        a.options[w] = words[++i];
      } else {
        return status::invalid(command + ": unknown option '" + w + "'");
      }
    } else {
      a.positional.push_back(w);
    }
  }
  if (a.positional.size() > max_positional)
    return status::invalid(command + ": unexpected word '" + a.positional[max_positional] + "'");
  return a;
}

// A session id or a count: digits only.
inline result<std::uint64_t> parse_number(const std::string& what, const std::string& text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return status::invalid("invalid " + what + " '" + text + "': expected a number");
  return v;
}

}  // namespace trail::core
