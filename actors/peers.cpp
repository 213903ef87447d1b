#include "actors/peers.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <unordered_map>

#include "actors/cluster_types.hpp"
#include "actors/net/faults.hpp"
#include "actors/net/handshake.hpp"
#include "actors/loop_io.hpp"
#include "actors/net/socket.hpp"
#include "actors/types.hpp"
#include "schema/frame_buffer.hpp"

namespace trail::actors {
namespace {

using io_atom = caf::atom_constant<caf::atom("tpeerio")>;    // u64 link, u32 epoll events: its socket is ready
using accept_atom = caf::atom_constant<caf::atom("tpeeracc")>;
using release_atom = caf::atom_constant<caf::atom("tpeerdly")>;  // u64 peer: delayed frames may be due
using deadline_atom = caf::atom_constant<caf::atom("tpeerdln")>;  // u64 link: its handshake must be over

// How long an accepted connection may take to prove it holds the secret.
constexpr std::chrono::seconds handshake_deadline{5};

constexpr std::uint32_t events = EPOLLIN | EPOLLRDHUP | EPOLLET;

// One connection: dialed (we send on it) or accepted (we read from it).
struct link {
  link(net::socket s, bool dialed) : sock(std::move(s)), outgoing(dialed) {}
  net::socket sock;
  bool outgoing;
  std::uint64_t peer = 0;         // its number: known when dialed, from the hello when accepted
  std::uint64_t incarnation = 0;  // (accepted) from the hello
  bool greeted = false;           // (accepted) the hello came (a coordinator's number is 0)
  bool connecting = false;        // (dialed) the connect is not over yet
  outbox out;                     // frames not sent yet
  schema::frame_buffer in{schema::max_peer_frame};
  // With a cluster secret, until both ends proved they hold it
  // (handshake.hpp); meanwhile `out` carries only the handshake's bytes and
  // a dialed link's frames wait in `held`.
  std::optional<net::member_handshake> shake;
  std::string held;
  // With TLS, under everything else: what is to be sent waits in `plain`
  // and is sealed into `out` on flush, once the TLS handshake is over.
  std::unique_ptr<net::tls_engine> tls;
  std::string plain;
  std::string& wire_out() { return tls ? plain : out.bytes(); }
  std::string& frames_out() { return shake ? held : wire_out(); }
  bool proven() const { return !shake && (!tls || tls->established()); }
};

struct peers_state {
  node_loop* loop = nullptr;
  net::socket listener;
  caf::actor scheduler;
  std::uint64_t me = 0, incarnation = 0;
  bool numbered = false;  // `me` is known: frames may go (their links' hellos name it)
  std::map<std::uint64_t, std::string> addresses;     // live peers' wire addresses
  std::unordered_map<std::uint64_t, std::unique_ptr<link>> links;
  std::unordered_map<std::uint64_t, std::uint64_t> dialed;  // peer number -> its outgoing link
  // Frames for a peer whose address is not known yet (the scheduler can
  // answer the coordinator before it heard where the coordinator listens).
  std::unordered_map<std::uint64_t, std::vector<schema::peer_message>> pending;
  // Fault points (faults.hpp; null: none) and, per peer, the frames an armed
  // delay holds, oldest first, each with the time it may leave.
  net::faults* faults = nullptr;
  std::optional<net::key> secret;  // every link proves it first (handshake.hpp); none: no handshake
  net::member_tls tls;             // every link is TLS (accepted: server, dialed: client); none: plain
  std::unordered_map<std::uint64_t, std::deque<std::pair<std::chrono::steady_clock::time_point, schema::peer_message>>> delayed;
  std::uint64_t next_link = 1;
  static inline const char* name = "trail.peers";

  ~peers_state() {
    if (!loop) return;
    for (auto& [id, l] : links) loop->unwatch(l->sock.fd());
    if (listener.valid()) loop->unwatch(listener.fd());
  }
};

using self_ptr = caf::stateful_actor<peers_state, loop_actor>*;

void log_line(const std::string& what) { actors::log_line("trail-node: peers: " + what); }

// Closes a link; the scheduler hears of it when its peer is known.
void drop(self_ptr self, std::uint64_t id, const std::string& why) {
  auto& st = self->state;
  auto it = st.links.find(id);
  if (it == st.links.end()) return;
  link& l = *it->second;
  std::uint64_t peer = l.peer;
  bool known = l.outgoing || l.greeted;
  if (auto d = st.dialed.find(peer); l.outgoing && d != st.dialed.end() && d->second == id) st.dialed.erase(d);
  st.loop->unwatch(l.sock.fd());
  st.links.erase(it);  // (closes the socket; `l` is gone)
  if (known && st.addresses.contains(peer)) {
    log_line("lost the connection " + std::string(why.empty() ? "" : "(" + why + ") ") + "with node " +
             std::to_string(peer));
    self->send(st.scheduler, lost_atom::value, peer);
  }
}

// A broken stream (garbage, an oversized frame): said, and the link closed.
void reject(self_ptr self, std::uint64_t id, const status& why) {
  if (auto it = self->state.links.find(id); it != self->state.links.end())
    log_line("rejected a frame from " + it->second->sock.peer_address() + ": " + why.message());
  drop(self, id, why.message());
}

// (TLS) Encrypts what waits to be sent, once the TLS handshake is over.
status seal(link& l) {
  if (!l.tls || !l.tls->established() || l.plain.empty()) return {};
  status st = l.tls->write(std::as_bytes(std::span(l.plain.data(), l.plain.size())));
  l.plain.clear();
  l.tls->take_output(l.out.bytes());
  return st;
}

void flush(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.links.find(id);
  if (it == st.links.end() || it->second->connecting) return;
  link& l = *it->second;
  if (status sealed = seal(l); !sealed.ok()) return drop(self, id, sealed.message());
  if (l.out.flush(*st.loop, l.sock.fd(), events) == outbox::state::broken) drop(self, id, std::strerror(l.out.error()));
}

std::uint64_t add_link(self_ptr self, net::socket s, bool outgoing, std::uint32_t mask) {
  auto& st = self->state;
  std::uint64_t id = st.next_link++;
  int fd = s.fd();
  st.links.emplace(id, std::make_unique<link>(std::move(s), outgoing));
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.loop->watch(fd, mask, [me, id](std::uint32_t ev) { caf::anon_send(me, io_atom::value, id, ev); });
  return id;
}

// The outgoing link to `peer`, dialing it if there is none.
link* outgoing(self_ptr self, std::uint64_t peer) {
  auto& st = self->state;
  if (auto d = st.dialed.find(peer); d != st.dialed.end()) return st.links.at(d->second).get();
  auto a = st.addresses.find(peer);
  if (a == st.addresses.end()) return nullptr;
  auto s = net::start_connect(a->second);
  if (!s) {
    log_line("cannot reach node " + std::to_string(peer) + " at " + a->second + ": " + s.error().message());
    self->send(st.scheduler, lost_atom::value, peer);
    return nullptr;
  }
  std::uint64_t id = add_link(self, std::move(*s), true, events | EPOLLOUT);
  link& l = *st.links.at(id);
  l.peer = peer;
  l.connecting = true;
  l.out.armed();
  st.dialed[peer] = id;
  if (st.tls) {
    l.tls = std::make_unique<net::tls_engine>(st.tls.client);
    (void)l.tls->handshake();  // its first flight (a client's cannot fail before the server answers)
    l.tls->take_output(l.out.bytes());
  }
  if (st.secret) {
    l.shake.emplace(net::member_handshake::side::dialer, *st.secret);
    l.wire_out() += std::exchange(l.shake->output(), {});
  }
  schema::encode(schema::peer_message{schema::peer_hello{st.me, st.incarnation}}, l.frames_out());
  return &l;
}

// Frames kept for one unknown peer, at most.
constexpr std::size_t max_pending = 4096;

void send_now(self_ptr self, peer_out& m) {
  auto& st = self->state;
  if (!st.numbered || !st.addresses.contains(m.to)) {  // not known yet: kept until it is
    auto& q = st.pending[m.to];
    if (q.size() < max_pending) q.push_back(std::move(m.message));
    else log_line("dropped a frame for node " + std::to_string(m.to) + ": its address (or this node's number) is not known");
    return;
  }
  link* l = outgoing(self, m.to);
  if (!l) return;  // unreachable: the scheduler heard it
  schema::encode(m.message, l->frames_out());
  flush(self, self->state.dialed.at(m.to));
}

// Sends the delayed frames to `peer` that are due, in order; a frame not yet
// due holds back those behind it (its own timer comes).
void release_due(self_ptr self, std::uint64_t peer) {
  auto& st = self->state;
  auto it = st.delayed.find(peer);
  if (it == st.delayed.end()) return;
  auto now = std::chrono::steady_clock::now();
  while (!it->second.empty() && it->second.front().first <= now) {
    peer_out out{peer, std::move(it->second.front().second)};
    it->second.pop_front();
    send_now(self, out);
  }
  if (it->second.empty()) st.delayed.erase(it);
}

// The node wire's fault point: a frame may be lost, or held back a while
// (behind any frame already held, so the stream keeps its order).
void send_to(self_ptr self, peer_out& m) {
  auto& st = self->state;
  auto v = st.faults ? st.faults->on_send(m.to) : net::fault_verdict{};
  if (v.drop) return;  // lost on the way, as a frame cut by a failing link
  auto held = st.delayed.find(m.to);
  if (v.delay.count() == 0 && held == st.delayed.end()) return send_now(self, m);
  st.delayed[m.to].emplace_back(std::chrono::steady_clock::now() + v.delay, std::move(m.message));
  if (v.delay.count() == 0) self->send(self, release_atom::value, m.to);
  else self->delayed_send(self, v.delay, release_atom::value, m.to);
}

// Sends the frames that waited for `peer`'s address or this node's number.
void send_pending(self_ptr self, std::uint64_t peer) {
  if (auto p = self->state.pending.extract(peer))
    for (auto& m : p.mapped()) {
      peer_out out{peer, std::move(m)};
      send_to(self, out);
    }
}

// Hands on every whole frame buffered on accepted link `id`. False: the
// link was rejected (and is gone).
bool take_frames(self_ptr self, std::uint64_t id, link& l) {
  auto& st = self->state;
  for (;;) {
    auto frame = l.in.next();
    if (!frame) return reject(self, id, frame.error()), false;
    if (frame->empty()) return true;
    auto m = schema::decode_peer(*frame);
    if (!m) return reject(self, id, m.error()), false;
    if (auto* h = std::get_if<schema::peer_hello>(&*m)) {
      l.peer = h->number;
      l.incarnation = h->incarnation;
      l.greeted = true;
      continue;
    }
    if (!l.greeted) return reject(self, id, status::invalid("a frame before the hello")), false;
    if (st.faults && st.faults->on_receive(l.peer).drop) continue;  // a fault point: partitioned
    self->send(st.scheduler, peer_in{l.peer, l.incarnation, std::move(*m)});
  }
}

// Feeds bytes read during the handshake to it; what follows its end is the
// first frames (accepted links). False: the link was refused (and is gone).
bool shake_on(self_ptr self, std::uint64_t id, link& l, std::span<const std::byte> got) {
  auto used = l.shake->feed(got);
  if (!used) {
    log_line("refusing the connection " + std::string(l.outgoing ? "to " : "from ") + l.sock.peer_address() + ": " +
             used.error().message());
    drop(self, id, "refused");
    return false;
  }
  l.wire_out() += std::exchange(l.shake->output(), {});
  if (l.shake->done()) {
    l.shake.reset();
    l.wire_out() += std::exchange(l.held, {});
    auto rest = got.subspan(*used);
    if (!l.outgoing && !rest.empty()) {
      auto room = l.in.space(rest.size());
      std::memcpy(room.data(), rest.data(), rest.size());
      l.in.commit(rest.size());
      if (!take_frames(self, id, l)) return false;
    }
  }
  flush(self, id);
  return self->state.links.contains(id);
}

// Takes plaintext that arrived: the members' handshake's, then frames (on
// an accepted link, read into l.in: `got` is its uncommitted space, unless
// the handshake was still on). False: the link is gone.
bool take_bytes(self_ptr self, std::uint64_t id, link& l, std::span<const std::byte> got) {
  if (l.shake) return shake_on(self, id, l, got);
  if (l.outgoing) return true;  // a dialed link carries nothing back but handshakes
  l.in.commit(got.size());
  return take_frames(self, id, l);
}

// Where plaintext is read to: l.in's space once frames may come, else scratch.
std::span<std::byte> room_for(link& l, std::span<std::byte> scratch) {
  return l.outgoing || l.shake ? scratch : l.in.space();
}

// (TLS) Takes cipher bytes that arrived: the TLS handshake's, or records,
// each decrypted and taken. False: the link is gone.
bool decrypt(self_ptr self, std::uint64_t id, link& l, std::span<const std::byte> cipher) {
  l.tls->feed(cipher);
  if (!l.tls->established()) {
    if (auto done = l.tls->handshake(); !done) {
      log_line("refusing the connection " + std::string(l.outgoing ? "to " : "from ") + l.sock.peer_address() +
               ": TLS: " + done.error().message());
      drop(self, id, "refused");
      return false;
    }
  }
  if (l.tls->has_output()) l.tls->take_output(l.out.bytes());  // the TLS handshake's
  while (l.tls->established()) {
    std::byte scratch[512];
    auto room = room_for(l, scratch);
    auto n = l.tls->read(room);
    if (!n) return drop(self, id, n.error().message()), false;
    if (*n == 0) break;
    if (!take_bytes(self, id, l, room.first(*n))) return false;
  }
  flush(self, id);
  return self->state.links.contains(id);
}

// Reads what arrived on a link and takes it (a dialed link carries nothing
// back but handshakes: it is read to see them, and to see it close).
// `hangup`: the far end closed or failed; read on to the end.
void on_readable(self_ptr self, std::uint64_t id, bool hangup) {
  auto& st = self->state;
  for (;;) {
    auto it = st.links.find(id);
    if (it == st.links.end()) return;
    link& l = *it->second;
    std::byte scratch[16 << 10];
    auto room = l.tls ? std::span<std::byte>(scratch) : room_for(l, scratch);
    ssize_t n = ::recv(l.sock.fd(), room.data(), room.size(), 0);
    if (n == 0) return drop(self, id, "");
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return drop(self, id, std::strerror(errno));
    }
    auto got = room.first(static_cast<std::size_t>(n));
    if (!(l.tls ? decrypt(self, id, l, got) : take_bytes(self, id, l, got))) return;
    if (got.size() < room.size() && !hangup) return;  // drained
  }
}

void on_io(self_ptr self, std::uint64_t id, std::uint32_t events) {
  auto& st = self->state;
  auto it = st.links.find(id);
  if (it == st.links.end()) return;
  link& l = *it->second;
  if (l.connecting) {
    if (status s = net::connect_outcome(l.sock); !s.ok()) return drop(self, id, s.message());
    l.connecting = false;
  }
  if (l.out.writing()) flush(self, id);
  on_readable(self, id, events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
}

void on_acceptable(self_ptr self) {
  auto& st = self->state;
  int err = accept_waiting(st.listener.fd(), [&](int fd) {
    auto id = add_link(self, net::socket(fd), false, events);
    link& l = *st.links.at(id);
    if (st.tls) l.tls = std::make_unique<net::tls_engine>(st.tls.server);
    if (st.secret) l.shake.emplace(net::member_handshake::side::acceptor, *st.secret);
    if (!l.proven()) self->delayed_send(self, handshake_deadline, deadline_atom::value, id);
    on_readable(self, id, false);
  });
  if (err != 0) {  // out of fds, say: try again soon (the edge is spent)
    log_line(std::string("accept: ") + std::strerror(err));
    self->delayed_send(self, std::chrono::milliseconds(100), accept_atom::value);
  }
}

// Closes the links with `peer`, without telling the scheduler (it told us).
void forget(self_ptr self, std::uint64_t peer) {
  auto& st = self->state;
  st.addresses.erase(peer);
  std::vector<std::uint64_t> ids;
  for (auto& [id, l] : st.links)
    if (l->peer == peer) ids.push_back(id);
  for (auto id : ids) drop(self, id, "");
}

caf::behavior peers_actor(self_ptr self, int listener_fd, caf::actor scheduler, net::faults* faults,
                          net::member_security security, std::optional<std::uint64_t> number) {
  auto& st = self->state;
  st.numbered = number.has_value();
  st.me = number.value_or(0);
  st.faults = faults;
  st.secret = std::move(security.secret);
  st.tls = std::move(security.tls);
  st.listener = net::socket(listener_fd);
  st.scheduler = std::move(scheduler);
  st.loop = &self->loop();
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.loop->watch(listener_fd, EPOLLIN | EPOLLET, [me](std::uint32_t) { caf::anon_send(me, accept_atom::value); });
  self->send(self, accept_atom::value);
  return {
      [=](accept_atom) { on_acceptable(self); },
      [=](io_atom, std::uint64_t id, std::uint32_t events) { on_io(self, id, events); },
      [=](release_atom, std::uint64_t peer) { release_due(self, peer); },
      [=](deadline_atom, std::uint64_t id) {
        auto it = self->state.links.find(id);
        if (it == self->state.links.end() || it->second->proven()) return;
        log_line("refusing the connection from " + it->second->sock.peer_address() + ": no handshake within " +
                 std::to_string(handshake_deadline.count()) + " s");
        drop(self, id, "refused");
      },
      [=](cluster_atom, std::uint64_t number, std::uint64_t incarnation) {
        auto& st = self->state;
        st.me = number;
        st.incarnation = incarnation;
        st.numbered = true;
        // What waited for this node's number goes now, to each peer whose address is known.
        std::vector<std::uint64_t> known;
        for (auto& [peer, frames] : st.pending)
          if (st.addresses.contains(peer)) known.push_back(peer);
        for (auto peer : known) send_pending(self, peer);
      },
      [=](peer_atom, std::uint64_t number, std::string& address) {
        auto& st = self->state;
        auto& known = st.addresses[number];
        if (known != address) {  // new, or back at another address: old links are stale
          known = address;
          if (auto d = st.dialed.find(number); d != st.dialed.end()) drop(self, d->second, "moved");
        }
        if (st.numbered) send_pending(self, number);  // (else once this node knows its number)
      },
      [=](down_atom, std::uint64_t number) {
        self->state.pending.erase(number);
        self->state.delayed.erase(number);
        forget(self, number);
      },
      [=](peer_out& m) { send_to(self, m); },
  };
}

}  // namespace

result<std::pair<caf::actor, std::string>> spawn_peers(node_loop& loop, const std::string& host, caf::actor scheduler,
                                                      net::faults* faults, net::member_security security,
                                                      std::optional<std::uint64_t> number) {
  auto listener = net::listen_on(host, 0);
  if (!listener) return status::unavailable("cannot serve the node-to-node wire on " + host + ": " + listener.error().message());
  std::string address = listener->local_address();
  auto a = spawn_on(loop, peers_actor, listener->release(), std::move(scheduler), faults, std::move(security), number);
  return std::pair{a, address};
}

}  // namespace trail::actors
