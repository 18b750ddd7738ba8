// File: circuit/curl/result.h
// `circuit::curl::Result` is what a guarded transfer returns: whether the
// breaker let it through, how libcurl ended it, what the server answered,
// and what the breaker recorded. Perform() (circuit/curl/easy.h) returns one
// per transfer; MultiAdapter (circuit/curl/multi.h) one per finished
// transfer.
//
// Example:
//   circuit::curl::Result result = circuit::curl::Perform(*breaker, easy);
//   if (result.rejected()) {
//     return result.status;  // kUnavailable, "... is OPEN; retry in 12s"
//   }
//   if (!result.status.ok()) return result.status;  // no response: curl's error
//   if (result.http_status >= 400) ...              // the server's answer
//
// A plain struct: copy it, keep it, read it on any thread.
#ifndef CIRCUIT_CURL_RESULT_H_
#define CIRCUIT_CURL_RESULT_H_

#include <curl/curl.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/curl/classify.h"

namespace circuit {
namespace curl {

struct Result {
  // What the breaker recorded (kRejected: the transfer never started).
  // kRetryAfter only when the breaker was asked to open for `retry_after`;
  // a 429 or 503 without a valid Retry-After is kFailure.
  Verdict verdict = Verdict::kRejected;

  // OK when the server answered, whatever the HTTP status (read
  // `http_status`). A rejection: the breaker's RejectionStatus()
  // (kUnavailable; circuit::IsRejection() holds, and
  // circuit::RejectionRetryAfter() reads its delay). No response: curl's
  // error, as TransferStatus() maps it.
  absl::Status status;

  // How curl_easy_perform() (or the multi handle) ended the transfer;
  // CURLE_OK when rejected.
  CURLcode code = CURLE_OK;

  // CURLINFO_RESPONSE_CODE: the last response's status, 0 when there was
  // none (rejected, or no response).
  long http_status = 0;

  // kRetryAfter: the wait the response asked for, which the breaker opened
  // for (before its max_open_duration cap). kRejected: the permit's
  // retry_after(), how long until the breaker admits a trial (zero when
  // HALF_OPEN, infinite when FORCED_OPEN). Zero otherwise.
  absl::Duration retry_after = absl::ZeroDuration();

  // CURLINFO_TOTAL_TIME_T: the transfer's duration as libcurl measured it,
  // name resolution to the last byte; the `took` the breaker judged slow
  // calls by. Zero when rejected.
  absl::Duration took = absl::ZeroDuration();

  bool rejected() const { return verdict == Verdict::kRejected; }
};

// TransferStatus()
// An absl::Status for a transfer that ended with `code`, naming it and
// curl_easy_strerror()'s text: OK for CURLE_OK and
// CURLE_HTTP_RETURNED_ERROR (the server answered); kDeadlineExceeded for
// CURLE_OPERATION_TIMEDOUT; kUnavailable for the codes of an unreachable or
// unwell dependency (connect, resolve, send, receive, TLS handshake, an
// empty or partial reply); kCancelled for CURLE_ABORTED_BY_CALLBACK;
// kInvalidArgument for the caller's malformed requests and settings;
// kUnknown for the rest.
absl::Status TransferStatus(CURLcode code);

}  // namespace curl
}  // namespace circuit

#endif  // CIRCUIT_CURL_RESULT_H_
