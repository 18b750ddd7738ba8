// File: tests/grpc/echo_server_process.h
// `echo::testing::EchoServerProcess` is a test fixture: the echo_server
// binary (echo_server.cc: tests/grpc/echo.proto's Echo and Control) run as
// a child process that belongs to one test, listening on 127.0.0.1 on a
// port the kernel picked. A separate process, so that the client's calls
// cross a real socket and the server's count of received calls is its own.
// The ideas are tests/redis/redis_server.h's: fork and exec, the child dies
// with the thread that started it (PR_SET_PDEATHSIG), stopped and reaped by
// PID.
//
// Example:
//   absl::StatusOr<std::unique_ptr<EchoServerProcess>> server = EchoServerProcess::Start();
//   ASSERT_TRUE(server.ok()) << server.status();
//   auto channel = ::grpc::CreateChannel((*server)->address(),
//                                        ::grpc::InsecureChannelCredentials());
//
// Thread safety: one thread at a time.
#ifndef CIRCUIT_TESTS_GRPC_ECHO_SERVER_PROCESS_H_
#define CIRCUIT_TESTS_GRPC_ECHO_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/port_process.h"

namespace echo {
namespace testing {

class EchoServerProcess {
 public:
  // EchoServerProcess::Start()
  // Starts echo_server (from the test's runfiles, or `binary`) and returns
  // once it has written its port. Errors: NotFound without the binary;
  // Internal when it exits first (with its exit status), DeadlineExceeded
  // when no port comes within `timeout` (the child is killed).
  static absl::StatusOr<std::unique_ptr<EchoServerProcess>> Start(
      std::string binary = "", absl::Duration timeout = absl::Seconds(20));

  EchoServerProcess(const EchoServerProcess&) = delete;
  EchoServerProcess& operator=(const EchoServerProcess&) = delete;

  // Kills the server (SIGKILL) and reaps it.
  ~EchoServerProcess();

  // "127.0.0.1:<port>".
  std::string address() const;
  int port() const { return process_.port(); }
  pid_t pid() const { return process_.pid(); }

 private:
  EchoServerProcess(circuit::testing::PortProcess process, std::string dir)
      : process_(std::move(process)), dir_(std::move(dir)) {}

  circuit::testing::PortProcess process_;
  std::string dir_;  // holds the port file; removed by the destructor
};

}  // namespace testing
}  // namespace echo

#endif  // CIRCUIT_TESTS_GRPC_ECHO_SERVER_PROCESS_H_
