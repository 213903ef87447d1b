// Test helpers for Prometheus metrics: a strict parser of the text
// exposition format (version 0.0.4) and a plain HTTP GET over a real socket.
//
// The parser accepts only what trail's exporter promises, and rejects the
// rest with the line number and why:
//   - every line is "# HELP name text", "# TYPE name type" or a sample
//     "name{label="value",...} value" (labels optional, no timestamps);
//   - every sample belongs to a family whose TYPE came before it (a
//     histogram's samples are name_bucket / name_sum / name_count);
//   - label values use only the escapes \\ \" \n; no label is given twice;
//   - counters are >= 0; each series appears once;
//   - a histogram's buckets, per label set, have increasing `le` bounds,
//     non-decreasing counts, end in le="+Inf", and its _count equals the
//     +Inf bucket; _sum is there.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <trail/status.hpp>

namespace trail::testing {

struct prom_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct prom_family {
  std::string type, help;
  std::vector<prom_sample> samples;
};

struct prom_text {
  std::map<std::string, prom_family> families;

  // The value of series `name` with exactly `labels`, if it is there.
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (auto& [fname, f] : families)
      for (auto& s : f.samples)
        if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }
};

namespace prom_detail {

inline bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
inline bool name_char(char c) { return name_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

inline std::optional<double> parse_value(const std::string& v) {
  if (v == "+Inf") return HUGE_VAL;
  if (v == "-Inf") return -HUGE_VAL;
  if (v == "NaN") return std::nan("");
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || v.find_first_of("iInN") != std::string::npos) return std::nullopt;
  return d;
}

// Parses `name{labels} value` into `s`; an error text if it is not that.
inline std::string parse_sample(const std::string& line, prom_sample& s) {
  std::size_t i = 0;
  if (line.empty() || !name_start(line[0])) return "a sample must start with a metric name";
  while (i < line.size() && name_char(line[i])) ++i;
  s.name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      std::size_t start = i;
      if (!std::isalpha(static_cast<unsigned char>(line[i])) && line[i] != '_') return "bad label name";
      while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_')) ++i;
      std::string lname = line.substr(start, i - start);
      if (line.compare(i, 2, "=\"") != 0) return "label " + lname + " without =\"";
      i += 2;
      std::string value;
      for (;; ++i) {
        if (i >= line.size()) return "unterminated label value";
        char c = line[i];
        if (c == '"') break;
        if (c == '\n') return "raw newline in a label value";
        if (c != '\\') {
          value += c;
          continue;
        }
        if (++i >= line.size()) return "dangling backslash";
        if (line[i] == '\\') value += '\\';
        else if (line[i] == '"') value += '"';
        else if (line[i] == 'n') value += '\n';
        else return std::string("unknown escape \\") + line[i];
      }
      ++i;  // the closing quote
      if (!s.labels.emplace(lname, value).second) return "label " + lname + " given twice";
      if (i < line.size() && line[i] == ',') ++i;
      else if (i < line.size() && line[i] != '}') return "expected , or } after a label";
    }
    if (i >= line.size()) return "unterminated label set";
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return "expected one space before the value";
  auto v = parse_value(line.substr(i + 1));
  if (!v) return "bad value '" + line.substr(i + 1) + "' (or a timestamp, which trail never sends)";
  s.value = *v;
  return {};
}

// Which declared family a sample name belongs to.
inline std::string family_of(const prom_text& t, const std::string& name) {
  if (t.families.contains(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string sfx = suffix;
    if (name.size() > sfx.size() && name.ends_with(sfx)) {
      auto base = name.substr(0, name.size() - sfx.size());
      auto it = t.families.find(base);
      if (it != t.families.end() && it->second.type == "histogram") return base;
    }
  }
  return {};
}

inline std::string check_histogram(const std::string& name, const prom_family& f) {
  // Per label set (without le): the buckets in order, the sum, the count.
  struct series {
    std::vector<std::pair<double, double>> buckets;
    std::optional<double> sum, count;
  };
  std::map<std::map<std::string, std::string>, series> by;
  for (auto& s : f.samples) {
    auto labels = s.labels;
    if (s.name == name + "_bucket") {
      if (!labels.contains("le")) return name + "_bucket without le";
      auto le = parse_value(labels["le"]);
      if (!le) return name + "_bucket with a bad le: " + labels["le"];
      labels.erase("le");
      by[labels].buckets.push_back({*le, s.value});
    } else if (s.name == name + "_sum") {
      by[labels].sum = s.value;
    } else if (s.name == name + "_count") {
      by[labels].count = s.value;
    } else {
      return "sample " + s.name + " in histogram " + name;
    }
  }
  if (by.empty()) return "histogram " + name + " has no samples";
  for (auto& [labels, s] : by) {
    if (s.buckets.empty() || !std::isinf(s.buckets.back().first)) return name + ": the last bucket is not le=\"+Inf\"";
    for (std::size_t i = 1; i < s.buckets.size(); ++i) {
      if (!(s.buckets[i].first > s.buckets[i - 1].first)) return name + ": le bounds not increasing";
      if (s.buckets[i].second < s.buckets[i - 1].second) return name + ": buckets not cumulative";
    }
    if (!s.sum) return name + "_sum missing";
    if (!s.count) return name + "_count missing";
    if (*s.count != s.buckets.back().second) return name + "_count differs from the +Inf bucket";
  }
  return {};
}

}  // namespace prom_detail

// Parses `text` strictly (see the top of this file).
inline result<prom_text> parse_prometheus(const std::string& text) {
  using namespace prom_detail;
  prom_text t;
  if (!text.empty() && text.back() != '\n') return status::invalid("the text does not end with a newline");
  std::size_t line_no = 0, at = 0;
  std::map<std::pair<std::string, std::map<std::string, std::string>>, bool> seen;
  while (at < text.size()) {
    auto nl = text.find('\n', at);
    std::string line = text.substr(at, nl - at);
    at = nl + 1;
    ++line_no;
    auto bad = [&](const std::string& why) { return status::invalid("line " + std::to_string(line_no) + ": " + why + ": " + line); };
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      auto rest = line.substr(7);
      auto sp = rest.find(' ');
      if (sp == std::string::npos || sp == 0) return bad("no metric name and text");
      std::string name = rest.substr(0, sp), what = rest.substr(sp + 1);
      if (!name_start(name[0])) return bad("bad metric name");
      for (char c : name)
        if (!name_char(c)) return bad("bad metric name");
      auto& f = t.families[name];
      if (line[2] == 'H') {
        if (!f.help.empty()) return bad("HELP given twice");
        f.help = what.empty() ? " " : what;
      } else {
        if (!f.type.empty()) return bad("TYPE given twice");
        if (!f.samples.empty()) return bad("TYPE after samples");
        if (what != "counter" && what != "gauge" && what != "histogram" && what != "summary" && what != "untyped")
          return bad("unknown type");
        f.type = what;
      }
      continue;
    }
    if (line.empty() || line[0] == '#') return bad("only HELP and TYPE comments, and no blank lines, are expected");
    prom_sample s;
    if (auto why = parse_sample(line, s); !why.empty()) return bad(why);
    auto fam = family_of(t, s.name);
    if (fam.empty() || t.families[fam].type.empty()) return bad("sample of a family without a TYPE before it");
    auto& f = t.families[fam];
    if (f.type == "counter" && !(s.value >= 0)) return bad("negative counter");
    if (!seen.emplace(std::pair{s.name, s.labels}, true).second) return bad("series given twice");
    f.samples.push_back(std::move(s));
  }
  for (auto& [name, f] : t.families) {
    if (f.type.empty()) return status::invalid("family " + name + " has HELP but no TYPE");
    if (f.type == "histogram")
      if (auto why = check_histogram(name, f); !why.empty()) return status::invalid(why);
  }
  return t;
}

struct http_reply {
  int code = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// One HTTP/1.1 request to "HOST:PORT" (IPv4 literal) over a fresh
// connection; reads the reply to its end (the server closes). Errors:
// unavailable (no connection, no complete reply within `timeout`).
inline result<http_reply> http_request(const std::string& address, const std::string& method, const std::string& path,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  if (::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1)
    return status::invalid("not an IPv4 address: " + address);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return status::unavailable("cannot connect to " + address);
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + address + "\r\nAccept: text/plain\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return status::unavailable("cannot send the request");
  }
  std::string raw;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      ::close(fd);
      return status::unavailable("no complete reply within the timeout; got: " + raw);
    }
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  http_reply r;
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || !raw.starts_with("HTTP/1.1 ")) return status::invalid("not an HTTP reply: " + raw);
  r.code = std::atoi(raw.c_str() + 9);
  std::size_t at = raw.find("\r\n") + 2;
  while (at < head_end) {
    auto eol = raw.find("\r\n", at);
    auto line = raw.substr(at, eol - at);
    at = eol + 2;
    auto colon_at = line.find(':');
    if (colon_at == std::string::npos) return status::invalid("bad header line: " + line);
    std::string name = line.substr(0, colon_at);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = line.substr(line.find_first_not_of(' ', colon_at + 1));
  }
  r.body = raw.substr(head_end + 4);
  if (method != "HEAD" && r.headers.contains("content-length") &&
      std::stoul(r.headers["content-length"]) != r.body.size())
    return status::invalid("Content-Length " + r.headers["content-length"] + " but " + std::to_string(r.body.size()) +
                           " body bytes");
  return r;
}

}  // namespace trail::testing
