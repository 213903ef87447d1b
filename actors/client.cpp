// The client library (include/trail/client.hpp) over CAF's remote actors.
#include <trail/client.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include <caf/io/all.hpp>

#include "actors/core/manifest.hpp"
#include "actors/types.hpp"

namespace trail {
namespace {

namespace fs = std::filesystem;

result<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return status::not_found("cannot read '" + p.string() + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A caf::actor_system_config with trail's types and tuning.
struct client_config : caf::actor_system_config {
  client_config() {
    actors::configure(*this);
    load<caf::io::middleman>();
  }
};

}  // namespace

struct client::impl {
  client_config cfg;
  caf::actor_system sys{cfg};
  caf::actor node;
  std::chrono::milliseconds timeout{10000};

  // Sends a request and waits for its one reply; errors become statuses.
  template <class... Rs, class... Ts>
  result<std::tuple<Rs...>> ask(std::chrono::milliseconds t, Ts&&... xs) {
    caf::scoped_actor self{sys};
    result<std::tuple<Rs...>> out = status::unavailable("no reply");
    self->request(node, t, std::forward<Ts>(xs)...)
        .receive([&](Rs&... rs) { out = std::tuple<Rs...>(std::move(rs)...); },
                 [&](caf::error& e) { out = actors::to_status(e, sys); });
    return out;
  }
};

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;
client::~client() = default;

void client::set_request_timeout(std::chrono::milliseconds t) { impl_->timeout = t; }

result<client> client::connect(const std::string& address, std::chrono::milliseconds timeout) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return status::invalid("invalid address '" + address + "': expected HOST:PORT");
  std::string host = address.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port <= 0 || port > 65535) return status::invalid("invalid port in '" + address + "'");
  auto p = std::make_unique<impl>();
  auto node = p->sys.middleman().remote_actor(host, static_cast<std::uint16_t>(port));
  if (!node) return status::unavailable("cannot connect to " + address + ": " + p->sys.render(node.error()));
  p->node = *node;
  auto hello = p->ask<std::uint32_t>(timeout, actors::hello_atom::value, actors::protocol_version);
  if (!hello) return status::unavailable("no trail node at " + address + ": " + hello.error().message());
  return client(std::move(p));
}

result<std::string> client::deploy(const fs::path& manifest) {
  auto local = core::load_manifest(manifest);  // libraries as files here
  if (!local) return local.error();
  auto text = read_file(manifest);
  if (!text) return text.error();
  // The same manifest as the node will resolve it: those paths name the uploads.
  auto remote = core::parse_manifest(*text, actors::upload_root);
  if (!remote) return remote.error();
  std::vector<std::string> names, bytes;
  for (std::size_t i = 0; i < local->functions.size(); ++i) {
    const std::string& name = remote->functions[i].library;
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    auto lib = read_file(local->functions[i].library);
    if (!lib) return lib.error();
    names.push_back(name);
    bytes.push_back(std::move(*lib));
  }
  auto r = impl_->ask<std::string>(impl_->timeout, actors::deploy_atom::value, *text, names, bytes);
  if (!r) return r.error();
  return std::get<0>(*r);
}

result<invocation_result> client::invoke(const std::string& app, const std::vector<std::string>& args,
                                         std::chrono::milliseconds timeout, bool async) {
  // The node cancels the session at `timeout`; the reply may take a little longer.
  auto wait = async ? impl_->timeout : timeout + std::chrono::seconds(5);
  auto r = impl_->ask<std::uint64_t, std::string>(wait, actors::invoke_atom::value, app, args,
                                                  static_cast<std::uint32_t>(std::clamp<std::int64_t>(
                                                      timeout.count(), 1, std::numeric_limits<std::uint32_t>::max())),
                                                  async);
  if (!r) return r.error();
  return invocation_result{std::get<0>(*r), std::move(std::get<1>(*r))};
}

result<invocation_result> client::result_of(std::uint64_t session, std::chrono::milliseconds timeout) {
  auto r = impl_->ask<std::uint64_t, std::string>(timeout, actors::result_atom::value, session);
  if (!r) return r.error();
  return invocation_result{std::get<0>(*r), std::move(std::get<1>(*r))};
}

result<std::string> client::status_json() {
  auto r = impl_->ask<std::string>(impl_->timeout, actors::status_atom::value);
  if (!r) return r.error();
  return std::get<0>(*r);
}

result<std::vector<std::string>> client::apps() {
  auto r = impl_->ask<std::vector<std::string>>(impl_->timeout, actors::apps_atom::value);
  if (!r) return r.error();
  return std::get<0>(*r);
}

result<std::string> client::undeploy(const std::string& app) {
  auto r = impl_->ask<std::string>(impl_->timeout, actors::undeploy_atom::value, app);
  if (!r) return r.error();
  return std::get<0>(*r);
}

}  // namespace trail
