// File: circuit/curl/classify.h
// What a finished libcurl transfer tells a breaker: `circuit::curl::Verdict`
// names the outcome recorded, and `circuit::curl::Classifier` decides it,
// from the CURLcode when the transfer ended without an HTTP response and
// from the HTTP status when the server answered. The defaults count what
// says the dependency is unwell (timeouts, refused or dropped connections,
// 5xx) as failures, honour Retry-After on 429 and 503, and leave the
// caller's own mistakes (4xx, a malformed URL, a write callback that gave
// up) out of the breaker's judgement.
//
// Example (404 is the caller's by default; this service's 404 means that
// a backend lost its data, so it counts as a failure):
//   circuit::curl::Classifier classifier;
//   classifier.classify_status = [](long status) {
//     if (status == 404) return circuit::curl::Verdict::kFailure;
//     return circuit::curl::DefaultStatusVerdict(status);
//   };
//   circuit::curl::Result result = circuit::curl::Perform(*breaker, easy, classifier);
//
// Defaults:
//   the transfer ended         counted as
//   HTTP 429 or 503            kRetryAfter: a failure that opens the breaker
//                              for the response's Retry-After (delta-seconds
//                              or HTTP-date), or a plain failure without a
//                              valid one (circuit/curl/retry_after.h)
//   HTTP 500-599 (others)      kFailure
//   any other HTTP status      kSuccess: the dependency answered (1xx-3xx,
//                              and 4xx, which are the caller's)
//   no response, a CURLcode    kIgnored for the caller's errors (see
//   the caller caused          DefaultCodeVerdict()): they say nothing
//                              about the dependency
//   no response, any other     kFailure: timeouts, refused or reset
//   CURLcode                   connections, unresolved names, TLS
//                              handshakes that failed, empty replies
//
// Thread safety: a Classifier is read, never written, by the transfers
// that use it; its functions may run on several threads at once (one per
// transfer) and must allow it.
#ifndef CIRCUIT_CURL_CLASSIFY_H_
#define CIRCUIT_CURL_CLASSIFY_H_

#include <curl/curl.h>

#include <cstdint>
#include <functional>

#include "absl/strings/string_view.h"

namespace circuit {
namespace curl {

// What a transfer was recorded as, and what a classifier decides.
enum class Verdict : uint8_t {
  // Permit::Success(took).
  kSuccess,
  // Permit::Failure(took).
  kFailure,
  // Permit::FailureRetryAfter(wait, took): the breaker opens for the wait
  // the response's Retry-After asked for. From a classifier: a failure
  // that honours Retry-After when the response carries a valid, positive
  // one, and is recorded as kFailure when it does not.
  kRetryAfter,
  // Permit::Ignore(): neither success nor failure.
  kIgnored,
  // The breaker refused the transfer, which was never started; nothing was
  // sent. A classifier that returns it is read as kFailure.
  kRejected,
};

// VerdictName()
// "SUCCESS", "FAILURE", "RETRY_AFTER", "IGNORED", "REJECTED"; "UNKNOWN"
// outside the enum.
absl::string_view VerdictName(Verdict verdict);

// DefaultCodeVerdict()
// For a transfer that ended without an HTTP response: kSuccess for
// CURLE_OK; kIgnored for the codes the caller causes, whatever the
// dependency's health (the request was never made, or the caller's own
// code or settings stopped it):
//   CURLE_UNSUPPORTED_PROTOCOL, CURLE_FAILED_INIT, CURLE_URL_MALFORMAT,
//   CURLE_NOT_BUILT_IN, CURLE_REMOTE_ACCESS_DENIED, CURLE_WRITE_ERROR,
//   CURLE_READ_ERROR, CURLE_OUT_OF_MEMORY, CURLE_ABORTED_BY_CALLBACK,
//   CURLE_BAD_FUNCTION_ARGUMENT, CURLE_UNKNOWN_OPTION,
//   CURLE_SETOPT_OPTION_SYNTAX, CURLE_SSL_ENGINE_NOTFOUND,
//   CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
//   CURLE_FILESIZE_EXCEEDED, CURLE_SSL_ENGINE_INITFAILED,
//   CURLE_LOGIN_DENIED, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CRL_BADFILE,
//   CURLE_RECURSIVE_API_CALL;
// kFailure for every other code, those of later libcurl versions included
// (CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT,
// CURLE_COULDNT_RESOLVE_HOST, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
// CURLE_GOT_NOTHING, CURLE_SSL_CONNECT_ERROR, CURLE_PARTIAL_FILE, ...).
Verdict DefaultCodeVerdict(CURLcode code);

// DefaultStatusVerdict()
// For a transfer the server answered with `http_status`: kRetryAfter for
// 429 and 503, kFailure for the other 5xx, kSuccess for everything else.
Verdict DefaultStatusVerdict(long http_status);

// How finished transfers are classified (see the table above). Both
// functions must be set; each may return any Verdict (kRejected is read as
// kFailure).
struct Classifier {
  // For a transfer that ended without an HTTP response: by its CURLcode.
  // Default: DefaultCodeVerdict.
  std::function<Verdict(CURLcode code)> classify_code = DefaultCodeVerdict;

  // For a transfer the server answered: by its HTTP status
  // (CURLINFO_RESPONSE_CODE), when the transfer ended with CURLE_OK or,
  // under CURLOPT_FAILONERROR, with CURLE_HTTP_RETURNED_ERROR. A transfer
  // that failed after the response began (a timeout while reading the
  // body) is judged by its CURLcode instead. Default: DefaultStatusVerdict.
  // Written for HTTP(S): another protocol's response codes (FTP's 550)
  // need a function of their own.
  std::function<Verdict(long http_status)> classify_status = DefaultStatusVerdict;
};

}  // namespace curl
}  // namespace circuit

#endif  // CIRCUIT_CURL_CLASSIFY_H_
