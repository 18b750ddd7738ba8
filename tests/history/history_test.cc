// Concurrent histories of one circuit::Breaker, checked against its state
// machine. The harness (history.h) runs more threads than cores through
// random operations while a driver thread moves a FakeClock; the checker
// (checker.h) must find nothing. Hand-made bad histories prove it can fail.
#include "tests/history/history.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"
#include "tests/history/checker.h"

namespace circuit {
namespace history {
namespace {

// ---- Running and checking -----------------------------------------------------

struct Totals {
  int histories = 0;
  uint64_t events = 0;
  uint64_t transitions = 0;
  uint64_t causes = 0;
  uint64_t deadline_checks = 0;
  uint64_t opened = 0;
  int max_trials_in_flight = 0;
};

constexpr int kThreads = 8;  // the machine has 2 cores
constexpr int kOpsPerThread = 3000;
constexpr int kHistoriesPerConfig = 6;

void RunAndCheck(const BreakerConfig& config, uint64_t first_seed, Totals* totals) {
  for (int i = 0; i < kHistoriesPerConfig; ++i) {
    HarnessOptions options;
    options.threads = kThreads;
    options.ops_per_thread = kOpsPerThread;
    options.seed = first_seed + static_cast<uint64_t>(i);
    absl::StatusOr<History> history = RunHistory(config, options);
    ASSERT_TRUE(history.ok()) << history.status();
    const CheckResult result = CheckHistory(*history);
    EXPECT_TRUE(result.ok()) << config.name << " seed " << options.seed << ": " << result.Summary();
    ++totals->histories;
    totals->events += result.stats.events;
    totals->transitions += result.stats.transitions;
    totals->causes += result.stats.causes_checked;
    totals->deadline_checks += result.stats.deadline_checks;
    totals->opened += history->final_metrics.opened;
    if (result.stats.max_trials_in_flight > totals->max_trials_in_flight) {
      totals->max_trials_in_flight = result.stats.max_trials_in_flight;
    }
    // The run did exercise the breaker.
    EXPECT_GT(history->final_metrics.opened, 0u) << config.name << " never opened";
    EXPECT_GT(result.stats.trials, 0u) << config.name << " admitted no trial";
    EXPECT_GT(result.stats.transitions, 0u);
    EXPECT_GT(history->final_metrics.rejected, 0u);
  }
  std::printf(
      "%s: histories checked %d, events %llu, transitions seen %llu, causes found %llu, "
      "OPEN deadline checks %llu, opened %llu, max trials in flight %d (of %d)\n",
      config.name.c_str(), totals->histories, static_cast<unsigned long long>(totals->events),
      static_cast<unsigned long long>(totals->transitions),
      static_cast<unsigned long long>(totals->causes),
      static_cast<unsigned long long>(totals->deadline_checks),
      static_cast<unsigned long long>(totals->opened), totals->max_trials_in_flight,
      config.half_open_max_concurrent);
}

TEST(HistoryTest, ConcurrentHistoriesOfACountWindowBreakerFollowTheStateMachine) {
  Totals totals;
  RunAndCheck(StressConfig("count-window"), 1001, &totals);
}

TEST(HistoryTest, ConcurrentHistoriesOfATimeWindowBreakerFollowTheStateMachine) {
  Totals totals;
  RunAndCheck(StressConfig("time-window"), 2001, &totals);
}

TEST(HistoryTest, ConcurrentHistoriesWithTrialsJudgedByRateFollowTheStateMachine) {
  Totals totals;
  RunAndCheck(StressConfig("judge-by-rate"), 3001, &totals);
}

TEST(HistoryTest, ConcurrentHistoriesWithAHalfOpenMaxDurationFollowTheStateMachine) {
  Totals totals;
  RunAndCheck(StressConfig("half-open-max-duration"), 4001, &totals);
}

TEST(HistoryTest, ConcurrentHistoriesTrippedOnlyByConsecutiveFailuresFollowTheStateMachine) {
  Totals totals;
  RunAndCheck(StressConfig("consecutive-only"), 5001, &totals);
}

// ---- Hand-made histories: the checker can fail ------------------------------------

// Builds a history one event at a time, each wholly after the previous one
// (tickets 2n-1, 2n), unless tickets are given.
class Builder {
 public:
  explicit Builder(BreakerConfig config) {
    config.clock = nullptr;
    history_.config = std::move(config);
    history_.start_clock = 0;
    history_.end_clock = 0;
  }

  // An event that saw `gen` in `state` before and after it.
  Event& Add(Op op, uint32_t gen, State state, int thread = 0) {
    Event e;
    e.thread = thread;
    e.op = op;
    e.before = ++ticket_;
    e.after = ++ticket_;
    e.pre = Observation{gen, true, state};
    e.post = e.pre;
    e.clock_before = clock_;
    e.clock_after = clock_;
    history_.events.push_back(e);
    return history_.events.back();
  }

  // TryAcquire() in `gen`/`state`: admitted (a trial if HALF_OPEN) or rejected.
  uint64_t Acquire(uint32_t gen, State state, bool admitted, int thread = 0) {
    Event& e = Add(Op::kAcquire, gen, state, thread);
    e.permit = ++permit_;
    e.permit_generation = gen;
    e.admitted = admitted;
    e.trial = admitted && state == State::kHalfOpen;
    e.rejected_state = admitted ? State::kClosed : state;
    permits_.push_back(e);
    return e.permit;
  }

  // Resolves `permit` while the breaker is at `gen`/`state`.
  Event& Resolve(uint64_t permit, Op op, uint32_t gen, State state, int thread = 0) {
    const Event acquired = permits_[permit - 1];
    Event& e = Add(op, gen, state, thread);
    e.permit = permit;
    e.permit_generation = acquired.permit_generation;
    e.trial = acquired.trial;
    e.returned = true;
    e.acquired_clock_before = acquired.clock_before;
    e.acquired_clock_after = acquired.clock_after;
    return e;
  }

  // `n` calls admitted in CLOSED `gen` that fail; the last one sees `after`.
  void Failures(int n, uint32_t gen, uint32_t after_gen, State after_state) {
    for (int i = 0; i < n; ++i) {
      const uint64_t p = Acquire(gen, State::kClosed, true);
      Event& e = Resolve(p, Op::kFailure, gen, State::kClosed);
      if (i == n - 1) e.post = Observation{after_gen, true, after_state};
    }
  }

  void Advance(absl::Duration d) {
    clock_ += absl::ToInt64Nanoseconds(d);
    history_.clock_marks.push_back(ClockMark{++ticket_, clock_});
  }

  History& history() {
    history_.end_clock = clock_;
    return history_;
  }

 private:
  History history_;
  uint64_t ticket_ = 0;
  uint64_t permit_ = 0;
  int64_t clock_ = 0;
  std::vector<Event> permits_;
};

BreakerConfig HandMadeConfig() {
  BreakerConfig config;
  config.consecutive_failures_to_open = 3;
  config.open_duration = absl::Seconds(1);
  config.max_open_duration = absl::Seconds(1);
  config.half_open_trial_calls = 2;
  config.half_open_max_concurrent = 1;
  return config;
}

// CLOSED g0 --3 failures--> OPEN g1 --1 s--> HALF_OPEN g2 --2 trials--> CLOSED g3.
Builder GoodHistory() {
  Builder b(HandMadeConfig());
  b.Failures(3, 0, 1, State::kOpen);
  b.Acquire(1, State::kOpen, false);
  b.Advance(absl::Seconds(1));
  const uint64_t t1 = b.Acquire(2, State::kHalfOpen, true);
  b.Acquire(2, State::kHalfOpen, false);  // the only slot is taken
  b.Resolve(t1, Op::kSuccess, 2, State::kHalfOpen);
  const uint64_t t2 = b.Acquire(2, State::kHalfOpen, true);
  b.Resolve(t2, Op::kSuccess, 2, State::kHalfOpen).post = Observation{3, true, State::kClosed};
  b.Resolve(b.Acquire(3, State::kClosed, true), Op::kSuccess, 3, State::kClosed);
  return b;
}

std::string Checks(const CheckResult& result) {
  std::string out;
  for (const auto& [check, n] : result.violation_counts) out += check + " ";
  return out;
}

TEST(CheckerTest, AcceptsAHandMadeHistoryThatFollowsTheStateMachine) {
  Builder b = GoodHistory();
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.ok()) << result.Summary();
  EXPECT_EQ(result.stats.transitions, 3u);
  EXPECT_EQ(result.stats.causes_checked, 3u);
}

TEST(CheckerTest, CatchesAnIllegalTransition) {
  Builder b(HandMadeConfig());
  b.Resolve(b.Acquire(0, State::kClosed, true), Op::kSuccess, 0, State::kClosed);
  b.Acquire(1, State::kHalfOpen, false);  // CLOSED -> HALF_OPEN
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.Has(kLegalTransition)) << result.Summary();
}

TEST(CheckerTest, CatchesAnOperatorTransitionWithNoOperatorControlRunning) {
  Builder b = GoodHistory();
  b.Acquire(4, State::kForcedOpen, false);  // CLOSED g3 -> FORCED_OPEN g4, by nobody
  EXPECT_TRUE(CheckHistory(b.history()).Has(kLegalTransition));

  Builder ok = GoodHistory();
  Event& force = ok.Add(Op::kForceOpen, 3, State::kClosed);
  force.post = Observation{4, true, State::kForcedOpen};
  ok.Acquire(4, State::kForcedOpen, false);
  const CheckResult result = CheckHistory(ok.history());
  EXPECT_TRUE(result.ok()) << result.Summary();
}

TEST(CheckerTest, CatchesAStateThatAGapCannotExplain) {
  Builder b = GoodHistory();
  // FORCED_OPEN g5 two generations after CLOSED g3, with no operator: no
  // sequence of automatic transitions reaches it.
  b.Acquire(5, State::kForcedOpen, false);
  EXPECT_TRUE(CheckHistory(b.history()).Has(kLegalTransition));
}

TEST(CheckerTest, CatchesTwoStatesInOneGeneration) {
  Builder b = GoodHistory();
  b.Acquire(1, State::kHalfOpen, false);  // generation 1 was OPEN
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.Has(kOneStatePerGeneration)) << result.Summary();
}

TEST(CheckerTest, CatchesMoreTrialsInFlightThanHalfOpenMaxConcurrent) {
  Builder b(HandMadeConfig());  // K = 1, T = 2
  b.Failures(3, 0, 1, State::kOpen);
  b.Advance(absl::Seconds(1));
  const uint64_t t1 = b.Acquire(2, State::kHalfOpen, true, 1);
  const uint64_t t2 = b.Acquire(2, State::kHalfOpen, true, 2);  // while t1 is held
  b.Resolve(t1, Op::kRelease, 2, State::kHalfOpen, 1);
  b.Resolve(t2, Op::kRelease, 2, State::kHalfOpen, 2);
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.Has(kTrialsInFlight)) << result.Summary();
  EXPECT_EQ(result.stats.max_trials_in_flight, 2);
}

TEST(CheckerTest, CountsOnlyTrialsWhoseHoldingCertainlyOverlapped) {
  Builder b(HandMadeConfig());
  b.Failures(3, 0, 1, State::kOpen);
  b.Advance(absl::Seconds(1));
  const uint64_t t1 = b.Acquire(2, State::kHalfOpen, true, 1);
  const uint64_t t2 = b.Acquire(2, State::kHalfOpen, true, 2);
  b.Resolve(t1, Op::kRelease, 2, State::kHalfOpen, 1);
  b.Resolve(t2, Op::kRelease, 2, State::kHalfOpen, 2);
  // Make t1's release overlap t2's acquire: then t1 may have handed its slot
  // back before t2 took it, and nothing is wrong.
  History& h = b.history();
  h.events[h.events.size() - 2].before = h.events[h.events.size() - 3].after - 1;
  h.events[h.events.size() - 3].before -= 1;
  const CheckResult result = CheckHistory(h);
  EXPECT_FALSE(result.Has(kTrialsInFlight)) << result.Summary();
}

TEST(CheckerTest, CatchesMoreTrialsTakingPartThanHalfOpenTrialCalls) {
  Builder b(HandMadeConfig());  // T = 2
  b.Failures(3, 0, 1, State::kOpen);
  b.Advance(absl::Seconds(1));
  for (int i = 0; i < 3; ++i) {
    b.Resolve(b.Acquire(2, State::kHalfOpen, true), Op::kSuccess, 2, State::kHalfOpen);
  }
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.Has(kTrialsPerGeneration)) << result.Summary();
  EXPECT_TRUE(result.Has(kTrialOutcomes)) << result.Summary();
}

TEST(CheckerTest, CatchesATrialAdmittedOutsideHalfOpen) {
  Builder b(HandMadeConfig());
  Event& e = b.Add(Op::kAcquire, 0, State::kClosed);
  e.permit = 1;
  e.permit_generation = 0;
  e.admitted = true;
  e.trial = true;
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.Has(kTrialInHalfOpen)) << result.Summary();
}

TEST(CheckerTest, CatchesAnOutcomeFromAnOldGenerationThatTrippedTheCurrentOne) {
  Builder b(HandMadeConfig());
  // Three calls admitted in CLOSED g0; a Reset makes CLOSED g1; their
  // failures, stale, are followed by OPEN g2. No call of g1 failed.
  const uint64_t p1 = b.Acquire(0, State::kClosed, true);
  const uint64_t p2 = b.Acquire(0, State::kClosed, true);
  const uint64_t p3 = b.Acquire(0, State::kClosed, true);
  Event& reset = b.Add(Op::kReset, 0, State::kClosed);
  reset.post = Observation{1, true, State::kClosed};
  b.Resolve(p1, Op::kFailure, 1, State::kClosed);
  b.Resolve(p2, Op::kFailure, 1, State::kClosed);
  b.Resolve(p3, Op::kFailure, 1, State::kClosed).post = Observation{2, true, State::kOpen};
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.Has(kTransitionCause)) << result.Summary();
}

TEST(CheckerTest, CatchesCountersThatDoNotAddUp) {
  Builder b = GoodHistory();
  History& h = b.history();
  h.complete = true;
  h.has_final = true;
  h.final_metrics.state = State::kClosed;
  h.final_metrics.generation = 3;
  h.final_metrics.opened = 1;
  h.final_metrics.permitted = 6;  // 3 failures, 2 trials, 1 success
  h.final_metrics.rejected = 2;
  h.final_metrics.successes = 3;
  h.final_metrics.failures = 3;
  EXPECT_TRUE(CheckHistory(h).ok()) << CheckHistory(h).Summary();

  h.final_metrics.successes = 2;  // one success lost
  const CheckResult result = CheckHistory(h);
  EXPECT_TRUE(result.Has(kCounters)) << result.Summary();

  h.final_metrics.successes = 3;
  // Two outcomes saw the generation move while they were recorded (the
  // third failure and the closing trial): they may be stale, no others.
  h.final_metrics.stale = 2;
  EXPECT_TRUE(CheckHistory(h).ok()) << CheckHistory(h).Summary();
  h.final_metrics.stale = 3;
  EXPECT_TRUE(CheckHistory(h).Has(kStaleCount));
}

TEST(CheckerTest, CatchesAnOpenBreakerThatOutlivesItsDeadline) {
  Builder b(HandMadeConfig());  // open_duration = max_open_duration = 1 s
  b.Failures(3, 0, 1, State::kOpen);
  b.Advance(absl::Milliseconds(500));
  b.Acquire(1, State::kOpen, false);  // fine: not yet
  b.Advance(absl::Seconds(2));
  b.Acquire(1, State::kOpen, false);  // 2.5 s into a 1 s open duration
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.Has(kStuckOpen)) << result.Summary();
  EXPECT_EQ(result.violation_counts.at(std::string(kStuckOpen)), 1u) << Checks(result);
}

TEST(CheckerTest, CatchesABreakerThatLeavesOpenBeforeTheOpenDuration) {
  Builder b(HandMadeConfig());  // open_duration = 1 s, no jitter
  b.Failures(3, 0, 1, State::kOpen);
  b.Advance(absl::Milliseconds(100));
  b.Resolve(b.Acquire(2, State::kHalfOpen, true), Op::kSuccess, 2, State::kHalfOpen);
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.Has(kTransitionCause)) << result.Summary();

  Builder ok(HandMadeConfig());
  ok.Failures(3, 0, 1, State::kOpen);
  ok.Advance(absl::Seconds(1));
  ok.Resolve(ok.Acquire(2, State::kHalfOpen, true), Op::kSuccess, 2, State::kHalfOpen);
  const CheckResult fine = CheckHistory(ok.history());
  EXPECT_TRUE(fine.ok()) << fine.Summary();
  EXPECT_EQ(fine.stats.open_durations_checked, 1u);
}

TEST(CheckerTest, CatchesTrialsTimedOutBeforeHalfOpenMaxDuration) {
  BreakerConfig config = HandMadeConfig();
  config.half_open_max_duration = absl::Seconds(5);
  Builder b(config);
  b.Failures(3, 0, 1, State::kOpen);
  b.Advance(absl::Seconds(1));
  b.Acquire(2, State::kHalfOpen, true);  // held, never resolved
  b.Advance(absl::Seconds(1));
  b.Acquire(3, State::kOpen, false);  // reopened after 1 s of a 5 s limit
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.Has(kTransitionCause)) << result.Summary();
}

TEST(CheckerTest, CatchesAGenerationThatGoesBackwards) {
  Builder b = GoodHistory();
  b.Acquire(2, State::kHalfOpen, false);  // after CLOSED g3 was seen
  const CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.Has(kMonotonic)) << result.Summary();
}

// ---- A single-threaded observation about config.h ------------------------------------

// config.h says "Never more than [half_open_trial_calls] trials are admitted
// per HALF_OPEN period", but a released trial hands its slot back (design.md:
// in flight + successes + failures <= T), so a later caller is admitted in
// its place. The default checker counts trials that took part; the strict
// option reads config.h literally and flags this.
TEST(CheckerTest, ReleasedTrialsLetMoreThanHalfOpenTrialCallsBeAdmitted) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 1;
  config.half_open_trial_calls = 1;
  auto breaker = Breaker::Create(config).value();
  ASSERT_TRUE(breaker->TryAcquire().Failure());
  clock.Advance(config.open_duration);
  int admitted = 0;
  for (int i = 0; i < 3; ++i) {
    Permit trial = breaker->TryAcquire();
    ASSERT_TRUE(trial.is_trial());
    ++admitted;
    EXPECT_TRUE(trial.Release());
  }
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_EQ(admitted, 3) << "three trials in one HALF_OPEN generation with T = 1";

  Builder b(HandMadeConfig());  // T = 2
  b.Failures(3, 0, 1, State::kOpen);
  b.Advance(absl::Seconds(1));
  for (int i = 0; i < 3; ++i) {
    b.Resolve(b.Acquire(2, State::kHalfOpen, true), Op::kRelease, 2, State::kHalfOpen);
  }
  EXPECT_TRUE(CheckHistory(b.history()).ok());
  CheckerOptions strict;
  strict.strict_trial_admission = true;
  EXPECT_TRUE(CheckHistory(b.history(), strict).Has(kTrialsPerGeneration));
}

}  // namespace
}  // namespace history
}  // namespace circuit
