// File: tests/testing/port_process.h
// Starting a test's server as a child process that tells its port through
// a file, and stopping it by PID: the shape the gRPC and HTTP suites share
// (tests/grpc/echo_server_process.h, tests/curl/http_server.h).
//
//   absl::StatusOr<circuit::testing::PortProcess> server =
//       circuit::testing::PortProcess::Start(
//           {binary, "--port_file=" + port_file}, port_file, absl::Seconds(10));
//   ... server->port() ...
//   server->Stop();   // SIGKILL and reap; the destructor does it too
//
// The child gets PR_SET_PDEATHSIG: it dies with the thread that started
// it, so a crashed test leaves no server behind.
#ifndef CIRCUIT_TESTS_TESTING_PORT_PROCESS_H_
#define CIRCUIT_TESTS_TESTING_PORT_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace circuit {
namespace testing {

class PortProcess {
 public:
  // PortProcess::Start()
  // fork()s and execv()s `argv` (argv[0] the binary's path), then waits
  // until `port_file` holds a positive port. NotFoundError if the binary
  // is not executable, InternalError if the child exits first,
  // DeadlineExceededError (the child killed) if no port comes within
  // `timeout`.
  static absl::StatusOr<PortProcess> Start(std::vector<std::string> argv,
                                           const std::string& port_file, absl::Duration timeout);

  PortProcess(PortProcess&& other) noexcept : pid_(other.pid_), port_(other.port_) {
    other.pid_ = -1;
  }
  PortProcess& operator=(PortProcess&& other) noexcept;
  PortProcess(const PortProcess&) = delete;
  PortProcess& operator=(const PortProcess&) = delete;
  ~PortProcess() { Stop(); }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  // SIGKILL and reap; nothing if already stopped.
  void Stop();

 private:
  PortProcess(pid_t pid, int port) : pid_(pid), port_(port) {}

  pid_t pid_;
  int port_;
};

}  // namespace testing
}  // namespace circuit

#endif  // CIRCUIT_TESTS_TESTING_PORT_PROCESS_H_
