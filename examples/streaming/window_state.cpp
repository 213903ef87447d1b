#include "window_state.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

// Text form, one record per line, fields separated by one space:
//   state <next> <watermark> <window_ms> <finished> <windows> <totals>
//   partial <seq> <watermark> <window_ms> <last> <totals>
//   count <window_start> <campaign> <n>
// where <totals> is "<events> <views> <rejected> <late>". `count` lines
// belong to the partial above them, or, before any partial, to the state's
// open windows. A carried state is a `state` line, its open counts, then the
// partials it holds beyond its prefix.

namespace streaming {

totals& totals::operator+=(const totals& o) {
  events += o.events, views += o.views, rejected += o.rejected, late += o.late;
  return *this;
}

namespace {

std::string totals_text(const totals& t) {
  return std::to_string(t.events) + ' ' + std::to_string(t.views) + ' ' + std::to_string(t.rejected) + ' ' +
         std::to_string(t.late);
}

void append_counts(std::string& out, const window_counts& counts) {
  for (const auto& [key, n] : counts)
    out += "count " + std::to_string(key.first) + ' ' + std::to_string(key.second) + ' ' + std::to_string(n) + '\n';
}

// The fields of one line, parsed as integers after its tag.
class line_reader {
 public:
  explicit line_reader(std::string_view line) : line_(line) {}

  std::string_view tag() { return word(); }
  template <class T>
  T number() {
    std::string_view w = word();
    T v{};
    auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    if (ec != std::errc{} || end != w.data() + w.size() || w.empty())
      throw std::invalid_argument("streaming: bad number '" + std::string(w) + "' in line '" + std::string(line_) + "'");
    return v;
  }
  totals read_totals() {
    totals t;
    t.events = number<std::uint64_t>(), t.views = number<std::uint64_t>();
    t.rejected = number<std::uint64_t>(), t.late = number<std::uint64_t>();
    return t;
  }
  void end() {
    if (at_ < line_.size())
      throw std::invalid_argument("streaming: trailing fields in line '" + std::string(line_) + "'");
  }

 private:
  std::string_view word() {
    std::size_t stop = line_.find(' ', at_);
    if (stop == std::string_view::npos) stop = line_.size();
    std::string_view w = line_.substr(at_, stop - at_);
    at_ = stop < line_.size() ? stop + 1 : stop;
    return w;
  }
  std::string_view line_;
  std::size_t at_ = 0;
};

}  // namespace

std::string partial::encode() const {
  std::string out = "partial " + std::to_string(seq) + ' ' + std::to_string(watermark) + ' ' +
                    std::to_string(window_ms) + ' ' + (last ? "1 " : "0 ") + totals_text(counted) + '\n';
  append_counts(out, counts);
  return out;
}

std::string window_state::encode() const {
  std::string out = "state " + std::to_string(next_) + ' ' + std::to_string(watermark_) + ' ' +
                    std::to_string(window_ms_) + ' ' + (finished_ ? "1 " : "0 ") + std::to_string(windows_) + ' ' +
                    totals_text(counted_) + '\n';
  append_counts(out, open_);
  for (const auto& [seq, p] : ahead_) out += p.encode();
  return out;
}

// Decoding needs the state's private fields; this friend keeps it in one place.
struct codec {
  static decoded decode(std::string_view text) {
    decoded d;
    window_counts* counts = nullptr;
    partial* current = nullptr;
    for (std::size_t at = 0; at < text.size();) {
      std::size_t eol = text.find('\n', at);
      if (eol == std::string_view::npos) eol = text.size();
      std::string_view line = text.substr(at, eol - at);
      line_reader r(line);
      bool first = at == 0;
      at = eol + 1;
      std::string_view tag = r.tag();
      if (first && tag == "state") {
        d.is_state = true;
        window_state& s = d.state;
        s.next_ = r.number<std::uint64_t>(), s.watermark_ = r.number<std::int64_t>();
        s.window_ms_ = r.number<std::int64_t>(), s.finished_ = r.number<int>() != 0;
        s.windows_ = r.number<std::uint64_t>(), s.counted_ = r.read_totals();
        counts = &s.open_;
      } else if (tag == "partial" && (first || d.is_state)) {
        partial p;
        p.seq = r.number<std::uint64_t>(), p.watermark = r.number<std::int64_t>();
        p.window_ms = r.number<std::int64_t>(), p.last = r.number<int>() != 0;
        p.counted = r.read_totals();
        current = first ? &d.batch : &d.state.ahead_.emplace(p.seq, p).first->second;
        if (first) d.batch = p;
        counts = &current->counts;
      } else if (tag == "count" && counts) {
        auto ws = r.number<std::int64_t>();
        auto campaign = r.number<int>();
        (*counts)[{ws, campaign}] += r.number<std::uint64_t>();
      } else {
        throw std::invalid_argument("streaming: unexpected line '" + std::string(line) + "'");
      }
      r.end();
    }
    if (!counts) throw std::invalid_argument("streaming: neither a partial nor a carried state");
    return d;
  }
};

decoded decode(std::string_view text) { return codec::decode(text); }

void window_state::use_window(std::int64_t window_ms, std::uint64_t seq) {
  if (window_ms <= 0)
    throw std::invalid_argument("streaming: batch " + std::to_string(seq) + " has window_ms " +
                                std::to_string(window_ms) + "; it must be > 0");
  if (window_ms_ == 0) window_ms_ = window_ms;
  if (window_ms != window_ms_)
    throw std::invalid_argument("streaming: batch " + std::to_string(seq) + " has window_ms " +
                                std::to_string(window_ms) + " but the stream's is " + std::to_string(window_ms_));
}

bool window_state::add(partial p) {
  if (finished_ || p.seq < next_ || ahead_.contains(p.seq)) return false;
  use_window(p.window_ms, p.seq);
  ahead_.emplace(p.seq, std::move(p));
  return true;
}

void window_state::merge(window_state other) {
  if (other.window_ms_ != 0) use_window(other.window_ms_, other.next_);
  if (other.next_ > next_) {  // its prefix contains ours
    next_ = other.next_, watermark_ = other.watermark_, finished_ = other.finished_;
    counted_ = other.counted_, windows_ = other.windows_, open_ = std::move(other.open_);
  }
  for (auto& [seq, p] : other.ahead_) ahead_.try_emplace(seq, std::move(p));
  std::erase_if(ahead_, [&](const auto& e) { return e.first < next_ || finished_; });
}

void window_state::absorb(const partial& p) {
  counted_ += p.counted;
  for (const auto& [key, n] : p.counts) {
    if (key.first + window_ms_ <= watermark_)
      counted_.late += n;  // that window was returned already; its count cannot change now
    else
      open_[key] += n;
  }
  watermark_ = std::max(watermark_, p.watermark);
  if (p.last) finished_ = true, watermark_ = std::numeric_limits<std::int64_t>::max();
  ++next_;
}

std::vector<window_result> window_state::advance() {
  for (auto it = ahead_.find(next_); !finished_ && it != ahead_.end(); it = ahead_.find(next_)) {
    absorb(it->second);
    ahead_.erase(it);
  }
  if (finished_) ahead_.clear();  // nothing follows the final batch
  std::vector<window_result> done;
  for (auto it = open_.begin(); it != open_.end() && it->first.first + window_ms_ <= watermark_;) {
    done.push_back({it->first.second, it->first.first, it->second});
    it = open_.erase(it);
  }
  windows_ += done.size();
  return done;
}

}  // namespace streaming
