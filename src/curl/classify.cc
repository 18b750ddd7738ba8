// File: src/curl/classify.cc
// The default classification of finished transfers (circuit/curl/classify.h):
// which CURLcodes are the caller's, and which HTTP statuses count against
// the dependency.
#include "circuit/curl/classify.h"

#include <curl/curl.h>

#include "absl/strings/string_view.h"

namespace circuit {
namespace curl {

absl::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kSuccess:
      return "SUCCESS";
    case Verdict::kFailure:
      return "FAILURE";
    case Verdict::kRetryAfter:
      return "RETRY_AFTER";
    case Verdict::kIgnored:
      return "IGNORED";
    case Verdict::kRejected:
      return "REJECTED";
  }
  return "UNKNOWN";
}

Verdict DefaultCodeVerdict(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return Verdict::kSuccess;
    // The request never left: the caller's URL, options or build.
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_FAILED_INIT:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_SETOPT_OPTION_SYNTAX:
    case CURLE_RECURSIVE_API_CALL:
    case CURLE_OUT_OF_MEMORY:
    // The caller's local TLS material or settings.
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    // The caller's callbacks or limits stopped the transfer.
    case CURLE_WRITE_ERROR:
    case CURLE_READ_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_FILESIZE_EXCEEDED:
    // The caller's credentials: what a 401 or 403 is for HTTP.
    case CURLE_REMOTE_ACCESS_DENIED:
    case CURLE_LOGIN_DENIED:
      return Verdict::kIgnored;
    default:
      return Verdict::kFailure;
  }
}

Verdict DefaultStatusVerdict(long http_status) {
  if (http_status == 429 || http_status == 503) return Verdict::kRetryAfter;
  if (http_status >= 500 && http_status <= 599) return Verdict::kFailure;
  return Verdict::kSuccess;
}

}  // namespace curl
}  // namespace circuit
