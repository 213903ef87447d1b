#include "actors/net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace trail::net {
namespace {

// OpenSSL's reasons for the last failure, oldest first, then cleared.
std::string openssl_errors() {
  std::string why;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!why.empty()) why += "; ";
    why += buf;
  }
  return why.empty() ? "unknown TLS error" : why;
}

}  // namespace

struct tls_context::impl {
  SSL_CTX* ctx = nullptr;
  bool server = false;
  ~impl() {
    if (ctx) SSL_CTX_free(ctx);
  }
};

tls_context::tls_context(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
tls_context::~tls_context() = default;

namespace {

result<std::unique_ptr<tls_context::impl>> make(bool server) {
  auto i = std::make_unique<tls_context::impl>();
  i->server = server;
  i->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!i->ctx) return status::internal("cannot make a TLS context: " + openssl_errors());
  SSL_CTX_set_min_proto_version(i->ctx, TLS1_3_VERSION);
  SSL_CTX_set_options(i->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  if (server) SSL_CTX_set_num_tickets(i->ctx, 0);
  return i;
}

}  // namespace

result<std::shared_ptr<tls_context>> tls_context::server(const std::filesystem::path& cert,
                                                         const std::filesystem::path& key) {
  auto i = make(true);
  if (!i) return i.error();
  SSL_CTX* ctx = (*i)->ctx;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    return status::invalid("--tls-cert '" + cert.string() + "': " + openssl_errors());
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    bool mismatch = ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH;
    std::string why = openssl_errors();
    if (mismatch)
      return status::invalid("--tls-key '" + key.string() + "' is not the key of --tls-cert '" + cert.string() + "'");
    return status::invalid("--tls-key '" + key.string() + "': " + why);
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    return status::invalid("--tls-key '" + key.string() + "' is not the key of --tls-cert '" + cert.string() + "'");
  return std::shared_ptr<tls_context>(new tls_context(std::move(*i)));
}

result<std::shared_ptr<tls_context>> tls_context::client(const std::filesystem::path& ca) {
  auto i = make(false);
  if (!i) return i.error();
  SSL_CTX* ctx = (*i)->ctx;
  if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1)
    return status::invalid("--tls-ca '" + ca.string() + "': " + openssl_errors());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return std::shared_ptr<tls_context>(new tls_context(std::move(*i)));
}

struct tls_engine::state {
  SSL* ssl = nullptr;
  BIO* in = nullptr;   // cipher bytes fed, for OpenSSL to read (owned by ssl)
  BIO* out = nullptr;  // cipher bytes OpenSSL wrote, to send (owned by ssl)
  ~state() {
    if (ssl) SSL_free(ssl);
  }
};

tls_engine::tls_engine(std::shared_ptr<tls_context> ctx) : ctx_(std::move(ctx)), s_(std::make_unique<state>()) {
  s_->ssl = SSL_new(ctx_->raw().ctx);
  s_->in = BIO_new(BIO_s_mem());
  s_->out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(s_->in, -1);  // empty means "more to come", not end of stream
  SSL_set_bio(s_->ssl, s_->in, s_->out);
  if (ctx_->raw().server) SSL_set_accept_state(s_->ssl);
  else SSL_set_connect_state(s_->ssl);
}

tls_engine::~tls_engine() = default;

void tls_engine::feed(std::span<const std::byte> cipher) {
  if (!cipher.empty()) BIO_write(s_->in, cipher.data(), static_cast<int>(cipher.size()));
}

result<bool> tls_engine::handshake() {
  if (established_) return true;
  ERR_clear_error();
  int r = SSL_do_handshake(s_->ssl);
  if (r == 1) return established_ = true;
  int e = SSL_get_error(s_->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
  std::string why = openssl_errors();
  if (long v = SSL_get_verify_result(s_->ssl); v != X509_V_OK)
    why = std::string("the server's certificate: ") + X509_verify_cert_error_string(v);
  return status::invalid("TLS handshake failed: " + why);
}

result<std::size_t> tls_engine::read(std::span<std::byte> into) {
  if (into.empty()) return std::size_t{0};
  ERR_clear_error();
  int r = SSL_read(s_->ssl, into.data(), static_cast<int>(std::min<std::size_t>(into.size(), 1 << 30)));
  if (r > 0) return static_cast<std::size_t>(r);
  int e = SSL_get_error(s_->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return std::size_t{0};
  if (e == SSL_ERROR_ZERO_RETURN) return status::unavailable("the peer closed the TLS stream");
  return status::invalid("broken TLS stream: " + openssl_errors());
}

status tls_engine::write(std::span<const std::byte> plain) {
  while (!plain.empty()) {
    ERR_clear_error();
    int n = static_cast<int>(std::min<std::size_t>(plain.size(), 1 << 30));
    int r = SSL_write(s_->ssl, plain.data(), n);
    if (r <= 0) return status::invalid("cannot encrypt: " + openssl_errors());
    plain = plain.subspan(static_cast<std::size_t>(r));
  }
  return {};
}

bool tls_engine::has_output() const { return BIO_ctrl_pending(s_->out) > 0; }

void tls_engine::take_output(std::string& out) {
  std::size_t pending = BIO_ctrl_pending(s_->out);
  if (pending == 0) return;
  std::size_t at = out.size();
  out.resize(at + pending);
  int n = BIO_read(s_->out, out.data() + at, static_cast<int>(pending));
  out.resize(at + static_cast<std::size_t>(std::max(n, 0)));
}

namespace {

status send_output(socket& s, tls_engine& e, const io_limits& io) {
  if (!e.has_output()) return {};
  std::string out;
  e.take_output(out);
  const iovec part[] = {io_part(out.data(), out.size())};
  return s.write(part, io);
}

// Plaintext is encrypted, and cipher bytes sent and read, this much at a
// time: large writes pipeline (the peer decrypts one piece while the next
// is encrypted) and stay in cache.
constexpr std::size_t tls_piece = 64u << 10;

// Reads what cipher bytes came (at least one) and feeds them.
status feed_more(socket& s, tls_engine& e, const io_limits& io) {
  thread_local std::vector<std::byte> buf(tls_piece);
  const iovec part[] = {io_part(buf.data(), buf.size())};
  auto n = s.read_at_least(part, 1, io);
  if (!n) return n.error();
  e.feed(std::span<const std::byte>(buf.data(), *n));
  return {};
}

}  // namespace

status tls_handshake(socket& s, tls_engine& e, const io_limits& io) {
  for (;;) {
    auto done = e.handshake();
    if (!done) {
      (void)send_output(s, e, io);  // the alert, so the peer knows why
      return done.error();
    }
    if (status st = send_output(s, e, io); !st.ok()) return st;
    if (*done) return {};
    if (status st = feed_more(s, e, io); !st.ok())
      return status::unavailable("the TLS handshake with " + s.peer_address() + " broke off (does it speak TLS, "
                                 "and trust our certificate?): " + st.message());
  }
}

status tls_write(socket& s, tls_engine& e, std::span<const iovec> parts, const io_limits& io) {
  std::string out;  // cipher bytes; small parts go out together
  auto send = [&]() -> status {
    const iovec part[] = {io_part(out.data(), out.size())};
    status st = s.write(part, io);
    out.clear();
    return st;
  };
  for (const iovec& p : parts) {
    auto plain = std::span(static_cast<const std::byte*>(p.iov_base), p.iov_len);
    while (!plain.empty()) {
      auto piece = plain.first(std::min(plain.size(), tls_piece));
      if (status st = e.write(piece); !st.ok()) return st;
      plain = plain.subspan(piece.size());
      e.take_output(out);
      if (out.size() >= tls_piece)
        if (status st = send(); !st.ok()) return st;
    }
  }
  e.take_output(out);
  return out.empty() ? status{} : send();
}

result<std::size_t> tls_read_at_least(socket& s, tls_engine& e, std::span<const iovec> parts, std::size_t at_least,
                                      const io_limits& io) {
  std::size_t got = 0;
  std::size_t part = 0, off = 0;
  for (;;) {
    while (part < parts.size()) {  // what is decrypted already
      auto room = std::span(static_cast<std::byte*>(parts[part].iov_base) + off, parts[part].iov_len - off);
      auto n = e.read(room);
      if (!n) return n.error();
      if (*n == 0) break;
      got += *n;
      off += *n;
      if (off == parts[part].iov_len) ++part, off = 0;
    }
    if (got >= at_least || part == parts.size()) return got;
    if (status st = send_output(s, e, io); !st.ok()) return st;  // (a post-handshake answer, if any)
    if (status st = feed_more(s, e, io); !st.ok()) return st;
  }
}

namespace {
std::string from_env(const std::string& given, const char* name) {
  if (!given.empty()) return given;
  const char* v = std::getenv(name);
  return v ? v : "";
}
}  // namespace

result<std::shared_ptr<tls_context>> client_tls_from_env(const std::string& ca) {
  std::string file = from_env(ca, "TRAIL_TLS_CA");
  if (file.empty()) return std::shared_ptr<tls_context>();
  return tls_context::client(file);
}

result<std::shared_ptr<tls_context>> server_tls_from(std::string cert, std::string key) {
  cert = from_env(cert, "TRAIL_TLS_CERT");
  key = from_env(key, "TRAIL_TLS_KEY");
  if (cert.empty() && key.empty()) return std::shared_ptr<tls_context>();
  if (cert.empty() || key.empty()) return status::invalid("TLS needs both --tls-cert and --tls-key");
  return tls_context::server(cert, key);
}

result<member_tls> member_tls_from(const std::string& cert, const std::string& key, const std::string& ca) {
  auto server = server_tls_from(cert, key);
  if (!server) return server.error();
  auto client = client_tls_from_env(ca);
  if (!client) return client.error();
  if (*server && !*client)
    return status::invalid("a cluster member with --tls-cert needs --tls-ca too (or TRAIL_TLS_CA): it checks the "
                           "members it dials against the cluster's CA");
  if (!*server && *client)
    return status::invalid("a cluster member with --tls-ca needs its own --tls-cert and --tls-key too (or "
                           "TRAIL_TLS_CERT/TRAIL_TLS_KEY): every wire between members is TLS, or none is");
  return member_tls{*server, *client};
}

}  // namespace trail::net
