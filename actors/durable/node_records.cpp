#include "actors/durable/node_records.hpp"

#include <string_view>

#include <nlohmann/json.hpp>

namespace trail::durable {

using json = nlohmann::json;

std::string node_key(const std::string& name) { return nodes_prefix + name; }

std::string encode_node(const stored_node& n) {
  json j{{"number", n.number}, {"incarnation", n.incarnation}, {"wire", n.wire},       {"data", n.data},
         {"client", n.client}, {"executors", n.executors},     {"coordinator", n.coordinator}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

result<stored_node> decode_node(const std::string& key, const std::string& text) {
  std::string_view prefix = nodes_prefix;
  if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0)
    return status::invalid("not a node key: " + key);
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return status::invalid("not a node record");
  for (const char* n : {"number", "incarnation", "executors"})
    if (!j[n].is_number_unsigned()) return status::invalid(std::string("a node record without its ") + n);
  for (const char* s : {"wire", "data", "client", "coordinator"})
    if (!j[s].is_string()) return status::invalid(std::string("a node record without its ") + s);
  stored_node n;
  n.name = key.substr(prefix.size());
  n.number = j["number"];
  n.incarnation = j["incarnation"];
  n.executors = j["executors"];
  n.wire = j["wire"], n.data = j["data"], n.client = j["client"], n.coordinator = j["coordinator"];
  return n;
}

}  // namespace trail::durable
