#include "actors/control_gate.hpp"

#include <caf/io/basp_broker.hpp>

#include <atomic>
#include <cstdio>
#include <list>
#include <mutex>
#include <thread>

#include "actors/net/handshake.hpp"
#include "actors/net/socket.hpp"
#include "actors/net/stream.hpp"
#include "actors/types.hpp"

namespace trail::actors {
namespace {

constexpr std::chrono::seconds handshake_limit{5};

}  // namespace

caf::actor basp_broker(caf::actor_system& sys) {
  return sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
}

struct control_gate::impl {
  caf::actor_system& sys;
  caf::actor published;
  net::member_security security;
  net::socket listener;
  std::uint16_t port = 0;
  net::stop_signal stop;
  std::atomic<std::uint64_t> refused{0};
  std::mutex mu;
  std::list<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> shaking;  // (thread, done)
  std::list<std::unique_ptr<net::tls_relay>> relays;  // (TLS) one per admitted connection
  std::thread acceptor;

  impl(caf::actor_system& s, caf::actor p, net::member_security m)
      : sys(s), published(std::move(p)), security(std::move(m)) {}

  void accept_all() {
    for (;;) {
      auto s = net::accept_from(listener, stop);
      if (!s) {
        if (stop.raised()) return;
        log_line("trail-coordinator: control gate: " + s.error().message());
        if (stop.wait_for(std::chrono::milliseconds(100))) return;
        continue;
      }
      std::lock_guard lock(mu);
      std::erase_if(shaking, [](auto& t) {
        if (!*t.second) return false;
        t.first.join();
        return true;
      });
      std::erase_if(relays, [](auto& r) { return r->ended(); });
      auto done = std::make_shared<std::atomic<bool>>(false);
      shaking.emplace_back(std::thread([this, done, c = std::move(*s)]() mutable {
        admit(std::move(c));
        *done = true;
      }), done);
    }
  }

  void refuse(const std::string& from, const status& why) {
    if (stop.raised()) return;
    ++refused;
    log_line("trail-coordinator: refusing a control connection from " + from + ": " + why.message());
  }

  void admit(net::socket s) {
    std::string from = s.peer_address();
    const net::io_limits io{&stop, handshake_limit};
    auto c = net::stream::over(std::move(s), io, security.tls.server);
    if (!c) return refuse(from, c.error());
    if (security.secret)
      if (status st = net::accept_handshake(*c, io, *security.secret); !st.ok()) return refuse(from, st);
    int fd = -1;
    if (c->encrypted()) {
      auto r = net::tls_relay::start(std::move(*c));
      if (!r) return refuse(from, r.error());
      fd = r->second.release();
      std::lock_guard lock(mu);
      relays.push_back(std::move(r->first));
    } else {
      fd = c->release();
    }
    // BASP serves it from here on, as if its own doorman had accepted it.
    auto scribe = sys.middleman().backend().new_scribe(fd);
    caf::anon_send(basp_broker(sys), caf::publish_atom::value, std::move(scribe), port,
                   caf::actor_cast<caf::strong_actor_ptr>(published), std::set<std::string>{});
  }
};

control_gate::control_gate(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

control_gate::~control_gate() {
  impl_->stop.raise();
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  std::lock_guard lock(impl_->mu);
  for (auto& t : impl_->shaking) t.first.join();
  impl_->relays.clear();
}

result<std::unique_ptr<control_gate>> control_gate::start(caf::actor_system& sys, caf::actor published,
                                                          const std::string& host, net::member_security security) {
  auto l = net::listen_on(host, 0);
  if (!l) return l.error();
  auto i = std::make_unique<impl>(sys, std::move(published), std::move(security));
  i->listener = std::move(*l);
  std::string local = i->listener.local_address();
  i->port = static_cast<std::uint16_t>(std::stoi(local.substr(local.rfind(':') + 1)));
  impl* raw = i.get();
  i->acceptor = std::thread([raw] { raw->accept_all(); });
  return std::unique_ptr<control_gate>(new control_gate(std::move(i)));
}

std::string control_gate::address() const { return impl_->listener.local_address(); }
std::uint16_t control_gate::port() const { return impl_->port; }
std::uint64_t control_gate::refused() const { return impl_->refused; }

result<control_dial> dial_control(caf::actor_system& sys, const std::string& address,
                                  const std::optional<net::key>& secret, std::shared_ptr<net::tls_context> tls,
                                  std::chrono::milliseconds timeout) {
  net::stop_signal never;
  net::io_limits io{&never, timeout};
  auto c = net::stream::connect(address, io, std::move(tls));
  if (!c) return c.error();
  if (secret)
    if (status st = net::dial_handshake(*c, io, *secret); !st.ok()) return st;
  control_dial out;
  int fd = -1;
  if (c->encrypted()) {
    auto r = net::tls_relay::start(std::move(*c));
    if (!r) return r.error();
    out.relay = std::move(r->first);
    fd = r->second.release();
  } else {
    fd = c->release();
  }
  out.scribe = sys.middleman().backend().new_scribe(fd);
  return out;
}

}  // namespace trail::actors
