// File: tests/testing/port_process.cc
#include "tests/testing/port_process.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace circuit {
namespace testing {
namespace {

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

absl::StatusOr<PortProcess> PortProcess::Start(std::vector<std::string> args,
                                               const std::string& port_file,
                                               absl::Duration timeout) {
  if (args.empty() || access(args[0].c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("no executable at \"", args.empty() ? "" : args[0], "\""));
  }
  // Built before fork(): the child calls only async-signal-safe functions.
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the thread that started it
    if (getppid() != parent) _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (child < 0) return absl::InternalError("fork() failed");

  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    if (waitpid(child, &status, WNOHANG) == child) {
      return absl::InternalError(absl::StrCat(args[0], " exited before writing its port (wait status ",
                                              status, ")"));
    }
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) return PortProcess(child, port);
    if (absl::Now() >= deadline) {
      KillAndReap(child);
      return absl::DeadlineExceededError(absl::StrCat(args[0], " wrote no port within ",
                                                      absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

PortProcess& PortProcess::operator=(PortProcess&& other) noexcept {
  if (this != &other) {
    Stop();
    pid_ = other.pid_;
    port_ = other.port_;
    other.pid_ = -1;
  }
  return *this;
}

void PortProcess::Stop() {
  if (pid_ < 0) return;
  KillAndReap(pid_);
  pid_ = -1;
}

}  // namespace testing
}  // namespace circuit
