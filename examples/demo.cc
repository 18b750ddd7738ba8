// File: examples/demo.cc
// A guided tour of circuit: a payment service that goes down and comes back,
// called through a breaker by four threads. Prints each state change the
// callers see and the counters at the end. Runs for about two seconds.
//
//   ./bazelw run //examples:demo
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/circuit.h"

namespace {

// The dependency: healthy, then down for 600 ms, then healthy again.
class PaymentService {
 public:
  explicit PaymentService(absl::Time start) : start_(start) {}
  absl::Status Charge() const {
    const absl::Duration t = absl::Now() - start_;
    if (t > absl::Milliseconds(300) && t < absl::Milliseconds(900)) {
      return absl::UnavailableError("payments: connection refused");
    }
    return absl::OkStatus();
  }

 private:
  absl::Time start_;
};

}  // namespace

int main() {
  circuit::BreakerConfig config;
  config.name = "payments";
  config.failure_rate_threshold = 50;  // open at 50% failures ...
  config.window_size = 20;             // ... of the last 20 calls
  config.minimum_calls = 10;
  config.consecutive_failures_to_open = 0;  // rate only, for the demo
  config.open_duration = absl::Milliseconds(200);
  config.open_backoff_multiplier = 1.5;
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 2;
  auto created = circuit::Breaker::Create(config);
  if (!created.ok()) {
    std::fprintf(stderr, "bad config: %s\n", created.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<circuit::Breaker> breaker = std::move(created).value();

  const absl::Time start = absl::Now();
  PaymentService payments(start);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> fallbacks{0};

  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        absl::Status status = breaker->Call(
            [&] { return payments.Charge(); },
            [&](const absl::Status&) {
              fallbacks.fetch_add(1, std::memory_order_relaxed);
              return absl::OkStatus();  // e.g. queue the charge for later
            });
        (void)status;
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    });
  }

  circuit::State last = breaker->state();
  std::printf("%7s  %-10s  %s\n", "t (ms)", "state", "generation");
  std::printf("%7lld  %-10s  %u\n", 0LL, std::string(circuit::StateName(last)).c_str(),
              breaker->generation());
  while (absl::Now() - start < absl::Seconds(2)) {
    const circuit::State now = breaker->state();
    if (now != last) {
      std::printf("%7lld  %-10s  %u\n",
                  static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - start)),
                  std::string(circuit::StateName(now)).c_str(), breaker->generation());
      last = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  for (std::thread& t : callers) t.join();

  const circuit::BreakerMetrics m = breaker->Metrics();
  std::printf(
      "\npermitted %llu = successes %llu + failures %llu + ignored %llu + released %llu\n"
      "rejected %llu, served by the fallback %llu, opened %llu times, final state %s\n",
      static_cast<unsigned long long>(m.permitted), static_cast<unsigned long long>(m.successes),
      static_cast<unsigned long long>(m.failures), static_cast<unsigned long long>(m.ignored),
      static_cast<unsigned long long>(m.released), static_cast<unsigned long long>(m.rejected),
      static_cast<unsigned long long>(fallbacks.load()),
      static_cast<unsigned long long>(m.opened), std::string(circuit::StateName(m.state)).c_str());
  return 0;
}
