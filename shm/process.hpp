// Launching and watching child processes (executors): fork/exec with
// PR_SET_PDEATHSIG, a pidfd that becomes readable the instant the child dies,
// and one pipe carrying the child's stdout and stderr.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <trail/status.hpp>

namespace trail::shm {

// A user to run a child as.
struct identity {
  uid_t uid = 0;
  gid_t gid = 0;
};

struct launch_spec {
  std::string program;             // path of the binary
  std::vector<std::string> args;   // argv[1..]
  std::vector<int> keep_fds;       // descriptors the child inherits (same numbers)
  std::optional<identity> as = std::nullopt;  // run as this user, with no supplementary groups
                                              // (the parent must be root); none: as the parent
};

// A running (or dead, not yet reaped) child. Destroying it SIGKILLs and reaps
// the child if still there. Move-only.
class child_process {
 public:
  // Forks and execs. The child dies with SIGKILL when the thread that
  // launched it exits (PR_SET_PDEATHSIG): launch from a long-lived thread.
  static result<child_process> launch(const launch_spec& spec);

  child_process() = default;
  child_process(child_process&& o) noexcept;
  child_process& operator=(child_process&& o) noexcept;
  ~child_process();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_; }     // readable once the child has exited
  int output_fd() const { return out_fd_; } // the child's stdout+stderr, non-blocking
  bool running() const { return pid_ > 0 && !reaped_; }

  void kill(int sig) const;
  // Reaps the child if it has exited; returns a description such as
  // "exited with status 1" or "killed by signal 9 (Killed)", or "" if alive.
  std::string try_reap();
  // Kills (SIGKILL) and reaps; returns the description.
  std::string kill_and_reap();

 private:
  void reset();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int out_fd_ = -1;
  bool reaped_ = false;
};

// Describes a waitpid() status: "exited with status N" / "killed by signal N (name)".
std::string describe_wait_status(int status);

}  // namespace trail::shm
