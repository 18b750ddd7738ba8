// A consumer of an installed circuit::curl, with no server to talk to: a
// forced-open breaker refuses a transfer without calling libcurl, and an
// admitted one to a closed loopback port is counted as a failure. Built by
// tests/packaging/run.sh through find_package(circuit COMPONENTS curl);
// linking it proves the installed package brings libcurl along.
#include <curl/curl.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/curl/easy.h"
#include "circuit/curl/retry_after.h"
#include "circuit/permit.h"

int main() {
  int failures = 0;
  auto fail = [&failures](const std::string& what) {
    std::fprintf(stderr, "curl consumer: %s\n", what.c_str());
    ++failures;
  };
  curl_global_init(CURL_GLOBAL_DEFAULT);  // the application's, once
  {
    circuit::BreakerConfig config;
    config.name = "consumer";
    config.consecutive_failures_to_open = 1;
    std::unique_ptr<circuit::Breaker> breaker = circuit::Breaker::Create(config).value();
    CURL* easy = curl_easy_init();
    // Port 1 on loopback: nothing listens, the connection is refused.
    curl_easy_setopt(easy, CURLOPT_URL, "http://127.0.0.1:1/");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);

    const circuit::curl::Result refused = circuit::curl::Perform(*breaker, easy);
    if (refused.verdict != circuit::curl::Verdict::kFailure) {
      fail("a refused connection was " + std::string(circuit::curl::VerdictName(refused.verdict)));
    }
    const circuit::curl::Result rejected = circuit::curl::Perform(*breaker, easy);
    if (!rejected.rejected() || !circuit::IsRejection(rejected.status)) {
      fail("the open breaker let a transfer through: " + rejected.status.ToString());
    }
    if (circuit::curl::ParseRetryAfter("120", absl::Now()) != absl::Seconds(120)) {
      fail("ParseRetryAfter(\"120\")");
    }
    curl_easy_cleanup(easy);
    if (failures == 0) {
      std::printf("curl consumer: refused connection counted, then: %s\n",
                  rejected.status.ToString().c_str());
    }
  }
  curl_global_cleanup();
  return failures == 0 ? 0 : 1;
}
