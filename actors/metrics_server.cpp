#include "actors/metrics_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "actors/metrics.hpp"
#include "actors/loop_io.hpp"
#include "actors/net/socket.hpp"
#include "actors/types.hpp"

namespace trail::actors {
namespace {

using accept_atom = caf::atom_constant<caf::atom("tmxaccept")>;  // the listener is ready
using io_atom = caf::atom_constant<caf::atom("tmxio")>;          // u64 connection: its socket is ready
using expire_atom = caf::atom_constant<caf::atom("tmxexpire")>;  // u64 connection: its time is up

constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP | EPOLLET;
constexpr std::size_t max_request = 8 << 10;
constexpr auto connection_time = std::chrono::seconds(10);
constexpr auto source_wait = std::chrono::seconds(5);

struct connection {
  net::socket sock;
  std::string in;           // the request head so far
  outbox out;               // the reply not yet sent
  bool answered = false;    // a reply is decided (more input is discarded)
  bool shut = false;        // the reply went out and our side is shut: waiting for the peer's end
  bool peer_done = false;   // the peer's end came (before the reply went out)
};

struct server_state {
  metrics_server_options opts;
  served<connection> conns;
  static inline const char* name = "trail.metrics";
};

using self_ptr = caf::stateful_actor<server_state, loop_actor>*;

void close_connection(self_ptr self, std::uint64_t id) { self->state.conns.close(id); }

// Sends what it can; arms EPOLLOUT for the rest. Once all went, shuts our
// side: the peer reads to the end, then closes (a close with unread input
// could reset the connection before the peer read the reply).
void flush(self_ptr self, std::uint64_t id) {
  connection* cp = self->state.conns.find(id);
  if (!cp) return;
  connection& c = *cp;
  switch (c.out.flush(self->state.conns.loop(), c.sock.fd(), read_events)) {
    case outbox::state::waiting: return;
    case outbox::state::broken: return close_connection(self, id);  // the scraper is gone
    case outbox::state::sent: break;
  }
  ::shutdown(c.sock.fd(), SHUT_WR);
  c.shut = true;
  if (c.peer_done) close_connection(self, id);
}

void reply(self_ptr self, std::uint64_t id, std::string response) {
  connection* c = self->state.conns.find(id);
  if (!c) return;  // the scraper went away meanwhile
  c->out.bytes() = std::move(response);
  flush(self, id);
}

const char* reason_of(int code) {
  switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    default: return "Service Unavailable";
  }
}

std::string plain(int code, const std::string& why) {
  return metrics::http_response(code, reason_of(code), "text/plain; charset=utf-8", why + "\n");
}

// Asks the source for its status and replies with the exposition.
void scrape(self_ptr self, std::uint64_t id, bool head_only) {
  self->request(self->state.opts.source, source_wait, status_atom::value)
      .then(
          [=](const std::string& status) {
            std::string body;
            try {
              body = self->state.opts.render(nlohmann::json::parse(status));
            } catch (const std::exception& e) {
              return reply(self, id, plain(500, std::string("cannot render the metrics: ") + e.what()));
            }
            reply(self, id, metrics::http_response(200, "OK", metrics::content_type, body, head_only));
          },
          [=](caf::error& e) {
            reply(self, id, plain(503, "no status: " + to_status(e, self->system()).message()));
          });
}

void on_request(self_ptr self, std::uint64_t id, const metrics::http_request& r) {
  auto route = metrics::route_of(r);
  if (route.wants_metrics) return scrape(self, id, r.method == "HEAD");
  const char* why = route.code == 404 ? "not found: only /metrics is served"
                    : route.code == 405 ? "only GET and HEAD are served"
                                        : "malformed request";
  reply(self, id, plain(route.code, why));
}

// Reads what arrived (edge-triggered: until EAGAIN or the end).
void on_readable(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  for (;;) {
    connection* cp = st.conns.find(id);
    if (!cp) return;
    connection& c = *cp;
    char buf[4096];
    ssize_t n = ::recv(c.sock.fd(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // the peer's end (or an error): nothing more to read or to say
      if (!c.answered || c.shut) return close_connection(self, id);
      c.peer_done = true;  // (a reply on its way still goes out, then it closes)
      return;
    }
    if (c.answered) continue;  // (anything after the head is not ours to read)
    c.in.append(buf, static_cast<std::size_t>(n));
    auto r = metrics::parse_http_request(c.in);
    if (r.st == metrics::http_request::state::incomplete && c.in.size() <= max_request) continue;
    c.answered = true;
    if (r.st == metrics::http_request::state::incomplete) r.st = metrics::http_request::state::bad;  // too long
    on_request(self, id, r);
  }
}

void on_acceptable(self_ptr self) {
  auto& st = self->state;
  int err = accept_waiting(st.conns.listener(), [&](int fd) {
    net::socket sock(fd);
    if (st.conns.size() >= st.opts.max_connections) return;  // (closed at once)
    auto c = std::make_unique<connection>();
    c->sock = std::move(sock);
    caf::actor me = caf::actor_cast<caf::actor>(self);
    auto id = st.conns.add(std::move(c), read_events,
                           [me](std::uint64_t id, std::uint32_t) { caf::anon_send(me, io_atom::value, id); });
    self->delayed_send(self, connection_time, expire_atom::value, id);
    on_readable(self, id);  // it may have spoken already
  });
  if (err != 0) {  // out of fds, say: try again soon (the edge is spent)
    log_line(std::string("trail: metrics: accept: ") + std::strerror(err));
    self->delayed_send(self, std::chrono::milliseconds(100), accept_atom::value);
  }
}

void on_io(self_ptr self, std::uint64_t id) {
  connection* c = self->state.conns.find(id);
  if (!c) return;
  if (c->out.writing()) flush(self, id);
  on_readable(self, id);
}

caf::behavior server_actor(self_ptr self, metrics_server_options opts, int listener_fd) {
  auto& st = self->state;
  st.opts = std::move(opts);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.conns.listen(self->loop(), listener_fd, [me](std::uint32_t) { caf::anon_send(me, accept_atom::value); });
  self->send(self, accept_atom::value);  // connections that came before the watch
  return {
      [=](accept_atom) { on_acceptable(self); },
      [=](io_atom, std::uint64_t id) { on_io(self, id); },
      [=](expire_atom, std::uint64_t id) { close_connection(self, id); },
      [=](source_atom, caf::actor& source) {
        self->state.opts.source = std::move(source);
        return source_atom::value;
      },
  };
}

}  // namespace

status parse_metrics_address(const std::string& text, metrics_server_options& opts) {
  auto colon = text.rfind(':');
  auto bad = status::invalid("--metrics: invalid address '" + text + "': expected HOST:PORT");
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return bad;
  std::uint32_t port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return bad;
    port = port * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (port > 65535) return bad;
  opts.host = text.substr(0, colon);
  opts.port = static_cast<std::uint16_t>(port);
  return {};
}

result<std::pair<caf::actor, std::string>> spawn_metrics_server(node_loop& loop, metrics_server_options opts) {
  TRAIL_REQUIRE(opts.source && opts.render, "spawn_metrics_server: a source and a renderer are needed");
  auto listener = net::listen_on(opts.host, opts.port);
  if (!listener) return status::unavailable("cannot serve metrics on " + opts.host + ":" + std::to_string(opts.port) +
                                            ": " + listener.error().message());
  std::string address = listener->local_address();
  auto server = spawn_on(loop, server_actor, std::move(opts), listener->release());
  return std::pair{server, address};
}

}  // namespace trail::actors
