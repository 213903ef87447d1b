#include "actors/durable/local_etcd.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <utility>

#include "actors/durable/etcd.hpp"

namespace trail::durable {

namespace {

// The kernel's ephemeral port range: where bind() to port 0 and connect()
// take their ports from.
std::pair<int, int> ephemeral_ports() {
  int lo = 32768, hi = 60999;  // Linux's default
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  in >> lo >> hi;
  return {lo, hi};
}

// Binds a socket to 127.0.0.1:`port` (0: any); the fd, or -1.
int bound_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0 ? ntohs(a.sin_port) : 0;
}

}  // namespace

// Ports are picked at random below the ephemeral range: between the pick
// and its use, no bind() to port 0 and no outgoing connection anywhere on
// the machine can take one (a port the kernel picked could go to the next
// process asking it for one: a test's freshly started node, say), only
// someone naming it.
std::vector<int> free_loopback_ports(std::size_t n) {
  constexpr int lowest = 10000;
  const int below = ephemeral_ports().first;
  // Every socket stays bound until all ports are known, so no port is
  // handed out twice.
  std::vector<int> fds, ports;
  std::mt19937 rng{std::random_device{}()};
  for (int tries = 0; ports.size() < n && tries < 1000 && below - lowest > 1000; ++tries) {
    int fd = bound_to(std::uniform_int_distribution<int>(lowest, below - 1)(rng));
    if (fd < 0) continue;  // in use
    fds.push_back(fd);
    ports.push_back(port_of(fd));
  }
  while (ports.size() < n) {  // (a machine whose ephemeral range leaves no room below it)
    int fd = bound_to(0);
    if (fd < 0) break;
    fds.push_back(fd);
    ports.push_back(port_of(fd));
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
