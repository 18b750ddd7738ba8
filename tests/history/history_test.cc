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
  uint64_t timeout_reopens = 0;
  uint64_t timeout_reopens_with_free_slots = 0;
  uint64_t half_open_deadline_checks = 0;
  uint64_t trips_without_failure_in_flight = 0;
  uint64_t trips_by_a_success = 0;
  uint64_t closes_after_a_failed_trial = 0;
};

constexpr int kThreads = 8;  // the machine has 2 cores
constexpr int kOpsPerThread = 3000;
constexpr int kHistoriesPerConfig = 4;

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
    totals->timeout_reopens += result.stats.timeout_reopens;
    totals->timeout_reopens_with_free_slots += result.stats.timeout_reopens_with_free_slots;
    totals->half_open_deadline_checks += result.stats.half_open_deadline_checks;
    totals->trips_without_failure_in_flight += result.stats.trips_without_failure_in_flight;
    totals->trips_by_a_success += result.stats.trips_by_a_success;
    totals->closes_after_a_failed_trial += result.stats.closes_after_a_failed_trial;
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
      "OPEN deadline checks %llu, opened %llu, max trials in flight %d (of %d), timeout reopens "
      "%llu (%llu with free slots), HALF_OPEN deadline checks %llu, trips with no failure in "
      "flight %llu (%llu by a success), closes after a failed trial %llu\n",
      config.name.c_str(), totals->histories, static_cast<unsigned long long>(totals->events),
      static_cast<unsigned long long>(totals->transitions),
      static_cast<unsigned long long>(totals->causes),
      static_cast<unsigned long long>(totals->deadline_checks),
      static_cast<unsigned long long>(totals->opened), totals->max_trials_in_flight,
      config.half_open_max_concurrent, static_cast<unsigned long long>(totals->timeout_reopens),
      static_cast<unsigned long long>(totals->timeout_reopens_with_free_slots),
      static_cast<unsigned long long>(totals->half_open_deadline_checks),
      static_cast<unsigned long long>(totals->trips_without_failure_in_flight),
      static_cast<unsigned long long>(totals->trips_by_a_success),
      static_cast<unsigned long long>(totals->closes_after_a_failed_trial));
}

TEST(HistoryTest, ConcurrentHistoriesOfACountWindowBreakerFollowTheStateMachine) {
  Totals totals;
  RunAndCheck(StressConfig("count-window"), 1001, &totals);
}

TEST(HistoryTest, ConcurrentHistoriesOfATimeWindowBreakerFollowTheStateMachine) {
  Totals totals;
  RunAndCheck(StressConfig("time-window"), 2001, &totals);
}

TEST(HistoryTest, ConcurrentHistoriesCountedPerCpuFollowTheStateMachine) {
  Totals totals;
  const BreakerConfig config = StressConfig("per-cpu-time-window");
  ASSERT_EQ(config.stripes, 0);  // no own stripe: every count goes to a CPU's block
  RunAndCheck(config, 9001, &totals);
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

TEST(HistoryTest, ConcurrentHistoriesClosedBySOfKTrialsFollowTheStateMachine) {
  Totals totals;
  const BreakerConfig config = StressConfig("successes-to-close");
  ASSERT_EQ(config.half_open_successes_to_close, 2);
  RunAndCheck(config, 6001, &totals);
  // Only S < K closes a generation after counting a failed trial.
  EXPECT_GT(totals.closes_after_a_failed_trial, 0u);
}

TEST(HistoryTest, ConcurrentHistoriesWithAShortHalfOpenLimitFollowTheStateMachine) {
  Totals totals;
  const BreakerConfig config = StressConfig("half-open-limit");
  ASSERT_GT(config.half_open_max_duration, absl::ZeroDuration());
  RunAndCheck(config, 7001, &totals);
  EXPECT_GT(totals.timeout_reopens_with_free_slots, 0u);
  EXPECT_GT(totals.half_open_deadline_checks, 0u);
}

TEST(HistoryTest, ConcurrentHistoriesWhereSuccessesDecideRatesFollowTheStateMachine) {
  Totals totals;
  const BreakerConfig config = StressConfig("success-decides");
  ASSERT_EQ(EffectiveConsecutiveFailuresToOpen(config), 0);
  RunAndCheck(config, 8001, &totals);
  EXPECT_GT(totals.trips_by_a_success, 0u);
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

  Event& Last() { return history_.events.back(); }

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

// ---- S of K, the HALF_OPEN limit, trips decided by a success ----------------------------

BreakerConfig SOfKConfig() {
  BreakerConfig config = HandMadeConfig();
  config.half_open_trial_calls = 4;  // K
  config.half_open_max_concurrent = 2;
  config.half_open_successes_to_close = 2;  // S
  return config;
}

// CLOSED g0 -> OPEN g1 -> HALF_OPEN g2 with trials resolved one at a time
// (true: success); the last one sees `last`.
Builder Trials(const BreakerConfig& config, const std::vector<bool>& outcomes, State last) {
  Builder b(config);
  b.Failures(3, 0, 1, State::kOpen);
  b.Advance(absl::Seconds(1));
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const uint64_t t = b.Acquire(2, State::kHalfOpen, true);
    Event& e = b.Resolve(t, outcomes[i] ? Op::kSuccess : Op::kFailure, 2, State::kHalfOpen);
    if (i + 1 == outcomes.size()) e.post = Observation{3, true, last};
  }
  return b;
}

TEST(CheckerTest, SOfKClosesOnSSuccessfulTrialsAndNotBefore) {
  // K = 4, S = 2: one failed trial does not reopen; the second success closes.
  Builder ok = Trials(SOfKConfig(), {false, true, true}, State::kClosed);
  CheckResult result = CheckHistory(ok.history());
  EXPECT_TRUE(result.ok()) << result.Summary();
  EXPECT_EQ(result.stats.closes_after_a_failed_trial, 1u);

  Builder bad = Trials(SOfKConfig(), {false, true}, State::kClosed);
  result = CheckHistory(bad.history());
  EXPECT_TRUE(result.Has(kTransitionCause)) << result.Summary();

  // With S = K (0), a failed trial that leaves the generation HALF_OPEN is
  // itself wrong.
  BreakerConfig all = SOfKConfig();
  all.half_open_successes_to_close = 0;
  Builder old_rule = Trials(all, {false, true, true, true, true}, State::kClosed);
  result = CheckHistory(old_rule.history());
  EXPECT_TRUE(result.Has(kTrialOutcomes)) << result.Summary();
}

TEST(CheckerTest, SOfKReopensOnMoreThanKMinusSFailedTrials) {
  Builder ok = Trials(SOfKConfig(), {false, true, false, false}, State::kOpen);
  CheckResult result = CheckHistory(ok.history());
  EXPECT_TRUE(result.ok()) << result.Summary();

  // Two failed trials of K - S = 2 do not reopen it.
  Builder bad = Trials(SOfKConfig(), {false, true, false}, State::kOpen);
  result = CheckHistory(bad.history());
  EXPECT_TRUE(result.Has(kTransitionCause)) << result.Summary();

  // Nor can a third failed trial leave it HALF_OPEN.
  Builder stays = Trials(SOfKConfig(), {false, false, false, true}, State::kHalfOpen);
  result = CheckHistory(stays.history());
  EXPECT_TRUE(result.Has(kTrialOutcomes)) << result.Summary();
}

TEST(CheckerTest, ASlowTrialIsAFailedOneWhenSlowCallsCount) {
  BreakerConfig config = SOfKConfig();
  config.half_open_trial_calls = 2;
  config.half_open_successes_to_close = 0;  // S = K = 2
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Milliseconds(100);
  // A success held 200 ms is slow: a failed trial, which reopens.
  Builder ok(config);
  ok.Failures(3, 0, 1, State::kOpen);
  ok.Advance(absl::Seconds(1));
  uint64_t t = ok.Acquire(2, State::kHalfOpen, true);
  ok.Advance(absl::Milliseconds(200));
  ok.Resolve(t, Op::kSuccess, 2, State::kHalfOpen).post = Observation{3, true, State::kOpen};
  CheckResult result = CheckHistory(ok.history());
  EXPECT_TRUE(result.ok()) << result.Summary();

  // ... and cannot be one of the S successes that close it.
  Builder bad(config);
  bad.Failures(3, 0, 1, State::kOpen);
  bad.Advance(absl::Seconds(1));
  bad.Resolve(bad.Acquire(2, State::kHalfOpen, true), Op::kSuccess, 2, State::kHalfOpen);
  t = bad.Acquire(2, State::kHalfOpen, true);
  bad.Advance(absl::Milliseconds(200));
  bad.Resolve(t, Op::kSuccess, 2, State::kHalfOpen).post = Observation{3, true, State::kClosed};
  result = CheckHistory(bad.history());
  EXPECT_TRUE(result.Has(kTransitionCause)) << result.Summary();
}

BreakerConfig LimitConfig() {
  BreakerConfig config = HandMadeConfig();  // open 1 s
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 3;
  config.half_open_max_duration = absl::Seconds(5);
  return config;
}

// HALF_OPEN g2 entered at 1 s (deadline 6 s) with one successful trial of
// 3; then `later` passes and one call notices the deadline (OPEN g3, which
// began at 6 s and ends at 7 s) and, past OPEN's end, enters HALF_OPEN g4.
Builder ReopenedByTheDeadline(absl::Duration later) {
  Builder b(LimitConfig());
  b.Failures(3, 0, 1, State::kOpen);
  b.Advance(absl::Seconds(1));
  b.Resolve(b.Acquire(2, State::kHalfOpen, true), Op::kSuccess, 2, State::kHalfOpen);
  b.Advance(later);
  b.Acquire(4, State::kHalfOpen, true);
  b.Last().pre = Observation{3, true, State::kOpen};  // its pre-observation reopened it
  return b;
}

TEST(CheckerTest, TheHalfOpenLimitReopensWithFreeSlotsAndOpenStartsAtTheDeadline) {
  // Noticed at 8 s: OPEN g3 began at the deadline (6 s), not at 8 s, so
  // leaving it at 8 s is right although its reopener read 8 s.
  Builder ok = ReopenedByTheDeadline(absl::Seconds(7));
  CheckResult result = CheckHistory(ok.history());
  EXPECT_TRUE(result.ok()) << result.Summary();
  EXPECT_EQ(result.stats.timeout_reopens, 1u);
  EXPECT_EQ(result.stats.timeout_reopens_with_free_slots, 1u);
  EXPECT_EQ(result.stats.open_durations_from_half_open_deadline, 1u);

  // Noticed at 6.2 s and left at once: 0.2 s of a 1 s open duration.
  Builder early = ReopenedByTheDeadline(absl::Milliseconds(5200));
  result = CheckHistory(early.history());
  EXPECT_TRUE(result.Has(kTransitionCause)) << result.Summary();

  // Before the deadline nothing explains the reopen.
  Builder too_soon = ReopenedByTheDeadline(absl::Seconds(4));
  result = CheckHistory(too_soon.history());
  EXPECT_TRUE(result.Has(kTransitionCause)) << result.Summary();
}

TEST(CheckerTest, CatchesAHalfOpenPeriodThatOutlivesItsLimit) {
  auto build = [](absl::Duration later, bool overlap_the_winner, bool admitted) {
    Builder b(LimitConfig());
    b.Failures(3, 0, 1, State::kOpen);
    b.Advance(absl::Seconds(1));
    b.Acquire(2, State::kHalfOpen, true);  // the winner, held
    const uint64_t winner_after = b.Last().after;
    b.Advance(later);
    b.Acquire(2, State::kHalfOpen, admitted);
    // Overlapping the winner's acquire: its deadline may not be stored yet.
    if (overlap_the_winner) b.Last().before = winner_after - 1;
    return b;
  };
  // At 7 s, past the deadline (6 s), a second trial is admitted, or a call
  // is rejected by HALF_OPEN: the deadline was not applied.
  EXPECT_TRUE(
      CheckHistory(build(absl::Seconds(6), false, true).history()).Has(kHalfOpenPastDeadline));
  EXPECT_TRUE(
      CheckHistory(build(absl::Seconds(6), false, false).history()).Has(kHalfOpenPastDeadline));
  // Before the deadline, or before the winner can have stored it: fine.
  CheckResult result = CheckHistory(build(absl::Seconds(4), false, true).history());
  EXPECT_TRUE(result.ok()) << result.Summary();
  EXPECT_GT(result.stats.half_open_deadline_checks, 0u);
  result = CheckHistory(build(absl::Seconds(6), true, true).history());
  EXPECT_FALSE(result.Has(kHalfOpenPastDeadline)) << result.Summary();
}

TEST(CheckerTest, AQuietHalfOpenPastItsLimitMayRejectTheProbeThatReopensIt) {
  Builder b(LimitConfig());
  b.Failures(3, 0, 1, State::kOpen);
  b.Advance(absl::Seconds(1));
  b.Resolve(b.Acquire(2, State::kHalfOpen, true), Op::kSuccess, 2, State::kHalfOpen);
  b.Advance(absl::Milliseconds(5500));
  b.Acquire(3, State::kOpen, false);  // reopened at 6 s: OPEN until 7 s
  Event& probe = b.Last();
  probe.probe = true;
  probe.pre = Observation{2, true, State::kHalfOpen};
  CheckResult result = CheckHistory(b.history());
  EXPECT_TRUE(result.ok()) << result.Summary();

  // Without a limit the same rejection is a stuck breaker (and an
  // unexplained reopen).
  BreakerConfig no_limit = LimitConfig();
  no_limit.half_open_max_duration = absl::ZeroDuration();
  History h = b.history();
  h.config = no_limit;
  result = CheckHistory(h);
  EXPECT_TRUE(result.Has(kLiveness)) << result.Summary();
  EXPECT_TRUE(result.Has(kTransitionCause)) << result.Summary();
}

BreakerConfig RateConfig() {
  BreakerConfig config = HandMadeConfig();
  config.consecutive_failures_to_open.reset();  // off: a rate is set
  config.failure_rate_threshold = 50;
  config.window_size = 10;
  config.minimum_calls = 5;
  return config;
}

TEST(CheckerTest, ASuccessThatBringsTheWindowToItsMinimumMayOpenIt) {
  // 3 failures, then 2 successes: the fifth outcome, a success, opens it.
  Builder ok(RateConfig());
  ok.Failures(3, 0, 0, State::kClosed);
  ok.Resolve(ok.Acquire(0, State::kClosed, true), Op::kSuccess, 0, State::kClosed);
  ok.Resolve(ok.Acquire(0, State::kClosed, true), Op::kSuccess, 0, State::kClosed).post =
      Observation{1, true, State::kOpen};
  CheckResult result = CheckHistory(ok.history());
  EXPECT_TRUE(result.ok()) << result.Summary();
  EXPECT_EQ(result.stats.trips_without_failure_in_flight, 1u);
  EXPECT_EQ(result.stats.trips_by_a_success, 1u);

  // Successes alone never open it.
  Builder bad(RateConfig());
  for (int i = 0; i < 5; ++i) {
    Event& e = bad.Resolve(bad.Acquire(0, State::kClosed, true), Op::kSuccess, 0, State::kClosed);
    if (i == 4) e.post = Observation{1, true, State::kOpen};
  }
  result = CheckHistory(bad.history());
  EXPECT_TRUE(result.Has(kTransitionCause)) << result.Summary();
}

TEST(CheckerTest, AnUnsetConsecutiveFailuresToOpenIsFiveWithoutARate) {
  BreakerConfig config = HandMadeConfig();
  config.consecutive_failures_to_open.reset();
  ASSERT_EQ(EffectiveConsecutiveFailuresToOpen(config), 5);
  Builder four(config);
  four.Failures(4, 0, 1, State::kOpen);
  EXPECT_TRUE(CheckHistory(four.history()).Has(kTransitionCause));
  Builder five(config);
  five.Failures(5, 0, 1, State::kOpen);
  const CheckResult result = CheckHistory(five.history());
  EXPECT_TRUE(result.ok()) << result.Summary();
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
