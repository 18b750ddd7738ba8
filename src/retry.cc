// File: src/retry.cc
// Retry()'s out-of-line half (circuit/retry.h): the policy's validation,
// the default retryable codes, and RetrySchedule, which decides after each
// failed attempt whether to wait and try again, draws the jitter, and marks
// the status Retry() gives up with.
#include "circuit/retry.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/clock.h"
#include "circuit/permit.h"

namespace circuit {
namespace {

// The payload RetryAttempts() reads: the number of attempts, in decimal.
constexpr absl::string_view kRetryAttemptsPayload = "circuit.dev/retry-attempts";

absl::Status Invalid(absl::string_view field, absl::string_view rule, absl::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat("RetryPolicy.", field, " must be ", rule, ", got ", got));
}

// splitmix64's output function: a well-mixed 64-bit value from a counter.
uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The jitter's generator: splitmix64, one per thread, so that no two calls
// share state (and no call takes a lock or writes a shared line). Trivially
// constructed: no TLS guard. Seeded on the thread's first draw from the
// time and the variable's own address, which differ between threads alive
// at once.
struct JitterGenerator {
  uint64_t state;
  bool seeded;
};
thread_local JitterGenerator tls_jitter{0, false};

// Uniform in [0, 1), from the top 53 bits of the next value.
double NextJitterUnit() {
  JitterGenerator& gen = tls_jitter;
  if (!gen.seeded) {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    gen.state = Mix(static_cast<uint64_t>(now) ^ reinterpret_cast<uintptr_t>(&gen));
    gen.seeded = true;
  }
  gen.state += 0x9e3779b97f4a7c15ULL;
  return static_cast<double>(Mix(gen.state) >> 11) * 0x1.0p-53;
}

// The resolution of CLOCK_MONOTONIC_COARSE, the clock a breaker on the
// system clock decides the end of OPEN by (circuit/clock.h): the kernel
// tick. Read once.
absl::Duration CoarseClockResolution() {
  static const absl::Duration resolution = [] {
    struct timespec res;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0) return absl::Milliseconds(10);
    return absl::DurationFromTimespec(res);
  }();
  return resolution;
}

}  // namespace

absl::Status ValidateRetryPolicy(const RetryPolicy& p) {
  if (p.max_attempts < 1) return Invalid("max_attempts", ">= 1", absl::StrCat(p.max_attempts));
  if (p.initial_backoff < absl::ZeroDuration() || p.initial_backoff == absl::InfiniteDuration()) {
    return Invalid("initial_backoff", ">= 0 and finite", absl::FormatDuration(p.initial_backoff));
  }
  // NaN fails the comparison; infinity, the finiteness test.
  if (!(p.backoff_multiplier >= 1) || !std::isfinite(p.backoff_multiplier)) {
    return Invalid("backoff_multiplier", ">= 1 and finite", absl::StrCat(p.backoff_multiplier));
  }
  if (p.max_backoff < p.initial_backoff) {
    return Invalid("max_backoff",
                   absl::StrCat(">= initial_backoff (", absl::FormatDuration(p.initial_backoff), ")"),
                   absl::FormatDuration(p.max_backoff));
  }
  if (!(p.jitter >= 0 && p.jitter < 1)) {
    return Invalid("jitter", "in [0, 1)", absl::StrCat(p.jitter));
  }
  if (p.total_deadline <= absl::ZeroDuration()) {
    return Invalid("total_deadline", "> 0", absl::FormatDuration(p.total_deadline));
  }
  return absl::OkStatus();
}

bool IsRetryableByDefault(const absl::Status& status) {
  if (IsRejection(status)) return false;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

std::optional<int> RetryAttempts(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  const auto payload = status.GetPayload(kRetryAttemptsPayload);  // absl::optional<absl::Cord>
  if (!payload.has_value()) return std::nullopt;
  int attempts = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &attempts) || attempts < 1) return std::nullopt;
  return attempts;
}

namespace internal {

RetrySchedule::RetrySchedule(const RetryPolicy& policy, const Breaker& breaker)
    : policy_(policy),
      breaker_(breaker),
      clock_(policy.clock != nullptr ? policy.clock : SystemClock()),
      rejection_margin_(breaker.config().clock == nullptr ? CoarseClockResolution()
                                                          : absl::ZeroDuration()),
      start_nanos_(clock_->NowNanos()),
      next_backoff_(policy.initial_backoff) {}

absl::Duration RetrySchedule::Remaining() const {
  return policy_.total_deadline - absl::Nanoseconds(clock_->NowNanos() - start_nanos_);
}

absl::Duration RetrySchedule::NextBackoff() {
  const absl::Duration base = next_backoff_;
  // Saturates at InfiniteDuration() rather than overflow, then the cap.
  next_backoff_ = std::min(base * policy_.backoff_multiplier, policy_.max_backoff);
  absl::Duration wait = base;
  if (policy_.jitter > 0) wait = base * (1.0 + policy_.jitter * (2.0 * NextJitterUnit() - 1.0));
  // The cap last: at the cap, jitter can only shorten the wait.
  return std::min(wait, policy_.max_backoff);
}

void RetrySchedule::Wait(absl::Duration wait) {
  if (policy_.sleep) {
    policy_.sleep(wait);
  } else {
    absl::SleepFor(wait);
  }
  ++attempts_;
}

bool RetrySchedule::WaitForNextAttempt(const absl::Status& failure) {
  const bool rejected = IsRejection(failure);
  if (!rejected && !(policy_.is_retryable ? policy_.is_retryable(failure)
                                          : IsRetryableByDefault(failure))) {
    stopped_because_ = "not retryable";
    return false;
  }
  if (attempts_ >= policy_.max_attempts) {
    stopped_because_ = absl::StrCat("max_attempts is ", policy_.max_attempts);
    return false;
  }
  // A rejection whose payload does not parse tells no time: never retried.
  const absl::Duration retry_after =
      rejected ? RejectionRetryAfter(failure).value_or(absl::InfiniteDuration())
               : absl::ZeroDuration();
  if (retry_after == absl::InfiniteDuration()) {
    stopped_because_ = "the breaker admits no call until it is reset";
    return false;
  }
  // Zero (HALF_OPEN) was judged by no clock: no margin.
  const absl::Duration rejection_wait =
      retry_after > absl::ZeroDuration() ? retry_after + rejection_margin_ : retry_after;
  const absl::Duration backoff = NextBackoff();
  const absl::Duration wait = std::max(rejection_wait, backoff);
  const absl::Duration remaining = Remaining();
  if (wait >= remaining) {
    stopped_because_ = absl::StrCat(
        rejection_wait > backoff ? "the breaker's retry-after (" : "the next wait (",
        absl::FormatDuration(rejection_wait > backoff ? retry_after : wait),
        ") would not end before total_deadline (", absl::FormatDuration(policy_.total_deadline),
        ", ", absl::FormatDuration(std::max(remaining, absl::ZeroDuration())), " left)");
    return false;
  }
  Wait(wait);
  if (rejected) {
    // A breaker on the system clock judges whether OPEN is over on one of a
    // thread's rejections in a few, and rejects the others without reading
    // the clock (internal::kRejectionsPerClockRead). The attempt after
    // waiting out a retry-after must be judged, or it could be rejected
    // again with the delay all but spent: the breaker's next rejection
    // reads the clock. Set after the wait, so that no rejection made during
    // it takes the judgment: one coarse read, about 3 ns, and one write to
    // the breaker.
    breaker_.JudgeNextRejection();
  }
  return true;
}

absl::Status RetrySchedule::GiveUp(const absl::Status& failure) const {
  absl::Status marked = failure;
  if (attempts_ > 1) {
    // A new status with the longer message, then the payloads copied over.
    const std::string message =
        failure.message().empty()
            ? absl::StrCat("gave up after ", attempts_, " attempts: ", stopped_because_)
            : absl::StrCat(failure.message(), "; gave up after ", attempts_,
                           " attempts: ", stopped_because_);
    marked = absl::Status(failure.code(), message);
    failure.ForEachPayload([&marked](absl::string_view url, const absl::Cord& payload) {
      marked.SetPayload(url, payload);
    });
  }
  marked.SetPayload(kRetryAttemptsPayload, absl::Cord(absl::StrCat(attempts_)));
  return marked;
}

}  // namespace internal
}  // namespace circuit
