#include "shm/store.hpp"

#include <cctype>
#include <charconv>

#include <trail/check.hpp>

namespace trail::shm {

result<std::unique_ptr<store>> store::create(const store_options& opts) {
  if (opts.capacity < block_allocator::alignment)
    return status::invalid("store size " + std::to_string(opts.capacity) + " is too small");
  remove_stale_segments();  // leftovers of crashed runs; live owners' are kept
  auto seg = segment::create(opts.tag, opts.capacity);
  if (!seg) return seg.error();
  if (opts.pretouch) (*seg)->pretouch();
  return std::unique_ptr<store>(new store(std::move(*seg)));
}

store::store(std::unique_ptr<segment> seg) : segment_(std::move(seg)), alloc_(segment_->size()) {}

// -- raw blocks -------------------------------------------------------------------

status store::no_space(std::uint64_t size) const {
  if (size > alloc_.capacity())
    return status::invalid("object of " + std::to_string(size) + " bytes exceeds the store's capacity of " +
                           std::to_string(alloc_.capacity()) + " bytes");
  return status::overloaded("store full: cannot reserve " + std::to_string(size) + " bytes (" +
                            std::to_string(alloc_.used()) + " of " + std::to_string(alloc_.capacity()) +
                            " in use, largest free range " + std::to_string(alloc_.largest_free()) + ")");
}

result<block> store::allocate(std::uint64_t size) {
  if (auto b = alloc_.allocate(size)) return *b;
  return no_space(size);
}

void store::free(block b) {
  alloc_.free(b);
  ++free_generation_;
}

// -- sessions ---------------------------------------------------------------------

void store::open_session(session_id s) { sessions_.try_emplace(s); }

void store::release_session(session_id s) {
  auto it = sessions_.find(s);
  if (it == sessions_.end()) return;
  auto names = std::move(it->second);
  sessions_.erase(it);
  for (auto& [name, id] : names) release(id);
}

// -- objects ----------------------------------------------------------------------

std::string store::name_key(std::string_view bucket, std::string_view key) {
  std::string k;
  k.reserve(bucket.size() + 1 + key.size());
  k.append(bucket).push_back('\0');
  k.append(key);
  return k;
}

result<object_id> store::create_object(session_id s, std::string_view bucket, std::string_view key,
                                       std::uint64_t capacity) {
  auto b = allocate(capacity);
  if (!b) return b.error();
  object_id id = next_id_++;
  objects_.emplace(id, object_info{id, s, std::string(bucket), std::string(key), *b, 0,
                                   object_state::created, 1});
  return id;
}

result<sealed> store::seal(object_id id, std::uint64_t size) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return status::not_found("no object " + std::to_string(id));
  object_info& o = it->second;
  if (o.state != object_state::created)
    return status::invalid("object " + o.bucket + "/" + o.key + " is already sealed");
  if (size > o.where.size)
    return status::invalid("size " + std::to_string(size) + " exceeds the object's capacity " +
                           std::to_string(o.where.size));
  std::uint64_t before = o.where.size;
  alloc_.shrink(o.where, size);
  if (o.where.size != before) ++free_generation_;
  o.size = size;
  return publish(o);
}

result<sealed> store::seal_block(session_id s, std::string_view bucket, std::string_view key, block b,
                                 std::uint64_t size) {
  TRAIL_REQUIRE(size <= b.size, "size", size, "block", b.size);
  object_id id = next_id_++;
  auto [it, _] = objects_.emplace(id, object_info{id, s, std::string(bucket), std::string(key), b, size,
                                                  object_state::created, 1});
  return publish(it->second);
}

// Names a created object in its session, consuming the creator's reference.
result<sealed> store::publish(object_info& o) {
  auto sess = sessions_.find(o.session);
  if (sess == sessions_.end()) {
    session_id s = o.session;
    destroy(objects_.find(o.id));
    return status::not_found("session " + std::to_string(s) + " has ended");
  }
  auto [name, inserted] = sess->second.try_emplace(name_key(o.bucket, o.key), o.id);
  if (!inserted) {
    object_id winner = name->second;
    destroy(objects_.find(o.id));
    return sealed{winner, false};
  }
  o.state = object_state::sealed;
  return sealed{o.id, true};
}

result<sealed> store::alias(object_id id, session_id s) {
  auto it = objects_.find(id);
  TRAIL_REQUIRE(it != objects_.end() && it->second.state == object_state::sealed, "alias of unsealed object", id);
  auto sess = sessions_.find(s);
  if (sess == sessions_.end()) return status::not_found("session " + std::to_string(s) + " is not open");
  auto [name, inserted] = sess->second.try_emplace(name_key(it->second.bucket, it->second.key), id);
  if (!inserted) return sealed{name->second, false};
  ++it->second.refs;
  return sealed{id, true};
}

void store::retain(object_id id) {
  auto it = objects_.find(id);
  TRAIL_REQUIRE(it != objects_.end(), "retain of unknown object", id);
  ++it->second.refs;
}

void store::release(object_id id) {
  auto it = objects_.find(id);
  TRAIL_REQUIRE(it != objects_.end() && it->second.refs > 0, "release of unknown object", id);
  if (--it->second.refs == 0) destroy(it);
}

void store::destroy(std::unordered_map<object_id, object_info>::iterator it) {
  free(it->second.where);
  objects_.erase(it);
}

std::optional<object_id> store::find(session_id s, std::string_view bucket, std::string_view key) const {
  auto sess = sessions_.find(s);
  if (sess == sessions_.end()) return std::nullopt;
  auto it = sess->second.find(name_key(bucket, key));
  if (it == sess->second.end()) return std::nullopt;
  return it->second;
}

const object_info* store::info(object_id id) const {
  auto it = objects_.find(id);
  return it == objects_.end() ? nullptr : &it->second;
}

// -- sizes ------------------------------------------------------------------------

result<std::uint64_t> parse_size(std::string_view text) {
  auto bad = [&] {
    return status::invalid("invalid size '" + std::string(text) +
                           "': expected a number with an optional K, M or G suffix, e.g. 512M");
  };
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || p == text.data()) return bad();
  std::string unit(p, text.data() + text.size());
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.ends_with("IB")) unit.resize(unit.size() - 2);
  else if (unit.ends_with("B")) unit.resize(unit.size() - 1);
  int shift = 0;
  if (unit == "K") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (!unit.empty()) return bad();
  if (n == 0 || n > (~0ull >> shift)) return bad();
  return n << shift;
}

}  // namespace trail::shm
