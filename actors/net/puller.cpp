#include "actors/net/puller.hpp"

#include <cstring>
#include <variant>

#include "actors/net/transfer.hpp"
#include "schema/credit_window.hpp"

#include <trail/check.hpp>

namespace trail::net {
namespace {

status peer_error(const pull_target& t, std::uint16_t code, const std::string& text) {
  return status(static_cast<errc>(code), "peer " + t.address + ": " + text);
}

status protocol_error(const pull_target& t, const std::string& what) {
  return status::invalid("protocol violation by peer " + t.address + ": " + what);
}

}  // namespace

puller::puller(shm::store_access& store, const transfer_options& opts, const stop_signal& stop, counters& count)
    : store_(store), opts_(opts), stop_(stop), count_(count), in_(schema::max_frame_size) {}

io_limits puller::io() const { return {&stop_, opts_.io_timeout}; }

pull_outcome puller::run(stream& s, std::uint64_t transfer, const pull_target& t) {
  in_.reset();  // a new connection, or one that ended its last transfer clean
  schema::pull_request req{transfer, t.session, t.bucket, t.key, t.remote, 0, opts_.credit_chunks};
  if (auto st = write_message(s, io(), req, out_); !st) return {st, false};
  bool refused = false;
  auto layout = header(s, transfer, t, refused);
  if (!layout) {
    if (!refused) cancel(s, transfer, layout.error());
    return {layout.error(), refused && in_.buffered() == 0};
  }
  if (auto st = receive(s, transfer, t, *layout); !st) {
    cancel(s, transfer, st);
    return {st, false};
  }
  counters::add(count_.pulled_bytes, layout->total_size);
  return {{}, in_.buffered() == 0};  // bytes beyond the transfer: the peer is confused
}

// The ObjectHeader: the layout to expect, or the peer's refusal (`refused`:
// no chunks follow).
result<schema::chunk_layout> puller::header(stream& s, std::uint64_t transfer, const pull_target& t,
                                            bool& refused) {
  auto f = in_.read(s, io(), opts_.io_timeout);
  if (!f) return f.error();
  auto m = schema::decode(*f);
  if (!m) return protocol_error(t, m.error().message());
  auto* h = std::get_if<schema::object_header>(&*m);
  if (!h || h->transfer != transfer)
    return protocol_error(t, "expected the object header of transfer " + std::to_string(transfer) + ", got " +
                                 std::string(message_name(*m)));
  refused = h->code != 0;
  if (h->code != 0) return peer_error(t, h->code, h->error);
  if (h->total_size != t.size)
    return status::invalid("peer " + t.address + " holds object " + std::to_string(t.remote) + " as " +
                           std::to_string(h->total_size) + " bytes, not the " + std::to_string(t.size) +
                           " expected");
  return schema::chunk_layout{h->total_size, h->chunk_size};
}

status puller::receive(stream& s, std::uint64_t transfer, const pull_target& t, const schema::chunk_layout& layout) {
  schema::reassembly r(layout);
  std::uint64_t granted = opts_.credit_chunks;  // chunks the peer may send in all
  std::uint64_t next = 0;                       // every chunk before it has arrived
  while (!r.complete()) {
    while (r.arrived(next)) ++next;
    if (auto st = next_chunk(s, transfer, t, r, next); !st) return st;
    if (granted >= layout.count()) continue;  // the window already covers the rest
    if (auto st = grant(s, transfer, t); !st) return st;
    ++granted;
  }
  return {};
}

// Reads one frame, expecting chunk `next`: in order, as this side encodes it.
status puller::next_chunk(stream& s, std::uint64_t transfer, const pull_target& t, schema::reassembly& r,
                          std::uint64_t next) {
  const auto& layout = r.layout();
  auto expect = encode_chunk_frame(transfer, layout.offset(next), layout.size(next), expect_);
  if (!expect) return expect.error();
  std::span<std::byte> direct(t.dest + layout.offset(next), layout.size(next));
  auto got = in_.read_expecting(s, io(), *expect, direct);
  if (!got) return got.error();
  if (*got) return other_frame(**got, transfer, t, r);
  auto verdict = r.on_chunk(layout.offset(next), layout.size(next));
  TRAIL_ASSERT(verdict == schema::chunk_verdict::accepted, to_string(verdict), next);
  return {};
}

// Any frame but the expected chunk: another chunk (copied once), a Cancel,
// or a protocol violation.
status puller::other_frame(std::span<const std::byte> bytes, std::uint64_t transfer, const pull_target& t,
                           schema::reassembly& r) {
  auto m = schema::decode(bytes);
  if (!m) return protocol_error(t, m.error().message());
  if (auto* c = std::get_if<schema::cancel>(&*m); c && c->transfer == transfer)
    return peer_error(t, c->code != 0 ? c->code : static_cast<std::uint16_t>(errc::unavailable),
                      "cancelled the transfer: " + c->reason);
  auto* c = std::get_if<schema::chunk>(&*m);
  if (!c || c->transfer != transfer)
    return protocol_error(t, "unexpected " + std::string(message_name(*m)) + " during transfer " +
                                 std::to_string(transfer));
  auto verdict = r.on_chunk(c->offset, c->data.size());
  if (verdict != schema::chunk_verdict::accepted)
    return protocol_error(t, std::string(to_string(verdict)) + " at offset " + std::to_string(c->offset));
  std::memcpy(t.dest + c->offset, c->data.data(), c->data.size());
  counters::add(count_.copied_chunks);
  return {};
}

// One more chunk may come, unless the session the object is for has ended.
status puller::grant(stream& s, std::uint64_t transfer, const pull_target& t) {
  bool open = store_.with_store([&](shm::store& st) { return st.session_open(t.session); });
  if (!open) return status::not_found("session " + std::to_string(t.session) + " has ended");
  return write_message(s, io(), schema::credit{transfer, 1}, out_);
}

// Best effort, without waiting: the connection is dropped right after.
void puller::cancel(stream& s, std::uint64_t transfer, const status& why) {
  schema::cancel c{transfer, static_cast<std::uint16_t>(why.code()), why.message()};
  (void)write_message(s, {&stop_, std::chrono::milliseconds(0)}, c, out_);
}

}  // namespace trail::net
