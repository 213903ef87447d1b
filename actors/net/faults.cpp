#include "actors/net/faults.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace trail::net {
namespace {

// "30ms", "2s", "30" (milliseconds): at most an hour.
result<std::chrono::milliseconds> parse_duration(const std::string& word) {
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), n);
  std::string_view unit(p, static_cast<std::size_t>(word.data() + word.size() - p));
  if (ec != std::errc{} || p == word.data() || (unit != "" && unit != "ms" && unit != "s"))
    return status::invalid("'" + word + "' is not a duration (say e.g. 30ms or 2s)");
  if (unit == "s") n *= 1000;
  if (n > 3'600'000) return status::invalid("delay '" + word + "' is longer than an hour");
  return std::chrono::milliseconds(n);
}

// "20%" or "20": 0..100.
result<std::uint32_t> parse_percent(const std::string& word) {
  std::uint32_t n = 0;
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), n);
  std::string_view rest(p, static_cast<std::size_t>(word.data() + word.size() - p));
  if (ec != std::errc{} || p == word.data() || (rest != "" && rest != "%") || n > 100)
    return status::invalid("'" + word + "' is not a percentage from 0% to 100%");
  return n;
}

status usage(const std::string& why) {
  return status::invalid(why +
                         "; fault points take: delay PEER 30ms | drop PEER 20% | partition PEER... | "
                         "heal [PEER...] | list   (PEER: a node name, coordinator or *)");
}

}  // namespace

// -- fault_rules ---------------------------------------------------------------

status fault_rules::apply(const std::vector<std::string>& spec) {
  if (spec.empty()) return usage("no fault given");
  const std::string& verb = spec[0];
  if (verb == "list") return spec.size() == 1 ? status{} : usage("list takes no arguments");
  if (verb == "heal") {
    if (spec.size() == 1) rules_.clear();
    for (std::size_t i = 1; i < spec.size(); ++i) rules_.erase(spec[i]);
    return {};
  }
  if (verb == "partition") {
    if (spec.size() < 2) return usage("partition names no peer");
    for (std::size_t i = 1; i < spec.size(); ++i) rules_[spec[i]].partition = true;
    return {};
  }
  if (verb != "delay" && verb != "drop") return usage("unknown fault '" + verb + "'");
  if (spec.size() != 3) return usage(verb + " takes a peer and a " + (verb == "delay" ? "duration" : "percentage"));
  fault_rule changed = rules_.contains(spec[1]) ? rules_.at(spec[1]) : fault_rule{};
  if (verb == "delay") {
    auto d = parse_duration(spec[2]);
    if (!d) return d.error();
    changed.delay = *d;
  } else {
    auto p = parse_percent(spec[2]);
    if (!p) return p.error();
    changed.drop_percent = *p;
  }
  if (changed.empty()) rules_.erase(spec[1]);
  else rules_[spec[1]] = changed;
  return {};
}

fault_rule fault_rules::effective(std::string_view peer) const {
  fault_rule r;
  for (std::string_view name : {peer, std::string_view("*")}) {
    auto it = rules_.find(name);
    if (it == rules_.end()) continue;
    r.delay = std::max(r.delay, it->second.delay);
    r.drop_percent = std::max(r.drop_percent, it->second.drop_percent);
    r.partition = r.partition || it->second.partition;
  }
  return r;
}

fault_verdict fault_rules::decide(std::string_view peer, bool sending, std::uint32_t roll) const {
  fault_rule r = effective(peer);
  if (r.partition) return {true, {}};
  if (!sending) return {};
  if (roll < r.drop_percent) return {true, {}};
  return {false, r.delay};
}

// -- faults --------------------------------------------------------------------

faults::faults(std::uint64_t seed) : seed_(seed ? seed : std::random_device{}() | 1), rng_(seed_) {
  names_[0] = "coordinator";
}

result<std::string> faults::arm(const std::vector<std::string>& spec) {
  std::lock_guard lock(mu_);
  if (status s = rules_.apply(spec); !s.ok()) return s;
  armed_.store(!rules_.empty(), std::memory_order_relaxed);
  if (spec[0] != "list") {
    std::string words;
    for (auto& w : spec) words += " " + w;
    std::fprintf(stderr, "trail-node: fault points:%s (seed %llu)\n", words.c_str(),
                 static_cast<unsigned long long>(seed_));
  }
  return describe();
}

void faults::learn(std::uint64_t number, const std::string& name, const std::string& wire, const std::string& data) {
  std::lock_guard lock(mu_);
  names_[number] = name;
  if (!wire.empty()) address_names_[wire] = name;
  if (!data.empty()) address_names_[data] = name;
}

fault_verdict faults::on_pull(const std::string& address) {
  if (!armed()) return {};
  std::string name;
  {
    std::lock_guard lock(mu_);
    auto it = address_names_.find(address);
    name = it == address_names_.end() ? address : it->second;
  }
  return decide(name, true, refused_pulls_);
}

std::string faults::number_name(std::uint64_t number) {
  std::lock_guard lock(mu_);
  auto it = names_.find(number);
  return it == names_.end() ? "#" + std::to_string(number) : it->second;
}

fault_verdict faults::decide(const std::string& peer, bool sending, std::uint64_t& losses) {
  std::lock_guard lock(mu_);
  auto roll = static_cast<std::uint32_t>(std::uniform_int_distribution<int>(0, 99)(rng_));
  fault_verdict v = rules_.decide(peer, sending, roll);
  if (v.drop) ++losses;
  else if (v.delay.count() > 0) ++delayed_;
  return v;
}

std::string faults::describe() const {
  nlohmann::json rules = nlohmann::json::array();
  for (auto& [peer, r] : rules_.rules())
    rules.push_back({{"peer", peer},
                     {"delay_ms", r.delay.count()},
                     {"drop_percent", r.drop_percent},
                     {"partition", r.partition}});
  nlohmann::json j{{"seed", seed_},
                   {"rules", rules},
                   {"injected", {{"dropped", dropped_}, {"delayed", delayed_}, {"refused_pulls", refused_pulls_}}}};
  return j.dump();
}

}  // namespace trail::net
