#include "actors/durable/local_etcd.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/durable/etcd.hpp"

namespace trail::durable {

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0
                 ? ntohs(a.sin_port)
                 : 0;
  ::close(fd);
  return port;
}

local_etcd plan_local_etcd(const std::string& name, const std::filesystem::path& dir) {
  std::string client = "127.0.0.1:" + std::to_string(free_loopback_port());
  std::string peer = "http://127.0.0.1:" + std::to_string(free_loopback_port());
  return {client,
          {"--name", name, "--data-dir", dir.string(), "--listen-client-urls", "http://" + client,
           "--advertise-client-urls", "http://" + client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
           "--initial-cluster", name + "=" + peer, "--log-level", "error"}};
}

status await_etcd(const std::string& endpoint, std::chrono::milliseconds within) {
  auto db = etcd::open(endpoint, within);  // (each call tries again until its timeout is up)
  if (!db) return db.error();
  if (auto ready = db->get("trail/ready"); !ready)
    return status::unavailable("etcd at " + endpoint + " never answered: " + ready.error().message());
  return {};
}

}  // namespace trail::durable
