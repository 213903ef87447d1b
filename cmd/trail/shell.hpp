// The interactive admin shell on a terminal: editline, tab completion of
// command names and then of app names, node names and session ids (asked of
// the server, cached briefly), and history kept across runs.
#pragma once

#include <filesystem>

#include "session.hpp"

namespace trail::cli {

// $TRAIL_HISTORY if set, else $HOME/.trail_history ("" if neither is set).
std::filesystem::path history_path();

// REQUIRES: stdin is a terminal. Runs lines until `quit`, `exit` or EOF; returns 0.
int run_interactive(session& s);

}  // namespace trail::cli
