// The simulator reproduces, call for call, the decisions a breaker makes
// live (tools/sim/replay.h, "Exactness").
//
// A live service: four real threads call a dependency through a breaker in
// real time, for about a second each run; the dependency is healthy, then
// fails, then is slow, then recovers, with random latencies, some ignored
// calls and calls overlapping in flight. The breaker's clock is a FakeClock
// that each call sets to the real monotonic time while it holds the
// service's step lock, so the times it decides on are exactly the times the
// service records; the lock also fixes one order for what happened at once
// (a replay cannot reproduce two CASes racing within a nanosecond). The
// service writes its trace as a trace file, with every call's real
// admission, and the transitions its listener saw. The trace is then read
// back with TraceReader and replayed: every call must be admitted or
// rejected as it was live, and every transition must happen at the same
// nanosecond, from the same state, for the same cause.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "circuit/breaker.h"
#include "circuit/events.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"
#include "tools/sim/replay.h"
#include "tools/sim/trace.h"

namespace circuit {
namespace sim {
namespace {

constexpr int kThreads = 4;
constexpr int64_t kMs = 1'000'000;

int64_t RealNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct LiveCall {
  TraceCall call;  // start, outcome, latency as the breaker measured them
  bool admitted = false;
};

struct LiveRun {
  int64_t created_nanos = 0;
  std::vector<LiveCall> calls;  // in start order
  std::vector<Transition> transitions;
};

class TransitionLog : public BreakerListener {
 public:
  TransitionLog(const FakeClock* clock, std::vector<Transition>* out) : clock_(clock), out_(out) {}
  void OnTransition(const TransitionEvent& e) override {
    // Delivered on the thread that made the transition, under the step lock.
    out_->push_back(Transition{clock_->NowNanos(), e.from, e.to, e.cause, e.value, e.threshold});
  }

 private:
  const FakeClock* clock_;
  std::vector<Transition>* out_;
};

// Runs the live service for `run_for` with `config` and returns what
// happened. `retry_after_percent`: the share of the failing phase's
// failures that answer "retry after 20 to 60 ms" (Permit::FailureRetryAfter()).
LiveRun RunLive(BreakerConfig config, int64_t run_for, int retry_after_percent = 0) {
  LiveRun run;
  std::mutex step;  // one breaker operation (and its clock setting) at a time
  FakeClock clock(RealNanos());
  auto set_clock_to_now = [&]() -> int64_t {
    // Strictly increasing, so no two events share a time.
    const int64_t now = std::max(RealNanos(), clock.NowNanos() + 1);
    clock.Advance(absl::Nanoseconds(now - clock.NowNanos()));
    return now;
  };
  config.clock = &clock;
  std::unique_ptr<Breaker> breaker;
  {
    std::lock_guard<std::mutex> lock(step);
    run.created_nanos = set_clock_to_now();
    breaker = Breaker::Create(config).value();
  }
  Subscription subscription =
      breaker->Subscribe(std::make_shared<TransitionLog>(&clock, &run.transitions));

  // The dependency, by time since creation: healthy, failing, slow, healthy.
  const int64_t start = run.created_nanos;
  auto fails_at = [&](int64_t t) {
    const int64_t elapsed = t - start;
    return elapsed >= run_for * 25 / 100 && elapsed < run_for * 50 / 100;
  };
  auto slow_at = [&](int64_t t) {
    const int64_t elapsed = t - start;
    return elapsed >= run_for * 50 / 100 && elapsed < run_for * 65 / 100;
  };

  std::vector<std::vector<LiveCall>> per_thread(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      std::mt19937_64 rng(i + 1);
      auto uniform = [&](int64_t lo, int64_t hi) {
        return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo));
      };
      while (true) {
        LiveCall live;
        Permit permit;
        {
          std::lock_guard<std::mutex> lock(step);
          live.call.start_nanos = set_clock_to_now();
          if (live.call.start_nanos - start >= run_for) break;
          permit = breaker->TryAcquire();
        }
        live.admitted = static_cast<bool>(permit);
        if (!live.admitted) {
          live.call.outcome = TraceOutcome::kSuccess;  // never reached the dependency
          per_thread[i].push_back(live);
          std::this_thread::sleep_for(std::chrono::microseconds(uniform(100, 400)));
          continue;
        }
        const bool failing = fails_at(live.call.start_nanos);
        const bool slow = slow_at(live.call.start_nanos);
        live.call.outcome = uniform(0, 100) < 3 ? TraceOutcome::kIgnored
                            : failing           ? TraceOutcome::kFailure
                                                : TraceOutcome::kSuccess;
        if (live.call.outcome == TraceOutcome::kFailure && uniform(0, 100) < retry_after_percent) {
          live.call.retry_after_nanos = uniform(20 * kMs, 60 * kMs);
        }
        std::this_thread::sleep_for(std::chrono::nanoseconds(
            slow ? uniform(3 * kMs, 6 * kMs) : uniform(kMs / 5, 2 * kMs)));
        {
          std::lock_guard<std::mutex> lock(step);
          live.call.latency_nanos = set_clock_to_now() - live.call.start_nanos;
          switch (live.call.outcome) {
            case TraceOutcome::kSuccess:
              permit.Success();  // timed by the breaker's own clock
              break;
            case TraceOutcome::kFailure:
              if (live.call.retry_after_nanos > 0) {
                permit.FailureRetryAfter(absl::Nanoseconds(live.call.retry_after_nanos));
              } else {
                permit.Failure();
              }
              break;
            case TraceOutcome::kIgnored:
              permit.Ignore();
              break;
          }
        }
        per_thread[i].push_back(live);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  subscription.Cancel();
  for (const std::vector<LiveCall>& calls : per_thread) {
    run.calls.insert(run.calls.end(), calls.begin(), calls.end());
  }
  std::sort(run.calls.begin(), run.calls.end(), [](const LiveCall& a, const LiveCall& b) {
    return a.call.start_nanos < b.call.start_nanos;
  });
  return run;
}

// How a replay differed from the live run.
struct Differences {
  int admissions = 0;   // calls admitted in one and rejected in the other
  int transitions = 0;  // transitions that differ in time, states, cause or value, or are missing
  std::string first;    // the first difference, in words
};

// The live run as a trace file, read back and replayed through a breaker
// built from `config`, compared call by call and transition by transition.
Differences Replayed(const BreakerConfig& config, const LiveRun& live) {
  Differences d;
  std::string text = absl::StrCat("# start ", FormatSeconds(live.created_nanos), "\n");
  for (const LiveCall& c : live.calls) absl::StrAppend(&text, FormatTraceLine(c.call), "\n");
  std::FILE* file = fmemopen(text.data(), text.size(), "r");
  TraceReader reader(file, "live");
  std::unique_ptr<Simulation> simulation;
  size_t i = 0;
  TraceCall call;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&call);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    if (simulation == nullptr) {
      EXPECT_EQ(reader.start_annotation(), live.created_nanos);
      simulation = Simulation::Create(config, live.created_nanos).value();
    }
    const bool admitted = simulation->Feed(call);
    if (admitted != live.calls[i].admitted && d.admissions++ == 0) {
      d.first = absl::StrCat("call ", i, " at +", call.start_nanos - live.created_nanos,
                             " ns: live ", live.calls[i].admitted ? "admitted" : "rejected",
                             " it, the replay ", admitted ? "admitted" : "rejected", " it");
    }
    ++i;
  }
  std::fclose(file);
  EXPECT_EQ(i, live.calls.size());
  simulation->Finish();
  const std::vector<Transition>& replayed = simulation->transitions();
  const size_t n = std::max(replayed.size(), live.transitions.size());
  for (size_t t = 0; t < n; ++t) {
    const bool same = t < replayed.size() && t < live.transitions.size() &&
                      replayed[t].at_nanos == live.transitions[t].at_nanos &&
                      replayed[t].from == live.transitions[t].from &&
                      replayed[t].to == live.transitions[t].to &&
                      replayed[t].cause == live.transitions[t].cause &&
                      replayed[t].value == live.transitions[t].value;
    if (!same && d.transitions++ == 0 && d.first.empty()) {
      d.first = absl::StrCat("transition ", t, " differs (", replayed.size(), " replayed, ",
                             live.transitions.size(), " live)");
    }
  }
  return d;
}

void ExpectReplayMatches(const BreakerConfig& config, const LiveRun& live) {
  const Differences d = Replayed(config, live);
  EXPECT_EQ(d.admissions, 0) << d.first;
  EXPECT_EQ(d.transitions, 0) << d.first;
  std::printf("%s: %zu calls and %zu transitions replayed exactly\n", config.name.c_str(),
              live.calls.size(), live.transitions.size());
  // The comparison can tell: the same run replayed with an open period
  // 1 ms longer differs.
  BreakerConfig other = config;
  other.open_duration += absl::Milliseconds(1);
  const Differences changed = Replayed(other, live);
  EXPECT_GT(changed.admissions + changed.transitions, 0);
}

// The live run must have exercised what it is meant to: an opening, trials,
// a closing, rejections, and admitted calls overlapping in flight.
void ExpectEventful(const LiveRun& live) {
  int opened = 0, half_opened = 0, closed = 0, rejected = 0;
  for (const Transition& t : live.transitions) {
    opened += t.to == State::kOpen;
    half_opened += t.to == State::kHalfOpen;
    closed += t.to == State::kClosed;
  }
  for (const LiveCall& c : live.calls) rejected += !c.admitted;
  EXPECT_GE(opened, 1);
  EXPECT_GE(half_opened, 1);
  EXPECT_GE(closed, 1);
  EXPECT_GE(rejected, 10);
  int overlapping = 0;
  for (size_t i = 1; i < live.calls.size(); ++i) {
    const TraceCall& a = live.calls[i - 1].call;
    overlapping += live.calls[i - 1].admitted && live.calls[i].admitted &&
                   live.calls[i].call.start_nanos < a.start_nanos + a.latency_nanos;
  }
  EXPECT_GE(overlapping, 10);
}

TEST(LiveReplayTest, FailureRateOverATimeWindowWithConcurrentTrials) {
  BreakerConfig config;
  config.name = "rate";
  config.failure_rate_threshold = 50;
  config.window_type = WindowType::kTimeBased;
  config.window_duration = absl::Milliseconds(100);
  config.window_buckets = 10;
  config.minimum_calls = 10;
  config.open_duration = absl::Milliseconds(40);
  config.open_backoff_multiplier = 1.5;
  config.half_open_max_concurrent = 2;
  config.half_open_trial_calls = 4;
  config.half_open_successes_to_close = 3;
  const LiveRun live = RunLive(config, 1'200 * kMs);
  ExpectEventful(live);
  ExpectReplayMatches(config, live);
}

TEST(LiveReplayTest, ConsecutiveFailuresSlowCallsAndAHalfOpenLimit) {
  BreakerConfig config;
  config.name = "slow";
  config.consecutive_failures_to_open = 8;
  config.slow_call_rate_threshold = 60;
  config.slow_call_duration = absl::Milliseconds(3);
  config.slow_call_clock = SlowCallClock::kPrecise;
  config.window_size = 20;
  config.minimum_calls = 10;
  config.open_duration = absl::Milliseconds(30);
  config.half_open_max_concurrent = 1;
  config.half_open_trial_calls = 2;
  config.half_open_max_duration = absl::Milliseconds(4);
  const LiveRun live = RunLive(config, 1'200 * kMs);
  ExpectEventful(live);
  ExpectReplayMatches(config, live);
}

TEST(LiveReplayTest, RetryAfterAnswersAmongTheFailures) {
  BreakerConfig config;
  config.name = "retry-after";
  config.failure_rate_threshold = 50;
  config.window_size = 20;
  config.minimum_calls = 10;
  config.open_duration = absl::Milliseconds(30);
  config.half_open_max_concurrent = 2;
  config.half_open_trial_calls = 3;
  config.half_open_successes_to_close = 2;
  const LiveRun live = RunLive(config, 1'200 * kMs, /*retry_after_percent=*/20);
  ExpectEventful(live);
  int retry_after_trips = 0;
  for (const Transition& t : live.transitions) retry_after_trips += t.cause == TransitionCause::kRetryAfter;
  EXPECT_GE(retry_after_trips, 1);
  ExpectReplayMatches(config, live);
}

}  // namespace
}  // namespace sim
}  // namespace circuit
