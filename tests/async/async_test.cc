// circuit/async.h, one behaviour at a time: CallAsync() and its Completion
// (completed on another thread, classified, rejected, dropped, completed
// twice, ignored, released, shared through std::function, timed from
// admission to completion, start throwing) and CallFuture() (each result
// type, rejection, an exception in the inner future, a future dropped
// without get(), the duration ending at get()). Every test injects a
// FakeClock; none sleeps.
#include "circuit/async.h"

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/classify.h"
#include "circuit/fake_clock.h"
#include "circuit/permit.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

struct Timeout : std::runtime_error {
  Timeout() : std::runtime_error("timed out") {}
};
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};
struct BusinessError : std::logic_error {
  BusinessError() : std::logic_error("no such account") {}
};

std::unique_ptr<Breaker> Make(BreakerConfig config) {
  absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(std::move(config));
  EXPECT_TRUE(breaker.ok()) << breaker.status();
  return std::move(breaker).value();
}

// A breaker that opens on the first failure, stays OPEN 1 s, and then
// admits one trial at a time; one successful trial closes it.
BreakerConfig OneTrialConfig(FakeClock& clock) {
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Seconds(1);
  config.half_open_trial_calls = 1;
  config.half_open_max_concurrent = 1;
  return config;
}

// Slow-call detection timed by the (fake) precise clock: a call of 1 s or
// more is slow; the window is large enough that nothing trips.
BreakerConfig SlowCallConfig(FakeClock& clock) {
  BreakerConfig config;
  config.clock = &clock;
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Seconds(1);
  config.slow_call_clock = SlowCallClock::kPrecise;
  return config;
}

// Starts an async call and keeps its Completion in `held`; fails the test
// if the call is rejected.
void StartAndHold(Breaker& breaker, std::optional<Completion>& held) {
  const absl::Status started =
      CallAsync(breaker, [&](Completion done) { held.emplace(std::move(done)); });
  ASSERT_TRUE(started.ok()) << started;
  ASSERT_TRUE(held.has_value());
}

// Opens a OneTrialConfig breaker with a failing async call and moves the
// clock past the open duration, so that the next call is the trial.
void TripAndWaitOut(Breaker& breaker, FakeClock& clock) {
  ASSERT_TRUE(CallAsync(breaker, [](Completion done) {
                EXPECT_TRUE(done(absl::UnavailableError("down")));
              }).ok());
  ASSERT_EQ(breaker.state(), State::kOpen);
  clock.Advance(absl::Seconds(1));
}

// ---- CallAsync() and Completion -------------------------------------------------

TEST(CallAsyncTest, ACompletionCalledOnAnotherThreadRecordsTheOutcome) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  auto breaker = Make(config);

  std::vector<std::thread> operations;
  for (const absl::Status& outcome : {absl::OkStatus(), absl::UnavailableError("down")}) {
    const absl::Status started = CallAsync(*breaker, [&](Completion done) {
      operations.emplace_back([done = std::move(done), outcome] { EXPECT_TRUE(done(outcome)); });
    });
    ASSERT_TRUE(started.ok()) << started;
  }
  for (std::thread& operation : operations) operation.join();

  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, 2u);
  EXPECT_EQ(m.successes, 1u);
  EXPECT_EQ(m.failures, 1u);
  EXPECT_EQ(m.released, 0u);
}

TEST(CallAsyncTest, NothingIsRecordedUntilTheCompletionIsCalled) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  auto breaker = Make(config);

  std::optional<Completion> held;
  StartAndHold(*breaker, held);
  BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, 1u);
  EXPECT_EQ(m.successes + m.failures + m.ignored + m.released, 0u) << "in flight";

  EXPECT_TRUE(held->Complete(absl::OkStatus()));
  m = breaker->Metrics();
  EXPECT_EQ(m.successes, 1u);
}

TEST(CallAsyncTest, FailingCompletionsOpenTheBreaker) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 3;
  auto breaker = Make(config);

  std::vector<Completion> held(3);
  for (Completion& slot : held) {
    ASSERT_TRUE(CallAsync(*breaker, [&](Completion done) { slot = std::move(done); }).ok());
  }
  for (const Completion& done : held) {
    EXPECT_EQ(breaker->state(), State::kClosed);
    EXPECT_TRUE(done(absl::DeadlineExceededError("slow dependency")));
  }
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().failures, 3u);
}

TEST(CallAsyncTest, TheStatusIsClassifiedByTheConfig) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 1;
  config.status_is_failure = FailOnCodes({absl::StatusCode::kUnavailable});
  auto breaker = Make(config);

  ASSERT_TRUE(CallAsync(*breaker, [](Completion done) {
                done(absl::NotFoundError("the caller's fault"));
              }).ok());
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().successes, 1u) << "kNotFound is not a failure here";

  ASSERT_TRUE(CallAsync(*breaker, [](Completion done) {
                done(absl::UnavailableError("down"));
              }).ok());
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(CallAsyncTest, ARejectedCallReturnsTheRejectionAtOnceWithoutRunningStart) {
  FakeClock clock;
  auto breaker = Make(OneTrialConfig(clock));
  ASSERT_TRUE(CallAsync(*breaker, [](Completion done) { done(absl::UnavailableError("down")); })
                  .ok());
  ASSERT_EQ(breaker->state(), State::kOpen);

  bool ran = false;
  const absl::Status status = CallAsync(*breaker, [&](Completion) { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_TRUE(IsRejection(status)) << status;
  EXPECT_EQ(RejectionRetryAfter(status), absl::Seconds(1));
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.rejected, 1u);
  EXPECT_EQ(m.permitted, 1u);
}

TEST(CallAsyncTest, ACompletionDestroyedUncalledReleasesItsTrialSlot) {
  FakeClock clock;
  auto breaker = Make(OneTrialConfig(clock));
  TripAndWaitOut(*breaker, clock);

  std::optional<Completion> trial;
  StartAndHold(*breaker, trial);
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_EQ(breaker->Snapshot().trials_in_flight, 1u);
  bool ran = false;
  EXPECT_TRUE(IsRejection(CallAsync(*breaker, [&](Completion) { ran = true; })))
      << "the only trial slot is taken";
  EXPECT_FALSE(ran);

  trial.reset();  // the operation dropped its callback
  EXPECT_EQ(breaker->Metrics().released, 1u);
  EXPECT_EQ(breaker->Snapshot().trials_in_flight, 0u);
  EXPECT_EQ(breaker->state(), State::kHalfOpen) << "a released trial decides nothing";

  std::optional<Completion> next;
  StartAndHold(*breaker, next);  // admitted: the slot came back
  EXPECT_EQ(breaker->Snapshot().trials_in_flight, 1u) << "admitted as the trial";
  EXPECT_TRUE((*next)(absl::OkStatus()));
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(CallAsyncTest, ACompletionStartDoesNotKeepIsReleasedWhenStartReturns) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  auto breaker = Make(config);

  EXPECT_TRUE(CallAsync(*breaker, [](Completion) {}).ok());  // by value, dropped
  EXPECT_EQ(breaker->Metrics().released, 1u);
  EXPECT_TRUE(CallAsync(*breaker, [](Completion&&) {}).ok());  // borrowed, not moved from
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.released, 2u);
  EXPECT_EQ(m.permitted, 2u);
}

TEST(CallAsyncTest, ASecondResolutionDoesNothingAndReturnsFalse) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  auto breaker = Make(config);

  std::optional<Completion> held;
  StartAndHold(*breaker, held);
  EXPECT_TRUE(held->Complete(absl::OkStatus()));
  EXPECT_FALSE(held->Complete(absl::UnavailableError("late")));
  EXPECT_FALSE((*held)(absl::OkStatus()));
  EXPECT_FALSE(held->Ignore());
  EXPECT_FALSE(held->Release());
  held.reset();

  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.successes, 1u);
  EXPECT_EQ(m.failures, 0u);
  EXPECT_EQ(m.ignored, 0u);
  EXPECT_EQ(m.released, 0u) << "destroying a completed Completion releases nothing";
}

TEST(CallAsyncTest, AnIgnoredCompletionCountsAsNeitherSuccessNorFailure) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 2;
  auto breaker = Make(config);

  auto complete_with = [&](const absl::Status& status) {
    ASSERT_TRUE(CallAsync(*breaker, [&](Completion done) { EXPECT_TRUE(done(status)); }).ok());
  };
  complete_with(absl::UnavailableError("down"));
  ASSERT_TRUE(CallAsync(*breaker, [](Completion done) { EXPECT_TRUE(done.Ignore()); }).ok());
  EXPECT_EQ(breaker->state(), State::kClosed);
  complete_with(absl::UnavailableError("down"));
  EXPECT_EQ(breaker->state(), State::kOpen) << "the ignored call did not break the run";

  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.ignored, 1u);
  EXPECT_EQ(m.failures, 2u);
  EXPECT_EQ(m.successes, 0u);
}

TEST(CallAsyncTest, ReleaseGivesTheCallBackWithoutAnOutcome) {
  FakeClock clock;
  auto breaker = Make(OneTrialConfig(clock));
  TripAndWaitOut(*breaker, clock);

  std::optional<Completion> trial;
  StartAndHold(*breaker, trial);
  EXPECT_TRUE(trial->Release());
  EXPECT_FALSE(trial->Complete(absl::OkStatus()));
  EXPECT_EQ(breaker->Snapshot().trials_in_flight, 0u);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.released, 1u);
  EXPECT_EQ(m.successes, 0u);
}

TEST(CallAsyncTest, AMovedFromOrSharedCompletionIsEmpty) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  auto breaker = Make(config);

  std::optional<Completion> held;
  StartAndHold(*breaker, held);
  Completion moved = std::move(*held);
  EXPECT_FALSE(held->Complete(absl::OkStatus())) << "moved from";
  SharedCompletion shared = std::move(moved).Share();
  EXPECT_FALSE(moved.Complete(absl::OkStatus())) << "shared";
  EXPECT_EQ(breaker->Metrics().successes, 0u);
  EXPECT_TRUE(shared(absl::OkStatus()));
  EXPECT_EQ(breaker->Metrics().successes, 1u);
  EXPECT_FALSE(Completion().Complete(absl::OkStatus()));
  EXPECT_FALSE(SharedCompletion().Ignore());
}

TEST(CallAsyncTest, TheDurationRunsFromAdmissionToCompletion) {
  FakeClock clock;
  auto breaker = Make(SlowCallConfig(clock));

  clock.Advance(absl::Seconds(5));  // before admission: not part of the call
  std::optional<Completion> quick;
  StartAndHold(*breaker, quick);
  clock.Advance(absl::Milliseconds(999));
  EXPECT_TRUE(quick->Complete(absl::OkStatus()));
  EXPECT_EQ(breaker->Metrics().slow, 0u) << "999 ms from admission to completion";

  std::optional<Completion> slow;
  StartAndHold(*breaker, slow);  // start has returned
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(slow->Complete(absl::UnavailableError("timed out")));
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.slow, 1u) << "1 s from admission to completion";
  EXPECT_EQ(m.successes, 1u);
  EXPECT_EQ(m.failures, 1u);
}

TEST(CallAsyncTest, SlowCompletionsOpenTheBreakerOnTheSlowCallRate) {
  FakeClock clock;
  BreakerConfig config = SlowCallConfig(clock);
  config.minimum_calls = 2;
  config.window_size = 2;
  auto breaker = Make(config);

  std::optional<Completion> first;
  std::optional<Completion> second;
  StartAndHold(*breaker, first);
  StartAndHold(*breaker, second);
  clock.Advance(absl::Seconds(2));
  EXPECT_TRUE(first->Complete(absl::OkStatus()));
  EXPECT_TRUE(second->Complete(absl::OkStatus()));
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Snapshot().last_trip.cause, TripCause::kSlowCallRate);
}

// Breaker::Call() and CallAsync() with a start that throws `E` record the
// same outcome, under every exception classification.
template <typename E>
void ExpectSameOutcomeAsCall(const BreakerConfig& config, const char* what) {
  SCOPED_TRACE(what);
  auto by_call = Make(config);
  auto by_async = Make(config);
  EXPECT_THROW((void)by_call->Call([]() -> absl::Status { throw E(); }), E);
  EXPECT_THROW((void)CallAsync(*by_async, [](Completion) { throw E(); }), E);
  const BreakerMetrics want = by_call->Metrics();
  const BreakerMetrics got = by_async->Metrics();
  EXPECT_EQ(got.permitted, 1u);
  EXPECT_EQ(got.successes, want.successes);
  EXPECT_EQ(got.failures, want.failures);
  EXPECT_EQ(got.ignored, want.ignored);
  EXPECT_EQ(got.released, 0u) << "recorded, not released, though start destroyed the Completion";
  EXPECT_EQ(got.successes + got.failures + got.ignored, 1u);
}

TEST(CallAsyncTest, AnExceptionFromStartIsClassifiedAsCallClassifiesItThenRethrown) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  ExpectSameOutcomeAsCall<Timeout>(config, "default: every exception is a failure");
  {
    auto breaker = Make(config);
    EXPECT_THROW((void)CallAsync(*breaker, [](Completion) { throw Timeout(); }), Timeout);
    EXPECT_EQ(breaker->Metrics().failures, 1u);
  }

  config.exception_is_ignored = ExceptionIsAnyOf<Cancelled>();
  ExpectSameOutcomeAsCall<Cancelled>(config, "ignored");
  {
    auto breaker = Make(config);
    EXPECT_THROW((void)CallAsync(*breaker, [](Completion) { throw Cancelled(); }), Cancelled);
    EXPECT_EQ(breaker->Metrics().ignored, 1u);
  }

  config.exception_is_failure = ExceptionIsAnyOf<Timeout>();
  ExpectSameOutcomeAsCall<BusinessError>(config, "expected: a success");
  {
    auto breaker = Make(config);
    EXPECT_THROW((void)CallAsync(*breaker, [](Completion) { throw BusinessError(); }),
                 BusinessError);
    EXPECT_EQ(breaker->Metrics().successes, 1u);
  }
}

TEST(CallAsyncTest, AnExceptionAfterTheCallWasCompletedLeavesThatOutcome) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  auto breaker = Make(config);

  EXPECT_THROW((void)CallAsync(*breaker,
                         [](Completion done) {
                           EXPECT_TRUE(done(absl::OkStatus()));
                           throw Timeout();
                         }),
               Timeout);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.successes, 1u);
  EXPECT_EQ(m.failures, 0u);
}

TEST(CallAsyncTest, ACompletionStoredBeforeStartThrewReturnsFalseLater) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  auto breaker = Make(config);

  std::optional<Completion> stored;
  EXPECT_THROW((void)CallAsync(*breaker,
                         [&](Completion done) {
                           stored.emplace(std::move(done));
                           throw Timeout();
                         }),
               Timeout);
  EXPECT_EQ(breaker->Metrics().failures, 1u);
  ASSERT_TRUE(stored.has_value());
  EXPECT_FALSE(stored->Complete(absl::OkStatus()));
  stored.reset();
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.successes, 0u);
  EXPECT_EQ(m.released, 0u);
}

// ---- SharedCompletion -------------------------------------------------------------

TEST(SharedCompletionTest, CopiesInStdFunctionsReportOneCallOnce) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  auto breaker = Make(config);

  std::function<bool(absl::Status)> first;
  ASSERT_TRUE(CallAsync(*breaker, [&](Completion done) { first = std::move(done).Share(); }).ok());
  std::function<bool(absl::Status)> second = first;  // copyable, as std::function needs
  std::function<void(absl::Status)> third = first;

  EXPECT_TRUE(second(absl::UnavailableError("down")));
  EXPECT_FALSE(first(absl::OkStatus()));
  third(absl::OkStatus());
  first = nullptr;
  second = nullptr;
  third = nullptr;

  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.failures, 1u);
  EXPECT_EQ(m.successes, 0u);
  EXPECT_EQ(m.released, 0u);
}

TEST(SharedCompletionTest, TheCallIsReleasedWhenTheLastCopyIsDestroyedUncalled) {
  FakeClock clock;
  auto breaker = Make(OneTrialConfig(clock));
  TripAndWaitOut(*breaker, clock);

  std::optional<SharedCompletion> a;
  ASSERT_TRUE(CallAsync(*breaker, [&](Completion done) { a.emplace(std::move(done).Share()); })
                  .ok());
  std::optional<SharedCompletion> b = a;
  a.reset();
  EXPECT_EQ(breaker->Metrics().released, 0u) << "a copy is still alive";
  EXPECT_EQ(breaker->Snapshot().trials_in_flight, 1u);
  b.reset();
  EXPECT_EQ(breaker->Metrics().released, 1u);
  EXPECT_EQ(breaker->Snapshot().trials_in_flight, 0u);
}

TEST(SharedCompletionTest, CopiesRacingOnThreadsResolveTheCallExactlyOnce) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 1'000'000;
  auto breaker = Make(config);

  constexpr int kRounds = 100;
  constexpr int kThreads = 4;
  for (int round = 0; round < kRounds; ++round) {
    SharedCompletion shared;
    ASSERT_TRUE(CallAsync(*breaker, [&](Completion done) { shared = std::move(done).Share(); })
                    .ok());
    std::atomic<int> go{0};
    std::atomic<int> wins{0};
    std::vector<std::thread> racers;
    for (int t = 0; t < kThreads; ++t) {
      racers.emplace_back([copy = shared, t, &go, &wins] {
        go.fetch_add(1);
        while (go.load() < kThreads) std::this_thread::yield();
        const bool won = t % 2 == 0 ? copy(absl::OkStatus()) : copy(absl::UnavailableError("x"));
        if (won) wins.fetch_add(1);
      });
    }
    shared = SharedCompletion();
    for (std::thread& racer : racers) racer.join();
    ASSERT_EQ(wins.load(), 1) << "round " << round;
  }
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.successes + m.failures, uint64_t{kRounds});
  EXPECT_EQ(m.released, 0u);
}

// ---- CallFuture() -------------------------------------------------------------------

// What CallFuture() returns for a start returning std::future<T>.
template <typename T>
using CallFutureOf = decltype(CallFuture(std::declval<Breaker&>(),
                                         std::declval<std::future<T> (*)()>()));
static_assert(std::is_same_v<CallFutureOf<void>, std::future<absl::Status>>);
static_assert(std::is_same_v<CallFutureOf<absl::Status>, std::future<absl::Status>>);
static_assert(std::is_same_v<CallFutureOf<absl::StatusOr<int>>, std::future<absl::StatusOr<int>>>);
static_assert(std::is_same_v<CallFutureOf<int>, std::future<absl::StatusOr<int>>>);
static_assert(std::is_same_v<CallFutureOf<std::unique_ptr<int>>,
                             std::future<absl::StatusOr<std::unique_ptr<int>>>>);

class CallFutureTest : public testing::Test {
 protected:
  CallFutureTest() {
    BreakerConfig config;
    config.clock = &clock_;
    breaker_ = Make(config);
  }

  // CallFuture() over an inner future that `promise` fulfils.
  template <typename T>
  auto Start(std::promise<T>& promise) {
    return CallFuture(*breaker_, [&] { return promise.get_future(); });
  }

  FakeClock clock_;
  std::unique_ptr<Breaker> breaker_;
};

TEST_F(CallFutureTest, AVoidFutureBecomesAStatus) {
  std::promise<void> promise;
  std::future<absl::Status> result = Start(promise);
  promise.set_value();
  EXPECT_TRUE(result.get().ok());
  EXPECT_EQ(breaker_->Metrics().successes, 1u);
}

TEST_F(CallFutureTest, AStatusFutureIsClassifiedAndReturnedAsItIs) {
  std::promise<absl::Status> promise;
  std::future<absl::Status> result = Start(promise);
  promise.set_value(absl::UnavailableError("down"));
  EXPECT_EQ(result.get(), absl::UnavailableError("down"));
  const BreakerMetrics m = breaker_->Metrics();
  EXPECT_EQ(m.failures, 1u);
  EXPECT_EQ(m.successes, 0u);
}

TEST_F(CallFutureTest, AStatusOrFutureIsClassifiedAndReturnedAsItIs) {
  std::promise<absl::StatusOr<int>> ok;
  std::promise<absl::StatusOr<int>> failing;
  std::future<absl::StatusOr<int>> ok_result = Start(ok);
  std::future<absl::StatusOr<int>> failing_result = Start(failing);
  ok.set_value(7);
  failing.set_value(absl::DeadlineExceededError("late"));
  const absl::StatusOr<int> seven = ok_result.get();
  ASSERT_TRUE(seven.ok()) << seven.status();
  EXPECT_EQ(*seven, 7);
  EXPECT_EQ(failing_result.get().status().code(), absl::StatusCode::kDeadlineExceeded);
  const BreakerMetrics m = breaker_->Metrics();
  EXPECT_EQ(m.successes, 1u);
  EXPECT_EQ(m.failures, 1u);
}

TEST_F(CallFutureTest, APlainValueBecomesAStatusOrEvenMoveOnly) {
  std::promise<int> number;
  std::promise<std::unique_ptr<int>> owned;
  std::future<absl::StatusOr<int>> number_result = Start(number);
  std::future<absl::StatusOr<std::unique_ptr<int>>> owned_result = Start(owned);
  number.set_value(42);
  owned.set_value(std::make_unique<int>(9));
  const absl::StatusOr<int> got = number_result.get();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 42);
  absl::StatusOr<std::unique_ptr<int>> got_owned = owned_result.get();
  ASSERT_TRUE(got_owned.ok());
  ASSERT_NE(*got_owned, nullptr);
  EXPECT_EQ(**got_owned, 9);
  EXPECT_EQ(breaker_->Metrics().successes, 2u);
}

TEST_F(CallFutureTest, TheOutcomeIsRecordedWhenGetRunsNotWhenTheInnerFutureIsReady) {
  std::promise<absl::Status> promise;
  std::future<absl::Status> result = Start(promise);
  promise.set_value(absl::OkStatus());
  EXPECT_EQ(result.wait_for(std::chrono::seconds(0)), std::future_status::deferred)
      << "wait_for() runs nothing";
  EXPECT_EQ(breaker_->Metrics().successes, 0u) << "ready, but get() has not run";
  EXPECT_TRUE(result.get().ok());
  EXPECT_EQ(breaker_->Metrics().successes, 1u);
}

TEST_F(CallFutureTest, WaitRecordsTheOutcomeToo) {
  std::promise<absl::Status> promise;
  std::future<absl::Status> result = Start(promise);
  promise.set_value(absl::UnavailableError("down"));
  result.wait();
  EXPECT_EQ(breaker_->Metrics().failures, 1u);
  EXPECT_EQ(result.get().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(breaker_->Metrics().failures, 1u) << "recorded once";
}

TEST_F(CallFutureTest, GetWaitsForAnInnerFutureCompletedOnAnotherThread) {
  std::promise<int> promise;
  std::future<absl::StatusOr<int>> result = Start(promise);
  std::thread producer([&] { promise.set_value(5); });
  const absl::StatusOr<int> got = result.get();
  producer.join();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 5);
  EXPECT_EQ(breaker_->Metrics().successes, 1u);
}

TEST_F(CallFutureTest, ARejectedCallIsAReadyFutureHoldingTheRejection) {
  breaker_->ForceOpen();
  bool ran = false;
  std::future<absl::StatusOr<int>> result = CallFuture(*breaker_, [&] {
    ran = true;
    return std::future<int>();
  });
  EXPECT_FALSE(ran);
  ASSERT_EQ(result.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  const absl::StatusOr<int> got = result.get();
  EXPECT_TRUE(IsRejection(got.status())) << got.status();
  std::future<absl::Status> void_result =
      CallFuture(*breaker_, [] { return std::future<void>(); });
  EXPECT_TRUE(IsRejection(void_result.get()));
  const BreakerMetrics m = breaker_->Metrics();
  EXPECT_EQ(m.rejected, 2u);
  EXPECT_EQ(m.permitted, 0u);
}

TEST_F(CallFutureTest, AnExceptionInTheInnerFutureIsRecordedThenRethrownFromGet) {
  std::promise<int> promise;
  std::future<absl::StatusOr<int>> result = Start(promise);
  promise.set_exception(std::make_exception_ptr(Timeout()));
  EXPECT_THROW((void)result.get(), Timeout);
  const BreakerMetrics m = breaker_->Metrics();
  EXPECT_EQ(m.failures, 1u);
  EXPECT_EQ(m.released, 0u);
}

TEST(CallFutureClassifyTest, AnExceptionInTheInnerFutureIsClassifiedAsCallClassifiesIt) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.exception_is_ignored = ExceptionIsAnyOf<Cancelled>();
  config.exception_is_failure = ExceptionIsAnyOf<Timeout>();
  auto breaker = Make(config);

  std::promise<void> cancelled;
  std::promise<void> business;
  std::future<absl::Status> cancelled_result =
      CallFuture(*breaker, [&] { return cancelled.get_future(); });
  std::future<absl::Status> business_result =
      CallFuture(*breaker, [&] { return business.get_future(); });
  cancelled.set_exception(std::make_exception_ptr(Cancelled()));
  business.set_exception(std::make_exception_ptr(BusinessError()));
  EXPECT_THROW((void)cancelled_result.get(), Cancelled);
  EXPECT_THROW((void)business_result.get(), BusinessError);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.ignored, 1u);
  EXPECT_EQ(m.successes, 1u) << "an expected exception counts as a success, as in Call()";
  EXPECT_EQ(m.failures, 0u);
}

TEST_F(CallFutureTest, AnExceptionFromStartIsRecordedAndRethrown) {
  EXPECT_THROW((void)CallFuture(*breaker_, []() -> std::future<int> { throw Timeout(); }), Timeout);
  const BreakerMetrics m = breaker_->Metrics();
  EXPECT_EQ(m.failures, 1u);
  EXPECT_EQ(m.released, 0u);
}

TEST_F(CallFutureTest, AnInvalidInnerFutureIsReleasedAndReported) {
  std::future<absl::StatusOr<int>> result =
      CallFuture(*breaker_, [] { return std::future<int>(); });
  EXPECT_EQ(result.get().status().code(), absl::StatusCode::kFailedPrecondition);
  const BreakerMetrics m = breaker_->Metrics();
  EXPECT_EQ(m.released, 1u);
  EXPECT_EQ(m.failures + m.successes, 0u);
}

TEST(CallFutureTrialTest, AFutureDestroyedWithoutGetReleasesItsTrialSlot) {
  FakeClock clock;
  auto breaker = Make(OneTrialConfig(clock));
  TripAndWaitOut(*breaker, clock);

  std::promise<absl::Status> promise;
  std::optional<std::future<absl::Status>> trial =
      CallFuture(*breaker, [&] { return promise.get_future(); });
  EXPECT_EQ(breaker->Snapshot().trials_in_flight, 1u);
  std::future<absl::Status> refused = CallFuture(*breaker, [] { return std::future<void>(); });
  EXPECT_TRUE(IsRejection(refused.get())) << "the only trial slot is taken";

  promise.set_value(absl::OkStatus());  // ready, but nobody gets it
  trial.reset();
  EXPECT_EQ(breaker->Metrics().released, 1u);
  EXPECT_EQ(breaker->Metrics().successes, 0u);
  EXPECT_EQ(breaker->Snapshot().trials_in_flight, 0u);

  std::promise<void> next;
  std::future<absl::Status> admitted = CallFuture(*breaker, [&] { return next.get_future(); });
  EXPECT_EQ(breaker->Snapshot().trials_in_flight, 1u) << "admitted as the trial";
  next.set_value();
  EXPECT_TRUE(admitted.get().ok());
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(CallFutureDurationTest, TheDurationEndsAtGetNotWhenTheResultWasReady) {
  FakeClock clock;
  auto breaker = Make(SlowCallConfig(clock));

  std::promise<int> quick;
  std::future<absl::StatusOr<int>> quick_result =
      CallFuture(*breaker, [&] { return quick.get_future(); });
  quick.set_value(1);
  clock.Advance(absl::Milliseconds(999));
  EXPECT_TRUE(quick_result.get().ok());
  EXPECT_EQ(breaker->Metrics().slow, 0u);

  std::promise<int> waited;
  std::future<absl::StatusOr<int>> waited_result =
      CallFuture(*breaker, [&] { return waited.get_future(); });
  waited.set_value(2);               // the operation is done at once...
  clock.Advance(absl::Seconds(1));   // ...but get() comes a second later
  EXPECT_TRUE(waited_result.get().ok());
  EXPECT_EQ(breaker->Metrics().slow, 1u);
}

TEST(CallAsyncCallerMeasuredTest, ACompletionWithTheCallersDurationIsJudgedWithoutAClock) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.slow_call_rate_threshold = 100;
  config.minimum_calls = 1000;
  config.slow_call_duration = absl::Seconds(1);
  config.slow_call_clock = SlowCallClock::kCaller;
  std::unique_ptr<Breaker> breaker = Breaker::Create(config).value();
  std::vector<Completion> pending;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(CallAsync(*breaker, [&](Completion done) { pending.push_back(std::move(done)); })
                    .ok());
  }
  SharedCompletion shared = std::move(pending[2]).Share();
  EXPECT_TRUE(pending[0].Complete(absl::OkStatus(), absl::Seconds(2)));    // slow
  EXPECT_TRUE(pending[1].Complete(absl::OkStatus(), absl::Milliseconds(999)));
  EXPECT_FALSE(pending[1].Complete(absl::OkStatus(), absl::Seconds(5)));  // once only
  EXPECT_TRUE(shared.Complete(absl::UnavailableError("x"), absl::Seconds(1)));  // slow failure
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.slow, 2u);
  EXPECT_EQ(m.successes, 2u);
  EXPECT_EQ(m.failures, 1u);
}

}  // namespace
}  // namespace circuit
