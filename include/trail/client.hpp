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
#include <iosfwd>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <trail/status.hpp>

namespace trail {
namespace schema {
struct client_request;
struct client_reply;
}

struct invocation_result {
  std::uint64_t session = 0;
  std::string output;  // the app's output bytes (empty for an async invoke)
};

// Where a put object lands (README "Using it"): in the app's scope (its
// app-scoped triggers see it; `get` reads it back; written once per key), or
// in a new session's scope (every trigger of its bucket sees it as if a
// function of that session had sent it; the session's output is awaited
// with result_of, like an async invoke's).
enum class put_scope : std::uint8_t { app, new_session };

struct put_result {
  std::uint64_t session = 0;  // the new session; 0 in app scope
  std::uint64_t size = 0;     // bytes stored
};

// A key file to prove with when the server wants proof (README "Security"):
// the cluster's secret (everything), or an invoke-only token.
struct key_file {
  std::filesystem::path path;
  bool invoke_only = false;
};

class client {
 public:
  // Connects to a node or coordinator at "HOST:PORT" and checks that it
  // speaks this client's protocol. "HOST:PORT,HOST:PORT,...": the first that
  // answers (a coordinator standing by sends it to the one that holds the
  // shards; when none serves but one stands by, a takeover is under way: it
  // looks again every 200 ms, within `timeout`).
  // A coordinator names the others etcd lists when the client connects, and
  // again with its next answer whenever they change: they count as given
  // too, so a client given one finds a standby (even one started later)
  // when it is lost.
  // If the server wants proof, the key comes
  // from TRAIL_SECRET_FILE (the secret), else TRAIL_TOKEN_FILE (an invoke
  // token); without one that is a clear error.
  static result<client> connect(const std::string& address,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The same with the key in `key` (a missing or unsafe file is an error).
  static result<client> connect(const std::string& address, const key_file& key,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));

  client(client&&) noexcept;
  client& operator=(client&&) noexcept;
  ~client();

  // Uploads the manifest and its libraries; returns e.g. "wordcount v2".
  result<std::string> deploy(const std::filesystem::path& manifest);
  // Runs the app's entry function with `args` and waits for the session's
  // output, up to `timeout` (the session is cancelled after it). With
  // `async`, returns at once with the session id only. Each call carries an
  // id of its own: given several coordinators, when the connection breaks
  // (its coordinator died) the call is sent again, like result_of, to the
  // one that took over, which answers with the session the first one started
  // if it was accepted — one call never starts two sessions.
  result<invocation_result> invoke(const std::string& app, const std::vector<std::string>& args,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(60),
                                   bool async = false);
  // The output of a session started earlier (waits for it, up to `timeout`).
  // Safe to repeat, so given several coordinators, when the connection breaks
  // (its coordinator died) it connects again to the first of the addresses
  // given to connect() that answers — a standby that took over — and asks
  // again, within `timeout`. With one address (and no other coordinator
  // named), a lost connection is an error.
  result<invocation_result> result_of(std::uint64_t session,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Puts an object into bucket `bucket` of `app` under `key`: `size` bytes
  // read from `in`, streamed in chunks (the node writes them straight into
  // the object's place in its store). In new_session scope the session ends
  // like an invoked one, at `timeout` at the latest. Errors: not_found
  // (unknown app or bucket), invalid_argument (bad key, larger than the
  // store, an app-scoped key put before), overloaded (the store is full now).
  // An input that ends early fails the put and closes the connection.
  result<put_result> put_stream(const std::string& app, const std::string& bucket, const std::string& key,
                                std::istream& in, std::uint64_t size, put_scope scope = put_scope::app,
                                std::chrono::milliseconds timeout = std::chrono::seconds(60));
  result<put_result> put(const std::string& app, const std::string& bucket, const std::string& key,
                         std::string_view bytes, put_scope scope = put_scope::app,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Reads an app-scoped object, streamed in chunks into `out`; returns its
  // size. Errors: not_found (unknown app, bucket or key).
  result<std::uint64_t> get_to(const std::string& app, const std::string& bucket, const std::string& key,
                               std::ostream& out);
  result<std::string> get(const std::string& app, const std::string& bucket, const std::string& key);
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
  // False once the connection broke, or its server closed it (it went
  // away or restarted; one system call looks). A request on a connection
  // known to be broken connects again first (the request that found it
  // broken failed: it may or may not have been done).
  bool connected() const;
  // Connects again if it is not connected(), through the addresses given to
  // connect() and the coordinators learned since (a long-lived client, the
  // shell, calls it before a request it would rather not see fail); the
  // error says why when none answers. Does nothing while connected.
  status reconnect();
  // Through a coordinator, a synchronous invoke runs on the node the app's
  // shard names: the coordinator answers with that node's address, and the
  // client sends the invoke there and keeps doing so for that app (asking the
  // coordinator again every second), so the coordinator is off the path.
  // When that node is lost or refuses (draining, not a member), the invoke is
  // sent through the coordinator instead. Off: every invoke goes through the
  // coordinator (which keeps it in etcd, if it has one). On by default.
  void set_direct_invokes(bool on);

 private:
  struct impl;
  explicit client(std::unique_ptr<impl> p);
  struct credentials;  // what it proves with, if anything
  // (A coordinator standing by redirects to the one that holds the shards:
  // followed once, unless `follow` is false.)
  static result<std::unique_ptr<impl>> open(const std::string& address, std::chrono::milliseconds timeout,
                                            std::shared_ptr<const credentials> cred, bool follow = true,
                                            bool* stood_by = nullptr);  // set when a coordinator stood by
  static result<std::unique_ptr<impl>> open_any(const std::string& addresses, std::chrono::milliseconds timeout,
                                                std::shared_ptr<const credentials> cred);
  // Another of the addresses given to connect() (or learned) than `now`'s that answers.
  static result<std::unique_ptr<impl>> open_other(const impl& now);
  // Connects again, through the addresses given to connect() and learned, if
  // the connection broke: before a request, of which nothing was sent yet.
  status renew();
  status renew_if_one_address();  // (invokes, results: ask_session does it with several)
  // Moves this client to open_other(), or waits a moment if none answers.
  void look_elsewhere();
  // Asks `q`; a coordinator that says it is paused did not act on it, so
  // `q` goes to another of the addresses that answers (within the timeout).
  result<schema::client_reply> ask_moving(const schema::client_request& q);
  // Asks `q` (safe to repeat) until `deadline`; when the connection breaks,
  // connects again through the addresses given to connect() and asks again;
  // when the coordinator says it is paused, asks another that answers.
  // A synchronous invoke with `direct` set may be redirected to a node, and
  // runs there (invoke_on), or through the coordinator when that node cannot;
  // when no coordinator can be asked, on `last_home` (the node a coordinator
  // last named for its app), if that node takes it.
  result<invocation_result> ask_session(schema::client_request q, std::chrono::milliseconds wait,
                                        std::chrono::steady_clock::time_point deadline, std::string last_home = {});
  // The connection to a node a coordinator redirected a put or get to.
  // `look`: first check that a kept connection was not closed by its node.
  static result<impl*> impl_node(impl& from, const std::string& address, bool look = true);
  // A synchronous invoke `q` on the node at `address` (a coordinator's
  // redirect); nothing when the node could not take it (the caller sends it
  // through the coordinator).
  std::optional<result<invocation_result>> invoke_on(const std::string& address, const schema::client_request& q,
                                                     std::chrono::milliseconds wait);
  // Whether the coordinator still lists the node at `address` (asked after
  // it said nothing for direct_patience about an invoke it runs).
  bool member_alive(const std::string& address);
  static constexpr std::chrono::milliseconds direct_patience{1000};
  // How long an app's synchronous invokes go to the node a coordinator named
  // before it is asked again.
  static constexpr std::chrono::milliseconds home_kept{1000};
  // With a cluster of several partitions (each coordinator holds one): makes
  // impl_ the connection to the holder of partition `p`, if another holds
  // it (the connection to the one before is kept, in `held_`). Nothing when
  // none holds it now: the coordinator asked says so.
  void toward(std::optional<std::uint32_t> p);
  void toward_app(const std::string& app);
  void toward_session(std::uint64_t session);
  void toward_request(const schema::client_request& q);  // (by its app or session)
  // With several partitions: asks `q` of every partition's holder but this
  // connection's, in turn (impl_ ends at the last), handing `take` each
  // answer and `missed` why one has none (no holder now, or it failed).
  void ask_other_partitions(const schema::client_request& q,
                            const std::function<void(std::uint32_t, schema::client_reply&)>& take,
                            const std::function<void(std::uint32_t, const status&)>& missed);
  // `q`'s JSON answer (a status, or an admin command's), and with several
  // partitions every holder's: their arrays named `arrays` appended to this
  // one's (each element tagged with its "partition"), and "unanswered" for
  // partitions that gave none.
  result<std::string> ask_whole_cluster(const schema::client_request& q, std::initializer_list<const char*> arrays);
  std::unique_ptr<impl> impl_;
  std::map<std::string, std::unique_ptr<impl>> held_;  // by address: other partitions' coordinators
  bool direct_invokes_ = true;
};

}  // namespace trail
