// File: circuit/curl/easy.h
// `circuit::curl::Perform()` is curl_easy_perform() behind a breaker: it
// asks the breaker first, and when the breaker refuses it returns the
// rejection without touching the network; when admitted, it performs the
// transfer and records its outcome, classified by a Classifier
// (circuit/curl/classify.h), with libcurl's measured duration as the call's
// `took`. A 429 or 503 with a valid Retry-After opens the breaker for that
// long (Permit::FailureRetryAfter()).
//
// Example:
//   // Once, in main(), before any thread starts (see "libcurl's global
//   // state" below):
//   curl_global_init(CURL_GLOBAL_DEFAULT);
//
//   // Beside the client: one breaker per dependency, shared by every call.
//   std::shared_ptr<circuit::Breaker> breaker = registry.GetOrCreate("quotes").value();
//
//   CURL* easy = curl_easy_init();
//   curl_easy_setopt(easy, CURLOPT_URL, "http://quotes.internal/v1/quote?id=7");
//   curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 500L);  // a hang must end
//   circuit::curl::Result result = circuit::curl::Perform(*breaker, easy);
//   if (result.rejected()) return result.status;        // nothing was sent
//   if (!result.status.ok()) return result.status;      // curl's error
//   ... result.http_status ...
//   curl_easy_cleanup(easy);
//
// The handle is the caller's: Perform() sets no option on it, so its URL,
// timeouts and callbacks are as the caller set them, and it may be reused
// (libcurl then keeps its connection). Without CURLOPT_TIMEOUT_MS (or
// CURLOPT_TIMEOUT) a hung server holds the call, and the breaker never
// hears of it: set one.
//
// libcurl's global state: Perform() and MultiAdapter never call
// curl_global_init() or curl_global_cleanup(). The application owns them,
// as libcurl asks: curl_global_init() once before its first transfer (and
// before it starts threads, for libcurl builds older than 7.84 or without
// CURL_VERSION_THREADSAFE), curl_global_cleanup() once after the last.
//
// Reading Retry-After: with curl_easy_header() (libcurl 7.83 and later),
// from the last response of the transfer (after redirects); the caller's
// header callback, if any, is left alone.
//
// Thread safety: Perform() may be called on many threads at once, with
// one breaker; a CURL* handle is used by one thread at a time, as libcurl
// requires.
#ifndef CIRCUIT_CURL_EASY_H_
#define CIRCUIT_CURL_EASY_H_

#include <curl/curl.h>

#include "circuit/breaker.h"
#include "circuit/curl/classify.h"
#include "circuit/curl/result.h"

namespace circuit {
namespace curl {

// Perform()
// Takes a permit from `breaker`. Refused: returns at once with kRejected,
// the rejection status and its retry_after, having called nothing of
// libcurl. Admitted: runs curl_easy_perform(easy), then resolves the permit
// as `classifier` decides (see Result for what is returned). Blocks as
// long as the transfer does. Should a classifier throw, the permit is
// released unresolved and the exception reaches the caller.
// REQUIRES: `easy` is a valid easy handle not in a multi handle.
Result Perform(Breaker& breaker, CURL* easy, const Classifier& classifier = Classifier());

}  // namespace curl
}  // namespace circuit

#endif  // CIRCUIT_CURL_EASY_H_
