// Waiting in live views (`top`, `logs --follow`): for time to pass, for a key
// on the terminal, or for Ctrl-C — without ending the shell on Ctrl-C.
#pragma once

#include <termios.h>

#include <chrono>
#include <signal.h>

namespace trail::cli {

// While alive, SIGINT is blocked and read from a signalfd instead, and (with
// `read_keys` and a terminal on stdin) stdin gives single keys without echo.
// Both are restored by the destructor. Use on the thread that runs commands.
class interrupt_watch {
 public:
  enum class event { timeout, interrupted, key };

  explicit interrupt_watch(bool read_keys);
  ~interrupt_watch();
  interrupt_watch(const interrupt_watch&) = delete;
  interrupt_watch& operator=(const interrupt_watch&) = delete;

  // Waits up to `t`; on `key`, sets `k` (Ctrl-C typed as a key is `interrupted`).
  event wait(std::chrono::milliseconds t, char& k);

 private:
  int signal_fd_ = -1;
  sigset_t old_mask_{};
  bool raw_ = false;
  termios old_term_{};
};

}  // namespace trail::cli
