#include "shm/channel.hpp"

#include <thread>

namespace trail::shm {
namespace {

// Layout of a channel segment: [to_executor ring][to_node ring].
std::size_t half(std::size_t ring_bytes) {
  return (ring::footprint(ring_bytes) + 63) / 64 * 64;
}

template <class Msg>
status push_encoded(ring& r, const Msg& m, std::chrono::milliseconds timeout) {
  thread_local std::string buf;
  schema::encode(m, buf);
  if (buf.size() > r.max_record())
    return status::invalid("message of " + std::to_string(buf.size()) + " bytes exceeds the channel limit of " +
                           std::to_string(r.max_record()));
  if (r.try_push(buf)) return {};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!r.try_push(buf)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return status::unavailable("channel full for " + std::to_string(timeout.count()) + " ms: peer not reading");
    std::this_thread::sleep_for(std::chrono::microseconds(50));  // back-pressure, not an event wait
  }
  return {};
}

}  // namespace

result<std::unique_ptr<channel>> channel::create(std::string_view tag, std::size_t ring_bytes) {
  auto seg = segment::create(tag, 2 * half(ring_bytes));
  if (!seg) return seg.error();
  (*seg)->pretouch();  // a record in a fresh page would pay a page fault on the hot path
  std::unique_ptr<channel> ch(new channel(std::move(*seg)));
  std::byte* base = ch->segment_->base();
  ch->to_executor_ = ring::init(base, ring_bytes);
  ch->to_node_ = ring::init(base + half(ring_bytes), ring_bytes);
  return ch;
}

result<std::unique_ptr<channel>> channel::open(const std::string& name) {
  auto seg = segment::open(name);
  if (!seg) return seg.error();
  (*seg)->pretouch();
  std::unique_ptr<channel> ch(new channel(std::move(*seg)));
  std::byte* base = ch->segment_->base();
  std::size_t size = ch->segment_->size();
  ch->to_executor_ = ring::attach(base, size / 2);
  if (ch->to_executor_.valid())
    ch->to_node_ = ring::attach(base + size / 2, size / 2);
  if (!ch->to_executor_.valid() || !ch->to_node_.valid())
    return status::invalid("segment '" + name + "' is not a trail channel");
  return ch;
}

status try_send_message(ring& r, const schema::to_executor& m, std::size_t reserve) {
  thread_local std::string buf;
  schema::encode(m, buf);
  if (buf.size() > r.max_record())
    return status::invalid("message of " + std::to_string(buf.size()) + " bytes exceeds the channel limit of " +
                           std::to_string(r.max_record()));
  if (r.free_bytes() < ring::space_for(buf.size()) + reserve || !r.try_push(buf))
    return status::unavailable("the executor's ring is full");
  return {};
}

status send_message(ring& r, const schema::to_executor& m, std::chrono::milliseconds timeout) {
  return push_encoded(r, m, timeout);
}

status send_message(ring& r, const schema::to_node& m, std::chrono::milliseconds timeout) {
  return push_encoded(r, m, timeout);
}

}  // namespace trail::shm
