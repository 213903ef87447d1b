// trail-bench paper: the evaluation as figures. Each figure is a sweep of one
// benchmark (every point run in a process of its own, as `all` does); its
// result lines go to OUT/results.json, its points to OUT/<figure>.dat, and
// gnuplot draws OUT/<figure>.svg from OUT/<figure>.gp: p50 and p99 beside
// the floor measured in the same run. A markdown table per figure goes to
// stdout, for the README. The case studies (streaming rate sweep, sort time
// vs size) are figures too; a stream whose counts are not exact or a sort
// that does not validate fails the run.
//
// Everything in OUT is generated: nothing of it is checked in.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bench.hpp"
#include "children.hpp"

namespace trail::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// One point of a figure, in the figure's units.
struct point {
  double x = 0, p50 = 0, p99 = 0, floor = 0;
};

struct figure {
  std::string name;    // file stem
  std::string title;
  std::string xlabel, ylabel;
  std::string floor;   // what the floor line is
  bool logx = true, logy = true;
  std::vector<std::vector<std::string>> runs;                 // trail-bench arguments, one point set each
  std::function<std::optional<point>(const json&)> pick;      // a result line's point, if it is one
  std::vector<point> points;
  std::string p99_title = "p99", floor_title = "floor";  // the second and third lines' keys
};

std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, v >= 100 || v == std::floor(v) ? "%.0f" : "%.3g", v);
  return b;
}

std::string list(const std::vector<std::string>& items) {
  std::string s;
  for (auto& i : items) s += (s.empty() ? "" : ",") + i;
  return s;
}

double us_to_ms(const json& r, const char* key) { return r[key].get<double>() / 1000; }

// The sweeps. `quick`: two points each, few runs.
std::vector<figure> figures(const options& o) {
  const bool q = o.quick;
  const std::string runs = q ? "20" : "300";
  const std::vector<std::string> payloads =
      q ? std::vector<std::string>{"100B", "1MiB"}
        : std::vector<std::string>{"100B", "1KiB", "10KiB", "100KiB", "1MiB", "10MiB", "64MiB"};
  std::vector<figure> f;

  auto hop = [](const json& r) -> std::optional<point> {
    if (r.value("case", "") == "back-to-back") return std::nullopt;
    return point{r["payload_bytes"].get<double>(), r["p50_us"], r["p99_us"], r["floor_p50_us"]};
  };
  f.push_back({"hop-local", "Local hop (target executor asleep) vs payload", "payload (bytes)", "latency (µs)",
               "a blocking shared-memory round trip, measured in the same run", true, true,
               {{"local-hop", "--payloads", list(payloads), "--runs", runs}},
               [hop](const json& r) { return r["bench"] == "local-hop" ? hop(r) : std::nullopt; }, {}});
  f.push_back({"hop-remote", "Remote hop (node to node) vs payload", "payload (bytes)", "latency (µs)",
               "a one-way 100 B TCP message, measured in the same run", true, true,
               {{"remote-hop", "--payloads", list(payloads), "--runs", runs}},
               [hop](const json& r) { return r["bench"] == "remote-hop" ? hop(r) : std::nullopt; }, {}});

  // Whole workflows: total latency against the same work done as bare
  // shared-memory round trips, one after another (chain) or two at a time
  // on the node's two executors (fan-out).
  auto workflow = [](const char* bench, const char* param, double parallel) {
    return [=](const json& r) -> std::optional<point> {
      if (r["bench"] != bench) return std::nullopt;
      double n = r[param].get<double>();
      return point{n, r["total_ms_p50"], r["p99_us"].get<double>() * n / 1000,
                   std::max(1.0, n / parallel) * us_to_ms(r, "floor_p50_us")};
    };
  };
  figure chain{"chain", "Chain of functions: total latency vs length", "functions in the chain", "total latency (ms)",
               "that many blocking shared-memory round trips (measured in the same run)", true, true, {}, workflow("chain", "length", 1), {}};
  for (int n : q ? std::vector<int>{1, 10} : std::vector<int>{1, 10, 100, 1000})
    chain.runs.push_back({"chain", "--length", std::to_string(n), "--runs", q ? "1" : "5"});
  f.push_back(chain);
  figure fan{"fanout", "Fan-out joined by by_batch_size: total latency vs width", "parallel invocations",
             "total latency (ms)", "width / 2 executors blocking shared-memory round trips (measured in the same run)", true, true, {},
             workflow("fanout", "width", 2), {}};
  for (int n : q ? std::vector<int>{1, 10} : std::vector<int>{1, 10, 100, 1000, 4000})
    fan.runs.push_back({"fanout", "--width", std::to_string(n), "--runs", q ? "1" : "5"});
  f.push_back(fan);

  // Throughput is a rate: higher is better, and the line beside it is the
  // ideal scaling of the 1-node result (filled in once it is known).
  figure tput{"throughput", "No-op invocations per second vs nodes (8 clients)", "nodes", "invocations/s",
              "not a floor: the ideal, nodes × this run's 1-node rate", false, false, {},
              [](const json& r) -> std::optional<point> {
                if (r["bench"] != "throughput") return std::nullopt;
                double rate = r["invocations_per_s"];
                return point{r["nodes"].get<double>(), rate, 1e6 / r["p99_us"].get<double>(), 0};
              },
              {}};
  for (int n : q ? std::vector<int>{1, 2} : std::vector<int>{1, 2, 3})
    tput.runs.push_back({"throughput", "--nodes", std::to_string(n), "--runs", q ? "200" : "2000", "--rounds",
                         q ? "1" : "3"});
  tput.p99_title = "trail (slowest round)", tput.floor_title = "ideal scaling";
  f.push_back(tput);

  // The case studies. Every count of a stream and every sort is checked
  // (run_paper fails on a result that is not exact or not validated).
  figure stream{"streaming", "Streaming benchmark: window close to result vs offered rate", "events/s offered",
                "latency (ms)", "the run's own batch put round trip (put_rtt)", true, true, {},
                [](const json& r) -> std::optional<point> {
                  if (r["bench"] != "streaming") return std::nullopt;
                  return point{r["rate"], r["latency_ms_p50"], r["latency_ms_p99"], us_to_ms(r, "floor_p50_us")};
                },
                {}};
  for (int rate : q ? std::vector<int>{2000, 10000} : std::vector<int>{2000, 5000, 10000, 20000, 50000, 100000})
    stream.runs.push_back({"streaming", "--rate", std::to_string(rate), "--for", q ? "2" : "10"});
  stream.floor_title = "put round trip";
  f.push_back(stream);
  figure sort{"sort", "MapReduce sort (gensort records): total time vs size", "bytes sorted", "total time (s)",
              "one process generating the same records and sorting them in memory (in_memory_sort)", true, true, {},
              [](const json& r) -> std::optional<point> {
                if (r["bench"] != "sort") return std::nullopt;
                return point{r["bytes"], r["total_ms_p50"].get<double>() / 1000, r["first_ms"].get<double>() / 1000,
                             r["floor_p50_us"].get<double>() / 1e6};
              },
              {}};
  for (auto size : q ? std::vector<std::string>{"1M", "10M"} : std::vector<std::string>{"10M", "100M", "1G"})
    sort.runs.push_back({"sort", "--size", size, "--runs", q ? "1" : "3"});
  sort.p99_title = "trail, first (cold) run", sort.floor_title = "in-memory sort";
  f.push_back(sort);
  return f;
}

// A case study's result that is not right fails the whole run, loudly.
status check_result(const json& r) {
  if (r.contains("exact") && !r["exact"].get<bool>())
    return status::internal("a streaming run's counts were not exact: " + r.dump());
  if (r.contains("validated") && !r["validated"].get<bool>())
    return status::internal("a sort's output did not validate: " + r.dump());
  return {};
}

status write_figure(const fs::path& dir, const figure& f) {
  std::ofstream dat(dir / (f.name + ".dat"));
  dat << "# x p50 p99 floor\n";
  for (auto& p : f.points) dat << p.x << ' ' << p.p50 << ' ' << p.p99 << ' ' << p.floor << '\n';
  std::ofstream gp(dir / (f.name + ".gp"));
  gp << "set terminal svg size 800,500 dynamic font 'sans,12'\n"
     << "set output '" << (dir / (f.name + ".svg")).string() << "'\n"
     << "set title '" << f.title << "'\n"
     << "set xlabel '" << f.xlabel << "'\nset ylabel '" << f.ylabel << "'\n"
     << "set key top left\nset grid\n"
     << (f.logx ? "set logscale x\n" : "") << (f.logy ? "set logscale y\n" : "")
     << "data = '" << (dir / (f.name + ".dat")).string() << "'\n"
     << "plot data using 1:2 with linespoints lw 2 title 'trail p50', \\\n"
     << "     data using 1:3 with linespoints dt 2 title '" << (f.p99_title == "p99" ? "trail p99" : f.p99_title)
     << "', \\\n"
     << "     data using 1:4 with lines lw 2 lc rgb 'gray40' title '" << f.floor_title << "'\n";
  gp.close();
  dat.close();
  auto gnuplot = find_program("gnuplot");
  if (!gnuplot) return status::unavailable(gnuplot.error().message() + " (scripts/deps installs gnuplot-nox)");
  auto run = run_child(*gnuplot, {(dir / (f.name + ".gp")).string()});
  if (!run) return run.error();
  if (!run->ok()) return status::internal("gnuplot " + run->how + " on " + f.name + ".gp: " + run->output);
  return {};
}

void print_table(const figure& f) {
  std::printf("\n### %s\n\n| %s | p50 | %s | %s | p50 / %s |\n|---|---|---|---|---|\n", f.title.c_str(),
              f.xlabel.c_str(), f.p99_title.c_str(), f.floor_title.c_str(), f.floor_title.c_str());
  for (auto& p : f.points)
    std::printf("| %s | %s | %s | %s | %s |\n", num(p.x).c_str(), num(p.p50).c_str(), num(p.p99).c_str(),
                num(p.floor).c_str(), p.floor > 0 ? num(p.p50 / p.floor).c_str() : "—");
  std::printf("\n(%s; the floor column: %s)\n", f.ylabel.c_str(), f.floor.c_str());
}

}  // namespace

int run_paper(const options& o) {
  const fs::path dir = fs::absolute(o.out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(status::invalid("--out " + dir.string() + ": " + ec.message()));
  json all = json::array();
  auto figs = figures(o);
  for (auto& f : figs) {
    for (auto args : f.runs) {
      std::fprintf(stderr, "trail-bench paper: %s: trail-bench %s\n", f.name.c_str(), list(args).c_str());
      args.push_back("--json");
      auto lines = run_self(args, false);
      if (!lines) return fail(lines.error());
      for (auto& r : *lines) {
        all.push_back(r);
        if (status bad = check_result(r); !bad.ok()) {
          std::ofstream(dir / "results.json") << all.dump(1) << '\n';
          return fail(bad);
        }
        if (auto p = f.pick(r)) f.points.push_back(*p);
      }
    }
    if (f.name == "throughput" && !f.points.empty())
      for (auto& p : f.points) p.floor = p.x * f.points.front().p50 / f.points.front().x;
    std::ofstream(dir / "results.json") << all.dump(1) << '\n';  // after every figure: a crash keeps the rest
    if (f.points.empty()) return fail(status::internal(f.name + ": the benchmark printed no point of it"));
    if (status s = write_figure(dir, f); !s.ok()) return fail(s);
    print_table(f);
    std::fflush(stdout);
  }
  std::printf("\nfigures: %s/*.svg\n", dir.string().c_str());
  return 0;
}

}  // namespace trail::bench
