// A trail-node --standalone child process for a benchmark, a connected
// client, and apps deployed from manifests written on the fly.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <trail/client.hpp>

#include "shm/process.hpp"

namespace trail::bench {

class node_process {
 public:
  // Starts the node (port 0) and connects. `node_path`: trail-node binary.
  static result<std::unique_ptr<node_process>> start(const std::string& node_path, const std::string& store_size,
                                                     int executors);
  ~node_process();  // SIGTERM, waits for a clean exit

  client& cli() { return *client_; }
  const std::string& address() const { return address_; }
  // Writes `yaml` to a temp manifest and deploys it.
  status deploy(const std::string& yaml);

 private:
  shm::child_process proc_;
  std::optional<client> client_;
  std::string address_;
  std::filesystem::path dir_;
};

}  // namespace trail::bench
