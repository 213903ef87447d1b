// The scenario words of `trail` (README "Writing a failure scenario"):
//
//   cluster up --nodes N [--executors N] [--store-size S] | cluster down | cluster status
//   load APP --rate R/s --for T [--args "..."] [--expect OUT | --expect-error TEXT]
//        [--clients N] [--timeout T]
//   after T FAULT...        FAULT at T after the latest `load` (or `cluster up`) began
//   kill NODE | kill coordinator | kill executor NODE
//   stop NODE for T         SIGSTOP, then SIGCONT after T
//   restart NODE | restart coordinator
//   partition A.. | B..     heal | delay NODE 30ms | drop NODE 20%   (fault points)
//   wait load               every load's requests ended, every scheduled fault done
//   check [--min-ok P%] [--trace-sample N]
//   chaos --seed S --for T  random faults under load; prints the seed of a failure
//
// The state behind them (the cluster's processes, the loads and their
// history, the faults injected, the timer of `after`) lives in one object
// that add_scenario_commands() makes and the handlers share; its destructor
// stops the cluster and removes what it left.
#pragma once

#include "command_table.hpp"

namespace trail::cli {

void add_scenario_commands(command_table& table);

}  // namespace trail::cli
