// The commands `trail` runs, shared by one-shot use, the shell and scripts.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <trail/client.hpp>

namespace trail::cli {

struct options {
  std::string address = "127.0.0.1:7411";
};

// Connects lazily, on the first command that needs the node.
class session {
 public:
  explicit session(options opts) : opts_(std::move(opts)) {}
  // Runs one command given as words; returns the exit code.
  int run(std::vector<std::string> words);
  // Runs one command line (words split like a shell: quotes group words).
  int run_line(const std::string& line);

 private:
  client* connect();
  options opts_;
  std::optional<client> client_;
};

}  // namespace trail::cli
