// File: bench/instr_count.cc
// A fixed amount of work for bench/callgrind.sh to count instructions over:
// N iterations of one operation, run by a function of its own (Measured_*,
// see bench/callgrind.sh for which mode runs which) so that
// `valgrind --tool=callgrind --toggle-collect=Measured_success` counts
// exactly the loop and nothing else (not the breaker's creation, not the
// thread's first call, not process start-up).
//
// Usage: instr_count MODE [N]      N defaults to 1'000'000
//   empty               the loop alone (its overhead is subtracted)
//   fetch_add           one relaxed fetch_add on a shared counter
//   closed_count        TryAcquire() + Success(), count window, rate 50%
//   closed_time         TryAcquire() + Success(), time window, rate 50%
//   closed_default      TryAcquire() + Success(), BreakerConfig{}
//   closed_slow         TryAcquire() + Success(), slow-call rate 50%
//   failure             TryAcquire() + Failure(), nothing trips
//   rejected            TryAcquire() on an OPEN breaker
//   call_wrapper        Call([] { return absl::OkStatus(); })
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/permit.h"

namespace {

circuit::Breaker* MakeBreaker(circuit::BreakerConfig config) {
  auto breaker = circuit::Breaker::Create(std::move(config));
  if (!breaker.ok()) {
    std::fprintf(stderr, "Breaker::Create: %s\n", breaker.status().ToString().c_str());
    std::exit(2);
  }
  return std::move(breaker).value().release();
}

std::atomic<uint64_t> g_counter{0};

// One call outside the measured functions: registers the thread (its
// counter stripe) before counting starts.
void WarmUp(circuit::Breaker* breaker, bool fail) {
  circuit::Permit permit = breaker->TryAcquire();
  if (fail) {
    permit.Failure();
  } else {
    permit.Success();
  }
}

}  // namespace

// extern "C" so that the names given to --toggle-collect are plain.
extern "C" {

__attribute__((noinline)) void Measured_empty(long n) {
  for (long i = 0; i < n; ++i) asm volatile("");
}

__attribute__((noinline)) void Measured_fetch_add(long n) {
  for (long i = 0; i < n; ++i) g_counter.fetch_add(1, std::memory_order_relaxed);
}

__attribute__((noinline)) void Measured_success(circuit::Breaker* breaker, long n) {
  for (long i = 0; i < n; ++i) {
    circuit::Permit permit = breaker->TryAcquire();
    if (permit) permit.Success();
  }
}

__attribute__((noinline)) void Measured_failure(circuit::Breaker* breaker, long n) {
  for (long i = 0; i < n; ++i) {
    circuit::Permit permit = breaker->TryAcquire();
    if (permit) permit.Failure();
  }
}

__attribute__((noinline)) void Measured_rejected(circuit::Breaker* breaker, long n) {
  for (long i = 0; i < n; ++i) {
    circuit::Permit permit = breaker->TryAcquire();
    bool admitted = static_cast<bool>(permit);
    asm volatile("" : "+r"(admitted));
  }
}

__attribute__((noinline)) void Measured_call_wrapper(circuit::Breaker* breaker, long n) {
  for (long i = 0; i < n; ++i) {
    absl::Status status = breaker->Call([] { return absl::OkStatus(); });
    bool ok = status.ok();
    asm volatile("" : "+r"(ok));
  }
}

}  // extern "C"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODE [N]\n", argv[0]);
    return 2;
  }
  const char* mode = argv[1];
  const long n = argc > 2 ? std::atol(argv[2]) : 1'000'000;

  auto is = [&](const char* m) { return std::strcmp(mode, m) == 0; };
  circuit::BreakerConfig config;
  if (is("empty")) {
    Measured_empty(n);
  } else if (is("fetch_add")) {
    Measured_fetch_add(n);
  } else if (is("closed_count") || is("call_wrapper")) {
    config.failure_rate_threshold = 50;
    config.window_type = circuit::WindowType::kCountBased;
    circuit::Breaker* breaker = MakeBreaker(config);
    if (is("closed_count")) {
      WarmUp(breaker, false);
      Measured_success(breaker, n);
    } else {
      WarmUp(breaker, false);
      Measured_call_wrapper(breaker, n);
    }
  } else if (is("closed_time")) {
    config.failure_rate_threshold = 50;
    config.window_type = circuit::WindowType::kTimeBased;
    circuit::Breaker* breaker = MakeBreaker(config);
    WarmUp(breaker, false);
    Measured_success(breaker, n);
  } else if (is("closed_default")) {
    circuit::Breaker* breaker = MakeBreaker(config);
    WarmUp(breaker, false);
    Measured_success(breaker, n);
  } else if (is("closed_slow")) {
    config.slow_call_rate_threshold = 50;
    config.slow_call_duration = absl::Seconds(1);
    circuit::Breaker* breaker = MakeBreaker(config);
    WarmUp(breaker, false);
    Measured_success(breaker, n);
  } else if (is("failure")) {
    config.consecutive_failures_to_open = 1'000'000'000;
    config.failure_rate_threshold = 0;
    circuit::Breaker* breaker = MakeBreaker(config);
    WarmUp(breaker, true);
    Measured_failure(breaker, n);
  } else if (is("rejected")) {
    config.consecutive_failures_to_open = 1;
    config.open_duration = absl::Hours(24);
    config.max_open_duration = absl::Hours(24);
    circuit::Breaker* breaker = MakeBreaker(config);
    {
      circuit::Permit permit = breaker->TryAcquire();
      permit.Failure();
    }
    if (breaker->state() != circuit::State::kOpen) {
      std::fprintf(stderr, "the breaker did not open\n");
      return 1;
    }
    {
      circuit::Permit permit = breaker->TryAcquire();  // rejected; warms up
    }
    Measured_rejected(breaker, n);
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
