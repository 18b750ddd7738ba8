// A folder of the rate window serves at most RateWindow::kMaxFoldRounds
// rounds for other threads (src/internal/rate_window.h). When it stops with
// requests still unserved, the events they published must not wait for the
// next failure: the next call of any kind serves them (the state word's
// window bit), and a window over its threshold opens the breaker before
// that call is admitted.
//
// The interleaving is replayed exactly: StripeSet::Sum() (called by the
// folder in every round, through the PLT of the breaker's shared library) is
// interposed by this test, parks the folding thread, and while it is parked
// the main thread records one more failure, whose requester finds the
// folder busy and returns. So every round leaves a request for the next,
// and the folder stops at the cap with the last failure unfolded. Before
// the window bit, the breaker then stayed CLOSED at a 100 % failure rate
// until another failure came.
#include <dlfcn.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/status/statusor.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "circuit/internal/stripes.h"
#include "gtest/gtest.h"

namespace {

thread_local bool t_park_on_sum = false;
std::atomic<int> g_parks{0};        // parks so far
std::atomic<int> g_released{0};     // parks let go so far

void MaybePark(int counter) {
  if (!t_park_on_sum || counter != circuit::internal::kWindowCalls) return;
  const int park = g_parks.fetch_add(1) + 1;
  while (g_released.load() < park) std::this_thread::yield();
}

}  // namespace

// The interposer: parks if asked, then forwards to the library's Sum().
namespace circuit {
namespace internal {
uint64_t StripeSet::Sum(int c) const {
  using SumFn = uint64_t (*)(const StripeSet*, int);
  static const SumFn real =
      reinterpret_cast<SumFn>(dlsym(RTLD_NEXT, "_ZNK7circuit8internal9StripeSet3SumEi"));
  if (real == nullptr) abort();  // not interposable: the test cannot run
  MaybePark(c);
  return real(this, c);
}
}  // namespace internal
}  // namespace circuit

namespace circuit {
namespace {

// The storm, scripted: a thread records a failure and, folding, parks in
// each round's Sum(); while it is parked this thread records one more
// failure (whose requester finds the folder busy and returns), then lets it
// go. Returns the number of rounds the folder parked in.
int RunAFolderToItsRoundCap(Breaker& breaker) {
  g_parks.store(0);
  g_released.store(0);
  std::atomic<bool> folder_done{false};
  std::thread folder([&] {
    t_park_on_sum = true;
    EXPECT_TRUE(breaker.TryAcquire().Failure());
    t_park_on_sum = false;
    folder_done.store(true);
  });
  int served = 0;
  while (!folder_done.load()) {
    if (g_parks.load() > served) {
      // Past 1000 rounds (a folder with no cap) stop feeding it, so that it
      // ends and the test fails instead of hanging.
      if (served < 1000) {
        EXPECT_TRUE(breaker.TryAcquire().Failure()) << "failure during park " << served + 1;
      }
      g_released.store(++served);
    } else {
      std::this_thread::yield();
    }
  }
  folder.join();
  return served;
}

TEST(FoldCapTest, EventsLeftByAFolderAtItsRoundCapAreFoldedBeforeTheNextCallIsAdmitted) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 100;  // only a window of nothing but failures
  config.window_size = 100;
  config.minimum_calls = 2;
  auto breaker = Breaker::Create(config).value();

  const int served = RunAFolderToItsRoundCap(*breaker);
  ASSERT_GE(served, 16) << "the folder stopped before its round cap: the scenario did not happen";
  ASSERT_LT(served, 1000) << "the folder did not stop at its round cap";

  // Every call so far failed, and there are more than minimum_calls. The
  // next call must not be admitted.
  const BreakerMetrics before = breaker->Metrics();
  EXPECT_EQ(before.failures, before.permitted);
  Permit next = breaker->TryAcquire();
  EXPECT_FALSE(next) << "admitted by a CLOSED breaker whose window is 100% failures ("
                     << before.failures << " of " << before.permitted << " calls)";
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(FoldCapTest, EventsLeftByAFolderAtItsRoundCapAreFoldedByTheNextSuccess) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  // 17 failures (the folder's and one per round of its 16) and then the
  // success: the folded 16 of 17 calls (94.1 %) stay under the threshold,
  // all 17 of 18 (94.4 %) reach it.
  config.failure_rate_threshold = 94.3;
  config.window_size = 100;
  config.minimum_calls = 2;
  auto breaker = Breaker::Create(config).value();
  // A permit admitted before the storm, resolved after it: a success.
  Permit early = breaker->TryAcquire();
  ASSERT_TRUE(early);

  const int served = RunAFolderToItsRoundCap(*breaker);
  ASSERT_EQ(served, 16);
  EXPECT_EQ(breaker->state(), State::kClosed);
  // The success's own outcome path must serve the owed fold.
  EXPECT_TRUE(early.Success());
  EXPECT_EQ(breaker->state(), State::kOpen);
}

}  // namespace
}  // namespace circuit
