// File: tests/grpc/echo_server_process.cc
// EchoServerProcess: fork, exec echo_server with a port file, wait for the
// file, and kill by PID.
#include "tests/grpc/echo_server_process.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace echo {
namespace testing {
namespace {

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// The echo_server beside the test in its runfiles.
std::string RunfilesBinary() {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* workspace = getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return "";
  return absl::StrCat(srcdir, "/", workspace != nullptr ? workspace : "circuit",
                      "/tests/grpc/echo_server");
}

}  // namespace

absl::StatusOr<std::unique_ptr<EchoServerProcess>> EchoServerProcess::Start(
    std::string binary, absl::Duration timeout) {
  if (binary.empty()) binary = RunfilesBinary();
  if (binary.empty() || access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("echo_server not found at \"", binary, "\""));
  }
  const char* tmp = getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/echo.XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp(", dir, ") failed"));
  }
  const std::string port_file = dir + "/port";
  // Built before fork(): the child calls only async-signal-safe functions.
  std::vector<std::string> args = {binary, port_file};
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
      return absl::InternalError(absl::StrCat("echo_server exited before writing its port (wait status ",
                                              status, ")"));
    }
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) {
      return std::unique_ptr<EchoServerProcess>(new EchoServerProcess(child, port, dir));
    }
    if (absl::Now() >= deadline) {
      KillAndReap(child);
      return absl::DeadlineExceededError(absl::StrCat("echo_server wrote no port within ",
                                                      absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

EchoServerProcess::~EchoServerProcess() {
  KillAndReap(pid_);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string EchoServerProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

}  // namespace testing
}  // namespace echo
