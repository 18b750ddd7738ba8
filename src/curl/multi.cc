// File: src/curl/multi.cc
// MultiAdapter: a permit per easy handle, held from Add() until the
// transfer completes (resolved) or is abandoned (released).
#include "circuit/curl/multi.h"

#include <curl/curl.h>

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "circuit/breaker.h"
#include "circuit/curl/classify.h"
#include "circuit/curl/result.h"
#include "circuit/permit.h"
#include "src/curl/transfer.h"

namespace circuit {
namespace curl {
namespace {

absl::Status MultiError(const char* what, CURLMcode code) {
  return absl::InternalError(absl::StrCat(what, ": ", curl_multi_strerror(code), " (CURLMcode ",
                                          static_cast<int>(code), ")"));
}

}  // namespace

MultiAdapter::MultiAdapter(CURLM* multi, Classifier classifier)
    : multi_(multi), classifier_(std::move(classifier)) {}

MultiAdapter::~MultiAdapter() {
  for (auto& [easy, permit] : in_flight_) {
    curl_multi_remove_handle(multi_, easy);
    permit.Release();
  }
}

absl::Status MultiAdapter::Add(Breaker& breaker, CURL* easy) {
  if (in_flight_.count(easy) != 0) {
    return absl::FailedPreconditionError(
        "MultiAdapter::Add(): this easy handle is already in flight through the adapter");
  }
  Permit permit = breaker.TryAcquire();
  if (!permit) return permit.RejectionStatus();
  const CURLMcode added = curl_multi_add_handle(multi_, easy);
  if (added != CURLM_OK) {
    // `permit` is released on return: the transfer never started.
    return MultiError("curl_multi_add_handle()", added);
  }
  in_flight_.emplace(easy, std::move(permit));
  return absl::OkStatus();
}

absl::Status MultiAdapter::Remove(CURL* easy) {
  const auto it = in_flight_.find(easy);
  if (it == in_flight_.end()) {
    return absl::NotFoundError("MultiAdapter::Remove(): this easy handle is not in flight here");
  }
  const CURLMcode removed = curl_multi_remove_handle(multi_, easy);
  // Released whatever libcurl said: the caller has given the transfer up,
  // and a permit kept for a handle no longer driven would never end.
  it->second.Release();
  in_flight_.erase(it);
  if (removed != CURLM_OK) return MultiError("curl_multi_remove_handle()", removed);
  return absl::OkStatus();
}

std::vector<CompletedTransfer> MultiAdapter::TakeCompleted() {
  std::vector<CompletedTransfer> completed;
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    // The message does not survive curl_multi_remove_handle(): copy it.
    CURL* const easy = message->easy_handle;
    const CURLcode code = message->data.result;
    CompletedTransfer done;
    done.easy = easy;
    const auto it = in_flight_.find(easy);
    if (it != in_flight_.end()) {
      done.result = internal::Resolve(it->second, easy, code, classifier_);
      in_flight_.erase(it);
    } else {
      done.result.verdict = Verdict::kIgnored;
      done.result.code = code;
      done.result.status = TransferStatus(code);
    }
    curl_multi_remove_handle(multi_, easy);
    completed.push_back(std::move(done));
  }
  return completed;
}

}  // namespace curl
}  // namespace circuit
