#include "actors/durable/local_etcd.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/durable/etcd.hpp"

namespace trail::durable {

std::vector<int> free_loopback_ports(std::size_t n) {
  // Every socket stays bound until all ports are known, so no port is
  // handed out twice.
  std::vector<int> fds, ports;
  for (std::size_t i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    fds.push_back(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      break;
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  ports.resize(n, 0);
  return ports;
}

int free_loopback_port() { return free_loopback_ports(1)[0]; }

local_etcd plan_local_etcd(const std::string& name, const std::filesystem::path& dir) {
  auto ports = free_loopback_ports(2);
  std::string client = "127.0.0.1:" + std::to_string(ports[0]);
  std::string peer = "http://127.0.0.1:" + std::to_string(ports[1]);
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
