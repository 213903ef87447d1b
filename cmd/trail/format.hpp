// Human output of the shell: aligned tables, sizes, durations, clock times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trail::cli {

// Columns padded to their widest cell; numeric-looking cells align right.
class text_table {
 public:
  explicit text_table(std::vector<std::string> headings) : rows_{std::move(headings)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::size_t rows() const { return rows_.size() - 1; }
  // Every row, heading first, each ended by '\n'; no trailing spaces.
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string human_bytes(std::uint64_t bytes);  // "512 B", "1.5 KiB", "256 MiB"
std::string human_us(std::int64_t us);         // "830 us", "12.3 ms", "4.20 s"
std::string clock_time(std::uint64_t unix_ms); // local "HH:MM:SS.mmm"

}  // namespace trail::cli
