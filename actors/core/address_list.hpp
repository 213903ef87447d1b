// "A,B,C" -> {"A", "B", "C"}: the address lists that --coordinator,
// --connect and --etcd take (HOST:PORT[,HOST:PORT...]). Every piece, empty
// ones too: the caller says why one is invalid. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace trail::core {

inline std::vector<std::string> split_list(std::string_view list, char sep = ',') {
  std::vector<std::string> out;
  for (std::size_t at = 0;;) {
    auto end = list.find(sep, at);
    out.emplace_back(list.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (end == std::string_view::npos) return out;
    at = end + 1;
  }
}

}  // namespace trail::core
