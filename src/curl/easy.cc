// File: src/curl/easy.cc
// Perform(): a permit, then curl_easy_perform(), then the outcome.
#include "circuit/curl/easy.h"

#include <curl/curl.h>

#include "circuit/breaker.h"
#include "circuit/curl/classify.h"
#include "circuit/curl/result.h"
#include "circuit/permit.h"
#include "src/curl/transfer.h"

namespace circuit {
namespace curl {

Result Perform(Breaker& breaker, CURL* easy, const Classifier& classifier) {
  Permit permit = breaker.TryAcquire();
  if (!permit) return internal::Rejected(permit);
  // Should the classifier throw, `permit` is released on the way out.
  return internal::Resolve(permit, easy, curl_easy_perform(easy), classifier);
}

}  // namespace curl
}  // namespace circuit
