// File: tests/signal_test.cc
// A signal handler may call the breaker on the thread it interrupts (design.md
// section 8). The handler can run between any two instructions of the
// interrupted call, so every update of the thread's own stripe must be one
// instruction, and registering the thread number must survive a handler that
// registers too. Each test here interrupts a calling thread as often as
// another thread can send it signals and then checks that no count was lost:
//
//   * through the breaker: permitted == successes + failures + ignored +
//     released, and destroying the breaker does not abort ("permits
//     outstanding");
//   * through circuit::internal::StripeSet directly: the time buckets count
//     every call, whether the bucket was incremented or reset to a new epoch;
//   * through the thread numbers: a handler that interrupts the first
//     registration leaks no number.
//
// Under ThreadSanitizer signals are delivered only at the runtime's safe
// points, so these tests cannot fail there; they still run, for the races
// ThreadSanitizer does see.
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/fake_clock.h"
#include "circuit/internal/stripes.h"
#include "circuit/permit.h"
#include "gtest/gtest.h"

#if defined(__SANITIZE_THREAD__)
#define CIRCUIT_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CIRCUIT_TEST_TSAN 1
#endif
#endif
#ifndef CIRCUIT_TEST_TSAN
#define CIRCUIT_TEST_TSAN 0
#endif

namespace circuit {
namespace {

// A storm lasts until the handler has run kTargetHandlerRuns times (well
// under a second on an idle 2-CPU machine, seconds on a loaded one) or for
// kMaxStormDuration, whichever comes first; before the fix, 8,000 handler
// runs lost hundreds of counts. kMinHandlerRuns handler runs prove that the
// calls really were interrupted. ThreadSanitizer defers signals to its safe
// points, so there a single run is enough.
constexpr uint64_t kTargetHandlerRuns = 20'000;
constexpr absl::Duration kMaxStormDuration = absl::Seconds(10);
constexpr uint64_t kMinHandlerRuns = CIRCUIT_TEST_TSAN ? 1 : 1000;

// ---- The storm ---------------------------------------------------------------

// What the handler calls; set before the storm, cleared after it.
std::atomic<void (*)()> g_handler_call{nullptr};
// Times the handler ran its call (lock-free: async-signal-safe).
std::atomic<uint64_t> g_handler_runs{0};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "used in a signal handler");

void OnSignal(int) {
  const int saved_errno = errno;
  // acquire: pairs with the release store that set the call up.
  if (void (*call)() = g_handler_call.load(std::memory_order_acquire)) {
    call();
    g_handler_runs.fetch_add(1, std::memory_order_relaxed);
  }
  errno = saved_errno;
}

// Installs OnSignal for SIGUSR1 for the lifetime of the object.
class ScopedHandler {
 public:
  ScopedHandler() {
    struct sigaction action = {};
    action.sa_handler = OnSignal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    installed_ = sigaction(SIGUSR1, &action, &previous_) == 0;
  }
  ~ScopedHandler() {
    if (installed_) sigaction(SIGUSR1, &previous_, nullptr);
  }
  bool installed() const { return installed_; }

 private:
  struct sigaction previous_ = {};
  bool installed_ = false;
};

struct StormResult {
  uint64_t worker_calls = 0;   // calls the worker made (the first included)
  uint64_t handler_runs = 0;   // calls the handler made
  uint64_t signals_sent = 0;
};

// Runs `call` on a worker thread in a loop while another thread sends the
// worker SIGUSR1 as fast as it can, until the handler has run `handler_call`
// kTargetHandlerRuns times or kMaxStormDuration has passed. The worker makes its first call before the storm starts:
// the call path is async-signal-safe once the thread has made one call.
// `call` receives the number of calls made so far.
template <typename Call>
StormResult RunUnderSignalStorm(Call call, void (*handler_call)()) {
  StormResult result;
  ScopedHandler handler;
  EXPECT_TRUE(handler.installed());
  if (!handler.installed()) return result;
  g_handler_runs.store(0, std::memory_order_relaxed);
  g_handler_call.store(handler_call, std::memory_order_release);

  std::atomic<bool> ready{false};
  std::atomic<bool> stop_worker{false};
  std::atomic<bool> stop_sending{false};
  uint64_t worker_calls = 0;
  std::thread worker([&] {
    call(worker_calls++);
    ready.store(true, std::memory_order_release);
    while (!stop_worker.load(std::memory_order_relaxed)) call(worker_calls++);
  });
  while (!ready.load(std::memory_order_acquire)) std::this_thread::yield();
  const pthread_t target = worker.native_handle();
  uint64_t sent = 0;
  std::thread sender([&] {
    // The worker is alive until stop_worker, which is set after this thread
    // is joined: every pthread_kill targets a live thread.
    while (!stop_sending.load(std::memory_order_relaxed)) {
      if (pthread_kill(target, SIGUSR1) == 0) ++sent;
      // On a shared CPU, lets the worker run (and take the signal) now.
      sched_yield();
    }
  });
  const absl::Time deadline = absl::Now() + kMaxStormDuration;
  while (g_handler_runs.load(std::memory_order_relaxed) < kTargetHandlerRuns &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  stop_sending.store(true, std::memory_order_relaxed);
  sender.join();
  stop_worker.store(true, std::memory_order_relaxed);
  worker.join();  // a signal still pending when the worker exits is dropped

  g_handler_call.store(nullptr, std::memory_order_release);
  result.worker_calls = worker_calls;
  result.handler_runs = g_handler_runs.load(std::memory_order_relaxed);
  result.signals_sent = sent;
  return result;
}

// ---- Through the breaker -------------------------------------------------------

FakeClock* g_clock = nullptr;
Breaker* g_breaker = nullptr;

void AcquireAndSucceed() {
  if (Permit permit = g_breaker->TryAcquire()) permit.Success();
}

// Checks the counters after a storm, then destroys the breaker: with a lost
// update the destructor would abort with "permits outstanding".
void ExpectNoCountLost(std::unique_ptr<Breaker> breaker, const StormResult& storm) {
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_GT(storm.handler_runs, kMinHandlerRuns) << "signals sent: " << storm.signals_sent;
  EXPECT_EQ(m.permitted, m.successes + m.failures + m.ignored + m.released)
      << "worker calls: " << storm.worker_calls << ", handler calls: " << storm.handler_runs;
  EXPECT_EQ(m.permitted + m.rejected, storm.worker_calls + storm.handler_runs);
  EXPECT_EQ(m.successes, m.permitted);
  breaker.reset();  // aborts if a count was lost
}

// `stripes`: unset, the worker owns a stripe; 0, it counts into its CPU's
// block, so the signals interrupt restartable sequences.
class SignalSafetyStripesTest : public testing::TestWithParam<int> {
 protected:
  void SetStripes(BreakerConfig& config) {
    if (GetParam() >= 0) config.stripes = GetParam();
  }
};

INSTANTIATE_TEST_SUITE_P(OwnOrPerCpu, SignalSafetyStripesTest, testing::Values(-1, 0),
                         [](const testing::TestParamInfo<int>& info) {
                           return std::string(info.param < 0 ? "OwnStripe" : "PerCpu");
                         });

TEST_P(SignalSafetyStripesTest, HandlerCallsInterruptingCallsLoseNoCount) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  SetStripes(config);
  auto created = Breaker::Create(config);
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<Breaker> breaker = std::move(created).value();
  g_breaker = breaker.get();

  const StormResult storm = RunUnderSignalStorm([](uint64_t) { AcquireAndSucceed(); },
                                                AcquireAndSucceed);
  ExpectNoCountLost(std::move(breaker), storm);
  g_breaker = nullptr;
}

TEST_P(SignalSafetyStripesTest, HandlerCallsInterruptingTimeWindowCallsLoseNoCount) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  SetStripes(config);
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.window_type = WindowType::kTimeBased;
  config.window_duration = absl::Milliseconds(100);
  config.window_buckets = 10;  // 10 ms buckets
  auto created = Breaker::Create(config);
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<Breaker> breaker = std::move(created).value();
  g_clock = &clock;
  g_breaker = breaker.get();

  // Every 1000 calls the worker moves the clock by a bucket, so calls also
  // reset buckets to new epochs while being interrupted.
  const StormResult storm = RunUnderSignalStorm(
      [](uint64_t n) {
        if (n % 1000 == 999) g_clock->Advance(absl::Milliseconds(10));
        AcquireAndSucceed();
      },
      AcquireAndSucceed);
  ExpectNoCountLost(std::move(breaker), storm);
  g_breaker = nullptr;
  g_clock = nullptr;
}

// ---- Through the stripes' time buckets -------------------------------------------

// 1000 buckets of 1 ms, and the clock moved at most 990 times: no bucket is
// reused, so the sum over every epoch the storm touched is every call.
constexpr int kBuckets = 1000;
constexpr int64_t kBucketNanos = 1'000'000;
constexpr uint64_t kMaxAdvances = 990;

internal::StripeSet* g_stripes = nullptr;

void AddOneToBucket() {
  g_stripes->AddToBucket(g_stripes->ForThisThread(), g_clock->CoarseNowNanos(),
                         [] { return g_clock->CoarseNowNanos(); });
}

void ExpectBucketsCountEveryCall(int exclusive) {
  FakeClock clock;
  internal::StripeSet stripes(exclusive, kBuckets, kBucketNanos);
  g_clock = &clock;
  g_stripes = &stripes;
  const uint64_t first_epoch = stripes.EpochOf(clock.CoarseNowNanos());

  std::atomic<bool> worker_stripe_exclusive{false};
  const StormResult storm = RunUnderSignalStorm(
      [&](uint64_t n) {
        if (n == 0) {
          worker_stripe_exclusive.store(stripes.ForThisThread().kind == internal::StripeKind::kOwn,
                                        std::memory_order_relaxed);
        }
        if (n % 2000 == 1999 && n / 2000 < kMaxAdvances) {
          g_clock->Advance(absl::Nanoseconds(kBucketNanos));
        }
        AddOneToBucket();
      },
      AddOneToBucket);
  const uint64_t last_epoch = stripes.EpochOf(clock.CoarseNowNanos());

  EXPECT_EQ(worker_stripe_exclusive.load(), exclusive > 0);
  EXPECT_GT(storm.handler_runs, kMinHandlerRuns) << "signals sent: " << storm.signals_sent;
  ASSERT_LT(last_epoch - first_epoch, static_cast<uint64_t>(kBuckets));
  EXPECT_GT(last_epoch, first_epoch);
  EXPECT_EQ(stripes.SumBuckets(first_epoch, last_epoch), storm.worker_calls + storm.handler_runs)
      << "worker calls: " << storm.worker_calls << ", handler calls: " << storm.handler_runs;
  g_stripes = nullptr;
  g_clock = nullptr;
}

TEST(SignalSafetyTest, HandlerCallsInterruptingOwnStripeBucketCallsLoseNoCount) {
  // 64 exclusive stripes: the worker (one of a handful of live threads) owns one.
  ExpectBucketsCountEveryCall(/*exclusive=*/64);
}

TEST(SignalSafetyTest, HandlerCallsInterruptingSharedStripeBucketCallsLoseNoCount) {
  ExpectBucketsCountEveryCall(/*exclusive=*/0);
}

// ---- Through the thread numbers ----------------------------------------------------
// A thread's first call registers its number and, with it, the destructor of
// a thread_local that gives the number back (__cxa_thread_atexit_impl). The
// test interposes that glibc function and raises the signal from inside it,
// so the handler runs exactly in the middle of the registration.

using ThreadAtexitFn = int (*)(void (*)(void*), void*, void*);

// The thread whose registration is interrupted; null for every other one.
std::atomic<bool> g_raise_in_thread_atexit{false};
thread_local bool t_interrupt_registration = false;

}  // namespace
}  // namespace circuit

// Interposes glibc's: libstdc++'s __cxa_thread_atexit calls it through the
// PLT, so this definition in the executable wins. It forwards to glibc's.
extern "C" int __cxa_thread_atexit_impl(void (*dtor)(void*), void* obj, void* dso_symbol) {
  static const auto real = reinterpret_cast<circuit::ThreadAtexitFn>(
      dlsym(RTLD_NEXT, "__cxa_thread_atexit_impl"));
  if (circuit::t_interrupt_registration &&
      circuit::g_raise_in_thread_atexit.load(std::memory_order_relaxed)) {
    circuit::t_interrupt_registration = false;
    raise(SIGUSR1);  // the handler runs before raise() returns
  }
  return real(dtor, obj, dso_symbol);
}

namespace circuit {
namespace {

// The number the handler got.
std::atomic<int> g_handler_slot{-1};

void RecordThreadNumber() {
  g_handler_slot.store(internal::ThisThreadSlot(), std::memory_order_relaxed);
}

// The two lowest free numbers: those of two new threads alive together.
std::pair<int, int> TwoLowestFreeNumbers() {
  std::atomic<int> first{-1};
  std::atomic<bool> may_exit{false};
  std::thread holder([&] {
    first.store(internal::ThisThreadSlot());
    while (!may_exit.load()) std::this_thread::yield();
  });
  while (first.load() < 0) std::this_thread::yield();
  int second = -1;
  std::thread([&] { second = internal::ThisThreadSlot(); }).join();
  may_exit.store(true);
  holder.join();
  return {first.load(), second};
}

TEST(SignalSafetyTest, HandlerInterruptingFirstRegistrationLeaksNoThreadNumber) {
  const std::pair<int, int> free_before = TwoLowestFreeNumbers();
  ASSERT_LT(free_before.second, internal::kMaxThreadSlots);

  ScopedHandler handler;
  ASSERT_TRUE(handler.installed());
  g_handler_runs.store(0, std::memory_order_relaxed);
  g_handler_slot.store(-1, std::memory_order_relaxed);
  g_handler_call.store(RecordThreadNumber, std::memory_order_release);
  g_raise_in_thread_atexit.store(true, std::memory_order_relaxed);
  int slot = -1;
  std::thread([&] {
    t_interrupt_registration = true;
    slot = internal::ThisThreadSlot();
  }).join();
  g_raise_in_thread_atexit.store(false, std::memory_order_relaxed);
  g_handler_call.store(nullptr, std::memory_order_release);

  ASSERT_EQ(g_handler_runs.load(), 1u) << "the registration was not interrupted";
  EXPECT_EQ(slot, free_before.first);
  // The handler ran inside the registration: it used the shared stripes
  // instead of claiming a second number.
  EXPECT_EQ(g_handler_slot.load(), internal::kOverflowSlot);
  // A leaked number stays taken: the free numbers would have moved up.
  EXPECT_EQ(TwoLowestFreeNumbers(), free_before);
}

}  // namespace
}  // namespace circuit
