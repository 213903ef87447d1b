#include "actors/net/server.hpp"

#include <algorithm>
#include <cstdio>
#include <variant>

#include "actors/net/frame_io.hpp"
#include "actors/net/handshake.hpp"
#include "actors/net/transfer.hpp"
#include "schema/credit_window.hpp"

namespace trail::net {
namespace {

// Requests, credits and cancels are small: a pull request carries two names
// of at most max_name_length, a cancel a reason of at most max_error_text.
constexpr std::size_t max_request_frame = 16u << 10;

// A sealed object retained for one transfer, released on destruction.
// The bytes stay put while the reference is held; they are read without the lock.
class held_object {
 public:
  static result<held_object> acquire(shm::store_access& store, const schema::pull_request& req) {
    return store.with_store([&](shm::store& st) -> result<held_object> {
      auto id = req.object ? req.object : st.find(req.session, req.bucket, req.key);
      const shm::object_info* o = id ? st.info(*id) : nullptr;
      if (!o || o->state != shm::object_state::sealed) return status::not_found("no " + describe(req) + " on this node");
      st.retain(*id);
      return held_object(store, *id, {st.data(*o), o->size});
    });
  }
  held_object(held_object&& o) noexcept
      : store_(std::exchange(o.store_, nullptr)), id_(o.id_), bytes_(o.bytes_) {}
  held_object& operator=(held_object&&) = delete;
  ~held_object() {
    if (store_) store_->with_store([this](shm::store& st) { st.release(id_); });
  }
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  held_object(shm::store_access& store, shm::object_id id, std::span<const std::byte> b)
      : store_(&store), id_(id), bytes_(b) {}
  static std::string describe(const schema::pull_request& r) {
    if (r.object) return "sealed object " + std::to_string(*r.object);
    return "sealed object " + r.bucket + "/" + r.key + " of session " + std::to_string(r.session);
  }

  shm::store_access* store_;
  shm::object_id id_;
  std::span<const std::byte> bytes_;
};

std::uint32_t chunk_size_of(const transfer_options& o) {
  return std::clamp(o.chunk_size, schema::min_chunk_size, schema::max_chunk_size);
}

class connection_server {
 public:
  connection_server(socket s, const serve_context& ctx) : peer_(s.peer_address()), ctx_(ctx) {
    auto shaken = stream::over(std::move(s), io(), ctx_.opts.tls.server);
    if (shaken) s_ = std::move(*shaken);
    else refuse(shaken.error());
  }

  void run() {
    if (!s_.valid()) return;  // refused
    if (ctx_.opts.secret)
      if (status st = accept_handshake(s_, io(), *ctx_.opts.secret); !st.ok()) return refuse(st);
    for (;;) {
      auto f = in_.read(s_, io(), server_idle_timeout);
      status st = f ? on_request(*f) : f.error();
      if (st.ok()) continue;
      if (st.code() == errc::invalid_argument) drop(st);
      return;  // closed, silent, stopped or broken: the connection ends
    }
  }

 private:
  io_limits io() const { return {&ctx_.stop, ctx_.opts.io_timeout}; }

  void drop(const status& why) {
    counters::add(ctx_.count.protocol_errors);
    std::fprintf(stderr, "trail-net: dropping data connection from %s: %s\n", peer_.c_str(),
                 why.to_string().c_str());
  }

  // The one line a connection failing the secret handshake leaves.
  void refuse(const status& why) {
    counters::add(ctx_.count.refused);
    std::fprintf(stderr, "trail-net: refusing data connection from %s: %s\n", peer_.c_str(),
                 why.message().c_str());
  }

  // -- between transfers ---------------------------------------------------------

  status on_request(std::span<const std::byte> bytes) {
    auto m = schema::decode(bytes);
    if (!m) return m.error();
    if (auto* req = std::get_if<schema::pull_request>(&*m)) return serve(*req);
    if (late(*m)) return {};
    return status::invalid("unexpected " + std::string(message_name(*m)) + " between transfers");
  }

  // Credit and Cancel of the transfer just finished may still be on their way.
  bool late(const schema::transfer_message& m) const {
    if (auto* c = std::get_if<schema::credit>(&m)) return c->transfer == previous_;
    if (auto* c = std::get_if<schema::cancel>(&m)) return c->transfer == previous_;
    return false;
  }

  status serve(const schema::pull_request& req) {
    if (req.transfer == previous_) return status::invalid("transfer id " + std::to_string(req.transfer) + " reused");
    previous_ = req.transfer;
    auto obj = held_object::acquire(ctx_.store, req);
    if (!obj) return refuse(req.transfer, obj.error());
    return send_object(req, *obj);
  }

  status refuse(std::uint64_t transfer, const status& why) {
    schema::object_header h{transfer, static_cast<std::uint16_t>(why.code()), why.message(), 0, 0};
    return write_message(s_, io(), h, out_);
  }

  // -- one transfer -----------------------------------------------------------------

  status send_object(const schema::pull_request& req, const held_object& obj) {
    schema::chunk_layout layout{obj.bytes().size(), chunk_size_of(ctx_.opts)};
    schema::object_header h{req.transfer, 0, {}, layout.total_size, layout.chunk_size};
    if (auto st = schema::encode(h, out_); !st) return st;
    std::span<const std::byte> header = out_.bytes();  // rides with the first chunk
    schema::credit_window window(req.credit);
    cancelled_ = false;
    for (std::uint64_t i = 0; i < layout.count(); ++i) {
      if (auto st = take_credit(req.transfer, window, header); !st || cancelled_) return st;
      auto piece = obj.bytes().subspan(layout.offset(i), layout.size(i));
      if (auto st = write_chunk(s_, io(), req.transfer, layout.offset(i), piece, chunk_, header); !st) return st;
      header = {};
      window.on_sent();
    }
    if (!header.empty())  // an empty object: the header alone
      if (auto st = write_frame(header); !st) return st;
    counters::add(ctx_.count.served);
    counters::add(ctx_.count.served_bytes, layout.total_size);
    return {};
  }

  // Takes in whatever the requester sent so far, then waits while no credit is left.
  // A header not yet sent goes out before waiting (a requester may start with no credit).
  status take_credit(std::uint64_t transfer, schema::credit_window& window, std::span<const std::byte>& header) {
    while (!cancelled_ && (in_.buffered() > 0 || s_.readable() || !window.can_send())) {
      if (!window.can_send() && !header.empty()) {
        if (auto st = write_frame(header); !st) return st;
        header = {};
      }
      auto f = in_.read(s_, io(), ctx_.opts.io_timeout);
      if (!f) return f.error();
      if (auto st = on_flow(*f, transfer, window); !st) return st;
    }
    return {};
  }

  status on_flow(std::span<const std::byte> bytes, std::uint64_t transfer, schema::credit_window& window) {
    auto m = schema::decode(bytes);
    if (!m) return m.error();
    if (auto* c = std::get_if<schema::credit>(&*m); c && c->transfer == transfer) {
      window.on_credit(c->chunks);
      return {};
    }
    if (auto* c = std::get_if<schema::cancel>(&*m); c && c->transfer == transfer) {
      cancelled_ = true;
      return {};
    }
    return status::invalid("unexpected " + std::string(message_name(*m)) + " during transfer " +
                           std::to_string(transfer));
  }

  status write_frame(std::span<const std::byte> f) {
    iovec part = io_part(f.data(), f.size());
    return s_.write({&part, 1}, io());
  }

  std::string peer_;  // its address, for the log
  const serve_context& ctx_;
  stream s_;
  frame_reader in_{max_request_frame};
  schema::frame out_;    // headers
  schema::frame chunk_;  // chunk heads and tails; its payload region is never written
  std::uint64_t previous_ = 0;  // the current or last transfer (0: none yet)
  bool cancelled_ = false;      // the requester cancelled the current transfer
};

}  // namespace

void serve_connection(socket s, const serve_context& ctx) { connection_server(std::move(s), ctx).run(); }

}  // namespace trail::net
