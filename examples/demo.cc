// File: examples/demo.cc
// A guided tour of circuit: a payment service that goes down and comes back,
// called through a breaker by four threads. Prints every transition through
// a listener (circuit/events.h), with why it happened, and the counters at
// the end. Runs for about two seconds.
//
//   ./bazelw run //examples:demo
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
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

  // Every transition, as it happens, on the thread that made it: printed
  // under a mutex of the listener's own (the breaker holds none while it
  // calls listeners), with its generation so that two threads' lines can
  // be told apart even when they print out of order.
  class PrintTransitions : public circuit::BreakerListener {
   public:
    explicit PrintTransitions(absl::Time start) : start_(start) {}
    void OnTransition(const circuit::TransitionEvent& e) override {
      std::lock_guard<std::mutex> lock(mu_);
      std::printf("%7lld  %-10s -> %-10s  %4u  %s",
                  static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - start_)),
                  std::string(circuit::StateName(e.from)).c_str(),
                  std::string(circuit::StateName(e.to)).c_str(), e.generation,
                  std::string(circuit::TransitionCauseName(e.cause)).c_str());
      if (e.threshold > 0) std::printf(" (%.4g, threshold %.4g)", e.value, e.threshold);
      std::printf("\n");
    }

   private:
    const absl::Time start_;
    std::mutex mu_;
  };
  std::printf("%7s  %-10s    %-10s  %4s  %s\n", "t (ms)", "from", "to", "gen", "why");
  circuit::Subscription printing =
      breaker->Subscribe(std::make_shared<PrintTransitions>(start));
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

  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (std::thread& t : callers) t.join();
  printing.Cancel();

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
