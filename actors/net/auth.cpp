#include "actors/net/auth.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <trail/check.hpp>

#include <cerrno>
#include <memory>
#include <cstring>
#include <fstream>
#include <sstream>

namespace trail::net {
namespace {

std::string hmac(const key& k, std::string_view label, role r, std::string_view a, std::string_view b) {
  std::string msg;
  msg.reserve(label.size() + 8 + a.size() + b.size());
  msg.append(label).push_back('|');
  msg.append(to_string(r)).push_back('|');
  msg.append(a).push_back('|');
  msg.append(b);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), k.bytes.data(), static_cast<int>(k.bytes.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

bool hex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

}  // namespace

std::string to_string(role r) { return r == role::admin ? "admin" : "invoke"; }

std::optional<role> role_of(std::string_view s) {
  if (s == "admin") return role::admin;
  if (s == "invoke") return role::invoke;
  return std::nullopt;
}

result<key> load_key(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) return status::not_found("no key file '" + file.string() + "'");
    return status::invalid("cannot read key file '" + file.string() + "': " + std::strerror(errno));
  }
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return status::invalid("key file '" + file.string() + "' may be read by others (mode " + mode +
                           "): chmod 600 it");
  }
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  if (!in && !in.eof()) return status::invalid("cannot read key file '" + file.string() + "'");
  if (!hex64(text)) return status::invalid("key file '" + file.string() + "' does not hold 64 hex characters");
  return key{text};
}

std::string fresh_nonce() {
  std::string n(32, '\0');
  for (std::size_t got = 0; got < n.size();) {
    ssize_t r = ::getrandom(n.data() + got, n.size() - got, 0);
    if (r > 0) got += static_cast<std::size_t>(r);
  }
  return n;
}

result<key> create_key(const std::filesystem::path& file) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string raw = fresh_nonce(), text;
  for (unsigned char c : raw) text += {hex[c >> 4], hex[c & 15]};
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return status::invalid("cannot create key file '" + file.string() + "': " + std::strerror(errno));
  std::string line = text + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return status::internal("cannot write key file '" + file.string() + "'");
  return key{text};
}

result<key> load_or_create_key(const std::filesystem::path& file) {
  auto k = load_key(file);
  if (!k && k.error().code() == errc::not_found) return create_key(file);
  return k;
}

std::string client_proof(const key& k, role r, std::string_view server_nonce, std::string_view client_nonce) {
  return hmac(k, "trail-client", r, server_nonce, client_nonce);
}

std::string server_proof(const key& k, role r, std::string_view client_nonce, std::string_view server_nonce) {
  return hmac(k, "trail-server", r, client_nonce, server_nonce);
}

namespace {

constexpr std::size_t wrap_iv = 12, wrap_tag = 16;
constexpr std::string_view wrap_aad = "trail invoke token";

// The AES key sealed keys are wrapped with: never the secret itself.
std::string wrapping_key(const key& secret) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  constexpr std::string_view label = "trail-key-wrap";
  HMAC(EVP_sha256(), secret.bytes.data(), static_cast<int>(secret.bytes.size()),
       reinterpret_cast<const unsigned char*>(label.data()), label.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// AES-256-GCM one way or the other: `in` to `out` (same size); the tag is
// written (sealing) or checked (opening). False: the tag did not match.
bool gcm(bool seal, const std::string& k, std::string_view iv, std::string_view in, std::string& out,
         std::string& tag) {
  auto u = [](std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); };
  auto size = [](std::string_view s) { return static_cast<int>(s.size()); };
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx) return false;
  EVP_CIPHER_CTX* c = ctx.get();
  int n = 0, enc = seal ? 1 : 0;
  out.assign(in.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (seal) tag.assign(wrap_tag, '\0');
  return EVP_CipherInit_ex(c, EVP_aes_256_gcm(), nullptr, nullptr, nullptr, enc) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, size(iv), nullptr) == 1 &&
         EVP_CipherInit_ex(c, nullptr, nullptr, u(k), u(iv), enc) == 1 &&
         EVP_CipherUpdate(c, nullptr, &n, u(wrap_aad), size(wrap_aad)) == 1 &&
         EVP_CipherUpdate(c, o, &n, u(in), size(in)) == 1 &&
         (seal || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, size(tag), tag.data()) == 1) &&
         EVP_CipherFinal_ex(c, o + n, &n) == 1 &&
         (!seal || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, size(tag), tag.data()) == 1);
}

}  // namespace

std::string wrap_key(const key& secret, const key& payload) {
  std::string iv = fresh_nonce().substr(0, wrap_iv), sealed, tag;
  bool ok = gcm(true, wrapping_key(secret), iv, payload.bytes, sealed, tag);
  TRAIL_ASSERT(ok, "AES-256-GCM sealing failed");
  return iv + sealed + tag;
}

result<key> unwrap_key(const key& secret, std::string_view wrapped) {
  if (wrapped.size() <= wrap_iv + wrap_tag) return status::invalid("a sealed key too short to hold one");
  std::string tag(wrapped.substr(wrapped.size() - wrap_tag)), opened;
  if (!gcm(false, wrapping_key(secret), wrapped.substr(0, wrap_iv),
           wrapped.substr(wrap_iv, wrapped.size() - wrap_iv - wrap_tag), opened, tag))
    return status::invalid("a sealed key does not open with this secret (another cluster's, or changed on the way)");
  return key{std::move(opened)};
}

bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

result<std::optional<credentials>> credentials_from_env() {
  for (auto [var, r] : {std::pair{"TRAIL_SECRET_FILE", role::admin}, std::pair{"TRAIL_TOKEN_FILE", role::invoke}}) {
    const char* path = std::getenv(var);
    if (!path || !*path) continue;
    auto k = load_key(path);
    if (!k) return k.error().prefixed(std::string(var));
    return std::optional<credentials>{credentials{std::move(*k), r}};
  }
  return std::optional<credentials>{};
}

status client_handshake(const ask_fn& ask, std::uint32_t version, const credentials* cred, std::string* redirect) {
  schema::client_request hello;
  hello.what = schema::client_request::kind::hello;
  hello.version = version;
  auto r = ask(hello);
  if (!r) return r.error();
  if (r->what == schema::client_reply::kind::hello) return {};  // no authentication wanted
  if (r->what == schema::client_reply::kind::redirect) {
    if (redirect) *redirect = r->text;
    return status::unavailable(r->why.empty() ? "redirected to " + r->text : r->why);
  }
  if (r->what != schema::client_reply::kind::challenge) return status::invalid("the server answered hello with something else");
  if (!cred)
    return status::invalid("the server requires authentication: give its secret (--secret-file or TRAIL_SECRET_FILE) "
                           "or an invoke token (TRAIL_TOKEN_FILE)");
  std::string server_nonce = r->nonce;
  schema::client_request auth;
  auth.what = schema::client_request::kind::auth;
  auth.nonce = fresh_nonce();
  auth.role = to_string(cred->as);
  auth.proof = client_proof(cred->k, cred->as, server_nonce, auth.nonce);
  std::string client_nonce = auth.nonce;
  auto ok = ask(std::move(auth));
  if (!ok) return ok.error();
  if (ok->what != schema::client_reply::kind::auth_ok || !same(ok->proof, server_proof(cred->k, cred->as, client_nonce, server_nonce)))
    return status::invalid("the server's proof is wrong: it does not hold the same key");
  return {};
}

}  // namespace trail::net
