// File: tests/curl/http_server.cc
// TestHttpServer: starting tests/curl/test_http_server as a child process
// (fork, then execv), reading its port, talking to it with plain libcurl
// (no breaker), and killing it by PID.
#include "tests/curl/http_server.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace circuit {
namespace testing {
namespace {

constexpr char kBinary[] = "tests/curl/test_http_server";
constexpr absl::Duration kStartupTimeout = absl::Seconds(10);
// The fixture's own requests: the server answers control requests at once.
constexpr absl::Duration kControlTimeout = absl::Seconds(5);

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

size_t DiscardBody(char*, size_t size, size_t count, void*) { return size * count; }

// One request with a plain easy handle; the body, or why there is none.
absl::StatusOr<std::string> Fetch(const std::string& url, bool post) {
  EasyHandle easy(curl_easy_init());
  if (easy == nullptr) return absl::InternalError("curl_easy_init() failed");
  std::string body;
  curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(kControlTimeout)));
  curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &body);
  if (post) curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDS, "");
  const CURLcode code = curl_easy_perform(easy.get());
  long status = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
  if (code != CURLE_OK || status != 200) {
    return absl::InternalError(
        absl::StrCat(url, ": ", curl_easy_strerror(code), ", HTTP ", status, ", body: ", body));
  }
  return body;
}

std::string Escape(const std::string& text) {
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  std::string result = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return result;
}

}  // namespace

EasyHandle NewEasy(const std::string& url, absl::Duration timeout) {
  EasyHandle easy(curl_easy_init());
  if (easy == nullptr) return easy;
  curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &DiscardBody);
  return easy;
}

absl::StatusOr<std::unique_ptr<TestHttpServer>> TestHttpServer::Start() {
  const char* tmp = getenv("TEST_TMPDIR");
  std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  std::string port_file = absl::StrCat(dir, "/http_server.XXXXXX");
  const int fd = mkstemp(port_file.data());
  if (fd < 0) return absl::InternalError(absl::StrCat("mkstemp(", port_file, ") failed"));
  close(fd);
  unlink(port_file.c_str());  // the server renames its port into place

  absl::StatusOr<PortProcess> process = PortProcess::Start(
      {kBinary, absl::StrCat("--port_file=", port_file)}, port_file, kStartupTimeout);
  if (!process.ok()) return process.status();
  return absl::WrapUnique(new TestHttpServer(port_file, *std::move(process)));
}

TestHttpServer::~TestHttpServer() {
  Stop();
  unlink(port_file_.c_str());
}

void TestHttpServer::Stop() { process_.Stop(); }

absl::Status TestHttpServer::Answer(const Behaviour& behaviour) {
  std::string url = absl::StrCat(Url("/control"), "?status=", behaviour.status,
                                 "&hang_ms=", absl::ToInt64Milliseconds(behaviour.hang));
  if (behaviour.retry_after.has_value()) {
    absl::StrAppend(&url, "&retry_after=", Escape(*behaviour.retry_after));
  }
  return Fetch(url, /*post=*/true).status();
}

absl::StatusOr<long> TestHttpServer::Received() const {
  absl::StatusOr<std::string> body = Fetch(Url("/count"), /*post=*/false);
  if (!body.ok()) return body.status();
  long count = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*body), &count)) {
    return absl::InternalError(absl::StrCat("/count answered '", *body, "'"));
  }
  return count;
}

std::string TestHttpServer::Url(absl::string_view path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

}  // namespace testing
}  // namespace circuit
