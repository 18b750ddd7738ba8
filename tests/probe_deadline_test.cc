// BreakerConfig::half_open_probe_timeout: a trial call that never comes
// back gives its slot back at its deadline and counts as a failure (or as
// released), so it cannot wedge the breaker in HALF_OPEN; its late outcome
// is stale. With the fake clock, at each boundary.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/events.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"
#include "tests/test_breakers.h"

namespace circuit {
namespace {

using testing_breakers::Fail;
using testing_breakers::Make;

struct ProbeDeadlineTest : ::testing::Test, testing_breakers::RecordsTransitions {
  // Opens after 1 failure, stays OPEN 1 s, one trial at a time.
  BreakerConfig Config() {
    BreakerConfig config;
    config.name = "probe";
    config.consecutive_failures_to_open = 1;
    config.open_duration = absl::Seconds(1);
    config.half_open_probe_timeout = absl::Milliseconds(100);
    config.clock = &clock;
    return config;
  }
  // Opens `breaker` and lets its open period pass: the next call is a trial.
  void OpenAndWait(Breaker& breaker) {
    Fail(breaker, 1);
    ASSERT_EQ(breaker.state(), State::kOpen);
    clock.Advance(absl::Seconds(1));
  }

  FakeClock clock;
};

TEST_F(ProbeDeadlineTest, WithoutATimeoutAHungProbeHoldsTheOnlySlotForever) {
  BreakerConfig config = Config();
  config.half_open_probe_timeout = absl::ZeroDuration();
  auto breaker = Build(config);
  OpenAndWait(*breaker);
  Permit hung = breaker->TryAcquire();
  ASSERT_TRUE(hung.is_trial());
  clock.Advance(absl::Hours(24));
  EXPECT_FALSE(breaker->TryAcquire());  // the case the deadline is for
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
}

TEST_F(ProbeDeadlineTest, AHungProbeFailsAtItsDeadlineAndReopensTheBreaker) {
  auto breaker = Build(Config());
  OpenAndWait(*breaker);
  Permit hung = breaker->TryAcquire();
  ASSERT_TRUE(hung.is_trial());

  clock.Advance(absl::Milliseconds(99));
  EXPECT_FALSE(breaker->TryAcquire());  // 1 ms before: the slot is still its
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 0u);

  clock.Advance(absl::Milliseconds(1));
  Permit after = breaker->TryAcquire();  // reaps it: a failed trial reopens
  EXPECT_FALSE(after);
  EXPECT_EQ(after.rejected_state(), State::kOpen);
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(after.retry_after(), absl::Seconds(1));  // a new open period from now
  ASSERT_EQ(transitions->events.size(), 3u);
  EXPECT_EQ(transitions->events[2].from, State::kHalfOpen);
  EXPECT_EQ(transitions->events[2].to, State::kOpen);
  EXPECT_EQ(transitions->events[2].cause, TransitionCause::kTrialFailures);
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 1u);

  // The probe answers at last: stale, it changes nothing.
  const uint32_t generation = breaker->generation();
  EXPECT_TRUE(hung.Success());
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->generation(), generation);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.stale, 1u);
  EXPECT_EQ(m.successes, 1u);  // its own outcome, counted once, as stale
  EXPECT_EQ(m.permitted, m.successes + m.failures + m.ignored + m.released);
}

TEST_F(ProbeDeadlineTest, StateAndSnapshotReapWithoutACall) {
  auto breaker = Build(Config());
  OpenAndWait(*breaker);
  Permit hung = breaker->TryAcquire();
  ASSERT_TRUE(hung.is_trial());
  clock.Advance(absl::Milliseconds(100));
  EXPECT_EQ(breaker->Snapshot().state, State::kOpen);
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 1u);
}

TEST_F(ProbeDeadlineTest, AReleasedTimeoutHandsTheSlotToTheNextCaller) {
  BreakerConfig config = Config();
  config.half_open_probe_timeout_outcome = ProbeTimeoutOutcome::kReleased;
  auto breaker = Build(config);
  OpenAndWait(*breaker);
  Permit first = breaker->TryAcquire();
  ASSERT_TRUE(first.is_trial());
  clock.Advance(absl::Milliseconds(100));
  Permit second = breaker->TryAcquire();  // reaps `first`, takes its slot
  ASSERT_TRUE(second.is_trial());
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_EQ(transitions->events.size(), 2u);  // no verdict from the timeout

  // The first probe fails late, in the same generation: stale. It must not
  // reopen the breaker, nor free the slot `second` now holds.
  EXPECT_TRUE(first.Failure());
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_FALSE(breaker->TryAcquire());  // `second` still holds the only slot
  EXPECT_EQ(breaker->Metrics().stale, 1u);

  EXPECT_TRUE(second.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 1u);
}

TEST_F(ProbeDeadlineTest, SuccessorsInOneGenerationAreToldApart) {
  // The same slot reaped three times in one generation: each late probe is
  // stale, and only the live one's outcome decides.
  BreakerConfig config = Config();
  config.half_open_probe_timeout_outcome = ProbeTimeoutOutcome::kReleased;
  auto breaker = Build(config);
  OpenAndWait(*breaker);
  std::vector<Permit> late;
  for (int i = 0; i < 3; ++i) {
    Permit trial = breaker->TryAcquire();
    ASSERT_TRUE(trial.is_trial()) << i;
    late.push_back(std::move(trial));
    clock.Advance(absl::Milliseconds(100));
  }
  Permit live = breaker->TryAcquire();
  ASSERT_TRUE(live.is_trial());
  for (Permit& p : late) EXPECT_TRUE(p.Failure());
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_FALSE(breaker->TryAcquire());
  EXPECT_TRUE(live.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.probe_timeouts, 3u);
  EXPECT_EQ(m.stale, 3u);
}

TEST_F(ProbeDeadlineTest, UnderSOfKATimedOutProbeIsOneFailedTrial) {
  // K = 2, S = 1: one failure may be absorbed. The hung probe's timeout is
  // that failure; the next trial's success closes the breaker.
  BreakerConfig config = Config();
  config.half_open_trial_calls = 2;
  config.half_open_successes_to_close = 1;
  auto breaker = Build(config);
  OpenAndWait(*breaker);
  Permit hung = breaker->TryAcquire();
  ASSERT_TRUE(hung.is_trial());
  clock.Advance(absl::Milliseconds(100));
  Permit next = breaker->TryAcquire();
  ASSERT_TRUE(next.is_trial());
  BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kHalfOpen);
  EXPECT_EQ(s.trial_failures, 1u);
  EXPECT_EQ(s.trials_in_flight, 1u);
  EXPECT_TRUE(next.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_TRUE(hung.Success());  // late: counted once, as stale
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().stale, 1u);
}

TEST_F(ProbeDeadlineTest, ConcurrentTrialsEachKeepTheirOwnDeadline) {
  BreakerConfig config = Config();
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 3;
  config.half_open_successes_to_close = 1;
  auto breaker = Build(config);
  OpenAndWait(*breaker);
  Permit a = breaker->TryAcquire();
  clock.Advance(absl::Milliseconds(50));
  Permit b = breaker->TryAcquire();
  Permit c = breaker->TryAcquire();
  ASSERT_TRUE(a.is_trial() && b.is_trial() && c.is_trial());
  clock.Advance(absl::Milliseconds(50));  // a's deadline, not b's nor c's
  EXPECT_FALSE(breaker->TryAcquire());    // reaps a: 1 failure of 3 allowed 2
  BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.trial_failures, 1u);
  EXPECT_EQ(s.trials_in_flight, 2u);
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 1u);
  EXPECT_TRUE(b.Success());  // S = 1: closes
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_TRUE(c.Success());  // stale now
  EXPECT_TRUE(a.Success());  // reaped, stale
  EXPECT_EQ(breaker->Metrics().stale, 2u);
}

TEST_F(ProbeDeadlineTest, AResolvedOrDroppedProbeIsNeverReaped) {
  auto breaker = Build(Config());
  OpenAndWait(*breaker);
  { Permit dropped = breaker->TryAcquire(); }  // released: its slot back
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial.is_trial());
  clock.Advance(absl::Milliseconds(99));
  EXPECT_TRUE(trial.Success());
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 0u);
}

TEST_F(ProbeDeadlineTest, AProbeLeftInAnOldGenerationDoesNotHoldItsSlot) {
  // A probe hangs, the breaker is reset and reopened: the new HALF_OPEN's
  // trial takes the slot the old probe never gave back.
  auto breaker = Build(Config());
  OpenAndWait(*breaker);
  Permit old = breaker->TryAcquire();
  ASSERT_TRUE(old.is_trial());
  breaker->Reset();
  OpenAndWait(*breaker);
  Permit fresh = breaker->TryAcquire();
  ASSERT_TRUE(fresh.is_trial());
  EXPECT_TRUE(old.Failure());  // stale: another generation
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  clock.Advance(absl::Milliseconds(100));
  EXPECT_EQ(breaker->state(), State::kOpen);  // `fresh` timed out, not `old`
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 1u);
  EXPECT_TRUE(fresh.Success());  // late
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST_F(ProbeDeadlineTest, OnceAReapEndsTheGenerationItsOtherTrialsAreNotReaped) {
  // Three hung trials, all due at once: the first reaped failure reopens
  // the breaker (S = K), and the other two are stale, not timed out.
  BreakerConfig config = Config();
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 3;
  auto breaker = Build(config);
  OpenAndWait(*breaker);
  Permit a = breaker->TryAcquire();
  Permit b = breaker->TryAcquire();
  Permit c = breaker->TryAcquire();
  ASSERT_TRUE(a.is_trial() && b.is_trial() && c.is_trial());
  clock.Advance(absl::Milliseconds(100));
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 1u);
}

TEST_F(ProbeDeadlineTest, AProbeLookedAtYearsLaterIsStillDue) {
  // Deadlines are kept in 37 bits of milliseconds (4.3 years): a look long
  // after one, past half that range, must still find it due.
  auto breaker = Build(Config());
  OpenAndWait(*breaker);
  Permit hung = breaker->TryAcquire();
  ASSERT_TRUE(hung.is_trial());
  for (int days : {800, 1600, 1592}) {
    clock.Advance(absl::Hours(24 * days));
    EXPECT_EQ(breaker->state(), State::kOpen) << days;
    breaker->Reset();
    OpenAndWait(*breaker);
    hung = breaker->TryAcquire();
    ASSERT_TRUE(hung.is_trial());
  }
}

// A clock that, once armed, runs a callback inside its next reading and
// returns what the clock read before the callback ran: as if the reader
// were preempted right after reading it while the callback's thread went
// on.
class PreemptingClock : public Clock {
 public:
  explicit PreemptingClock(FakeClock* clock) : clock_(clock) {}
  int64_t NowNanos() const override {
    const int64_t now = clock_->NowNanos();
    if (std::function<void()> preempt = std::exchange(preempt_, nullptr)) preempt();
    return now;
  }
  void PreemptNextReading(std::function<void()> preempt) { preempt_ = std::move(preempt); }

 private:
  FakeClock* clock_;
  mutable std::function<void()> preempt_;
};

TEST_F(ProbeDeadlineTest, AReaperPreemptedAfterReadingTheClockReapsNoNewerTrial) {
  // The reaper of state() reads the clock; before it looks at the slots,
  // trial `a` resolves, 50 ms pass and trial `c` takes a's slot, with a
  // deadline 150 ms after the reaper's reading. Not due: the reaper must
  // not take a deadline further ahead than any timeout for one long past
  // (it did: the history checker's probe-timeout configs, once in about
  // 1,000 histories, saw a third trial admitted beside two live ones).
  PreemptingClock preempting(&clock);
  BreakerConfig config = Config();
  config.clock = &preempting;
  config.half_open_probe_timeout_outcome = ProbeTimeoutOutcome::kReleased;
  config.half_open_max_concurrent = 2;
  config.half_open_trial_calls = 10;
  config.half_open_successes_to_close = 10;
  auto breaker = Build(config);
  OpenAndWait(*breaker);
  Permit a = breaker->TryAcquire();
  Permit b = breaker->TryAcquire();
  ASSERT_TRUE(a.is_trial() && b.is_trial());
  Permit c;
  preempting.PreemptNextReading([&] {
    ASSERT_TRUE(a.Success());
    clock.Advance(absl::Milliseconds(50));
    c = breaker->TryAcquire();
  });
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  ASSERT_TRUE(c.is_trial());
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 0u);
  EXPECT_FALSE(breaker->TryAcquire());  // b and c hold both slots
  // Each is reaped at its own deadline: b's 100 ms after the start, c's
  // 150 ms.
  clock.Advance(absl::Milliseconds(49));
  EXPECT_FALSE(breaker->TryAcquire());
  clock.Advance(absl::Milliseconds(1));
  Permit d = breaker->TryAcquire();
  EXPECT_TRUE(d.is_trial());
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 1u);
  EXPECT_FALSE(breaker->TryAcquire());  // c and d
  clock.Advance(absl::Milliseconds(50));
  EXPECT_TRUE(breaker->TryAcquire().is_trial());
  EXPECT_EQ(breaker->Metrics().probe_timeouts, 2u);
}

TEST(ProbeDeadlineConfigTest, TheTimeoutIsZeroOrAtLeastAMillisecond) {
  BreakerConfig config;
  config.half_open_probe_timeout = absl::Microseconds(999);
  absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("half_open_probe_timeout"), absl::string_view::npos)
      << status;
  config.half_open_probe_timeout = -absl::Seconds(1);
  EXPECT_FALSE(ValidateConfig(config).ok());
  config.half_open_probe_timeout = absl::Hours(24 * 366);
  EXPECT_FALSE(ValidateConfig(config).ok());
  config.half_open_probe_timeout = absl::Milliseconds(1);
  EXPECT_TRUE(ValidateConfig(config).ok());
  config.half_open_probe_timeout_outcome = static_cast<ProbeTimeoutOutcome>(7);
  status = ValidateConfig(config);
  EXPECT_NE(status.message().find("half_open_probe_timeout_outcome"), absl::string_view::npos)
      << status;
}

// Threads take trials, hold some past their deadline (on another thread,
// as an async call would), drop some, resolve the rest, while another
// moves the clock: whatever the interleaving, every slot comes back, the
// counters add up and the breaker still recovers.
TEST(ProbeDeadlineStressTest, EverySlotComesBackUnderConcurrency) {
  FakeClock clock;
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Milliseconds(10);
  config.half_open_trial_calls = 4;
  config.half_open_max_concurrent = 4;
  config.half_open_successes_to_close = 3;
  config.half_open_probe_timeout = absl::Milliseconds(5);
  config.clock = &clock;
  for (ProbeTimeoutOutcome outcome : {ProbeTimeoutOutcome::kFailure, ProbeTimeoutOutcome::kReleased}) {
    config.half_open_probe_timeout_outcome = outcome;
    auto breaker = Make(config);
    std::atomic<bool> stop{false};
    // 3 s of fake time, 1 ms a step: some 300 open periods and trials.
    std::thread ticker([&] {
      for (int ms = 0; ms < 3000; ++ms) {
        clock.Advance(absl::Milliseconds(1));
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
      stop = true;
    });
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&, t] {
        std::mt19937 random(static_cast<unsigned>(t));
        std::vector<Permit> held;
        while (!stop.load()) {
          Permit permit = breaker->TryAcquire();
          if (!permit) continue;
          switch (random() % 8) {
            case 0: held.push_back(std::move(permit)); break;  // hangs a while
            case 1: break;                                     // dropped
            case 2: case 3: permit.Failure(); break;
            default: permit.Success(); break;
          }
          if (held.size() > 3) {
            held.front().Success();  // late, maybe reaped
            held.erase(held.begin());
          }
        }
      });
    }
    ticker.join();
    for (std::thread& c : callers) c.join();
    const BreakerMetrics m = breaker->Metrics();
    EXPECT_EQ(m.permitted, m.successes + m.failures + m.ignored + m.released);
    EXPECT_GT(m.probe_timeouts, 0u);
    // Every permit is over: no trial may still hold a slot.
    const BreakerSnapshot s = breaker->Snapshot();
    EXPECT_EQ(s.trials_in_flight, 0u) << StateName(s.state);
    // And it recovers: past any open period, trials close it.
    clock.Advance(absl::Seconds(1));
    for (int i = 0; i < 10 && breaker->state() != State::kClosed; ++i) {
      Permit p = breaker->TryAcquire();
      if (p) p.Success();
      clock.Advance(absl::Milliseconds(20));
    }
    EXPECT_EQ(breaker->state(), State::kClosed);
  }
}

}  // namespace
}  // namespace circuit
