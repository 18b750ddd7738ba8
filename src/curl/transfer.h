// File: src/curl/transfer.h
// What Perform() and MultiAdapter share: a refused transfer's Result, and
// a finished transfer turned into its permit's outcome and its Result.
// Internal to //:circuit_curl.
#ifndef CIRCUIT_SRC_CURL_TRANSFER_H_
#define CIRCUIT_SRC_CURL_TRANSFER_H_

#include <curl/curl.h>

#include <optional>

#include "absl/time/time.h"
#include "circuit/curl/classify.h"
#include "circuit/curl/result.h"
#include "circuit/permit.h"

namespace circuit {
namespace curl {
namespace internal {

// The Result of a transfer `permit` refused: kRejected, its rejection
// status and retry_after().
Result Rejected(const Permit& permit);

// Resolves `permit` for the transfer `easy` that ended with `code`, as
// `classifier` decides (a kRetryAfter reads the response's Retry-After),
// and returns what was recorded. `permit` is admitted and unresolved.
Result Resolve(Permit& permit, CURL* easy, CURLcode code, const Classifier& classifier);

// The wait the last response of `easy` asks for in its Retry-After header
// (ParseRetryAfter() at `now`); nullopt when it has none or it does not
// parse.
std::optional<absl::Duration> ReadRetryAfter(CURL* easy, absl::Time now);

}  // namespace internal
}  // namespace curl
}  // namespace circuit

#endif  // CIRCUIT_SRC_CURL_TRANSFER_H_
