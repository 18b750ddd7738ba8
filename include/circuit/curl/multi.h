// File: circuit/curl/multi.h
// `circuit::curl::MultiAdapter` puts a breaker in front of each transfer of
// a libcurl multi handle: Add() asks the transfer's breaker for a permit
// and adds the easy handle only when admitted (a refused transfer never
// reaches the network); TakeCompleted() resolves each finished transfer's
// permit, classified as Perform() classifies (circuit/curl/easy.h); and
// Remove(), for a transfer abandoned before it finished, gives its permit
// back, so a cancelled HALF_OPEN trial frees its slot instead of holding
// the breaker half-open for ever.
//
// Example (the caller's event loop stays the caller's):
//   circuit::curl::MultiAdapter adapter(multi);
//   for (CURL* easy : requests) {
//     absl::Status added = adapter.Add(*breaker, easy);
//     if (!added.ok()) Fail(easy, added);  // circuit::IsRejection(added): refused
//   }
//   while (adapter.in_flight() > 0) {
//     int running = 0;
//     curl_multi_perform(multi, &running);
//     for (const circuit::curl::CompletedTransfer& done : adapter.TakeCompleted()) {
//       Deliver(done.easy, done.result);  // removed from `multi` already
//     }
//     curl_multi_poll(multi, nullptr, 0, 100, nullptr);
//   }
//
// Permit lifecycle, per easy handle:
//   Add()             admitted: permit held, handle added to the multi
//                     refused: no permit, handle not added
//   TakeCompleted()   CURLMSG_DONE: handle removed, permit resolved
//                     (success, failure, retry-after or ignored)
//   Remove()          before CURLMSG_DONE: handle removed, permit
//                     released unresolved (counts neither way)
//   ~MultiAdapter()   every handle still held: removed and released
//
// Each transfer may go through a breaker of its own (one per host, say);
// every breaker must outlive the adapter's hold on its permits. The multi
// handle is the caller's and must outlive the adapter; drive it with
// curl_multi_perform() or curl_multi_socket_action() as usual, but add and
// remove easy handles only through the adapter, and read finished
// transfers with TakeCompleted() instead of curl_multi_info_read().
// libcurl's global state is the application's (see circuit/curl/easy.h).
//
// Thread safety: like the multi handle it drives, an adapter is used by
// one thread at a time.
#ifndef CIRCUIT_CURL_MULTI_H_
#define CIRCUIT_CURL_MULTI_H_

#include <curl/curl.h>

#include <cstddef>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "circuit/breaker.h"
#include "circuit/curl/classify.h"
#include "circuit/curl/result.h"
#include "circuit/permit.h"

namespace circuit {
namespace curl {

// A transfer that TakeCompleted() found finished.
struct CompletedTransfer {
  CURL* easy = nullptr;  // removed from the multi handle; the caller's again
  Result result;         // never kRejected
};

class MultiAdapter {
 public:
  // Drives `multi`, which it does not own. `classifier` judges every
  // finished transfer. REQUIRES: `multi` is a valid multi handle holding no
  // easy handle that was not added through this adapter.
  explicit MultiAdapter(CURLM* multi, Classifier classifier = Classifier());

  // Removes every handle still in flight from the multi handle and
  // releases its permit (as Remove()).
  ~MultiAdapter();

  MultiAdapter(const MultiAdapter&) = delete;
  MultiAdapter& operator=(const MultiAdapter&) = delete;

  // MultiAdapter::Add()
  // Takes a permit from `breaker` for `easy`. Refused: returns the
  // rejection (kUnavailable; circuit::RejectionRetryAfter() reads its
  // delay) and leaves `easy` out of the multi handle. Admitted: adds `easy`
  // with curl_multi_add_handle() and returns OK; if libcurl refuses the
  // handle, the permit is released and kInternal names curl's error.
  // FailedPrecondition, before any permit is taken, when `easy` is already
  // in flight through this adapter.
  absl::Status Add(Breaker& breaker, CURL* easy);

  // MultiAdapter::Remove()
  // Abandons a transfer before it finished: removes `easy` from the multi
  // handle and releases its permit unresolved (a HALF_OPEN trial slot is
  // free again at once). NotFound for a handle not in flight here (never
  // added, refused, or already returned by TakeCompleted()); kInternal when
  // curl_multi_remove_handle() fails (the permit is released anyway).
  absl::Status Remove(CURL* easy);

  // MultiAdapter::TakeCompleted()
  // Reads every message curl_multi_info_read() has, and for each finished
  // transfer (CURLMSG_DONE) removes its handle from the multi handle,
  // resolves its permit and returns its Result, in the order libcurl
  // reported them. A finished handle the adapter did not add is removed
  // too and returned as kIgnored. Empty when nothing finished.
  std::vector<CompletedTransfer> TakeCompleted();

  // Transfers added and neither completed nor removed yet.
  size_t in_flight() const { return in_flight_.size(); }

  CURLM* multi() const { return multi_; }

  // ---------------------------------------------------------------------
  // End of the public interface.
 private:
  CURLM* const multi_;
  const Classifier classifier_;
  // The permit of each transfer in flight, by its easy handle.
  std::unordered_map<CURL*, Permit> in_flight_;
};

}  // namespace curl
}  // namespace circuit

#endif  // CIRCUIT_CURL_MULTI_H_
