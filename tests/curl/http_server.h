// File: tests/curl/http_server.h
// `circuit::testing::TestHttpServer` is a test fixture: a real HTTP server
// (tests/curl/test_http_server.cc, a child process) on 127.0.0.1, on a port
// the kernel picked, that belongs to one test. The test tells it how to
// answer (a status, a Retry-After, a hang) and asks it how many requests it
// received, so that a rejection, which must send nothing, is told apart from
// a failure. Stop() kills it, so that its port refuses connections.
//
// Example:
//   absl::StatusOr<std::unique_ptr<TestHttpServer>> server = TestHttpServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status();
//   TestHttpServer::Behaviour fail;
//   fail.status = 500;
//   ASSERT_TRUE((*server)->Answer(fail).ok());
//   EasyHandle easy = NewEasy((*server)->Url(), absl::Milliseconds(500));
//   ... curl_easy_perform(easy.get()) gets a 500 ...
//   EXPECT_EQ((*server)->Received().value(), 1);
//
// No server outlives its test: the destructor kills it, and it runs with
// PR_SET_PDEATHSIG = SIGKILL (start it from the test's main thread, as
// tests/redis/redis_server.h explains).
//
// libcurl: the fixture's own requests (Answer(), Received()) use libcurl,
// whose global state the test's main() sets up (tests/curl/curl_test_main.cc).
//
// Thread safety: a TestHttpServer is used by one thread at a time; the
// server process itself serves any number of clients at once.
#ifndef CIRCUIT_TESTS_CURL_HTTP_SERVER_H_
#define CIRCUIT_TESTS_CURL_HTTP_SERVER_H_

#include <curl/curl.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/testing/port_process.h"

namespace circuit {
namespace testing {

// Cleans up a libcurl easy handle.
struct EasyHandleDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using EasyHandle = std::unique_ptr<CURL, EasyHandleDeleter>;

// NewEasy()
// An easy handle for a GET of `url` that fails after `timeout`
// (CURLOPT_TIMEOUT_MS), discards the body, and uses no signals
// (CURLOPT_NOSIGNAL: the tests run threads).
EasyHandle NewEasy(const std::string& url, absl::Duration timeout);

class TestHttpServer {
 public:
  // How the server answers every request but its control ones.
  struct Behaviour {
    int status = 200;
    // Sent verbatim as "Retry-After: <value>" when set.
    std::optional<std::string> retry_after;
    // Waited before answering.
    absl::Duration hang = absl::ZeroDuration();
  };

  // TestHttpServer::Start()
  // Runs tests/curl/test_http_server (from the runfiles, the test's working
  // directory) and returns once it has written its port. It answers 200
  // until told otherwise. Errors: Internal when it cannot be started or
  // exits first; DeadlineExceeded when it writes no port within 10 s.
  static absl::StatusOr<std::unique_ptr<TestHttpServer>> Start();

  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  // Kills the server (Stop()) and removes its port file.
  ~TestHttpServer();

  // TestHttpServer::Stop()
  // SIGKILL, then waits for the process: once it returns, the port refuses
  // connections (until another process binds it). Does nothing when stopped.
  void Stop();

  // TestHttpServer::Answer()
  // From now on every request (but the control ones) is answered as
  // `behaviour` says; a request already hanging keeps its old behaviour.
  absl::Status Answer(const Behaviour& behaviour);

  // TestHttpServer::Received()
  // The requests (but the control ones) the server has received.
  absl::StatusOr<long> Received() const;

  // "http://127.0.0.1:<port><path>".
  std::string Url(absl::string_view path = "/api") const;

  int port() const { return port_; }
  pid_t pid() const { return process_.pid(); }

 private:
  TestHttpServer(std::string port_file, PortProcess process)
      : port_file_(std::move(port_file)), process_(std::move(process)), port_(process_.port()) {}

  const std::string port_file_;
  PortProcess process_;  // pid -1 once stopped
  const int port_;
};

}  // namespace testing
}  // namespace circuit

#endif  // CIRCUIT_TESTS_CURL_HTTP_SERVER_H_
