// Data in and out: `put` and `get` (client.hpp's put_stream and get_to).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"

namespace trail::cli {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// A file descriptor as a stream, read with read(2) in large blocks; closed
// with the stream unless it is standard input.
class fd_buf : public std::streambuf {
 public:
  explicit fd_buf(int fd) : fd_(fd), buf_(1 << 20) {}
  ~fd_buf() override {
    if (fd_ > 0) ::close(fd_);
  }

 protected:
  int_type underflow() override {
    ssize_t n;
    do n = ::read(fd_, buf_.data(), buf_.size());
    while (n < 0 && errno == EINTR);
    if (n <= 0) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  int fd_;
  std::vector<char> buf_;
};

// What `put` sends: a file (streamed), or standard input — streamed when it
// is a regular file (its size is known); a pipe is first spooled to an
// unlinked file in TMPDIR (a put announces its size), never held in memory.
struct put_source {
  std::unique_ptr<std::streambuf> buf;
  std::unique_ptr<std::istream> in;
  std::uint64_t size = 0;
};

// Copies standard input into an anonymous temporary file; returns it, rewound.
result<int> spool_stdin(std::uint64_t& size) {
  auto dir = fs::temp_directory_path();
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return status::unavailable("cannot spool standard input in " + dir.string() + ": " + std::strerror(errno));
  std::vector<char> buf(1 << 20);
  size = 0;
  for (;;) {
    ssize_t n = ::read(0, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return status::unavailable(std::string("cannot read standard input: ") + std::strerror(errno));
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(fd, buf.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        ::close(fd);
        return status::unavailable("cannot spool standard input in " + dir.string() + ": " + std::strerror(errno));
      }
      done += w;
    }
    size += static_cast<std::uint64_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

status open_source(const std::string& path, put_source& src) {
  if (path != "-") {
    std::error_code ec;
    src.size = fs::file_size(path, ec);
    if (ec) return status::not_found("cannot read '" + path + "': " + ec.message());
    auto f = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (!*f) return status::not_found("cannot read '" + path + "'");
    src.in = std::move(f);
    return {};
  }
  struct stat st {};
  off_t at = ::lseek(0, 0, SEEK_CUR);
  int fd = 0;
  if (::fstat(0, &st) == 0 && S_ISREG(st.st_mode) && at >= 0) {
    src.size = static_cast<std::uint64_t>(st.st_size - at);
  } else {
    auto spooled = spool_stdin(src.size);
    if (!spooled) return spooled.error();
    fd = *spooled;
  }
  src.buf = std::make_unique<fd_buf>(fd);
  src.in = std::make_unique<std::istream>(src.buf.get());
  return {};
}

const char* put_synopsis = "put APP BUCKET KEY (FILE|-) [--session [--wait]] [--timeout MS]";
int run_put(session& s, const call& k) {
  std::string app, bucket, key, file;
  bool in_session = false, wait = false;
  std::uint64_t timeout_ms = 60000;
  CLI::App p;
  p.add_option("app", app)->required();
  p.add_option("bucket", bucket)->required();
  p.add_option("key", key)->required();
  p.add_option("file", file)->required();
  p.add_flag("--session", in_session);
  p.add_flag("--wait", wait);
  p.add_option("--timeout", timeout_ms);
  if (!parse_args(p, put_synopsis, k)) return 2;
  if (wait && !in_session) return fail("--wait needs --session (an app-scoped put has no session to wait for)");
  put_source src;
  if (status st = open_source(file, src); !st.ok()) return fail(st);
  client* c = s.connect();
  if (!c) return 1;
  auto scope = in_session ? put_scope::new_session : put_scope::app;
  auto r = c->put_stream(app, bucket, key, *src.in, src.size, scope, std::chrono::milliseconds(timeout_ms));
  if (!r) return fail(r.error());
  json out{{"app", app}, {"bucket", bucket}, {"key", key}, {"size", r->size}};
  if (in_session) out["session"] = r->session;
  if (wait) {
    auto w = c->result_of(r->session, std::chrono::milliseconds(timeout_ms));
    if (!w) return fail(w.error());
    out["output"] = w->output;
  }
  if (k.json) std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  else if (wait) std::cout << out["output"].get<std::string>() << "\n";
  else if (in_session) std::cout << r->session << "\n";
  else std::cerr << "put " << bucket << "/" << key << " into " << app << " (" << r->size << " bytes)\n";
  return 0;
}

const char* get_synopsis = "get APP BUCKET KEY [-o FILE]";
int run_get(session& s, const call& k) {
  std::string app, bucket, key, file;
  CLI::App p;
  p.add_option("app", app)->required();
  p.add_option("bucket", bucket)->required();
  p.add_option("key", key)->required();
  p.add_option("-o,--output", file);
  if (!parse_args(p, get_synopsis, k)) return 2;
  client* c = s.connect();
  if (!c) return 1;
  if (!file.empty()) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) return fail("cannot write '" + file + "': " + std::strerror(errno));
    auto n = c->get_to(app, bucket, key, out);
    out.close();
    if (!n) {
      fs::remove(file);  // never leave a partial object behind
      return fail(n.error());
    }
    if (!out) return fail("cannot write '" + file + "'");
    if (k.json) std::cout << json{{"app", app}, {"bucket", bucket}, {"key", key}, {"size", *n}, {"file", file}}.dump() << "\n";
    return 0;
  }
  if (k.json) {
    auto bytes = c->get(app, bucket, key);
    if (!bytes) return fail(bytes.error());
    json out{{"app", app}, {"bucket", bucket}, {"key", key}, {"size", bytes->size()}, {"data", *bytes}};
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
  }
  auto n = c->get_to(app, bucket, key, std::cout);  // the bytes as they are: no newline added
  if (!n) return fail(n.error());
  std::cout.flush();
  return 0;
}

}  // namespace

void add_data_commands(command_table& t) {
  t.add({"put", put_synopsis, "put an object (a file, or - for stdin) into an app's bucket",
         "The object lands in bucket BUCKET of APP under KEY and fires the bucket's triggers like any\n"
         "object a function sends. Large objects stream in chunks; the node writes them straight into\n"
         "its store.\n"
         "  (default)     in the app's scope: its app-scoped triggers see it, and `get` reads it back;\n"
         "                a key is written once\n"
         "  --session     in a new session's scope: every trigger of the bucket sees it; prints the\n"
         "                session id (its output: `result ID`)\n"
         "  --wait        with --session: wait for the session's output and print it instead\n"
         "  --timeout MS  the session's deadline (default 60000)\n"
         "  --json        {\"app\",\"bucket\",\"key\",\"size\"[,\"session\"][,\"output\"]}",
         "app", completes::apps, run_put});
  t.add({"get", get_synopsis, "read an app-scoped object (to stdout, or -o FILE)",
         "Writes the object's bytes, as they are, to stdout or FILE (removed again if the get fails).\n"
         "  -o FILE   write to FILE\n"
         "  --json    {\"app\",\"bucket\",\"key\",\"size\",\"data\"} (or \"file\" with -o)",
         "app", completes::apps, run_get});
}

}  // namespace trail::cli
