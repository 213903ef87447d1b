#include "shm/async_log.hpp"

#include <utility>

namespace trail::shm {

async_log::async_log(std::FILE* out, std::size_t capacity)
    : out_(out), capacity_(capacity), writer_([this] { run(); }) {}

async_log::~async_log() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  writer_.join();
}

void async_log::post(std::string line) {
  {
    std::lock_guard lock(mu_);
    if (lines_.size() >= capacity_) {
      ++dropped_;
      return;
    }
    lines_.push_back(std::move(line));
  }
  cv_.notify_one();
}

void async_log::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !lines_.empty() || dropped_ > 0; });
    std::deque<std::string> batch;
    batch.swap(lines_);
    std::size_t dropped = std::exchange(dropped_, 0);
    bool stop = stop_;
    lock.unlock();
    for (auto& l : batch) std::fprintf(out_, "%s\n", l.c_str());
    if (dropped) std::fprintf(out_, "[trail] %zu log lines dropped: output too slow\n", dropped);
    std::fflush(out_);
    lock.lock();
    if (stop && lines_.empty()) return;
  }
}

}  // namespace trail::shm
