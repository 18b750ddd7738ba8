// File: bench/mutex_breaker.h
// The baseline the benchmarks compare circuit::Breaker against: a circuit
// breaker written the way tutorials and blog posts usually write one. One
// std::mutex guards everything (the state, the consecutive-failure run, the
// lifetime counters and a std::deque<bool> of the most recent outcomes), and
// every call takes it twice: once in Allow(), once in OnSuccess() or
// OnFailure().
//
// It is meant to be an honest, reasonable implementation, not a strawman:
// the window's failure count is kept incrementally (no scan of the deque),
// the open timeout is checked only while OPEN (no clock read while CLOSED),
// and nothing is virtual or type-erased.
//
// Semantics, kept close to circuit::Breaker's defaults:
//   CLOSED     Allow() is true. A failure opens the breaker when the run of
//              consecutive failures reaches consecutive_failures_to_open, or
//              when the window holds at least minimum_calls outcomes and the
//              failure percentage is at or over failure_rate_threshold.
//   OPEN       Allow() is false until open_timeout has passed since opening;
//              the first call after that becomes a trial (HALF_OPEN).
//   HALF_OPEN  at most half_open_max_calls trials in flight; a trial success
//              closes the breaker (with an empty window), a trial failure
//              reopens it.
#ifndef CIRCUIT_BENCH_MUTEX_BREAKER_H_
#define CIRCUIT_BENCH_MUTEX_BREAKER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

namespace circuit_bench {

class MutexBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  struct Options {
    int consecutive_failures_to_open = 5;   // 0: off
    double failure_rate_threshold = 50;     // percent; 0: off
    std::size_t window_size = 100;          // outcomes kept
    std::size_t minimum_calls = 100;        // before the rate is judged
    std::chrono::steady_clock::duration open_timeout = std::chrono::seconds(30);
    int half_open_max_calls = 1;
  };

  MutexBreaker() : MutexBreaker(Options()) {}
  explicit MutexBreaker(const Options& options) : options_(options) {}

  MutexBreaker(const MutexBreaker&) = delete;
  MutexBreaker& operator=(const MutexBreaker&) = delete;

  // True if the call may proceed. The caller must then report its outcome
  // with OnSuccess() or OnFailure().
  bool Allow() {
    std::lock_guard<std::mutex> lock(mu_);
    switch (state_) {
      case State::kClosed:
        return true;
      case State::kOpen:
        if (std::chrono::steady_clock::now() - opened_at_ < options_.open_timeout) {
          ++rejected_;
          return false;
        }
        state_ = State::kHalfOpen;
        half_open_in_flight_ = 1;
        return true;
      case State::kHalfOpen:
        if (half_open_in_flight_ < options_.half_open_max_calls) {
          ++half_open_in_flight_;
          return true;
        }
        ++rejected_;
        return false;
    }
    return false;
  }

  void OnSuccess() {
    std::lock_guard<std::mutex> lock(mu_);
    ++successes_;
    if (state_ == State::kHalfOpen) {
      CloseLocked();
      return;
    }
    consecutive_failures_ = 0;
    PushLocked(true);
  }

  void OnFailure() {
    std::lock_guard<std::mutex> lock(mu_);
    ++failures_;
    if (state_ == State::kHalfOpen) {
      OpenLocked();
      return;
    }
    if (state_ != State::kClosed) return;  // a call admitted before opening
    ++consecutive_failures_;
    PushLocked(false);
    if (options_.consecutive_failures_to_open > 0 &&
        consecutive_failures_ >= options_.consecutive_failures_to_open) {
      OpenLocked();
      return;
    }
    if (options_.failure_rate_threshold > 0 && window_.size() >= options_.minimum_calls &&
        100.0 * static_cast<double>(window_failures_) / static_cast<double>(window_.size()) >=
            options_.failure_rate_threshold) {
      OpenLocked();
    }
  }

  State state() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }

  uint64_t successes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return successes_;
  }
  uint64_t failures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }
  uint64_t rejected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_;
  }

 private:
  // Appends an outcome and trims the window to window_size.
  void PushLocked(bool ok) {
    window_.push_back(ok);
    if (!ok) ++window_failures_;
    while (window_.size() > options_.window_size) {
      if (!window_.front()) --window_failures_;
      window_.pop_front();
    }
  }

  void OpenLocked() {
    state_ = State::kOpen;
    opened_at_ = std::chrono::steady_clock::now();
    half_open_in_flight_ = 0;
  }

  void CloseLocked() {
    state_ = State::kClosed;
    consecutive_failures_ = 0;
    half_open_in_flight_ = 0;
    window_.clear();
    window_failures_ = 0;
  }

  const Options options_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  int half_open_in_flight_ = 0;
  std::chrono::steady_clock::time_point opened_at_{};
  std::deque<bool> window_;         // most recent outcomes, oldest first
  std::size_t window_failures_ = 0;  // failures in window_
  uint64_t successes_ = 0;
  uint64_t failures_ = 0;
  uint64_t rejected_ = 0;
};

}  // namespace circuit_bench

#endif  // CIRCUIT_BENCH_MUTEX_BREAKER_H_
