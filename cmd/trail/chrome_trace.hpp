// A session's trace (the server's `trace ID` JSON) as Chrome trace-event JSON,
// which Perfetto and chrome://tracing open: one complete ("X") event per
// function attempt (ts/dur in µs since the session started, pid = node,
// tid = executor, args = the attempt's objects and sizes), plus
// process_name / thread_name metadata so that nodes and executors show by name.
#pragma once

#include <nlohmann/json.hpp>

namespace trail::cli {

// REQUIRES: `trace` has the shape of the `trace` admin command's answer.
nlohmann::json chrome_trace(const nlohmann::json& trace);

}  // namespace trail::cli
