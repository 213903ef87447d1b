#include "children.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "shm/process.hpp"

namespace trail::bench {

result<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return status::not_found(name + " is not on PATH");
}

result<child_run> run_child(const std::string& program, const std::vector<std::string>& args) {
  auto p = shm::child_process::launch({program, args, {}});
  if (!p) return p.error();
  child_run run;
  pollfd pfd{p->output_fd(), POLLIN, 0};
  for (;;) {
    ::poll(&pfd, 1, 1000);
    char buf[4096];
    ssize_t n = ::read(p->output_fd(), buf, sizeof buf);
    if (n > 0) {
      run.output.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno != EAGAIN && errno != EINTR) break;
    if (std::string how = p->try_reap(); !how.empty()) {  // gone: collect what is left
      while ((n = ::read(p->output_fd(), buf, sizeof buf)) > 0) run.output.append(buf, static_cast<std::size_t>(n));
      run.how = how;
      return run;
    }
  }
  // Its output closed: it is ending. Give it time to finish on its own (its
  // exit status tells success), then make sure.
  pollfd exited{p->pidfd(), POLLIN, 0};
  ::poll(&exited, 1, 10000);
  run.how = p->try_reap();
  if (run.how.empty()) run.how = p->kill_and_reap();
  return run;
}

result<std::vector<nlohmann::json>> run_self(const std::vector<std::string>& args, bool echo) {
  auto run = run_child(std::filesystem::read_symlink("/proc/self/exe").string(), args);
  if (!run) return run.error();
  std::vector<nlohmann::json> lines;
  std::istringstream in(run->output);
  std::string line, said;
  while (std::getline(in, line)) {
    if (!line.empty() && line.front() == '{') {
      if (echo) std::printf("%s\n", line.c_str());
      lines.push_back(nlohmann::json::parse(line, nullptr, false));
    } else {
      said += line + "\n";
    }
  }
  std::fflush(stdout);
  if (lines.empty()) return status::internal(args[0] + " printed no result (" + run->how + "): " + said);
  // Results of a run that then failed are not the run asked for.
  if (!run->ok())
    return status::internal(args[0] + " " + run->how + " after " + std::to_string(lines.size()) + " result(s): " + said);
  return lines;
}

}  // namespace trail::bench
