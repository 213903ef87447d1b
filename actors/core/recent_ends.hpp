// How lately ended things ended, kept for a while: a node remembers how the
// sessions the coordinator placed on it ended, because the frame saying so
// can be lost with a broken wire and the coordinator then asks again.
//
//   recent_ends<schema::session_ended> ended(4096, 16 << 20, 65536);
//   ended.put(id, frame, frame.output.size());
//   if (auto* e = ended.find(id)) resend(*e);
//   else if (ended.forgot(id)) say_it_is_no_longer_kept();
//
// Bounded three ways: at most `entries` values and `bytes` bytes of them
// (oldest go first), and at most `ids` ids of ended things whose values went
// (so that a question about one is answered "ended, outcome not kept" rather
// than taken for a new thing). Pure; no clocks.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace trail::core {

template <typename T>
class recent_ends {
 public:
  recent_ends(std::size_t entries, std::size_t bytes, std::size_t ids) : max_entries_(entries), max_bytes_(bytes), max_ids_(ids) {}

  // Remembers how `id` ended (`bytes`: what the value weighs). Again for the
  // same id: the first value stays.
  void put(std::uint64_t id, T value, std::size_t bytes) {
    if (values_.contains(id) || forgotten_.contains(id)) return;
    values_.emplace(id, entry{std::move(value), bytes});
    order_.push_back(id);
    bytes_ += bytes;
    while (order_.size() > 1 && (values_.size() > max_entries_ || bytes_ > max_bytes_)) evict();
  }
  // How it ended, if still kept.
  const T* find(std::uint64_t id) const {
    auto it = values_.find(id);
    return it == values_.end() ? nullptr : &it->second.value;
  }
  // It ended here, but how is no longer kept.
  bool forgot(std::uint64_t id) const { return forgotten_.contains(id); }
  // Every kept value, oldest first.
  template <typename F>
  void for_each(F&& f) const {
    for (auto id : order_) f(id, values_.at(id).value);
  }
  std::size_t size() const { return values_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  struct entry {
    T value;
    std::size_t bytes;
  };
  void evict() {
    std::uint64_t id = order_.front();
    order_.pop_front();
    bytes_ -= values_.at(id).bytes;
    values_.erase(id);
    forgotten_.insert(id);
    forgotten_order_.push_back(id);
    if (forgotten_order_.size() > max_ids_) {
      forgotten_.erase(forgotten_order_.front());
      forgotten_order_.pop_front();
    }
  }
  std::size_t max_entries_, max_bytes_, max_ids_;
  std::unordered_map<std::uint64_t, entry> values_;
  std::deque<std::uint64_t> order_;
  std::size_t bytes_ = 0;
  std::unordered_set<std::uint64_t> forgotten_;
  std::deque<std::uint64_t> forgotten_order_;
};

}  // namespace trail::core
