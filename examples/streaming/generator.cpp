#include "generator.hpp"

#include <cmath>
#include <stdexcept>

#include "campaigns.hpp"
#include "events.hpp"

namespace streaming {
namespace {

constexpr const char* ad_types[] = {"banner", "modal", "sponsored-search", "mail", "mobile"};
constexpr const char* event_types[] = {"view", "click", "purchase"};

}  // namespace

generator::generator(generator_config c) : config_(c) {
  if (!(c.rate > 0) || c.batch_ms <= 0 || c.window_ms <= 0 || c.start_ms < 0)
    throw std::invalid_argument("streaming::generator: rate, batch_ms and window_ms must be > 0, start_ms >= 0");
}

std::uint64_t generator::batches_for(std::int64_t duration_ms) const {
  return static_cast<std::uint64_t>((duration_ms + config_.batch_ms - 1) / config_.batch_ms);
}

std::string generator::event_line(std::uint64_t i, std::int64_t time_ms) {
  std::uint64_t r = mix(config_.seed * 0x100000001b3ull ^ i);
  int ad = static_cast<int>(r % ad_count);
  int type = static_cast<int>((r >> 12) % 3);
  std::string line = "{\"user_id\":\"" + uuid(3, (r >> 20) % 100000) + "\",\"page_id\":\"" + uuid(4, (r >> 40) % 1000) +
                     "\",\"ad_id\":\"" + ad_id(ad) + "\",\"ad_type\":\"" + ad_types[(r >> 16) % 5] +
                     "\",\"event_type\":\"" + event_types[type] + "\",\"event_time\":" + std::to_string(time_ms) +
                     ",\"ip_address\":\"10." + std::to_string((r >> 24) & 255) + '.' + std::to_string((r >> 32) & 255) +
                     '.' + std::to_string((r >> 48) & 255) + "\"}\n";
  ++truth_.sent.events;
  if (type == 0) {
    ++truth_.sent.views;
    ++truth_.counts[{window_start(time_ms, config_.window_ms), campaign_of_ad_index(ad)}];
  }
  return line;
}

// One of the ways a line can be wrong (events.hpp lists them), by turn.
std::string generator::malformed_line(std::uint64_t i) const {
  std::string good_ad = ad_id(static_cast<int>(i % ad_count));
  switch (i % 5) {
    case 0: return "{\"user_id\":\"u\",\"page_id\":\"p\",\"ad_id\":\"" + good_ad + "\",\"ad_ty\n";  // cut off
    case 1: return "{\"user_id\":\"u\",\"page_id\":\"p\",\"ad_id\":\"" + good_ad +
                   "\",\"ad_type\":\"banner\",\"event_type\":\"view\",\"ip_address\":\"1.2.3.4\"}\n";  // no event_time
    case 2: return "{\"user_id\":\"u\",\"page_id\":\"p\",\"ad_id\":\"no-such-ad\",\"ad_type\":\"banner\","
                   "\"event_type\":\"view\",\"event_time\":1,\"ip_address\":\"1.2.3.4\"}\n";  // unknown ad
    case 3: return "{\"user_id\":\"u\",\"page_id\":\"p\",\"ad_id\":\"" + good_ad +
                   "\",\"ad_type\":\"banner\",\"event_type\":\"look\",\"event_time\":1,\"ip_address\":\"1.2.3.4\"}\n";
    default: return "not json at all\n";
  }
}

std::string generator::batch(std::uint64_t seq, bool last) {
  if (seq != truth_.batches)
    throw std::invalid_argument("streaming::generator: batch " + std::to_string(seq) + " made out of order");
  std::int64_t until = config_.start_ms + static_cast<std::int64_t>(seq + 1) * config_.batch_ms;
  std::string out = "{\"window_ms\":" + std::to_string(config_.window_ms) + ",\"until_ms\":" + std::to_string(until) +
                    ",\"last\":" + (last ? "true" : "false") + "}\n";
  // Event i happens at start + i/rate (ms, exact to 1 µs); take those before `until`.
  auto time_of = [&](std::uint64_t i) {
    return config_.start_ms + static_cast<std::int64_t>(std::floor(static_cast<double>(i) * 1000.0 / config_.rate));
  };
  for (std::int64_t t; (t = time_of(next_event_)) < until; ++next_event_) {
    if (config_.malformed_every && (next_event_ + 1) % config_.malformed_every == 0) {
      out += malformed_line(next_event_);
      ++truth_.sent.rejected;
    } else {
      out += event_line(next_event_, t);
    }
  }
  ++truth_.batches;
  return out;
}

}  // namespace streaming
