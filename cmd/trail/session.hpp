// A `trail` session: the connection to a node or coordinator (made lazily,
// on the first command that needs it) and the command table that runs lines.
// Not thread-safe: used from the thread that runs the lines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <trail/client.hpp>

#include "command_table.hpp"

namespace trail::cli {

struct options {
  std::string address = "127.0.0.1:7411";  // node or coordinator, HOST:PORT
};

class session {
 public:
  // `table` must outlive the session.
  session(options opts, const command_table& table) : opts_(std::move(opts)), table_(table) {}

  // Runs one command given as words; returns its exit code.
  int run(std::vector<std::string> words);
  // Runs one command line (split by split_line); an empty line or a comment is 0.
  int run_line(const std::string& line);

  // The connection, made on first use (and again after it broke: a
  // restarted server is reached by the next command); returns nullptr if it
  // cannot be made (and, with `report`, says why on stderr).
  client* connect(bool report = true);
  const std::string& address() const { return opts_.address; }
  // Later commands go to `address` (the current connection is dropped).
  void set_address(std::string address);
  const command_table& commands() const { return table_; }

 private:
  options opts_;
  const command_table& table_;
  std::optional<client> client_;
};

// Prints "trail: WHAT" on stderr and returns 1; under --json also
// {"error":{"code":...,"message":...}} on stdout, for scripts.
int fail(const std::string& what);
int fail(const status& s);

}  // namespace trail::cli
