#include "events.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

#include "campaigns.hpp"

namespace streaming {
namespace {

// Walks a flat JSON object ({"k":v,...} with string, number or literal
// values; no nesting), calling on_field(key, value, quoted) per field.
// Returns false when the text is not such an object. Values are raw views:
// a string's escapes are left as they are (no field this pipeline matches
// on needs them, and an escaped ad_id simply fails the join).
template <class F>
bool scan_object(std::string_view s, F&& on_field) {
  std::size_t i = 0;
  auto ws = [&] { while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i; };
  auto string_at = [&](std::string_view& out) {
    if (i >= s.size() || s[i] != '"') return false;
    std::size_t start = ++i;
    while (i < s.size() && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
    if (i >= s.size()) return false;
    out = s.substr(start, i++ - start);
    return true;
  };
  ws();
  if (i >= s.size() || s[i++] != '{') return false;
  ws();
  if (i < s.size() && s[i] == '}') return ++i, ws(), i == s.size();
  for (;;) {
    std::string_view key, value;
    ws();
    if (!string_at(key)) return false;
    ws();
    if (i >= s.size() || s[i++] != ':') return false;
    ws();
    bool quoted = i < s.size() && s[i] == '"';
    if (quoted) {
      if (!string_at(value)) return false;
    } else {
      std::size_t start = i;
      while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ' ' && s[i] != '{' && s[i] != '[') ++i;
      value = s.substr(start, i - start);
      if (value.empty()) return false;
    }
    on_field(key, value, quoted);
    ws();
    if (i >= s.size()) return false;
    if (s[i] == '}') return ++i, ws(), i == s.size();
    if (s[i++] != ',') return false;
  }
}

std::optional<std::int64_t> non_negative(std::string_view v) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < 0) return std::nullopt;
  return n;
}

std::optional<event_type> type_of(std::string_view v) {
  if (v == "view") return event_type::view;
  if (v == "click") return event_type::click;
  if (v == "purchase") return event_type::purchase;
  return std::nullopt;
}

bool known_ad_type(std::string_view v) {
  return v == "banner" || v == "modal" || v == "sponsored-search" || v == "mail" || v == "mobile";
}

struct header {
  std::int64_t window_ms = 0;
  std::optional<std::int64_t> until_ms;
  bool last = false;
};

header parse_header(std::uint64_t seq, std::string_view line) {
  header h;
  std::string problem;
  bool ok = scan_object(line, [&](std::string_view k, std::string_view v, bool quoted) {
    if (k == "window_ms") {
      auto n = quoted ? std::optional<std::int64_t>{} : non_negative(v);
      if (!n || *n == 0) problem = "window_ms must be a positive integer";
      else h.window_ms = *n;
    } else if (k == "until_ms") {
      h.until_ms = quoted ? std::optional<std::int64_t>{} : non_negative(v);
      if (!h.until_ms) problem = "until_ms must be a non-negative integer";
    } else if (k == "last") {
      if (quoted || (v != "true" && v != "false")) problem = "last must be true or false";
      h.last = v == "true";
    }
  });
  if (!ok) problem = "not a flat JSON object";
  if (problem.empty() && h.window_ms == 0) problem = "window_ms is missing";
  if (!problem.empty())
    throw std::invalid_argument("streaming: batch " + std::to_string(seq) + ": bad header line '" +
                                std::string(line.substr(0, 200)) + "': " + problem);
  return h;
}

}  // namespace

std::optional<event> parse_event(std::string_view line) {
  std::string_view ad, ad_type, type, time;
  int present = 0, fields = 0;  // bit per required field; fields of the right kind
  bool ok = scan_object(line, [&](std::string_view k, std::string_view v, bool quoted) {
    auto take = [&](int bit, std::string_view& into, bool must_quote) {
      present |= bit;
      if (!must_quote || quoted) into = v, fields |= bit;
    };
    std::string_view ignored;
    if (k == "user_id") take(1, ignored, true);
    else if (k == "page_id") take(2, ignored, true);
    else if (k == "ad_id") take(4, ad, true);
    else if (k == "ad_type") take(8, ad_type, true);
    else if (k == "event_type") take(16, type, true);
    else if (k == "event_time") take(32, time, false);  // a number, or digits in a string as the original sends it
    else if (k == "ip_address") take(64, ignored, true);
  });
  if (!ok || present != 127 || fields != 127 || !known_ad_type(ad_type)) return std::nullopt;
  auto t = type_of(type);
  auto ms = non_negative(time);
  auto campaign = campaign_of(ad);
  if (!t || !ms || !campaign) return std::nullopt;
  return event{*campaign, *t, *ms};
}

partial summarize_batch(std::uint64_t seq, std::string_view batch) {
  std::size_t eol = std::min(batch.find('\n'), batch.size());
  header h = parse_header(seq, batch.substr(0, eol));
  partial p;
  p.seq = seq, p.window_ms = h.window_ms, p.last = h.last;
  p.watermark = h.until_ms.value_or(no_watermark);
  for (std::size_t at = eol + 1; at < batch.size();) {
    std::size_t end = std::min(batch.find('\n', at), batch.size());
    std::string_view line = batch.substr(at, end - at);
    at = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank lines are no events
    auto e = parse_event(line);
    if (!e) {
      ++p.counted.rejected;
      continue;
    }
    ++p.counted.events;
    p.watermark = std::max(p.watermark, e->time_ms);
    if (e->type != event_type::view) continue;
    ++p.counted.views;
    ++p.counts[{window_start(e->time_ms, h.window_ms), e->campaign}];
  }
  return p;
}

std::optional<std::uint64_t> batch_seq(std::string_view key) {
  if (!key.starts_with("b-")) return std::nullopt;
  auto n = non_negative(key.substr(2));
  if (!n) return std::nullopt;
  return static_cast<std::uint64_t>(*n);
}

}  // namespace streaming
