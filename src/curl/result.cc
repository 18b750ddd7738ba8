// File: src/curl/result.cc
// TransferStatus(): a finished transfer's CURLcode as an absl::Status, for
// Result::status.
#include "circuit/curl/result.h"

#include <curl/curl.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace circuit {
namespace curl {
namespace {

absl::StatusCode CodeFor(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_TOO_MANY_REDIRECTS:
      return absl::StatusCode::kUnavailable;
    case CURLE_ABORTED_BY_CALLBACK:
      return absl::StatusCode::kCancelled;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_SETOPT_OPTION_SYNTAX:
      return absl::StatusCode::kInvalidArgument;
    default:
      return absl::StatusCode::kUnknown;
  }
}

}  // namespace

absl::Status TransferStatus(CURLcode code) {
  if (code == CURLE_OK || code == CURLE_HTTP_RETURNED_ERROR) return absl::OkStatus();
  return absl::Status(CodeFor(code), absl::StrCat("curl: ", curl_easy_strerror(code), " (CURLcode ",
                                                  static_cast<int>(code), ")"));
}

}  // namespace curl
}  // namespace circuit
