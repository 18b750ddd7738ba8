// File: tests/grpc/echo_server_process.cc
// EchoServerProcess: fork, exec echo_server with a port file, wait for the
// file, and kill by PID.
#include "tests/grpc/echo_server_process.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
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
  absl::StatusOr<circuit::testing::PortProcess> process =
      circuit::testing::PortProcess::Start({binary, port_file}, port_file, timeout);
  if (!process.ok()) return process.status();
  return std::unique_ptr<EchoServerProcess>(new EchoServerProcess(*std::move(process), dir));
}

EchoServerProcess::~EchoServerProcess() {
  process_.Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string EchoServerProcess::address() const { return absl::StrCat("127.0.0.1:", port()); }

}  // namespace testing
}  // namespace echo
