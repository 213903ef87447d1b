#include "format.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace trail::cli {
namespace {

bool numeric(const std::string& s) {
  return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-') &&
         s.find_first_not_of("0123456789.-/ %KMGiBusm") == std::string::npos && s != "-";
}

}  // namespace

std::string text_table::render() const {
  std::vector<std::size_t> width;
  std::vector<bool> right;
  for (auto& row : rows_) {
    if (row.size() > width.size()) width.resize(row.size()), right.resize(row.size(), true);
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (std::size_t r = 1; r < rows_.size(); ++r)  // a column is right-aligned if all its cells are numbers
    for (std::size_t i = 0; i < rows_[r].size(); ++i)
      if (!numeric(rows_[r][i]) && rows_[r][i] != "-") right[i] = false;
  if (rows_.size() == 1) std::fill(right.begin(), right.end(), false);
  std::string out;
  for (auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::string pad(width[i] - row[i].size(), ' ');
      line += (i ? "  " : "") + (right[i] ? pad + row[i] : row[i] + pad);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string human_us(std::int64_t us) {
  char buf[32];
  if (us < 1000 && us > -1000) std::snprintf(buf, sizeof buf, "%lld us", static_cast<long long>(us));
  else if (us < 1000000 && us > -1000000) std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(us) / 1e3);
  else std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(us) / 1e6);
  return buf;
}

std::string clock_time(std::uint64_t unix_ms) {
  if (unix_ms == 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

}  // namespace trail::cli
