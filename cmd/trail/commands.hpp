// The commands `trail` runs, registered into its command table; shared by
// one-shot use, the shell and scripts.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include "command_table.hpp"
#include "session.hpp"

namespace trail::cli {

// help, deploy, invoke, result, status, apps, undeploy.
void add_app_commands(command_table& table);
// put, get (data_commands.cpp).
void add_data_commands(command_table& table);
// nodes, sessions, session, trace, cancel, drain, logs, fault (admin_commands.cpp).
void add_admin_commands(command_table& table);
// top (top.cpp).
void add_top_command(command_table& table);

// Parses a command's arguments with `p` (its options and positionals);
// prints what is wrong and the synopsis on failure.
bool parse_args(CLI::App& p, const std::string& synopsis, const call& k);

// "coordinators: A (holds the shards), B (standing by)" and "etcd: writes
// go through" (or what it refuses, and what is kept back) from a status's
// "coordinator" object, a line each; empty without etcd.
std::string coordinators_line(const nlohmann::json& coordinator);

// Parses a session id; prints why not on failure.
bool parse_session_id(const std::string& text, std::uint64_t& id);

// Prints the server's JSON `text` (or the text itself if it is not JSON), indented.
void print_json(const std::string& text);

}  // namespace trail::cli
