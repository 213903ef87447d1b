// Log lines written by a thread of their own, so that a slow or blocked
// output (a full stderr pipe nobody reads) can never stall the caller — the
// node's I/O thread forwards executor output while it holds the store lock.
#pragma once

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace trail::shm {

class async_log {
 public:
  // Writes to `out` (not owned; must outlive the log). At most `capacity`
  // lines wait; more are dropped and counted, and the count is written.
  explicit async_log(std::FILE* out, std::size_t capacity = 10000);
  ~async_log();  // writes what is queued, then stops
  async_log(const async_log&) = delete;
  async_log& operator=(const async_log&) = delete;

  // Never blocks on the output.
  void post(std::string line);

 private:
  void run();

  std::FILE* out_;
  std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  std::size_t dropped_ = 0;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace trail::shm
