// The newest log lines of a process, numbered, for `trail logs NODE`: a
// reader asks for the lines after the last number it saw (`--follow` polls
// that way). Bounded by lines and bytes; the oldest go first. Thread-safe:
// any thread logs, the scheduler actor reads.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace trail::core {

class log_ring {
 public:
  struct line {
    std::uint64_t seq = 0;   // 1, 2, ... in the order logged
    std::int64_t time_ms = 0;  // wall clock, ms since the Unix epoch
    std::string text;
  };

  explicit log_ring(std::size_t max_lines = 2000, std::size_t max_bytes = 1u << 20)
      : max_lines_(max_lines), max_bytes_(max_bytes) {}

  void add(std::int64_t time_ms, std::string text) {
    std::lock_guard lock(mu_);
    bytes_ += text.size();
    lines_.push_back({++last_, time_ms, std::move(text)});
    while (!lines_.empty() && (lines_.size() > max_lines_ || bytes_ > max_bytes_)) {
      bytes_ -= lines_.front().text.size();
      lines_.pop_front();
    }
  }

  // Lines numbered above `seq`, oldest first, at most `limit`.
  std::vector<line> after(std::uint64_t seq, std::size_t limit = 1000) const {
    std::lock_guard lock(mu_);
    std::vector<line> out;
    for (auto& l : lines_)
      if (l.seq > seq && out.size() < limit) out.push_back(l);
    return out;
  }

  std::uint64_t last() const {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  mutable std::mutex mu_;
  std::deque<line> lines_;
  std::size_t max_lines_, max_bytes_, bytes_ = 0;
  std::uint64_t last_ = 0;
};

}  // namespace trail::core
