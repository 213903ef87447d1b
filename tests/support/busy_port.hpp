// A loopback port someone else listens on, for tests of what a binary says
// when its --listen or --metrics port is taken.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace trail::testing {

// Listens on 127.0.0.1 at a port the kernel picks, until destroyed.
class busy_port {
 public:
  busy_port() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      ADD_FAILURE() << "cannot listen on a loopback port";
    address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~busy_port() {
    if (fd_ >= 0) ::close(fd_);
  }
  busy_port(const busy_port&) = delete;
  busy_port& operator=(const busy_port&) = delete;

  // "127.0.0.1:PORT"
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

}  // namespace trail::testing
