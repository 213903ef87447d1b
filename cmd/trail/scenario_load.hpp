// The load generator of a failure scenario: open-loop requests to one app at
// a fixed rate, from a few threads each with its own client connection, and
// the history they record — every request, its session id, outcome and
// times — for `check` to judge (scenario_check.hpp).
//
// One request: `invoke --async` (accepted: the session id comes back), then
// `result` of that session until it ends or the request's timeout passes;
// a broken connection is made again and the result asked again, so a
// session's outcome is learned once whatever happens to the connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <trail/client.hpp>
#include <trail/status.hpp>

namespace trail::cli::scenario {

using clock = std::chrono::steady_clock;

struct load_spec {
  std::string app;
  double rate = 10;                              // requests per second (open loop)
  std::chrono::milliseconds duration{10000};     // requests are started during this long
  std::vector<std::string> args;                 // the entry function's arguments
  std::optional<std::string> expect;             // the output every session must end with
  std::optional<std::string> expect_error;       // ... or: every session must fail, saying this
  int clients = 8;                               // threads, each with its own connection
  std::chrono::milliseconds timeout{30000};      // per request: the session's deadline (the client
                                                 // waits 10 s more to hear how it ended)
};

// How one request ended, as the client saw it.
enum class outcome {
  ok,        // the session ended with an output (compare it with the expectation)
  failed,    // the session ended with an error the server reported
  rejected,  // never accepted: invoke itself failed (no session)
  unknown,   // accepted, but its outcome could not be learned before the timeout
};
std::string_view to_string(outcome o);

struct request_record {
  std::uint64_t seq = 0;       // unique in the scenario
  int load = 0;                // which `load` line (1, 2, ...)
  int client = 0;              // which thread
  std::string app;
  std::uint64_t session = 0;   // 0: not accepted
  outcome how = outcome::unknown;
  std::string output;          // outcome::ok
  std::string error;           // failed/rejected/unknown: the last error, with its code
  double scheduled_ms = 0;     // times since the scenario's origin
  double started_ms = 0;
  double accepted_ms = 0;
  double ended_ms = 0;
  int result_calls = 0;        // `result` asked this many times
};

// One `load` line running in the background.
class load_run {
 public:
  // `origin`: the scenario's time zero (history times are relative to it).
  load_run(int id, std::string address, load_spec spec, clock::time_point origin, std::uint64_t first_seq);
  ~load_run();  // stops early (no new requests) and joins
  load_run(const load_run&) = delete;
  load_run& operator=(const load_run&) = delete;

  void start();
  void wait();           // until every request ended
  bool finished() const;
  std::vector<request_record> history() const;  // REQUIRES: wait() returned
  const load_spec& spec() const { return spec_; }
  std::size_t planned() const { return total_; }
  int id() const { return id_; }

 private:
  void work(int client);
  // Runs request `index` on this thread's connection (made again when lost).
  request_record one(int client, std::uint64_t index, std::optional<trail::client>& c);

  const int id_;
  const std::string address_;
  const load_spec spec_;
  const clock::time_point origin_;
  const std::uint64_t first_seq_;
  const std::size_t total_;
  clock::time_point t0_;
  std::size_t workers_ = 1;  // threads; set before they start
  std::atomic<bool> cancelled_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;  // guards records_
  std::vector<request_record> records_;
};

}  // namespace trail::cli::scenario
