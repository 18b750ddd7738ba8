// File: src/bulkhead.cc
// The bulkhead's slow paths: creation, the wait for a slot, the rejection
// message and the metrics (circuit/bulkhead.h).
#include "circuit/bulkhead.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/base/internal/raw_logging.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace circuit {
namespace {
// Marks a bulkhead's rejection; its value is "<in flight> <max>".
constexpr absl::string_view kBulkheadRejectionPayload = "circuit.dev/bulkhead-rejection";
constexpr int kMaxConcurrent = 1'000'000;
}  // namespace

absl::Status ValidateBulkheadConfig(const BulkheadConfig& config) {
  if (config.name.empty()) {
    return absl::InvalidArgumentError("BulkheadConfig.name must not be empty");
  }
  if (config.max_concurrent < 1 || config.max_concurrent > kMaxConcurrent) {
    return absl::InvalidArgumentError(absl::StrCat("BulkheadConfig.max_concurrent must be in 1..",
                                                   kMaxConcurrent, ", got ",
                                                   config.max_concurrent));
  }
  if (config.max_wait < absl::ZeroDuration() || config.max_wait > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("BulkheadConfig.max_wait must be in 0..1h, got ",
                     absl::FormatDuration(config.max_wait)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Bulkhead>> Bulkhead::Create(BulkheadConfig config) {
  absl::Status status = ValidateBulkheadConfig(config);
  if (!status.ok()) return status;
  return std::unique_ptr<Bulkhead>(new Bulkhead(std::move(config)));
}

Bulkhead::Bulkhead(BulkheadConfig config)
    : config_(std::move(config)), max_concurrent_(static_cast<uint32_t>(config_.max_concurrent)) {}

Bulkhead::~Bulkhead() {
  // relaxed: the destructor runs after every user of the bulkhead is done
  // with it (or the program is wrong, which this reports).
  const uint32_t in_flight = InFlightOf(slots_.load(std::memory_order_relaxed));
  if (in_flight != 0) {
    ABSL_RAW_LOG(FATAL,
                 "circuit::Bulkhead '%s' destroyed with %u slots taken: a BulkheadSlot must not "
                 "outlive its Bulkhead",
                 config_.name.c_str(), in_flight);
  }
}

// Waiting for a slot. The waiter registers in the slot word and tries
// again under wait_mu_, then waits on slot_freed_. A giver reads the
// waiters off the word with the same read-modify-write that frees the
// slot, so in the word's modification order either the giver's free comes
// first (the waiter's later try sees it) or the waiter's registration does
// (the giver sees a waiter and notifies under wait_mu_, which the waiter
// holds from its registration until it waits: the notification cannot
// fall between its try and its wait).
BulkheadSlot Bulkhead::AcquireWaiting() {
  const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  const std::chrono::steady_clock::time_point deadline =
      start + absl::ToChronoNanoseconds(config_.max_wait);
  uint32_t in_flight = 0;
  bool taken = false;
  {
    std::unique_lock<std::mutex> lock(wait_mu_);
    // relaxed: see slots_ (the order of read-modify-writes on the word).
    // Room for one more waiter: the count is only changed under wait_mu_,
    // so it cannot grow between this check and the add.
    if (WaitersOf(slots_.load(std::memory_order_relaxed)) >= kMaxWaiters) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return BulkheadSlot(this, false, max_concurrent_);
    }
    slots_.fetch_add(kOneWaiter, std::memory_order_relaxed);
    for (;;) {
      if (TryTake(&in_flight)) {
        taken = true;
        break;
      }
      if (slot_freed_.wait_until(lock, deadline) == std::cv_status::timeout) {
        taken = TryTake(&in_flight);  // a slot freed as the wait ended
        break;
      }
    }
    slots_.fetch_sub(kOneWaiter, std::memory_order_relaxed);
  }
  const int64_t waited_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count();
  // relaxed: statistics.
  waited_.fetch_add(1, std::memory_order_relaxed);
  wait_nanos_.fetch_add(waited_nanos, std::memory_order_relaxed);
  if (taken) return BulkheadSlot(this, true, in_flight);
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return BulkheadSlot(this, false, in_flight, /*waited=*/true);
}

BulkheadMetrics Bulkhead::Metrics() const {
  BulkheadMetrics m;
  m.max_concurrent = config_.max_concurrent;
  // relaxed: statistics, read one after another.
  const uint64_t word = slots_.load(std::memory_order_relaxed);
  m.in_flight = InFlightOf(word);
  m.waiting = WaitersOf(word);
  m.max_in_flight = PeakOf(word);
  m.rejected = rejected_.load(std::memory_order_relaxed);
  m.waited = waited_.load(std::memory_order_relaxed);
  m.wait_time = absl::Nanoseconds(wait_nanos_.load(std::memory_order_relaxed));
  return m;
}

absl::Status BulkheadSlot::RejectionStatus() const {
  if (bulkhead_ == nullptr || admitted_) return absl::OkStatus();
  const BulkheadConfig& config = bulkhead_->config();
  std::string message =
      absl::StrCat("bulkhead '", config.name, "' is full: ", in_flight_, " calls in flight of ",
                   config.max_concurrent);
  if (waited_) {
    absl::StrAppend(&message, " (waited ", absl::FormatDuration(config.max_wait), ")");
  }
  absl::Status status = absl::ResourceExhaustedError(message);
  status.SetPayload(kBulkheadRejectionPayload,
                    absl::Cord(absl::StrCat(in_flight_, " ", config.max_concurrent)));
  return status;
}

bool IsBulkheadRejection(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         status.GetPayload(kBulkheadRejectionPayload).has_value();
}

}  // namespace circuit
