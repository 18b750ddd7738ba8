// File: examples/console.h
// What the examples print with: `Console`, whole lines on stdout from any
// thread with the time since the example started, and `Because()`, a
// transition's cause in words from what its event carries
// (circuit/events.h).
//
//   auto console = std::make_shared<examples::Console>(examples::Clock::now());
//   console->PrintLine(absl::StrFormat("%6d  %s", console->ElapsedMillis(),
//                                      examples::Because(event)));
#ifndef CIRCUIT_EXAMPLES_CONSOLE_H_
#define CIRCUIT_EXAMPLES_CONSOLE_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include "absl/strings/str_format.h"
#include "circuit/events.h"
#include "circuit/state.h"

namespace examples {

using Clock = std::chrono::steady_clock;

// One mutex for stdout: a timeline (the main thread) and the transitions
// (whichever thread made one) print whole lines.
class Console {
 public:
  explicit Console(Clock::time_point start) : start_(start) {}

  int64_t ElapsedMillis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count();
  }

  void PrintLine(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

 private:
  const Clock::time_point start_;
  std::mutex mu_;
};

inline std::string Name(circuit::State state) { return std::string(circuit::StateName(state)); }

// Why, in words.
inline std::string Because(const circuit::TransitionEvent& e) {
  const std::string cause(circuit::TransitionCauseName(e.cause));
  switch (e.cause) {
    case circuit::TransitionCause::kFailureRate:
      return absl::StrFormat("%s: %.0f%% of the window failed (threshold %.0f%%)", cause, e.value,
                             e.threshold);
    case circuit::TransitionCause::kSlowCallRate:
      return absl::StrFormat("%s: %.0f%% of the window was slow (threshold %.0f%%)", cause, e.value,
                             e.threshold);
    case circuit::TransitionCause::kTrialFailures:
      return absl::StrFormat(
          "%s: %.0f %s (threshold %.0f)", cause, e.value,
          e.value == 1 ? "trial failed or was slow" : "trials failed or were slow", e.threshold);
    case circuit::TransitionCause::kLatencyPercentile:
      return absl::StrFormat("%s: the window's percentile took %.4g s (threshold %.4g s)", cause,
                             e.value, e.threshold);
    case circuit::TransitionCause::kRetryAfter:
      return absl::StrFormat("%s: the dependency asked for %.1f s", cause, e.value);
    case circuit::TransitionCause::kOpenPeriodOver:
      return absl::StrFormat("%s: open for %.0f ms, trials admitted", cause, e.value * 1000);
    case circuit::TransitionCause::kTrialsSucceeded:
      return absl::StrFormat("%s: %.0f of %.0f trials succeeded", cause, e.value, e.threshold);
    default:
      if (e.threshold > 0) {
        return absl::StrFormat("%s (%.4g, threshold %.4g)", cause, e.value, e.threshold);
      }
      return cause;
  }
}

}  // namespace examples

#endif  // CIRCUIT_EXAMPLES_CONSOLE_H_
