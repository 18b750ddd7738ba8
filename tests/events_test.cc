// Events (circuit/events.h): every transition delivered once with its
// cause, outside any lock (a listener may call back into the breaker, even
// force it); call events on request; throwing listeners counted and
// contained; Cancel() waits for a delivery in progress unless it is its
// own; concurrent trips delivered exactly once.
#include "circuit/events.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"
#include "tests/test_breakers.h"

namespace circuit {
namespace {

using testing_breakers::Fail;
using testing_breakers::Make;
using testing_breakers::Succeed;

// Records what it receives.
class Recorder : public BreakerListener {
 public:
  void OnTransition(const TransitionEvent& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    transitions_.push_back(e);
    names_.emplace_back(e.breaker);
  }
  void OnCall(const CallEvent& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(e);
  }
  std::vector<TransitionEvent> transitions() {
    std::lock_guard<std::mutex> lock(mu_);
    return transitions_;
  }
  std::vector<CallEvent> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<std::string> names() {
    std::lock_guard<std::mutex> lock(mu_);
    return names_;
  }

 private:
  std::mutex mu_;
  std::vector<TransitionEvent> transitions_;
  std::vector<CallEvent> calls_;
  std::vector<std::string> names_;  // copies: the view is valid only in the call
};

BreakerConfig Config(FakeClock* clock) {
  BreakerConfig config;
  config.name = "payments";
  config.clock = clock;
  config.consecutive_failures_to_open = 3;
  config.open_duration = absl::Seconds(10);
  config.max_open_duration = absl::Seconds(10);
  config.half_open_trial_calls = 2;
  config.half_open_max_concurrent = 2;
  return config;
}

TEST(EventsTest, EveryTransitionIsDeliveredOnceWithItsCause) {
  FakeClock clock;
  auto breaker = Make(Config(&clock));
  auto recorder = std::make_shared<Recorder>();
  Subscription subscription = breaker->Subscribe(recorder);

  Fail(*breaker, 3);                        // CLOSED -> OPEN
  clock.Advance(absl::Seconds(10));
  Permit trial = breaker->TryAcquire();     // OPEN -> HALF_OPEN
  ASSERT_TRUE(trial.is_trial());
  trial.Failure();                          // HALF_OPEN -> OPEN
  clock.Advance(absl::Seconds(10));
  Succeed(*breaker, 2);                     // OPEN -> HALF_OPEN -> CLOSED
  breaker->ForceOpen();                     // CLOSED -> FORCED_OPEN
  breaker->Reset();                         // FORCED_OPEN -> CLOSED

  const std::vector<TransitionEvent> t = recorder->transitions();
  ASSERT_EQ(t.size(), 7u);
  const struct {
    State from, to;
    TransitionCause cause;
  } want[] = {
      {State::kClosed, State::kOpen, TransitionCause::kConsecutiveFailures},
      {State::kOpen, State::kHalfOpen, TransitionCause::kOpenPeriodOver},
      {State::kHalfOpen, State::kOpen, TransitionCause::kTrialFailures},
      {State::kOpen, State::kHalfOpen, TransitionCause::kOpenPeriodOver},
      {State::kHalfOpen, State::kClosed, TransitionCause::kTrialsSucceeded},
      {State::kClosed, State::kForcedOpen, TransitionCause::kOperator},
      {State::kForcedOpen, State::kClosed, TransitionCause::kOperator},
  };
  for (size_t i = 0; i < t.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "transition " << i);
    EXPECT_EQ(t[i].from, want[i].from);
    EXPECT_EQ(t[i].to, want[i].to);
    EXPECT_EQ(t[i].cause, want[i].cause) << TransitionCauseName(t[i].cause);
    EXPECT_EQ(t[i].generation, i + 1);  // one generation a transition
  }
  EXPECT_EQ(t[0].value, 3);      // the run of failures
  EXPECT_EQ(t[0].threshold, 3);  // consecutive_failures_to_open
  EXPECT_EQ(t[1].value, 10);     // the open period, seconds
  EXPECT_EQ(t[4].value, 2);      // successful trials
  EXPECT_EQ(t[4].threshold, 2);
  for (const std::string& name : recorder->names()) EXPECT_EQ(name, "payments");
  EXPECT_TRUE(recorder->calls().empty()) << "call events were not asked for";
}

TEST(EventsTest, RateTripsCarryTheRateAndTheThreshold) {
  FakeClock clock;
  BreakerConfig config = Config(&clock);
  config.consecutive_failures_to_open.reset();
  config.failure_rate_threshold = 50;
  config.window_size = 4;
  config.minimum_calls = 4;
  auto breaker = Make(config);
  auto recorder = std::make_shared<Recorder>();
  Subscription subscription = breaker->Subscribe(recorder);
  Succeed(*breaker, 1);
  Fail(*breaker, 1);
  Succeed(*breaker, 1);
  Fail(*breaker, 1);  // 2 of 4: 50 %
  const std::vector<TransitionEvent> t = recorder->transitions();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].cause, TransitionCause::kFailureRate);
  EXPECT_EQ(t[0].value, 50);
  EXPECT_EQ(t[0].threshold, 50);
  // The snapshot a listener would read agrees.
  EXPECT_EQ(breaker->Snapshot().last_trip.cause, TripCause::kFailureRate);
}

TEST(EventsTest, AHalfOpenTimeoutIsDeliveredByWhoeverNoticesIt) {
  FakeClock clock;
  BreakerConfig config = Config(&clock);
  config.half_open_max_duration = absl::Seconds(1);
  auto breaker = Make(config);
  auto recorder = std::make_shared<Recorder>();
  Subscription subscription = breaker->Subscribe(recorder);
  Fail(*breaker, 3);
  clock.Advance(absl::Seconds(10));
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial.is_trial());
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(breaker->state(), State::kOpen);  // state() makes it so, and tells
  const std::vector<TransitionEvent> t = recorder->transitions();
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[2].from, State::kHalfOpen);
  EXPECT_EQ(t[2].to, State::kOpen);
  EXPECT_EQ(t[2].cause, TransitionCause::kHalfOpenTimeout);
  trial.Success();  // stale now
}

// gobreaker deadlocks here: its listener runs under the breaker's lock.
class ReentrantListener : public BreakerListener {
 public:
  explicit ReentrantListener(Breaker* breaker) : breaker_(breaker) {}
  void OnTransition(const TransitionEvent& e) override {
    seen_.push_back(e.to);
    // Read the breaker, and force it open from inside the listener the
    // first time it closes.
    snapshot_states_.push_back(breaker_->Snapshot().state);
    metrics_opened_ = breaker_->Metrics().opened;
    if (e.to == State::kClosed && !forced_) {
      forced_ = true;
      breaker_->ForceOpen();
    }
  }
  std::vector<State> seen_;
  std::vector<State> snapshot_states_;
  uint64_t metrics_opened_ = 0;
  bool forced_ = false;

 private:
  Breaker* const breaker_;
};

TEST(EventsTest, AListenerMayCallBackIntoTheBreakerEvenForceIt) {
  FakeClock clock;
  auto breaker = Make(Config(&clock));
  auto listener = std::make_shared<ReentrantListener>(breaker.get());
  Subscription subscription = breaker->Subscribe(listener);
  Fail(*breaker, 3);
  clock.Advance(absl::Seconds(10));
  Succeed(*breaker, 2);  // ... -> CLOSED, and the listener forces it open
  EXPECT_EQ(breaker->state(), State::kForcedOpen);
  const std::vector<State> want = {State::kOpen, State::kHalfOpen, State::kClosed,
                                   State::kForcedOpen};
  EXPECT_EQ(listener->seen_, want);
  // What the listener read matched the event it was given.
  EXPECT_EQ(listener->snapshot_states_.front(), State::kOpen);
  EXPECT_EQ(listener->metrics_opened_, 1u);
}

class ThrowingListener : public BreakerListener {
 public:
  void OnTransition(const TransitionEvent&) override { throw std::runtime_error("listener bug"); }
  void OnCall(const CallEvent&) override { throw 42; }
};

TEST(EventsTest, AThrowingListenerIsCountedAndHarmsNoOne) {
  FakeClock clock;
  auto breaker = Make(Config(&clock));
  auto recorder = std::make_shared<Recorder>();
  Subscription bad = breaker->Subscribe(std::make_shared<ThrowingListener>(), kAllEvents);
  Subscription good = breaker->Subscribe(recorder, kAllEvents);
  Fail(*breaker, 3);
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(recorder->transitions().size(), 1u);
  EXPECT_EQ(recorder->calls().size(), 3u);
  EXPECT_EQ(breaker->Metrics().listener_errors, 4u);  // 3 calls and a transition
  // The breaker goes on as ever.
  clock.Advance(absl::Seconds(10));
  Succeed(*breaker, 2);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(EventsTest, CallEventsReportEveryOutcomeOnlyToThoseWhoAsked) {
  FakeClock clock;
  BreakerConfig config = Config(&clock);
  config.slow_call_duration = absl::Seconds(1);
  config.slow_call_rate_threshold = 100;
  config.slow_call_clock = SlowCallClock::kCaller;
  auto breaker = Make(config);
  auto calls = std::make_shared<Recorder>();
  auto transitions_only = std::make_shared<Recorder>();
  Subscription a = breaker->Subscribe(calls, kCallEvents);
  Subscription b = breaker->Subscribe(transitions_only);

  breaker->TryAcquire().Success();
  breaker->TryAcquire().Success(absl::Seconds(2));  // slow
  breaker->TryAcquire().Record(absl::UnavailableError("down"));
  breaker->TryAcquire().Ignore();
  // A failure from an exception (Call() counts it, then rethrows it).
  EXPECT_THROW((void)breaker->Call([]() -> absl::Status { throw std::out_of_range("bad index"); }),
               std::out_of_range);
  breaker->ForceOpen();
  EXPECT_FALSE(breaker->TryAcquire());  // rejected

  const std::vector<CallEvent> c = calls->calls();
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[0].outcome, CallOutcome::kSuccess);
  EXPECT_FALSE(c[0].slow);
  EXPECT_EQ(c[1].outcome, CallOutcome::kSuccess);
  EXPECT_TRUE(c[1].slow);
  EXPECT_EQ(c[2].outcome, CallOutcome::kFailure);
  EXPECT_EQ(c[2].status, absl::UnavailableError("down"));
  EXPECT_EQ(c[3].outcome, CallOutcome::kIgnored);
  EXPECT_EQ(c[4].outcome, CallOutcome::kFailure);
  ASSERT_NE(c[4].exception_type, nullptr);
  EXPECT_NE(std::string(c[4].exception_type).find("out_of_range"), std::string::npos)
      << c[4].exception_type;
  EXPECT_EQ(c[5].outcome, CallOutcome::kRejected);
  EXPECT_EQ(c[5].state, State::kForcedOpen);
  EXPECT_TRUE(transitions_only->calls().empty());
  EXPECT_EQ(transitions_only->transitions().size(), 1u);  // FORCED_OPEN
  EXPECT_EQ(calls->transitions().size(), 0u);
}

// With the system clock, most rejections while OPEN take the path that
// reads no clock, but call listeners have every one judged: each is
// reported all the same.
TEST(EventsTest, EveryRejectionWhileOpenIsACallEventWhateverItsPath) {
  BreakerConfig config;
  config.name = "system-clock";
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Hours(1);
  config.max_open_duration = absl::Hours(1);
  auto breaker = Make(config);
  auto calls = std::make_shared<Recorder>();
  Subscription subscription = breaker->Subscribe(calls, kCallEvents);
  Fail(*breaker, 1);
  constexpr int kRejections = 50;  // several clock-reuse rounds
  for (int i = 0; i < kRejections; ++i) EXPECT_FALSE(breaker->TryAcquire());
  const std::vector<CallEvent> c = calls->calls();
  ASSERT_EQ(c.size(), 1u + kRejections);
  for (int i = 1; i <= kRejections; ++i) {
    EXPECT_EQ(c[i].outcome, CallOutcome::kRejected) << i;
    EXPECT_EQ(c[i].state, State::kOpen) << i;
  }
  EXPECT_EQ(breaker->Metrics().rejected, uint64_t{kRejections});
}

TEST(EventsTest, CancelStopsDeliveryAndEmptySubscriptionsDoNothing) {
  FakeClock clock;
  auto breaker = Make(Config(&clock));
  auto recorder = std::make_shared<Recorder>();
  Subscription subscription = breaker->Subscribe(recorder);
  EXPECT_TRUE(subscription.active());
  breaker->ForceOpen();
  subscription.Cancel();
  EXPECT_FALSE(subscription.active());
  subscription.Cancel();  // idempotent
  breaker->Reset();
  EXPECT_EQ(recorder->transitions().size(), 1u);

  Subscription none = breaker->Subscribe(nullptr);
  EXPECT_FALSE(none.active());
  Subscription no_mask = breaker->Subscribe(recorder, 0);
  EXPECT_FALSE(no_mask.active());

  // Moving keeps the one subscription; destroying it cancels.
  {
    Subscription moved = breaker->Subscribe(recorder);
    Subscription target = std::move(moved);
    EXPECT_FALSE(moved.active());  // NOLINT: checking the moved-from state
    EXPECT_TRUE(target.active());
    breaker->ForceOpen();
  }
  breaker->Reset();
  EXPECT_EQ(recorder->transitions().size(), 2u);
}

// Cancels its own subscription from inside its call: must not wait for itself.
class SelfCancelling : public BreakerListener {
 public:
  void OnTransition(const TransitionEvent&) override {
    ++calls;
    subscription.Cancel();
  }
  Subscription subscription;
  int calls = 0;
};

TEST(EventsTest, AListenerMayCancelItselfFromInsideItsCall) {
  FakeClock clock;
  auto breaker = Make(Config(&clock));
  auto listener = std::make_shared<SelfCancelling>();
  listener->subscription = breaker->Subscribe(listener);
  breaker->ForceOpen();
  breaker->Reset();
  EXPECT_EQ(listener->calls, 1);
}

// Cancel() from another thread waits for a delivery in progress.
class SlowListener : public BreakerListener {
 public:
  void OnTransition(const TransitionEvent&) override {
    entered.store(true);
    while (!release.load()) std::this_thread::yield();
    finished.store(true);
  }
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
};

TEST(EventsTest, CancelWaitsForADeliveryInProgress) {
  FakeClock clock;
  auto breaker = Make(Config(&clock));
  auto listener = std::make_shared<SlowListener>();
  Subscription subscription = breaker->Subscribe(listener);
  std::thread transition([&] { breaker->ForceOpen(); });
  while (!listener->entered.load()) std::this_thread::yield();
  std::atomic<bool> cancelled{false};
  std::thread canceller([&] {
    subscription.Cancel();
    cancelled.store(true);
    // Once Cancel() returns, the listener is done.
    EXPECT_TRUE(listener->finished.load());
  });
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_FALSE(cancelled.load()) << "Cancel() returned while the listener ran";
  listener->release.store(true);
  canceller.join();
  transition.join();
  EXPECT_TRUE(cancelled.load());
}

TEST(EventsTest, ConcurrentTripsAreDeliveredExactlyOnceEach) {
  FakeClock clock;
  BreakerConfig config = Config(&clock);
  config.consecutive_failures_to_open = 1;
  auto breaker = Make(config);
  auto recorder = std::make_shared<Recorder>();
  Subscription subscription = breaker->Subscribe(recorder);
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        if (Permit permit = breaker->TryAcquire()) permit.Failure();
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(breaker->state(), State::kOpen);
    breaker->Reset();
  }
  const std::vector<TransitionEvent> t = recorder->transitions();
  ASSERT_EQ(t.size(), 2u * kRounds);  // one trip and one reset a round
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t[i].generation, i + 1) << "each generation once, in order on one thread's rounds";
  }
  EXPECT_EQ(breaker->Metrics().opened, uint64_t{kRounds});
}

TEST(EventsTest, ASubscriptionThatOutlivesItsBreakerDoesNothing) {
  FakeClock clock;
  auto breaker = Make(Config(&clock));
  Subscription subscription = breaker->Subscribe(std::make_shared<Recorder>());
  breaker.reset();
  EXPECT_TRUE(subscription.active());
  subscription.Cancel();  // no breaker: nothing to do, nothing touched
  EXPECT_FALSE(subscription.active());
}

TEST(EventsTest, NamesOfCausesAndOutcomes) {
  EXPECT_EQ(TransitionCauseName(TransitionCause::kOpenPeriodOver), "OPEN_PERIOD_OVER");
  EXPECT_EQ(TransitionCauseName(TransitionCause::kTrialsSucceeded), "TRIALS_SUCCEEDED");
  EXPECT_EQ(TransitionCauseName(static_cast<TransitionCause>(99)), "UNKNOWN");
  EXPECT_EQ(CallOutcomeName(CallOutcome::kRejected), "REJECTED");
  EXPECT_EQ(CallOutcomeName(static_cast<CallOutcome>(99)), "UNKNOWN");
}

}  // namespace
}  // namespace circuit
