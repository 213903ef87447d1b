// The trail client library: deploy apps, invoke them and read results from a
// C++ program. The `trail` command-line tool is built on it.
//
//   auto c = trail::client::connect("127.0.0.1:7411");
//   if (!c) { /* c.error().to_string() */ }
//   c->deploy("examples/chain/chain.yaml");
//   auto r = c->invoke("chain", {"hello", "world"});   // r->output == "<HELLO WORLD>"
//
// Every call has a timeout: a dead or half-started node gives an error
// (errc::unavailable), never a hang. A client is not thread-safe; use one per
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <trail/status.hpp>

namespace trail {

struct invocation_result {
  std::uint64_t session = 0;
  std::string output;  // the app's output bytes (empty for an async invoke)
};

class client {
 public:
  // Connects to a node or coordinator at "HOST:PORT" and checks that it
  // speaks this client's protocol.
  static result<client> connect(const std::string& address,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));

  client(client&&) noexcept;
  client& operator=(client&&) noexcept;
  ~client();

  // Uploads the manifest and its libraries; returns e.g. "wordcount v2".
  result<std::string> deploy(const std::filesystem::path& manifest);
  // Runs the app's entry function with `args` and waits for the session's
  // output, up to `timeout` (the session is cancelled after it). With
  // `async`, returns at once with the session id only.
  result<invocation_result> invoke(const std::string& app, const std::vector<std::string>& args,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(60),
                                   bool async = false);
  // The output of a session started earlier (waits for it, up to `timeout`).
  result<invocation_result> result_of(std::uint64_t session,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Node status as JSON: executors, apps, sessions, recent failures, store.
  result<std::string> status_json();
  result<std::vector<std::string>> apps();
  result<std::string> undeploy(const std::string& app);
  // An operator's command (`nodes`, `sessions`, `session ID`, `trace ID`,
  // `cancel ID`, `drain NODE`, `logs NODE`, `fault NODE ...`): the server's
  // answer as JSON text. README "Operating trail" lists them.
  result<std::string> admin(const std::string& command, const std::vector<std::string>& args = {});

  // Time allowed for requests without a timeout of their own (deploy, status...).
  void set_request_timeout(std::chrono::milliseconds t);

 private:
  struct impl;
  explicit client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace trail
