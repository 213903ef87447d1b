// sort: MapReduce sort of gensort-format records with valsort's checks.
//
//   start (args) or split (a put object in `input`)
//     -> tasks/<m>            one `map` per mapper (immediate)
//   map: its records, range-partitioned by key
//     -> parts/<r>/<m>        one per partition, even when empty; done("parts")
//   dynamic_group on parts: one `reduce` per partition r, once all mappers are done
//     -> sorted/<r>           the partition, sorted (the sort's output)
//     -> summaries/part-<r>   valsort's scan of sorted/<r>
//   map also sends summaries/map-<m> (count and checksum of what it read)
//   dynamic_join on summaries (mappers + reducers, announced up front) -> `check`
//     -> the output: "records=N partitions=R sorted=ok checksum=<hex>"
//
// At-least-once safe: every object has a deterministic key and the first seal
// of a key wins, so a re-run function re-sends identical objects that are
// ignored, and done() counts each producer once.
#include <string>
#include <vector>

#include <trail/function.hpp>

#include "plan.hpp"
#include "records.hpp"
#include "sorter.hpp"
#include "validate.hpp"

namespace {

using namespace trail::sort;

// Announces the shape of the run and sends one task per mapper. The plan is
// also kept as plan/plan, where `check` reads it.
void launch(trail::context& ctx, const plan& p) {
  ctx.announce("parts", p.mappers);
  ctx.announce("summaries", std::uint64_t{p.mappers} + p.reducers);
  ctx.put("plan", "plan", to_text(p));
  for (std::uint32_t m = 0; m < p.mappers; ++m) ctx.put("tasks", std::to_string(m), to_text(task_of(p, m)));
}

// Where a mapper's records come from: generated from their numbers, or the
// bytes of the put input object.
struct source {
  const task& t;
  const char* bytes = nullptr;  // the task's first record in the input; null: generate

  void key(std::uint64_t i, char* out) const {
    if (bytes) std::memcpy(out, bytes + i * record_size, key_size);
    else make_key(t.first + i, t.plan.seed, out);
  }
  void record(std::uint64_t i, char* out) const {
    if (bytes) std::memcpy(out, bytes + i * record_size, record_size);
    else make_record(t.first + i, t.plan.seed, out);
  }
};

const char* input_records(trail::context& ctx, const task& t) {
  if (t.plan.input.empty()) return nullptr;
  auto in = ctx.get("input", t.plan.input);
  if (!in) throw std::runtime_error("sort/map: input object \"" + t.plan.input + "\" is not in this session");
  if (in->size() != t.plan.records * record_size)
    throw std::runtime_error("sort/map: input object \"" + t.plan.input + "\" has " + std::to_string(in->size()) +
                             " bytes, the plan says " + std::to_string(t.plan.records) + " records");
  return reinterpret_cast<const char*>(in->data()) + t.first * record_size;
}

std::uint32_t partition_number(std::string_view key) {
  return static_cast<std::uint32_t>(parse_number("partition", key.substr(0, key.find('/')), 0, max_tasks - 1));
}

}  // namespace

// Consumes: args "records=N mappers=M reducers=R [seed=S]".
// Produces: plan/plan, tasks/<m>; announces parts (M producers) and summaries (M + R).
TRAIL_FUNCTION(start)(trail::context& ctx) { launch(ctx, parse_args(ctx.args())); }

// Consumes: a put object in `input` (whole 100-byte records; its key may say
// "mappers=M" and "reducers=R", see plan_for_input). Produces: as `start`.
TRAIL_FUNCTION(split)(trail::context& ctx) {
  if (ctx.inputs().size() != 1) throw std::runtime_error("sort/split: expects the one input object");
  const trail::object& in = ctx.inputs().front();
  launch(ctx, plan_for_input(in.key(), in.size()));
}

// Consumes: tasks/<m>. Produces: parts/<r>/<m> for every r (written in place
// after a first pass counts each partition), summaries/map-<m>; done("parts").
TRAIL_FUNCTION(map)(trail::context& ctx) {
  if (ctx.inputs().size() != 1) throw std::runtime_error("sort/map: expects one task");
  const task t = task_from_text(ctx.inputs().front().str());
  const source src{t, input_records(ctx, t)};
  const std::uint32_t parts = t.plan.reducers;
  std::vector<std::uint16_t> where(t.count);  // max_tasks fits 16 bits
  std::vector<std::uint64_t> counts(parts);
  char key[key_size];
  for (std::uint64_t i = 0; i < t.count; ++i) {
    src.key(i, key);
    ++counts[where[i] = static_cast<std::uint16_t>(partition_of(key, parts))];
  }
  std::vector<trail::object_writer> out;
  std::vector<char*> next;
  const std::string suffix = "/" + std::to_string(t.mapper);
  for (std::uint32_t r = 0; r < parts; ++r) {
    out.push_back(ctx.create("parts", std::to_string(r) + suffix, counts[r] * record_size));
    out.back().resize(counts[r] * record_size);
    next.push_back(out.back().data());
  }
  checksum sum;
  for (std::uint64_t i = 0; i < t.count; ++i) {
    char*& at = next[where[i]];
    src.record(i, at);
    sum.add(at);
    at += record_size;
  }
  for (auto& w : out) ctx.send(std::move(w));
  ctx.put("summaries", "map-" + std::to_string(t.mapper), to_text(summary{false, t.mapper, sum, {}, {}, {}}));
  ctx.done("parts");
}

// Consumes: every parts/<r>/<m> of one partition r. Produces: sorted/<r>
// (sorted straight into its place in the store), summaries/part-<r>.
TRAIL_FUNCTION(reduce)(trail::context& ctx) {
  if (ctx.inputs().empty()) throw std::runtime_error("sort/reduce: fired with an empty group");
  const std::uint32_t r = partition_number(ctx.inputs().front().key());
  std::vector<std::string_view> parts;
  std::uint64_t bytes = 0;
  for (const trail::object& in : ctx.inputs()) {
    if (in.size() % record_size != 0)
      throw std::runtime_error("sort/reduce: parts/" + std::string(in.key()) + " is not whole records");
    parts.push_back(in.str());
    bytes += in.size();
  }
  trail::object_writer w = ctx.create("sorted", std::to_string(r), bytes);
  w.resize(bytes);
  sort_into(parts, w.data());
  const partition_scan scan = scan_partition({w.data(), bytes});
  ctx.send(std::move(w));
  ctx.put("summaries", "part-" + std::to_string(r), to_text(part_summary(r, scan)));
}

// Consumes: every summary (mappers + reducers). Produces: the output.
TRAIL_FUNCTION(check)(trail::context& ctx) {
  auto p = ctx.get("plan", "plan");
  if (!p) throw std::runtime_error("sort/check: plan/plan is missing from the session");
  std::vector<summary> all;
  for (const trail::object& in : ctx.inputs()) all.push_back(summary_from_text(in.str()));
  ctx.output(check(plan_from_text(p->str()), all));
}
