// File: src/curl/transfer.cc
// From a finished transfer to the breaker's outcome: which classifier
// judges it (the status when the server answered, else the CURLcode), the
// Retry-After read with curl_easy_header(), and the permit resolved with
// libcurl's own measure of the transfer's duration.
#include "src/curl/transfer.h"

#include <curl/curl.h>

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
// Permit's inline members (Success(took), Failure(took), ...) are defined
// in breaker.h, after Breaker.
#include "circuit/breaker.h"
#include "circuit/curl/classify.h"
#include "circuit/curl/result.h"
#include "circuit/curl/retry_after.h"
#include "circuit/permit.h"

namespace circuit {
namespace curl {
namespace internal {

Result Rejected(const Permit& permit) {
  Result result;
  result.verdict = Verdict::kRejected;
  result.status = permit.RejectionStatus();
  // The delay the status carries, so the two agree (retry_after() reads
  // the clock each time it is asked).
  result.retry_after = RejectionRetryAfter(result.status).value_or(permit.retry_after());
  return result;
}

std::optional<absl::Duration> ReadRetryAfter(CURL* easy, absl::Time now) {
  curl_header* header = nullptr;
  // Origin CURLH_HEADER: the response's headers, not trailers or a
  // CONNECT's; request -1: the last response, after any redirect. Only
  // the first Retry-After counts (the field is a single value).
  if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &header) != CURLHE_OK ||
      header == nullptr || header->value == nullptr) {
    return std::nullopt;
  }
  return ParseRetryAfter(header->value, now);
}

Result Resolve(Permit& permit, CURL* easy, CURLcode code, const Classifier& classifier) {
  Result result;
  result.code = code;
  result.status = TransferStatus(code);
  long http_status = 0;
  if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http_status) == CURLE_OK) {
    result.http_status = http_status;
  }
  curl_off_t micros = 0;
  if (curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &micros) == CURLE_OK) {
    result.took = absl::Microseconds(micros);
  }

  // The server answered: its status says how the dependency is. A
  // transfer that broke off after the answer began (a body cut short by
  // a timeout) ended in a CURLcode other than these two, and that code is
  // the news.
  const bool answered =
      result.http_status > 0 && (code == CURLE_OK || code == CURLE_HTTP_RETURNED_ERROR);
  Verdict verdict =
      answered ? classifier.classify_status(result.http_status) : classifier.classify_code(code);
  if (verdict == Verdict::kRejected) verdict = Verdict::kFailure;
  if (verdict == Verdict::kRetryAfter) {
    const std::optional<absl::Duration> wait = ReadRetryAfter(easy, absl::Now());
    // A wait of zero (a date already past) opens nothing: a plain failure,
    // as FailureRetryAfter() itself would count it.
    if (wait.has_value() && *wait > absl::ZeroDuration()) {
      result.retry_after = *wait;
    } else {
      verdict = Verdict::kFailure;
    }
  }

  result.verdict = verdict;
  switch (verdict) {
    case Verdict::kSuccess:
      permit.Success(result.took);
      break;
    case Verdict::kRetryAfter:
      permit.FailureRetryAfter(result.retry_after, result.took);
      break;
    case Verdict::kIgnored:
      permit.Ignore();
      break;
    case Verdict::kFailure:
    case Verdict::kRejected:
      permit.Failure(result.took);
      break;
  }
  return result;
}

}  // namespace internal
}  // namespace curl
}  // namespace circuit
