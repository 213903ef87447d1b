// streaming: the Yahoo streaming benchmark on trail. Batches of ad events
// are put into `events`; `process` turns each into one partial count per
// (campaign, event-time window); an app-scoped by_time trigger hands the
// partials of all sessions, with the previous firing's carried state, to
// `aggregate`, which writes every complete window as a result into the
// `keep: app` bucket `results`. README.md has the whole design.
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <trail/function.hpp>

#include "campaigns.hpp"
#include "events.hpp"
#include "window_state.hpp"

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Writes the complete windows, then the summary (once the stream ended) or
// the state for the next firing. Results go first: the output ends the
// session, and objects sent after it are dropped.
void publish(trail::context& ctx, streaming::window_state& state) {
  for (const auto& w : state.advance()) {
    std::string key = streaming::campaign_name(w.campaign) + "/" + std::to_string(w.window_start);
    ctx.put("results", key,
            "{\"count\":" + std::to_string(w.count) + ",\"written_ms\":" + std::to_string(wall_ms()) + "}");
  }
  if (state.finished()) {
    const auto& t = state.counted();
    ctx.put("results", "summary",
            "{\"batches\":" + std::to_string(state.next()) + ",\"events\":" + std::to_string(t.events) +
                ",\"views\":" + std::to_string(t.views) + ",\"rejected\":" + std::to_string(t.rejected) +
                ",\"late\":" + std::to_string(t.late) + ",\"windows\":" + std::to_string(state.windows()) + "}");
  } else if (!state.empty()) {
    // Keyed by this session: a re-run of this invocation seals the same key
    // (first seal wins), so the next firing never sees two carries from one.
    ctx.put("partials", "carry-" + std::to_string(ctx.session()), state.encode());
  }
}

}  // namespace

// Consumes: one batch `events/b-<seq>` (immediate trigger, its own session).
// Produces: `partials/p-<seq>`, then the output "batch <seq>: <n> views,
// <r> rejected". Throws on a bad key or header (the batch cannot be placed).
TRAIL_FUNCTION(process)(trail::context& ctx) {
  if (ctx.inputs().size() != 1) throw std::runtime_error("streaming/process: expects one batch object; invoke it through a put into `events`");
  const trail::object& in = ctx.inputs()[0];
  auto seq = streaming::batch_seq(in.key());
  if (!seq) throw std::runtime_error("streaming/process: batch key '" + std::string(in.key()) + "' is not b-<seq>");
  streaming::partial p = streaming::summarize_batch(*seq, in.str());
  ctx.put("partials", "p-" + std::to_string(*seq), p.encode());
  ctx.output("batch " + std::to_string(*seq) + ": " + std::to_string(p.counted.views) + " views, " +
             std::to_string(p.counted.rejected) + " rejected");
}

// Consumes: the partials and carried states of one by_time window (app
// scope: from every session). Produces: `results/<campaign>/<window_start>`
// per newly complete window, `results/summary` at the end of the stream or
// else `partials/carry-<session>`, then the output "<n> windows closed".
TRAIL_FUNCTION(aggregate)(trail::context& ctx) {
  streaming::window_state state;
  std::vector<streaming::partial> batches;
  for (const trail::object& in : ctx.inputs()) {
    streaming::decoded d = streaming::decode(in.str());
    if (d.is_state)
      state.merge(std::move(d.state));
    else
      batches.push_back(std::move(d.batch));
  }
  for (auto& b : batches) state.add(std::move(b));
  std::uint64_t before = state.windows();
  publish(ctx, state);
  ctx.output(std::to_string(state.windows() - before) + " windows closed");
}
