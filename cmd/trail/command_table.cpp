#include "command_table.hpp"

#include <algorithm>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace trail::cli {

void command_table::add(command c) {
  if (commands_.count(c.name)) throw std::logic_error("trail: command '" + c.name + "' registered twice");
  if (std::find(groups_.begin(), groups_.end(), c.group) == groups_.end()) groups_.push_back(c.group);
  std::string name = c.name;
  order_.push_back(name);
  commands_.emplace(std::move(name), std::move(c));
}

const command* command_table::find(std::string_view name) const {
  auto it = commands_.find(name);
  return it == commands_.end() ? nullptr : &it->second;
}

std::string command_table::nearest(std::string_view word) const {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (auto& [name, c] : commands_) {
    std::size_t d = edit_distance(word, name);
    if (d < best_distance) best = name, best_distance = d;
  }
  // A typo changes a few letters, not most of the word.
  std::size_t limit = std::max<std::size_t>(2, word.size() / 2);
  return best_distance <= limit ? best : "";
}

std::vector<const command*> command_table::all() const {
  std::vector<const command*> out;
  for (auto& g : groups_)
    for (auto& name : order_)
      if (const command* c = find(name); c->group == g) out.push_back(c);
  return out;
}

std::vector<std::string> command_table::names_starting(std::string_view prefix) const {
  std::vector<std::string> out;
  for (auto& [name, c] : commands_)
    if (std::string_view(name).substr(0, prefix.size()) == prefix) out.push_back(name);
  return out;
}

std::string command_table::list_help() const {
  std::size_t width = 0;
  for (auto& [name, c] : commands_) width = std::max(width, name.size());
  std::ostringstream out;
  std::string group = "\x01";
  for (const command* c : all()) {
    if (c->group != group) {
      group = c->group;
      out << (out.tellp() > 0 ? "\n" : "") << (group.empty() ? "commands" : group + " commands") << ":\n";
    }
    out << "  " << c->name << std::string(width + 2 - c->name.size(), ' ') << c->summary << "\n";
  }
  out << "\n`help COMMAND` or `COMMAND --help` details one; every command takes --json.\n"
         "In the shell, Tab completes commands, apps, nodes and session ids; `quit` or Ctrl-D leaves.\n";
  return out.str();
}

std::string command_table::detail_help(const command& c) {
  std::string out = "usage: " + c.synopsis + " [--json]\n\n" + c.summary + "\n";
  if (!c.details.empty()) out += "\n" + c.details + (c.details.back() == '\n' ? "" : "\n");
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

bool split_line(std::string_view line, std::vector<std::string>& words, std::string& error) {
  words.clear();
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n') {
      ++i;
      continue;
    }
    if (line[i] == '#') break;  // a comment to the end of the line
    std::string word;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n') {
      char ch = line[i++];
      if (ch == '\\' && i < line.size()) {
        word += line[i++];
      } else if (ch == '"' || ch == '\'') {
        std::size_t close = i;
        while (close < line.size() && line[close] != ch) {
          if (ch == '"' && line[close] == '\\' && close + 1 < line.size()) ++close;
          ++close;
        }
        if (close >= line.size()) {
          error = std::string("unterminated ") + (ch == '"' ? "double" : "single") + " quote";
          return false;
        }
        for (std::size_t k = i; k < close; ++k) {
          if (ch == '"' && line[k] == '\\' && k + 1 < close) ++k;
          word += line[k];
        }
        i = close + 1;
      } else {
        word += ch;
      }
    }
    words.push_back(std::move(word));
  }
  return true;
}

}  // namespace trail::cli
