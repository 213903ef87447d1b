// A TCP relay on loopback that can be cut and healed: the link between one
// client and one server, for failure injection without root. `trail`'s
// scenarios put one between each coordinator and etcd (`partition
// coordinator | etcd`); tests put one in front of a server to watch what
// crosses it (`seen`) or to cut it.
//
// Cut: every connection through it is shut down (both ends see it close)
// and new ones are closed as they come, until healed. Threads: one accepts,
// two per connection copy; all end with the link.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <trail/status.hpp>

#include "actors/net/socket.hpp"

namespace trail::net {

class link {
 public:
  // Called with every chunk copied, either way, from the copying threads.
  using observer = std::function<void(std::string_view)>;

  // Listens on 127.0.0.1 (a port of its own) and relays to `target` ("host:port").
  static result<std::unique_ptr<link>> open(std::string target, observer seen = {});
  ~link();
  link(const link&) = delete;
  link& operator=(const link&) = delete;

  std::string address() const { return listener_.local_address(); }
  void cut();
  void heal();
  bool is_cut() const;

 private:
  link(std::string target, socket listener, observer seen);
  void accept_all();
  void relay(socket& in, socket& out);

  std::string target_;
  socket listener_;
  observer seen_;
  stop_signal stop_;
  mutable std::mutex mu_;
  bool cut_ = false;
  std::vector<std::weak_ptr<socket>> open_;  // shut down by cut()
  std::thread acceptor_;
  std::list<std::thread> relays_;  // (only the acceptor adds; joined at the end)
};

}  // namespace trail::net
