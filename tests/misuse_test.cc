// Misuse of the API has a defined outcome: an error value, a no-op, or (for
// a permit outliving its breaker) a deliberate abort with a message, never
// memory corruption. Each case here pins one down.
#include <signal.h>

#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/fake_clock.h"
#include "circuit/permit.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

std::unique_ptr<Breaker> MakeBreaker(FakeClock* clock, BreakerConfig config = {}) {
  config.clock = clock;
  auto breaker = Breaker::Create(std::move(config));
  EXPECT_TRUE(breaker.ok()) << breaker.status();
  return std::move(breaker).value();
}

// Resolving a permit twice: PermitTest.ASecondResolutionReturnsFalseAndCountsNothing
// in breaker_test.cc.

TEST(MisuseTest, AMovedFromPermitIsEmptyAndInert) {
  FakeClock clock;
  auto breaker = MakeBreaker(&clock);
  Permit original = breaker->TryAcquire();
  Permit moved = std::move(original);
  // The moved-from permit: false, every resolution a no-op, no rejection.
  EXPECT_FALSE(original);  // NOLINT(bugprone-use-after-move): the point
  EXPECT_FALSE(original.Success());
  EXPECT_FALSE(original.Failure());
  EXPECT_FALSE(original.rejected());
  EXPECT_EQ(original.RejectionStatus().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(moved.Success());
  EXPECT_EQ(breaker->Metrics().successes, 1u);
  EXPECT_EQ(breaker->Metrics().permitted, 1u);
}

TEST(MisuseTest, MoveAssigningOverAnUnresolvedPermitReleasesIt) {
  FakeClock clock;
  auto breaker = MakeBreaker(&clock);
  Permit first = breaker->TryAcquire();
  Permit second = breaker->TryAcquire();
  first = std::move(second);  // the permit `first` held is released
  EXPECT_EQ(breaker->Metrics().released, 1u);
  Permit& alias = first;
  first = std::move(alias);  // self-move: nothing happens
  EXPECT_TRUE(first);
  EXPECT_TRUE(first.Success());
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, 2u);
  EXPECT_EQ(m.successes + m.released, 2u);
}

TEST(MisuseTest, ResolvingADefaultConstructedPermitDoesNothing) {
  Permit permit;
  EXPECT_FALSE(permit);
  EXPECT_FALSE(permit.Success());
  EXPECT_FALSE(permit.Failure());
  EXPECT_FALSE(permit.Ignore());
  EXPECT_FALSE(permit.Release());
  EXPECT_FALSE(permit.Record(absl::OkStatus()));
  EXPECT_FALSE(permit.is_trial());
  EXPECT_EQ(permit.retry_after(), absl::ZeroDuration());
}

TEST(MisuseTest, ResolvingARejectedPermitDoesNothing) {
  FakeClock clock;
  auto breaker = MakeBreaker(&clock);
  breaker->ForceOpen();
  Permit permit = breaker->TryAcquire();
  ASSERT_TRUE(permit.rejected());
  EXPECT_FALSE(permit.Failure());
  EXPECT_FALSE(permit.Success());
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.rejected, 1u);
  EXPECT_EQ(m.permitted, 0u);
  EXPECT_EQ(m.failures, 0u);
}

TEST(MisuseDeathTest, DestroyingABreakerWithAPermitOutstandingAbortsWithAMessage) {
  EXPECT_DEATH(
      {
        FakeClock clock;
        BreakerConfig config;
        config.name = "orders";
        auto breaker = MakeBreaker(&clock, config);
        Permit* leaked = new Permit(breaker->TryAcquire());
        (void)leaked;
        breaker.reset();
      },
      "Breaker 'orders' destroyed with 1 permits outstanding");
}

TEST(MisuseTest, DestroyingABreakerAfterEveryPermitEndedIsFine) {
  FakeClock clock;
  auto breaker = MakeBreaker(&clock);
  {
    Permit a = breaker->TryAcquire();
    Permit b = breaker->TryAcquire();
    a.Success();
  }  // b released by its destructor
  breaker.reset();
  SUCCEED();
}

TEST(MisuseTest, AnUntrackedPermitMayOutliveItsDisabledBreaker) {
  FakeClock clock;
  auto breaker = MakeBreaker(&clock);
  breaker->Disable();
  Permit permit = breaker->TryAcquire();
  ASSERT_TRUE(permit);
  breaker.reset();  // DISABLED permits are not tracked: no abort
  // Resolving it touches only the permit itself.
  EXPECT_TRUE(permit.Success());
}

// ---- Signal handlers ---------------------------------------------------------
// The call path takes no lock and allocates nothing, so once a thread has
// made one call (which registers it), TryAcquire() and resolving a permit
// are async-signal-safe.

Breaker* g_signal_breaker = nullptr;
volatile sig_atomic_t g_signal_admitted = 0;

void OnSignal(int) {
  Permit permit = g_signal_breaker->TryAcquire();
  if (permit) {
    permit.Success();
    g_signal_admitted = g_signal_admitted + 1;
  }
}

TEST(MisuseTest, TheCallPathWorksInsideASignalHandler) {
  FakeClock clock;
  auto breaker = MakeBreaker(&clock);
  g_signal_breaker = breaker.get();
  breaker->TryAcquire().Success();  // registers this thread
  struct sigaction action = {};
  struct sigaction previous = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  for (int i = 0; i < 100; ++i) raise(SIGUSR1);
  ASSERT_EQ(sigaction(SIGUSR1, &previous, nullptr), 0);
  EXPECT_EQ(g_signal_admitted, 100);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, 101u);
  EXPECT_EQ(m.successes, 101u);
  g_signal_breaker = nullptr;
}

// A permit resolved on a thread other than the one that acquired it, while
// the acquiring thread has already exited (its thread number reused).
TEST(MisuseTest, APermitOutlivingItsAcquiringThreadStillResolves) {
  FakeClock clock;
  auto breaker = MakeBreaker(&clock);
  std::vector<Permit> permits;
  for (int i = 0; i < 4; ++i) {
    std::thread([&] { permits.push_back(breaker->TryAcquire()); }).join();
  }
  std::thread([&] {
    for (Permit& p : permits) EXPECT_TRUE(p.Success());
  }).join();
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, 4u);
  EXPECT_EQ(m.successes, 4u);
}

}  // namespace
}  // namespace circuit
