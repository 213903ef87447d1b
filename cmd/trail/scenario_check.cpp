#include "scenario_check.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace trail::cli::scenario {
namespace {

// At most this many examples of one kind of violation are listed.
constexpr int max_examples = 5;

std::string fmt_ms(double t) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1fs", t / 1000.0);
  return b;
}

std::string who(const request_record& r) {
  return "request " + std::to_string(r.seq) + " (load " + std::to_string(r.load) + ", " + r.app +
         (r.session ? ", session " + std::to_string(r.session) : "") + ", started at " + fmt_ms(r.started_ms) + ")";
}

// A failure message is clear when it carries a code and says something.
bool clear_error(const std::string& e) {
  auto colon = e.find(": ");
  return colon != std::string::npos && colon > 0 && e.size() > colon + 2;
}

// Collects violations by kind, listing a few of each.
struct tally {
  std::map<std::string, std::pair<int, std::vector<std::string>>> kinds;
  void add(const std::string& kind, const std::string& example) {
    auto& [n, ex] = kinds[kind];
    ++n;
    if (static_cast<int>(ex.size()) < max_examples) ex.push_back(example);
  }
  void into(verdict& v) const {
    for (auto& [kind, e] : kinds) {
      std::string line = std::to_string(e.first) + " " + kind;
      for (auto& x : e.second) line += "\n      e.g. " + x;
      v.violations.push_back(line);
    }
  }
};

void judge_load(const load_history& l, bool faults, bool coordinator_hit, const check_options& opts, tally& bad,
                verdict& v) {
  std::map<outcome, int> count;
  int expected = 0;
  for (auto& r : l.records) {
    ++count[r.how];
    switch (r.how) {
      case outcome::ok:
        if (l.spec.expect_error) bad.add("sessions ended ok where a failure was expected", who(r));
        else if (l.spec.expect && r.output != *l.spec.expect)
          bad.add("sessions ended with a wrong output", who(r) + ": '" + r.output + "', expected '" + *l.spec.expect + "'");
        else ++expected;
        break;
      case outcome::failed:
        if (!clear_error(r.error)) bad.add("sessions failed without a clear error", who(r) + ": '" + r.error + "'");
        else if (l.spec.expect_error && r.error.find(*l.spec.expect_error) == std::string::npos)
          bad.add("sessions failed with another error than expected",
                  who(r) + ": '" + r.error + "', expected it to say '" + *l.spec.expect_error + "'");
        else if (l.spec.expect_error) ++expected;
        else if (!faults) bad.add("sessions failed although no fault was injected", who(r) + ": " + r.error);
        break;
      case outcome::rejected:
        if (!clear_error(r.error)) bad.add("requests rejected without a clear error", who(r) + ": '" + r.error + "'");
        break;
      case outcome::unknown:
        if (!coordinator_hit)
          bad.add("accepted sessions whose outcome never came (the coordinator was neither killed, stopped nor restarted)",
                  who(r) + ": last error '" + r.error + "'");
        break;
    }
  }
  std::size_t need = std::max<std::size_t>(1, static_cast<std::size_t>(opts.min_ok * l.records.size() + 0.999));
  std::string name = "load " + std::to_string(l.records.empty() ? 0 : l.records.front().load) + " (" + l.spec.app + ")";
  std::string counts = std::to_string(l.records.size()) + " requests: " + std::to_string(count[outcome::ok]) +
                       " ok, " + std::to_string(count[outcome::failed]) + " failed, " +
                       std::to_string(count[outcome::rejected]) + " rejected, " +
                       std::to_string(count[outcome::unknown]) + " unknown";
  for (auto [how, what] : {std::pair{outcome::failed, "failures"}, std::pair{outcome::rejected, "rejections"}}) {
    std::set<std::string> said;  // the distinct errors, a few
    for (auto& r : l.records)
      if (r.how == how && said.size() < 2) said.insert(r.error);
    for (auto& e : said) counts += (e == *said.begin() ? std::string("; ") + what + " said: '" : ", '") + e + "'";
  }
  v.verified.push_back(name + ": " + counts);
  if (static_cast<std::size_t>(expected) < need)
    bad.add("loads with too few expected outcomes", name + ": " + std::to_string(expected) + " of " +
                                                        std::to_string(l.records.size()) + ", at least " +
                                                        std::to_string(need) + " wanted");
}

}  // namespace

void judge_history(const std::vector<load_history>& loads, const std::vector<injected_fault>& injected,
                   const check_options& opts, verdict& v) {
  bool faults = std::any_of(injected.begin(), injected.end(), [](auto& f) { return f.failed.empty(); });
  bool coordinator_hit =
      std::any_of(injected.begin(), injected.end(), [](auto& f) { return f.hits_coordinator && f.failed.empty(); });
  tally bad;
  // Which coordinator accepted a request: the number of restarts before it.
  auto epoch = [&](const request_record& r) {
    return std::count_if(injected.begin(), injected.end(), [&](auto& f) {
      return f.restarts_coordinator && f.failed.empty() && f.at_ms < r.accepted_ms;
    });
  };
  std::map<std::pair<long, std::uint64_t>, const request_record*> sessions;
  std::set<std::uint64_t> ids;
  std::size_t accepted = 0, reused = 0;
  for (auto& l : loads) {
    for (auto& r : l.records) {
      if (!r.session) continue;
      ++accepted;
      reused += !ids.insert(r.session).second;
      auto [it, fresh] = sessions.emplace(std::pair{static_cast<long>(epoch(r)), r.session}, &r);
      if (!fresh) bad.add("session ids given to two requests", who(*it->second) + " and " + who(r));
    }
    judge_load(l, faults, coordinator_hit, opts, bad, v);
  }
  v.verified.push_back(std::to_string(accepted) + " accepted requests, each with one outcome and its own session id");
  if (reused)
    v.verified.push_back("note: " + std::to_string(reused) +
                         " session ids were given again by a restarted coordinator (ids are unique per coordinator run)");
  bad.into(v);
}

std::vector<std::string> duplicate_fires(const nlohmann::json& trace) {
  // (function, inputs) -> the attempts that ended ok with them.
  std::map<std::pair<std::string, std::vector<std::string>>, std::vector<std::string>> ran;
  if (!trace.contains("events")) return {};
  for (auto& e : trace["events"]) {
    if (e.value("outcome", "") != "ok") continue;
    std::vector<std::string> inputs;
    for (auto& in : e.value("inputs", nlohmann::json::array()))
      inputs.push_back(in.value("bucket", "") + "/" + in.value("key", ""));
    std::sort(inputs.begin(), inputs.end());
    std::string attempt = "invocation " + std::to_string(e.value("invocation", 0ull)) + " attempt " +
                          std::to_string(e.value("attempt", 0)) + " on " + e.value("node", std::string("?"));
    ran[{e.value("function", ""), inputs}].push_back(attempt);
  }
  std::vector<std::string> out;
  for (auto& [key, attempts] : ran) {
    if (attempts.size() < 2) continue;
    std::string ins;
    for (auto& i : key.second) ins += (ins.empty() ? "" : ", ") + i;
    std::string line = "session " + std::to_string(trace.value("session", 0ull)) + ": " + key.first + "(" +
                       (ins.empty() ? "no inputs" : ins) + ") ended ok " + std::to_string(attempts.size()) +
                       " times:";
    for (auto& a : attempts) line += " [" + a + "]";
    out.push_back(line);
  }
  return out;
}

}  // namespace trail::cli::scenario
