#include "actors/gateway.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>

#include "actors/cluster_types.hpp"
#include "actors/loop_io.hpp"
#include "actors/net/socket.hpp"
#include "actors/types.hpp"
#include "schema/frame_buffer.hpp"

namespace trail::actors {
namespace {

using io_atom = caf::atom_constant<caf::atom("tgwio")>;          // u64 connection, u32 epoll events: its socket is ready
using accept_atom = caf::atom_constant<caf::atom("tgwaccept")>;  // the listener is ready

constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP | EPOLLET;

// A put of this connection whose object the front has reserved: its
// putData frames are copied straight into the window.
struct incoming_put {
  put_window window;
  std::uint64_t received = 0;
};

// A get being sent: one data frame at a time, produced when `out` is empty,
// so that at most one chunk of the object is ever copied out of the store.
struct outgoing_get {
  std::uint64_t request = 0;
  get_window window;
  std::uint64_t sent = 0;
};

struct connection {
  explicit connection(net::socket s, std::size_t max_frame) : sock(std::move(s)), in(max_frame) {}
  net::socket sock;
  schema::frame_buffer in;
  outbox out;                 // replies not yet sent
  bool closing = false;       // close once `out` is sent
  // Authentication (gateway_options::keys): the nonce of the challenge sent,
  // and the role proved; none proved yet while `role` is empty.
  std::string challenge;
  std::optional<net::role> role;
  // Which list of the other coordinators (gateway_state::listed) this
  // client was last told of: it is told again with its next reply.
  std::uint64_t told = 0;
  std::unordered_map<std::uint64_t, incoming_put> puts;  // by the put request's id
  std::deque<outgoing_get> gets;                         // in the order they were asked
  // With TLS: the engine, and replies encoded but not yet encrypted into `out`.
  std::unique_ptr<net::tls_engine> tls;
  std::string plain;
  std::string& replies() { return tls ? plain : out.bytes(); }
  // (TLS) Encrypts the replies waiting, once the handshake is over.
  status seal() {
    if (!tls || !tls->established() || plain.empty()) return {};
    status st = tls->write(std::as_bytes(std::span(plain.data(), plain.size())));
    plain.clear();
    tls->take_output(out.bytes());
    return st;
  }
};

struct gateway_state {
  gateway_options opts;
  // A coordinator serving: the other coordinators etcd lists (the front
  // says), named to each client at the end of its handshake, and again with
  // its next reply whenever they change (`listed` counts the changes), so a
  // client connected before a standby started learns of it too.
  std::vector<std::string> coordinators;
  // With several partitions: each one's holder, shards per partition, and
  // this coordinator's partition (told the same way: `listed` counts them too).
  std::vector<std::string> partitions;
  std::uint32_t partition_shards = 0, partition = 0;
  std::uint64_t listed = 0;
  served<connection> conns;
  static inline const char* name = "trail.gateway";
};

using self_ptr = caf::stateful_actor<gateway_state, loop_actor>*;
using request = schema::client_request;
using reply = schema::client_reply;

void log_line(const std::string& what) { actors::log_line("trail: gateway: " + what); }

// The front drops a put's object (the client went away, or broke the put).
void abort_put(self_ptr self, const put_window& w) {
  self->request(self->state.opts.front, caf::infinite, putend_atom::value, w.put, false)
      .then([](std::uint64_t) {}, [](caf::error&) {});
}

void end_get(self_ptr self, const get_window& w) { self->send(self->state.opts.front, getend_atom::value, w.object); }

void close_connection(self_ptr self, std::uint64_t id) {
  connection* c = self->state.conns.find(id);
  if (!c) return;
  for (auto& [rid, p] : c->puts) abort_put(self, p.window);
  for (auto& g : c->gets) end_get(self, g.window);
  self->state.conns.close(id);  // closes the socket
}

// Puts the next data frame of the oldest get into `c.out`. REQUIRES: gets, and `out` sent.
void next_chunk(self_ptr self, connection& c) {
  outgoing_get& g = c.gets.front();
  reply r;
  r.id = g.request;
  r.what = reply::kind::data;
  r.size = g.window.size;
  std::uint64_t n = std::min<std::uint64_t>(schema::max_put_chunk, g.window.size - g.sent);
  r.bytes = {g.window.data + g.sent, n};
  g.sent += n;
  r.last = g.sent == g.window.size;
  schema::encode(r, c.replies());  // (out was sent: it is empty)
  if (!r.last) return;
  end_get(self, g.window);
  c.gets.pop_front();
}

// Sends what it can of the connection's replies (and of the gets it
// streams); arms EPOLLOUT for the rest.
void flush(self_ptr self, std::uint64_t id) {
  connection* c = self->state.conns.find(id);
  if (!c) return;
  for (;;) {
    if (status sealed = c->seal(); !sealed.ok()) return close_connection(self, id);
    switch (c->out.flush(self->state.conns.loop(), c->sock.fd(), read_events)) {
      case outbox::state::waiting: return;
      case outbox::state::broken: return close_connection(self, id);  // the client is gone
      case outbox::state::sent: break;
    }
    if (c->gets.empty()) break;
    next_chunk(self, *c);
  }
  if (c->closing) close_connection(self, id);
}

void send_reply(self_ptr self, std::uint64_t id, const reply& r) {
  auto& st = self->state;
  connection* c = st.conns.find(id);
  if (!c) return;  // the client went away meanwhile
  // (Only to a client that proved its role, when there are keys: an
  // unauthenticated one is told nothing. Changes are rare: one copy each.)
  if (c->told != st.listed && (!st.opts.keys || c->role) && (!st.coordinators.empty() || !st.partitions.empty())) {
    c->told = st.listed;
    reply told = r;
    told.coordinators = st.coordinators;
    told.partitions = st.partitions;
    told.partition_shards = st.partition_shards;
    told.partition = st.partition;
    schema::encode(told, c->replies());
  } else {
    schema::encode(r, c->replies());
  }
  flush(self, id);
}

reply error_reply(std::uint64_t request_id, const status& s) {
  reply r;
  r.id = request_id;
  r.what = reply::kind::error;
  r.error = s.ok() ? status::internal("unknown error") : s;
  return r;
}

// The answer handlers of each request kind: a reply for the connection.
auto on_error(self_ptr self, std::uint64_t conn, std::uint64_t rid) {
  return [=](caf::error& e) { send_reply(self, conn, error_reply(rid, to_status(e, self->system()))); };
}

void send_session(self_ptr self, std::uint64_t conn, std::uint64_t rid, std::uint64_t session,
                  std::string output = {}) {
  reply r;
  r.id = rid;
  r.what = reply::kind::session;
  r.session = session;
  r.output = std::move(output);
  send_reply(self, conn, r);
}

auto on_session(self_ptr self, std::uint64_t conn, std::uint64_t rid) {
  return [=](std::uint64_t session, std::string& output) { send_session(self, conn, rid, session, std::move(output)); };
}

auto on_text(self_ptr self, std::uint64_t conn, std::uint64_t rid) {
  return [=](std::string& text) {
    reply r;
    r.id = rid;
    r.what = reply::kind::text;
    r.text = std::move(text);
    send_reply(self, conn, r);
  };
}

void reject(self_ptr self, std::uint64_t id, const status& why);

// A coordinator's answer to a put or get: the node to go on with.
void send_redirect(self_ptr self, std::uint64_t conn, std::uint64_t rid, const std::string& address,
                   std::uint64_t session) {
  reply r;
  r.id = rid;
  r.what = reply::kind::redirect;
  r.text = address;
  r.session = session;
  send_reply(self, conn, r);
}

// A put: the front reserves the object, and the client hears it may send
// its bytes (the reply carries the new session's id, or 0 in app scope).
void start_put(self_ptr self, std::uint64_t conn, request& q) {
  auto rid = q.id;
  self->request(self->state.opts.front, caf::infinite, put_atom::value, std::move(q.app), std::move(q.bucket),
                std::move(q.key), q.size, q.new_session, q.timeout_ms, q.session)
      .then(
          [=](put_window& w) {
            if (!w.redirect.empty()) return send_redirect(self, conn, rid, w.redirect, w.session);
            connection* c = self->state.conns.find(conn);
            if (!c || c->closing) return abort_put(self, w);
            if (!c->puts.try_emplace(rid, incoming_put{w, 0}).second) {  // the client reused an id
              abort_put(self, w);
              return send_reply(self, conn, error_reply(rid, status::invalid("a put with this id is in progress")));
            }
            send_session(self, conn, rid, w.session);
          },
          on_error(self, conn, rid));
}

// The next bytes of a put, copied into the object's allocation; the last
// frame seals it (and is answered). A frame that does not fit the put breaks
// the stream: the put is dropped and the connection closed.
void put_data(self_ptr self, std::uint64_t conn, request& q) {
  connection& c = *self->state.conns.find(conn);  // (its frame is being read: it is there)
  auto it = c.puts.find(q.put);
  if (it == c.puts.end()) return reject(self, conn, status::invalid("putData for no put in progress (" + std::to_string(q.put) + ")"));
  incoming_put& p = it->second;
  if (q.bytes.size() > p.window.size - p.received || (q.last && p.received + q.bytes.size() != p.window.size))
    return reject(self, conn, status::invalid("a put of " + std::to_string(p.window.size) + " bytes got " +
                                              std::to_string(p.received + q.bytes.size()) + " bytes"));
  if (!q.bytes.empty()) std::memcpy(p.window.data + p.received, q.bytes.data(), q.bytes.size());
  p.received += q.bytes.size();
  if (!q.last) return;
  auto put = p.window.put;
  c.puts.erase(it);
  auto rid = q.id;
  self->request(self->state.opts.front, caf::infinite, putend_atom::value, put, true)
      .then([=](std::uint64_t session) { send_session(self, conn, rid, session); }, on_error(self, conn, rid));
}

constexpr std::size_t max_frame_before_auth = 4096;

// What an invoke-token connection may not do.
bool admin_only(const request& q) {
  using k = request::kind;
  return q.what == k::deploy || q.what == k::undeploy || q.what == k::admin || q.what == k::control ||
         (q.what == k::put && !q.new_session);
}

// Hello and auth on a gateway with keys, and what the proved role may do;
// true when `q` may go on to be handled. A wrong proof closes the
// connection with one log line.
bool authenticated(self_ptr self, std::uint64_t conn, request& q) {
  auto& st = self->state;
  if (!st.opts.keys && q.what != request::kind::auth) return true;  // (the common case: one branch)
  connection& c = *st.conns.find(conn);
  using k = request::kind;
  if (!st.opts.keys || c.role) {
    if (q.what == k::auth) {
      send_reply(self, conn, error_reply(q.id, status::invalid(st.opts.keys ? "already authenticated"
                                                                             : "this server asks for no authentication")));
      return false;
    }
    if (c.role == net::role::invoke && admin_only(q)) {
      send_reply(self, conn, error_reply(q.id, status::invalid("permission denied: an invoke token may not do this")));
      return false;
    }
    return true;
  }
  if (q.what == k::hello) {
    c.challenge = net::fresh_nonce();
    reply r;
    r.id = q.id;
    r.what = reply::kind::challenge;
    r.version = protocol_version;
    r.nonce = c.challenge;
    send_reply(self, conn, r);
    return false;
  }
  auto refuse = [&](const std::string& why) {  // (reject logs it, once)
    reject(self, conn, status::invalid("authentication failed: " + why));
    return false;
  };
  if (q.what != k::auth) return refuse("a request before authentication");
  if (c.challenge.empty()) return refuse("auth before hello");
  auto role = net::role_of(q.role);
  const net::key* key = role ? st.opts.keys->for_role(*role) : nullptr;
  if (!key) return refuse("unknown role '" + q.role.substr(0, 16) + "'");
  if (q.nonce.size() != 32 || !net::same(q.proof, net::client_proof(*key, *role, c.challenge, q.nonce)))
    return refuse("wrong proof for role " + q.role);
  c.role = role;
  c.in.set_limit(st.opts.max_frame);
  reply r;
  r.id = q.id;
  r.what = reply::kind::auth_ok;
  r.proof = net::server_proof(*key, *role, q.nonce, c.challenge);
  send_reply(self, conn, r);
  return false;
}

// An invoke: run by the front; a synchronous one on a cluster node by its
// scheduler, and on a coordinator, if the client follows, by the node the
// front names (the client is sent there).
void invoke(self_ptr self, std::uint64_t conn, request& q) {
  auto& st = self->state;
  auto rid = q.id;
  if (!q.async && st.opts.invoke_here) {
    self->request(st.opts.invoke_here, caf::infinite, invoke_atom::value, std::move(q.app), std::move(q.args),
                  q.timeout_ms, false)
        .then(on_session(self, conn, rid), on_error(self, conn, rid));
    return;
  }
  auto here = [=](std::string& app, std::vector<std::string>& args, std::uint32_t timeout_ms, bool async,
                  std::uint64_t request) {
    self->request(self->state.opts.front, caf::infinite, invoke_atom::value, std::move(app), std::move(args),
                  timeout_ms, async, request)
        .then(on_session(self, conn, rid), on_error(self, conn, rid));
  };
  if (q.async || !q.direct || !st.opts.direct_invokes) return here(q.app, q.args, q.timeout_ms, q.async, q.request);
  self->request(st.opts.front, caf::infinite, direct_atom::value, q.app)
      .then(
          [=, app = std::move(q.app), args = std::move(q.args), timeout_ms = q.timeout_ms,
           request = q.request](const std::string& node) mutable {
            if (!node.empty()) return send_redirect(self, conn, rid, node, 0);
            here(app, args, timeout_ms, false, request);
          },
          on_error(self, conn, rid));
}

void handle(self_ptr self, std::uint64_t conn, request& q) {
  auto& st = self->state;
  auto& front = st.opts.front;
  using k = request::kind;
  auto rid = q.id;
  if (!st.opts.standing_by.empty()) {  // hello: a redirect, to the holder if it knows one
    if (q.what != request::kind::hello)
      return send_reply(self, conn, error_reply(rid, status::unavailable(st.opts.standing_by)));
    reply r;
    r.id = rid;
    r.what = reply::kind::redirect;
    r.text = st.opts.holder;
    r.why = st.opts.standing_by;
    return send_reply(self, conn, r);
  }
  if (!authenticated(self, conn, q)) return;
  // The front is a local actor that always answers (sessions end by their
  // deadlines): no timeout, so no timer on CAF's clock thread per request.
  auto wait = caf::infinite;
  switch (q.what) {
    case k::hello:
      self->request(front, wait, hello_atom::value, q.version)
          .then(
              [=](std::uint32_t version) {
                reply r;
                r.id = rid;
                r.what = reply::kind::hello;
                r.version = version;  // (send_reply names the other coordinators; with keys, auth_ok does)
                send_reply(self, conn, r);
              },
              on_error(self, conn, rid));
      break;
    case k::invoke: invoke(self, conn, q); break;
    case k::result:
      // (Waiting for a session to end is bounded by the client's timeout.)
      self->request(front, std::chrono::milliseconds(q.timeout_ms), result_atom::value, q.session)
          .then(on_session(self, conn, rid), on_error(self, conn, rid));
      break;
    case k::deploy:
      self->request(front, wait, deploy_atom::value, std::move(q.manifest), std::move(q.names), std::move(q.libraries))
          .then(on_text(self, conn, rid), on_error(self, conn, rid));
      break;
    case k::status:
      self->request(front, wait, status_atom::value).then(on_text(self, conn, rid), on_error(self, conn, rid));
      break;
    case k::apps:
      self->request(front, wait, apps_atom::value)
          .then(
              [=](std::vector<std::string>& apps) {
                reply r;
                r.id = rid;
                r.what = reply::kind::apps;
                r.apps = std::move(apps);
                send_reply(self, conn, r);
              },
              on_error(self, conn, rid));
      break;
    case k::undeploy:
      self->request(front, wait, undeploy_atom::value, std::move(q.app))
          .then(on_text(self, conn, rid), on_error(self, conn, rid));
      break;
    case k::admin:
      self->request(front, wait, admin_atom::value, std::move(q.app), std::move(q.args))
          .then(on_text(self, conn, rid), on_error(self, conn, rid));
      break;
    case k::auth: break;  // (authenticated() answered it)
    case k::member:
      if (!st.opts.direct_invokes) {
        send_reply(self, conn, error_reply(rid, status::not_found("not a coordinator: it sends no client to a node")));
        break;
      }
      self->request(front, wait, alive_atom::value, std::move(q.app))
          .then(
              [=](bool live) {
                std::string says = live ? "live" : "gone";
                on_text(self, conn, rid)(says);
              },
              on_error(self, conn, rid));
      break;
    case k::put: start_put(self, conn, q); break;
    case k::put_data: put_data(self, conn, q); break;
    case k::get:
      self->request(front, wait, get_atom::value, std::move(q.app), std::move(q.bucket), std::move(q.key))
          .then(
              [=](get_window& w) {
                if (!w.redirect.empty()) return send_redirect(self, conn, rid, w.redirect, 0);
                connection* c = self->state.conns.find(conn);
                if (!c) return end_get(self, w);  // the client went away meanwhile
                c->gets.push_back({rid, w, 0});
                flush(self, conn);
              },
              on_error(self, conn, rid));
      break;
    case k::control: {
      if (st.opts.control.empty()) {
        send_reply(self, conn, error_reply(rid, status::not_found("not a coordinator: no control port here")));
        break;
      }
      reply r;
      r.id = rid;
      r.what = reply::kind::control;
      r.text = st.opts.control;
      r.wire = st.opts.control_wire;
      send_reply(self, conn, r);
      break;
    }
  }
}

// A stream that cannot go on: one error reply, then the connection closes.
void reject(self_ptr self, std::uint64_t id, const status& why) {
  connection* c = self->state.conns.find(id);
  if (!c) return;
  log_line("closing a connection from " + c->sock.peer_address() + ": " + why.message());
  c->closing = true;
  send_reply(self, id, error_reply(0, why));
}

// (TLS) Takes cipher bytes that arrived: the handshake's, or records whose
// plaintext goes into c.in. False: the connection was closed (not TLS, a
// broken stream).
bool decrypt(self_ptr self, std::uint64_t id, connection& c, std::span<const std::byte> cipher) {
  c.tls->feed(cipher);
  status broken;
  if (!c.tls->established()) {
    auto done = c.tls->handshake();
    if (!done) broken = done.error();
  }
  while (broken.ok() && c.tls->established()) {
    auto room = c.in.space();
    auto n = c.tls->read(room);
    if (!n) broken = n.error();
    else if (*n == 0) break;
    else c.in.commit(*n);
  }
  if (!broken.ok()) {
    log_line("closing a TLS connection from " + c.sock.peer_address() + ": " + broken.message());
    close_connection(self, id);
    return false;
  }
  if (c.tls->has_output()) {  // the handshake's answer
    c.tls->take_output(c.out.bytes());
    flush(self, id);
  }
  return self->state.conns.find(id) != nullptr;
}

// Reads what arrived (edge-triggered: until EAGAIN) and handles each whole frame.
// (`hangup`: the peer closed or failed; read on to the end, whatever the
// reads return on the way.)
void on_readable(self_ptr self, std::uint64_t id, bool hangup = false) {
  auto& st = self->state;
  bool eof = false;
  std::byte cipher[16 << 10];
  for (;;) {
    connection* cp = st.conns.find(id);
    if (!cp || cp->closing) return;
    connection& c = *cp;
    auto room = c.tls ? std::span<std::byte>(cipher) : c.in.space();
    ssize_t n = ::recv(c.sock.fd(), room.data(), room.size(), 0);
    bool drained = false;  // a short read took all there was (no EAGAIN round needed)
    if (n > 0) {
      if (!c.tls) c.in.commit(static_cast<std::size_t>(n));
      else if (!decrypt(self, id, c, room.first(static_cast<std::size_t>(n)))) return;
      drained = static_cast<std::size_t>(n) < room.size() && !hangup;
    } else if (n == 0) {
      eof = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      eof = true;
    }
    for (;;) {
      auto frame = c.in.next();
      if (!frame) return reject(self, id, frame.error());
      if (frame->empty()) break;
      auto q = schema::decode_request(*frame);
      if (!q) return reject(self, id, q.error());
      handle(self, id, *q);
      if (auto* still = st.conns.find(id); !still || still->closing) return;
    }
    if (eof) return close_connection(self, id);  // (in-flight answers are dropped when they come)
    if (n < 0 || drained) return;                 // wait for more
  }
}

void on_acceptable(self_ptr self) {
  auto& st = self->state;
  int err = accept_waiting(st.conns.listener(), [&](int fd) {
    net::socket sock(fd);
    if (st.conns.size() >= st.opts.max_connections) {
      log_line("refused a connection: " + std::to_string(st.conns.size()) + " open already");
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    caf::actor me = caf::actor_cast<caf::actor>(self);
    auto limit = st.opts.keys ? max_frame_before_auth : st.opts.max_frame;
    auto conn = std::make_unique<connection>(std::move(sock), limit);
    if (st.opts.tls) conn->tls = std::make_unique<net::tls_engine>(st.opts.tls);
    auto id = st.conns.add(std::move(conn), read_events,
                           [me](std::uint64_t id, std::uint32_t ev) { caf::anon_send(me, io_atom::value, id, ev); });
    on_readable(self, id);  // it may have spoken already
  });
  if (err != 0) {  // out of fds, say: try again soon (the edge is spent)
    log_line(std::string("accept: ") + std::strerror(err));
    self->delayed_send(self, std::chrono::milliseconds(100), accept_atom::value);
  }
}

void on_io(self_ptr self, std::uint64_t id, std::uint32_t events) {
  connection* c = self->state.conns.find(id);
  if (!c) return;
  if (c->out.writing()) flush(self, id);
  on_readable(self, id, events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
}

caf::behavior gateway_actor(self_ptr self, gateway_options opts, int listener_fd) {
  auto& st = self->state;
  st.opts = std::move(opts);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.conns.listen(self->loop(), listener_fd, [me](std::uint32_t) { caf::anon_send(me, accept_atom::value); });
  self->send(self, accept_atom::value);  // connections that came before the watch
  return {
      [=](accept_atom) { on_acceptable(self); },
      [=](io_atom, std::uint64_t id, std::uint32_t events) { on_io(self, id, events); },
      [=](token_atom, std::string& token) {  // a cluster node's coordinator's invoke token (agent.hpp)
        auto& keys = self->state.opts.keys;
        if (!keys) return;
        if (keys->invoke_token && keys->invoke_token->bytes != token)
          log_line("the coordinator's invoke token replaces this node's --invoke-token-file");
        keys->invoke_token = net::key{std::move(token)};
      },
      [=](standby_atom, std::string& why, std::string& holder) {
        self->state.opts.standing_by = std::move(why);
        self->state.opts.holder = std::move(holder);
        self->state.coordinators.clear();  // (a standby names none: the holder does)
        self->state.partitions.clear();
      },
      [=](serve_atom, caf::actor& front, std::string& control, std::string& control_wire) {
        auto& o = self->state.opts;
        o.front = std::move(front), o.control = std::move(control), o.control_wire = std::move(control_wire);
        o.standing_by.clear();
        o.holder.clear();
        self->send(o.front, coordinators_atom::value, caf::actor_cast<caf::actor>(self));  // tell me who is listed
        return serve_atom::value;
      },
      [=](partitions_atom, std::vector<std::string>& holders, std::uint32_t shards, std::uint32_t mine) {
        auto& st = self->state;
        if (holders == st.partitions && shards == st.partition_shards && mine == st.partition) return;
        st.partitions = std::move(holders);
        st.partition_shards = shards;
        st.partition = mine;
        ++st.listed;
      },
      [=](coordinators_atom, std::vector<std::string>& others) {
        auto& st = self->state;
        if (others == st.coordinators) return;
        st.coordinators = std::move(others);
        ++st.listed;
      },
  };
}

}  // namespace

result<std::pair<caf::actor, std::uint16_t>> spawn_gateway(node_loop& loop, gateway_options opts) {
  auto listener = net::listen_on(opts.host, opts.port);
  if (!listener) return listener.error();  // ("cannot listen on HOST:PORT: why")
  auto local = listener->local_address();
  auto port = static_cast<std::uint16_t>(std::stoi(local.substr(local.rfind(':') + 1)));
  auto gw = spawn_on(loop, gateway_actor, std::move(opts), listener->release());
  return std::pair{gw, port};
}

}  // namespace trail::actors
