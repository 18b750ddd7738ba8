// File: bench/breaker_bench.cc
// The throughput and scaling benchmarks of circuit::Breaker, next to the
// references that bound what it can cost (an empty call, a load, an atomic
// add on a shared and on a private line, a CAS loop, a mutex, the clocks)
// and a mutex-based breaker of the usual kind (bench/mutex_breaker.h).
//
// Every case runs with 1, 2 and 4 threads sharing one object, measured in
// wall-clock time (UseRealTime); the default-config breaker and the padded
// counter also at 8, 32 and 128 threads (registered last), and
// BM_Circuit_Pinned with workers pinned to CPUs past the own stripes
// (manual time). Each reports:
//   items_per_second        aggregate calls per second over all threads;
//   allocs_per_call         global operator new calls per iteration (the
//                           breaker cases and the mutex breaker), counted
//                           per thread;
//   cas_retries_per_call    failed CASes inside circuit (//:circuit_cas_stats);
//   shared_writes_per_call  counter increments into a line shared without
//                           regard to the CPU (circuit/internal/cas_stats.h).
//
// Google Benchmark 1.7 reports, for a multi-threaded run, "real_time" as the
// mean per-thread wall time divided by the iterations of ALL threads, i.e.
// the inverse of the aggregate throughput. The wall time one thread spends
// per call is real_time * threads (bench/make_report.py shows both).
//
// Build and run:  ./bazelw build --config=bench //bench:breaker_bench
//                 bazel-bin/bench/breaker_bench --benchmark_min_time=0.05
// Report:         bench/report.sh   (writes docs/benchmarks.md and .png)
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <condition_variable>
#include <future>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define CIRCUIT_BENCH_HAVE_RDTSC 1
#endif

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "circuit/breaker.h"
#include "circuit/bulkhead.h"
#include "circuit/config.h"
#include "circuit/fake_clock.h"
#include "circuit/internal/cas_stats.h"
#include "circuit/internal/stripes.h"
#include "circuit/manual_control.h"
#include "circuit/permit.h"
#include "circuit/registry.h"
#include "circuit/state.h"
#include "bench/mutex_breaker.h"

// ---- Allocation counting ----------------------------------------------------
// Every form of the global operator new is replaced by one that bumps a
// thread-local counter (no shared line, so counting does not perturb the
// scaling it measures) and then allocates with malloc. Allocations made by
// malloc directly are not seen here; bench/callgrind.sh lists those.

namespace {

thread_local uint64_t tls_new_calls = 0;

void* CountedAlloc(std::size_t size) {
  ++tls_new_calls;
  return std::malloc(size == 0 ? 1 : size);
}

void* CountedAlignedAlloc(std::size_t size, std::align_val_t align) {
  ++tls_new_calls;
  std::size_t alignment = static_cast<std::size_t>(align);
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  void* p = nullptr;
  if (posix_memalign(&p, alignment, size == 0 ? 1 : size) != 0) return nullptr;
  return p;
}

}  // namespace

// Out of line, as the library's own are (and so that GCC does not inline
// them and then flag free() of operator new's memory as mismatched).
#define CIRCUIT_BENCH_ALLOC __attribute__((noinline))

CIRCUIT_BENCH_ALLOC void* operator new(std::size_t size) {
  void* p = CountedAlloc(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
CIRCUIT_BENCH_ALLOC void* operator new[](std::size_t size) {
  void* p = CountedAlloc(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
CIRCUIT_BENCH_ALLOC void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return CountedAlloc(size); }
CIRCUIT_BENCH_ALLOC void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return CountedAlloc(size);
}
CIRCUIT_BENCH_ALLOC void* operator new(std::size_t size, std::align_val_t align) {
  void* p = CountedAlignedAlloc(size, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
CIRCUIT_BENCH_ALLOC void* operator new[](std::size_t size, std::align_val_t align) {
  void* p = CountedAlignedAlloc(size, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
CIRCUIT_BENCH_ALLOC void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return CountedAlignedAlloc(size, align);
}
CIRCUIT_BENCH_ALLOC void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return CountedAlignedAlloc(size, align);
}
CIRCUIT_BENCH_ALLOC void operator delete(void* p) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete[](void* p) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete(void* p, std::size_t) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
CIRCUIT_BENCH_ALLOC void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

// Counts this thread's operator new calls and failed CASes (the library is
// //:circuit_cas_stats, whose only difference from //:circuit is a
// thread-local increment after a CAS that failed) from construction to
// Report().
class AllocCounter {
 public:
  AllocCounter()
      : start_(tls_new_calls),
        cas_start_(circuit::internal::CasFailuresOnThisThread()),
        shared_start_(circuit::internal::SharedStripeWritesOnThisThread()) {}
  void Report(benchmark::State& state) const {
    // Summed over threads, then divided by the iterations of all threads.
    state.counters["allocs_per_call"] = benchmark::Counter(
        static_cast<double>(tls_new_calls - start_), benchmark::Counter::kAvgIterations);
    state.counters["cas_retries_per_call"] = benchmark::Counter(
        static_cast<double>(circuit::internal::CasFailuresOnThisThread() - cas_start_),
        benchmark::Counter::kAvgIterations);
    // Counter increments into a line shared without regard to the CPU
    // (circuit/internal/cas_stats.h): 0 wherever every thread has its own
    // stripe or its CPU's block.
    state.counters["shared_writes_per_call"] = benchmark::Counter(
        static_cast<double>(circuit::internal::SharedStripeWritesOnThisThread() - shared_start_),
        benchmark::Counter::kAvgIterations);
  }

 private:
  uint64_t start_;
  uint64_t cas_start_;
  uint64_t shared_start_;
};

// Aggregate throughput: items are summed over threads and divided by the
// (mean per-thread) wall time.
void Finish(benchmark::State& state) { state.SetItemsProcessed(state.iterations()); }

#define CIRCUIT_BENCH(fn) BENCHMARK(fn)->Threads(1)->Threads(2)->Threads(4)->UseRealTime()

// Many threads on one object, oversubscribed on a small machine: only the
// cases the report compares at 8, 32 and 128 threads.
#define CIRCUIT_BENCH_MANY(fn) BENCHMARK(fn)->Threads(8)->Threads(32)->Threads(128)->UseRealTime()

// ---- References -------------------------------------------------------------

// The shape of a Permit as the CLOSED path fills it (24 of its 32 bytes),
// returned through memory.
struct SmallResult {
  void* owner;
  int64_t time;
  uint32_t generation;
  uint8_t kind;
  bool admitted;
};

#if defined(__clang__)
#define CIRCUIT_BENCH_NOINLINE __attribute__((noinline))
#else
#define CIRCUIT_BENCH_NOINLINE __attribute__((noinline, noipa))
#endif

CIRCUIT_BENCH_NOINLINE SmallResult EmptyCall(void* owner) {
  asm volatile("" : "+r"(owner));
  return SmallResult{owner, 0, 1, 1, true};
}

void BM_Ref_EmptyCall(benchmark::State& state) {
  void* owner = &state;
  for (auto _ : state) {
    SmallResult r = EmptyCall(owner);
    benchmark::DoNotOptimize(r);
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Ref_EmptyCall);

alignas(128) std::atomic<uint64_t> g_shared_word{0};

void BM_Ref_RelaxedLoadShared(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(g_shared_word.load(std::memory_order_relaxed));
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Ref_RelaxedLoadShared);

alignas(128) std::atomic<uint64_t> g_shared_counter{0};

void BM_Ref_FetchAddShared(benchmark::State& state) {
  for (auto _ : state) {
    g_shared_counter.fetch_add(1, std::memory_order_relaxed);
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Ref_FetchAddShared);

struct alignas(128) PaddedCounter {
  std::atomic<uint64_t> value{0};
};
PaddedCounter g_padded_counters[128];

void BM_Ref_FetchAddPadded(benchmark::State& state) {
  std::atomic<uint64_t>& counter = g_padded_counters[state.thread_index() % 128].value;
  for (auto _ : state) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Ref_FetchAddPadded);

alignas(128) std::atomic<uint64_t> g_cas_word{0};

void BM_Ref_CasLoopShared(benchmark::State& state) {
  for (auto _ : state) {
    uint64_t v = g_cas_word.load(std::memory_order_relaxed);
    while (!g_cas_word.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel,
                                             std::memory_order_relaxed)) {
    }
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Ref_CasLoopShared);

std::mutex g_mutex;

void BM_Ref_MutexLockUnlock(benchmark::State& state) {
  for (auto _ : state) {
    g_mutex.lock();
    benchmark::ClobberMemory();
    g_mutex.unlock();
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Ref_MutexLockUnlock);

void BM_Ref_SteadyClockNow(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(std::chrono::steady_clock::now());
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Ref_SteadyClockNow);

void BM_Ref_MonotonicCoarse(benchmark::State& state) {
  for (auto _ : state) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    benchmark::DoNotOptimize(ts);
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Ref_MonotonicCoarse);

// The same clock as the breaker reads it: the vDSO's entry, without the C
// library's wrapper (circuit/clock.h).
void BM_Ref_MonotonicCoarseDirect(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(circuit::internal::MonotonicCoarseNanos());
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Ref_MonotonicCoarseDirect);

#if defined(CIRCUIT_BENCH_HAVE_RDTSC)
void BM_Ref_Rdtsc(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(__rdtsc());
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Ref_Rdtsc);
#endif

// ---- The mutex breaker -------------------------------------------------------

void BM_MutexBreaker_Closed(benchmark::State& state) {
  static circuit_bench::MutexBreaker* const breaker = new circuit_bench::MutexBreaker();
  if (breaker->Allow()) breaker->OnSuccess();  // warm-up, outside the count
  AllocCounter allocs;
  for (auto _ : state) {
    if (ABSL_PREDICT_TRUE(breaker->Allow())) breaker->OnSuccess();
  }
  allocs.Report(state);
  if (breaker->state() != circuit_bench::MutexBreaker::State::kClosed) {
    state.SkipWithError("the mutex breaker left CLOSED");
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_MutexBreaker_Closed);

// ---- circuit::Breaker -----------------------------------------------------------
// One breaker per case, created on first use (a function-local static, so
// its creation is thread-safe) and shared by every thread and every run of
// the case. Breakers are never freed.

circuit::Breaker* MakeBreaker(circuit::BreakerConfig config) {
  absl::StatusOr<std::unique_ptr<circuit::Breaker>> breaker =
      circuit::Breaker::Create(std::move(config));
  if (!breaker.ok()) {
    std::fprintf(stderr, "Breaker::Create: %s\n", breaker.status().ToString().c_str());
    std::abort();
  }
  return std::move(breaker).value().release();
}

circuit::BreakerConfig CountWindowConfig() {
  circuit::BreakerConfig config;
  config.name = "bench_count_window";
  config.consecutive_failures_to_open = 5;  // as before the default followed the rates
  config.failure_rate_threshold = 50;
  config.window_type = circuit::WindowType::kCountBased;
  return config;
}

circuit::BreakerConfig TimeWindowConfig() {
  circuit::BreakerConfig config;
  config.name = "bench_time_window";
  config.consecutive_failures_to_open = 5;  // as before the default followed the rates
  config.failure_rate_threshold = 50;
  config.window_type = circuit::WindowType::kTimeBased;
  return config;
}

// Slow-call detection timed with the precise clock (CLOCK_MONOTONIC).
circuit::BreakerConfig SlowCallConfig() {
  circuit::BreakerConfig config;
  config.name = "bench_slow_call";
  config.slow_call_clock = circuit::SlowCallClock::kPrecise;
  config.consecutive_failures_to_open = 5;  // as before the default followed the rates
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Seconds(1);
  return config;
}

// Slow-call detection at 100 ms: kAuto picks the coarse clock.
circuit::BreakerConfig SlowCallCoarseConfig() {
  circuit::BreakerConfig config;
  config.name = "bench_slow_call_coarse";
  config.consecutive_failures_to_open = 5;
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Milliseconds(100);
  return config;
}

// Slow-call detection from durations the caller measured: no clock read.
circuit::BreakerConfig SlowCallCallerConfig() {
  circuit::BreakerConfig config;
  config.name = "bench_slow_call_caller";
  config.consecutive_failures_to_open = 5;
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Milliseconds(100);
  config.slow_call_clock = circuit::SlowCallClock::kCaller;
  return config;
}

// Every call fails, and nothing ever trips: the consecutive run is on (so
// each failure updates the shared run with a CAS) with a threshold no run
// reaches (each run starts from Reset()), and the rate trip is off.
circuit::BreakerConfig FailureConfig() {
  circuit::BreakerConfig config;
  config.name = "bench_failures";
  config.consecutive_failures_to_open = 1'000'000'000;
  config.failure_rate_threshold = 0;
  return config;
}

// Opens on the first failure and stays OPEN for a day.
circuit::BreakerConfig OpenConfig() {
  circuit::BreakerConfig config;
  config.name = "bench_open";
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Hours(24);
  config.max_open_duration = absl::Hours(24);
  return config;
}

// TryAcquire() + Success() on a CLOSED breaker.
void RunClosed(benchmark::State& state, circuit::Breaker* breaker) {
  {
    circuit::Permit warm_up = breaker->TryAcquire();  // registers the thread
    warm_up.Success();
  }
  AllocCounter allocs;
  for (auto _ : state) {
    circuit::Permit permit = breaker->TryAcquire();
    if (ABSL_PREDICT_TRUE(permit)) permit.Success();
  }
  allocs.Report(state);
  if (breaker->state() != circuit::State::kClosed) {
    state.SkipWithError("the breaker left CLOSED");
  }
  Finish(state);
}

void BM_Circuit_Closed_CountWindow(benchmark::State& state) {
  static circuit::Breaker* const breaker = MakeBreaker(CountWindowConfig());
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_CountWindow);

// The count-window case on a breaker attached to a ManualControl that
// forced it open and handed it back (circuit/manual_control.h): a control
// is a list of breakers and ordinary operator transitions, nothing on the
// call path, so it must cost what the plain case costs.
void BM_Circuit_Closed_UnderManualControl(benchmark::State& state) {
  static circuit::Breaker* const breaker = [] {
    static auto* const control = new circuit::ManualControl("bench");
    std::shared_ptr<circuit::Breaker> shared(MakeBreaker(CountWindowConfig()),
                                             [](circuit::Breaker*) {});  // never freed
    control->Add(shared);
    control->ForceOpen("bench");
    control->Release();
    return shared.get();
  }();
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_UnderManualControl);

// The count-window case with per-probe deadlines on
// (half_open_probe_timeout): they live in HALF_OPEN's slow path (a trial
// claims a slot, a rejected call may reap), so a CLOSED call must cost what
// the plain case costs.
void BM_Circuit_Closed_ProbeDeadlines(benchmark::State& state) {
  static circuit::Breaker* const breaker = [] {
    circuit::BreakerConfig config = CountWindowConfig();
    config.half_open_probe_timeout = absl::Seconds(1);
    return MakeBreaker(config);
  }();
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_ProbeDeadlines);

// Opens `breaker` for 1 ms (the dependency says so: whatever its trip
// conditions), waits it out and closes it with a successful trial: with
// slow_start_duration set, its ramp starts now.
void RecoverForBench(circuit::Breaker* breaker) {
  breaker->TryAcquire().FailureRetryAfter(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(10));
  // With the system clock up to kRejectionsPerClockRead - 1 calls after
  // the open period may still be rejected (circuit/clock.h).
  circuit::Permit trial;
  for (uint32_t i = 0; i < circuit::internal::kRejectionsPerClockRead && !trial; ++i) {
    trial = breaker->TryAcquire();
  }
  if (!trial.is_trial()) {
    std::fprintf(stderr, "RecoverForBench: no trial admitted\n");
    std::abort();
  }
  trial.Success();
}

// The count-window case with slow start on (slow_start_duration), after a
// recovery whose ramp is over: the gate bit is clear again, so a CLOSED
// call must cost what the plain case costs.
void BM_Circuit_Closed_SlowStart(benchmark::State& state) {
  static circuit::Breaker* const breaker = [] {
    circuit::BreakerConfig config = CountWindowConfig();
    config.slow_start_duration = absl::Milliseconds(1);
    circuit::Breaker* b = MakeBreaker(config);
    RecoverForBench(b);
    absl::SleepFor(absl::Milliseconds(10));  // past the ramp: the next call opens the gate
    b->TryAcquire().Success();
    return b;
  }();
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_SlowStart);

// TryAcquire() on a CLOSED breaker whose gate is set (slow start's ramp,
// adaptive throttling): each admitted permit succeeds, or is released (no
// outcome, so no fold moves the throttle) unless `succeed`. Reports the
// share admitted.
void RunGated(benchmark::State& state, circuit::Breaker* breaker, bool succeed) {
  AllocCounter allocs;
  uint64_t admitted = 0;
  for (auto _ : state) {
    circuit::Permit permit = breaker->TryAcquire();
    if (permit) {
      ++admitted;
      if (succeed) {
        permit.Success();
      } else {
        permit.Release();
      }
    }
  }
  allocs.Report(state);
  state.counters["admitted_share"] = benchmark::Counter(
      static_cast<double>(admitted) / static_cast<double>(std::max<int64_t>(1, state.iterations())),
      benchmark::Counter::kAvgThreads);
  if (breaker->state() != circuit::State::kClosed) {
    state.SkipWithError("the breaker left CLOSED");
  }
  Finish(state);
}

// Admissions halfway through slow start's ramp (the fake clock holds the
// breaker at 50 % of a 10 s ramp): every call takes the gate's path (a
// clock reading, the ramp's end, a draw from the thread's generator), half
// are admitted and succeed, half are shed. What a ramp costs a call; it
// lasts slow_start_duration after each recovery: the figure is reported,
// without a target.
void BM_Circuit_SlowStartRamp(benchmark::State& state) {
  static circuit::FakeClock* const clock = new circuit::FakeClock();
  static circuit::Breaker* const breaker = [] {
    circuit::BreakerConfig config = CountWindowConfig();
    config.name = "bench_slow_start_ramp";
    config.slow_start_duration = absl::Seconds(10);
    config.clock = clock;
    circuit::Breaker* b = MakeBreaker(config);
    b->TryAcquire().FailureRetryAfter(absl::Seconds(1));
    clock->Advance(absl::Seconds(1));
    b->TryAcquire().Success();  // the trial: CLOSED, ramping
    clock->Advance(absl::Seconds(5));
    return b;
  }();
  RunGated(state, breaker, /*succeed=*/true);
}
CIRCUIT_BENCH(BM_Circuit_SlowStartRamp);

// The count-window case with a transition listener subscribed: transitions
// are never on the CLOSED path, so it must cost what the plain case costs
// (circuit/events.h).
class CountingListener : public circuit::BreakerListener {
 public:
  void OnTransition(const circuit::TransitionEvent&) override { ++transitions_; }

 private:
  std::atomic<uint64_t> transitions_{0};
};

void BM_Circuit_Closed_TransitionListener(benchmark::State& state) {
  static circuit::Breaker* const breaker = MakeBreaker(CountWindowConfig());
  static circuit::Subscription* const subscription = new circuit::Subscription(
      breaker->Subscribe(std::make_shared<CountingListener>()));
  benchmark::DoNotOptimize(subscription);
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_TransitionListener);

void BM_Circuit_Closed_TimeWindow(benchmark::State& state) {
  static circuit::Breaker* const breaker = MakeBreaker(TimeWindowConfig());
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_TimeWindow);

// The time-window case with adaptive throttling on and a healthy
// dependency: nothing to throttle, the gate stays clear, so a CLOSED call
// must cost what the plain time-window case costs.
void BM_Circuit_Closed_Throttling(benchmark::State& state) {
  static circuit::Breaker* const breaker = [] {
    circuit::BreakerConfig config = TimeWindowConfig();
    config.name = "bench_throttling";
    config.adaptive_throttling = true;
    return MakeBreaker(config);
  }();
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_Throttling);

// Admissions while adaptive throttling rejects half the calls (the fake
// clock holds the breaker in one bucket after 2 successes and 7 failures:
// p = (9 - 2 x 2) / 10): every call takes the gate's path (a clock
// reading, the judged probability, a draw from the thread's generator);
// the admitted half is released (no outcome, no fold), the other half is
// counted in the caller's stripe as a throttled request. Reported, without
// a target.
void BM_Circuit_Throttled(benchmark::State& state) {
  static circuit::FakeClock* const clock = new circuit::FakeClock();
  static circuit::Breaker* const breaker = [] {
    circuit::BreakerConfig config = TimeWindowConfig();
    config.name = "bench_throttled";
    config.consecutive_failures_to_open = 1000;
    config.failure_rate_threshold = 0;
    config.minimum_calls = 1;
    config.adaptive_throttling = true;
    config.clock = clock;
    circuit::Breaker* b = MakeBreaker(config);
    std::vector<circuit::Permit> permits;
    for (int i = 0; i < 9; ++i) permits.push_back(b->TryAcquire());
    for (int i = 0; i < 9; ++i) {
      if (i < 2) {
        permits[static_cast<size_t>(i)].Success();
      } else {
        permits[static_cast<size_t>(i)].Failure();
      }
    }
    return b;
  }();
  RunGated(state, breaker, /*succeed=*/false);
}
CIRCUIT_BENCH(BM_Circuit_Throttled);

void BM_Circuit_Closed_SlowCallDetection(benchmark::State& state) {
  static circuit::Breaker* const breaker = MakeBreaker(SlowCallConfig());
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_SlowCallDetection);

void BM_Circuit_Closed_SlowCallCoarse(benchmark::State& state) {
  static circuit::Breaker* const breaker = MakeBreaker(SlowCallCoarseConfig());
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_SlowCallCoarse);

// TryAcquire() + Success(duration): the caller timed the call itself.
void BM_Circuit_Closed_SlowCallCallerMeasured(benchmark::State& state) {
  static circuit::Breaker* const breaker = MakeBreaker(SlowCallCallerConfig());
  {
    circuit::Permit warm_up = breaker->TryAcquire();
    warm_up.Success(absl::Milliseconds(1));
  }
  AllocCounter allocs;
  for (auto _ : state) {
    circuit::Permit permit = breaker->TryAcquire();
    if (ABSL_PREDICT_TRUE(permit)) permit.Success(absl::Milliseconds(1));
  }
  allocs.Report(state);
  if (breaker->state() != circuit::State::kClosed) {
    state.SkipWithError("the breaker left CLOSED");
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Circuit_Closed_SlowCallCallerMeasured);

// The coarse slow-call case with the call-duration histogram kept
// (record_call_durations, for the Prometheus export): the measured success
// goes out of line and adds to two more words of the caller's stripe.
void BM_Circuit_Closed_CallDurations(benchmark::State& state) {
  static circuit::Breaker* const breaker = [] {
    circuit::BreakerConfig config = SlowCallCoarseConfig();
    config.name = "bench_call_durations";
    config.record_call_durations = true;
    return MakeBreaker(config);
  }();
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_CallDurations);

// The latency-percentile trip (p99 over 250 ms over a 10 s window of 1 s
// buckets), timed with the coarse clock: the measured success path of the
// case above, with the latency window's add to the caller's own stripe and
// its once-a-bucket judge (one relaxed load a call) instead of the
// lifetime histogram's two adds.
void BM_Circuit_Closed_LatencyPercentile(benchmark::State& state) {
  static circuit::Breaker* const breaker = [] {
    circuit::BreakerConfig config;
    config.name = "bench_latency_percentile";
    config.consecutive_failures_to_open = 5;
    config.window_type = circuit::WindowType::kTimeBased;
    config.window_duration = absl::Seconds(10);
    config.latency_percentile = 99;
    config.latency_percentile_threshold = absl::Milliseconds(250);
    config.slow_call_clock = circuit::SlowCallClock::kCoarse;
    return MakeBreaker(config);
  }();
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_LatencyPercentile);

void BM_Circuit_Closed_DefaultConfig(benchmark::State& state) {
  static circuit::Breaker* const breaker = MakeBreaker(circuit::BreakerConfig());
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_DefaultConfig);

// The default config with no own stripes: every thread counts into the
// block of the CPU it runs on (a restartable sequence), as threads past the
// own stripes do.
void BM_Circuit_Closed_PerCpu(benchmark::State& state) {
  static circuit::Breaker* const breaker = [] {
    circuit::BreakerConfig config;
    config.name = "bench_per_cpu";
    config.stripes = 0;
    return MakeBreaker(config);
  }();
  RunClosed(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_Closed_PerCpu);

// TryAcquire() + Failure(), every call a failure, below every threshold.
void BM_Circuit_FailureBelowThreshold(benchmark::State& state) {
  static circuit::Breaker* const breaker = MakeBreaker(FailureConfig());
  // Thread 0 starts each run from an empty run of failures; the loop's
  // start barrier orders this before every thread's first measured call.
  if (state.thread_index() == 0) breaker->Reset();
  {
    circuit::Permit warm_up = breaker->TryAcquire();
    warm_up.Failure();
  }
  AllocCounter allocs;
  for (auto _ : state) {
    circuit::Permit permit = breaker->TryAcquire();
    if (ABSL_PREDICT_TRUE(permit)) permit.Failure();
  }
  allocs.Report(state);
  if (breaker->state() != circuit::State::kClosed) {
    state.SkipWithError("the breaker tripped");
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Circuit_FailureBelowThreshold);

// TryAcquire() on an OPEN breaker that stays OPEN: every call rejected.
void RunRejected(benchmark::State& state, circuit::Breaker* breaker) {
  if (breaker->state() != circuit::State::kOpen) {
    state.SkipWithError("the breaker is not OPEN");
    return;
  }
  {
    circuit::Permit warm_up = breaker->TryAcquire();
    benchmark::DoNotOptimize(static_cast<bool>(warm_up));
  }
  AllocCounter allocs;
  for (auto _ : state) {
    circuit::Permit permit = breaker->TryAcquire();
    benchmark::DoNotOptimize(static_cast<bool>(permit));
  }
  allocs.Report(state);
  if (breaker->state() != circuit::State::kOpen) {
    state.SkipWithError("the breaker left OPEN");
  }
  Finish(state);
}

// TryAcquire() on an OPEN breaker: every call rejected.
void BM_Circuit_RejectedWhileOpen(benchmark::State& state) {
  static circuit::Breaker* const breaker = [] {
    circuit::Breaker* b = MakeBreaker(OpenConfig());
    circuit::Permit permit = b->TryAcquire();
    permit.Failure();  // consecutive_failures_to_open = 1: OPEN for a day
    return b;
  }();
  RunRejected(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_RejectedWhileOpen);

// TryAcquire() on a breaker the dependency opened for a day with
// Permit::FailureRetryAfter() (no trip condition of its own would): the
// rejection reports the dependency's wait at the cost of any rejection.
void BM_Circuit_RejectedAfterRetryAfter(benchmark::State& state) {
  static circuit::Breaker* const breaker = [] {
    circuit::BreakerConfig config = FailureConfig();  // no run ever trips it
    config.name = "bench_retry_after";
    config.max_open_duration = absl::Hours(24);
    circuit::Breaker* b = MakeBreaker(config);
    circuit::Permit permit = b->TryAcquire();
    permit.FailureRetryAfter(absl::Hours(24));
    return b;
  }();
  RunRejected(state, breaker);
}
CIRCUIT_BENCH(BM_Circuit_RejectedAfterRetryAfter);

// A call through a breaker looked up by name in a registry of 100 on every
// call: Registry::Find() (a shared lock and a shared_ptr copy, both shared
// writes) then TryAcquire() + Success(). What a caller pays for not keeping
// the shared_ptr (circuit/registry.h says to keep it).
void BM_Circuit_RegistryLookupByName(benchmark::State& state) {
  static circuit::Registry* const registry = [] {
    auto* r = new circuit::Registry(CountWindowConfig());
    for (int i = 0; i < 100; ++i) {
      if (!r->GetOrCreate("dependency-" + std::to_string(i)).ok()) std::abort();
    }
    return r;
  }();
  AllocCounter allocs;
  for (auto _ : state) {
    std::shared_ptr<circuit::Breaker> breaker = registry->Find("dependency-42");
    circuit::Permit permit = breaker->TryAcquire();
    if (ABSL_PREDICT_TRUE(permit)) permit.Success();
  }
  allocs.Report(state);
  Finish(state);
}
CIRCUIT_BENCH(BM_Circuit_RegistryLookupByName);

// Breaker::Call() around a callable that returns OK (count window config,
// so that the difference from BM_Circuit_Closed_CountWindow is the wrapper's).
void BM_Circuit_CallWrapper(benchmark::State& state) {
  static circuit::Breaker* const breaker = MakeBreaker(CountWindowConfig());
  {
    absl::Status warm_up = breaker->Call([] { return absl::OkStatus(); });
    benchmark::DoNotOptimize(warm_up);
  }
  AllocCounter allocs;
  for (auto _ : state) {
    absl::Status status = breaker->Call([] { return absl::OkStatus(); });
    benchmark::DoNotOptimize(status);
  }
  allocs.Report(state);
  if (breaker->state() != circuit::State::kClosed) {
    state.SkipWithError("the breaker left CLOSED");
  }
  Finish(state);
}
CIRCUIT_BENCH(BM_Circuit_CallWrapper);

// ---- Bulkheads ---------------------------------------------------------------------
// A slot taken and given back at once (the call itself is not what is
// measured), every thread on one bulkhead whose limit they never reach:
// circuit::Bulkhead (one CAS and one fetch_sub of one word) beside the
// obvious bulkhead, a std::mutex around a counter.

// The std::mutex bulkhead: what the issue measures circuit's against.
class MutexBulkhead {
 public:
  explicit MutexBulkhead(int max_concurrent) : max_(max_concurrent) {}
  bool TryAcquire() {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_flight_ >= max_) return false;
    ++in_flight_;
    return true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
  }

 private:
  std::mutex mu_;
  const int max_;
  int in_flight_ = 0;
};

circuit::Bulkhead* MakeBulkhead() {
  circuit::BulkheadConfig config;
  config.name = "bench_bulkhead";
  config.max_concurrent = 64;
  return circuit::Bulkhead::Create(config).value().release();
}

void BM_MutexBulkhead_TakeAndGiveBack(benchmark::State& state) {
  static MutexBulkhead* const bulkhead = new MutexBulkhead(64);
  AllocCounter allocs;
  for (auto _ : state) {
    if (ABSL_PREDICT_TRUE(bulkhead->TryAcquire())) bulkhead->Release();
  }
  allocs.Report(state);
  Finish(state);
}
CIRCUIT_BENCH(BM_MutexBulkhead_TakeAndGiveBack);

void BM_Bulkhead_TakeAndGiveBack(benchmark::State& state) {
  static circuit::Bulkhead* const bulkhead = MakeBulkhead();
  AllocCounter allocs;
  for (auto _ : state) {
    circuit::BulkheadSlot slot = bulkhead->TryAcquire();
    benchmark::DoNotOptimize(slot);
  }
  allocs.Report(state);
  if (bulkhead->Metrics().rejected != 0) state.SkipWithError("the bulkhead refused a call");
  Finish(state);
}
CIRCUIT_BENCH(BM_Bulkhead_TakeAndGiveBack);

// A bulkhead in front of a CLOSED breaker, through Bulkhead::Call(breaker,
// fn) around a callable that returns OK: beside BM_Circuit_CallWrapper.
void BM_Bulkhead_WithBreakerCall(benchmark::State& state) {
  static circuit::Bulkhead* const bulkhead = MakeBulkhead();
  static circuit::Breaker* const breaker = MakeBreaker(CountWindowConfig());
  AllocCounter allocs;
  for (auto _ : state) {
    absl::Status status = bulkhead->Call(*breaker, [] { return absl::OkStatus(); });
    benchmark::DoNotOptimize(status);
  }
  allocs.Report(state);
  if (breaker->state() != circuit::State::kClosed) state.SkipWithError("the breaker left CLOSED");
  Finish(state);
}
CIRCUIT_BENCH(BM_Bulkhead_WithBreakerCall);

// ---- Many threads ---------------------------------------------------------------
// Registered after every other case: 128 threads leave the machine busy
// for a moment (a shared VM's scheduler), which the 1-thread figures of
// cases run right after them would show.
CIRCUIT_BENCH_MANY(BM_Ref_FetchAddPadded);
CIRCUIT_BENCH_MANY(BM_Circuit_Closed_DefaultConfig);

// ---- Threads past the own stripes, pinned ------------------------------------
// Issue 17's situation: threads that took the low numbers first (an RPC
// library's pollers, loggers, timers) stay alive, then request threads call
// one default breaker. Each worker is pinned to its own CPU and times its
// batch of calls; an iteration's time is the workers' mean (manual time), so
// that 2 workers can be compared with 1, and a worker past the own stripes
// with one that owns a stripe.
//   BM_Circuit_Pinned/past_own:1/workers:N  N workers numbered past every
//                                           own stripe (stand-ins hold the
//                                           low numbers meanwhile)
//   BM_Circuit_Pinned/past_own:0/workers:1  one worker that owns a stripe
// Registered last: the stand-ins exist only while the case runs.

constexpr int kPinnedBatch = 1 << 22;  // calls per worker per iteration

// Threads that take thread numbers and keep them until released.
class StandIns {
 public:
  // Starts stand-ins until a fresh thread would be numbered at or past
  // `own` (every own stripe is held by a live thread).
  explicit StandIns(int own) {
    for (int i = 0; i < circuit::internal::kMaxThreadSlots; ++i) {
      std::promise<int> numbered;
      std::future<int> number = numbered.get_future();
      threads_.emplace_back([this, &numbered] {
        numbered.set_value(circuit::internal::ThisThreadSlot());
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return released_; });
      });
      if (number.get() >= own - 1) break;  // the next thread is past them
    }
  }
  ~StandIns() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    for (std::thread& thread : threads_) thread.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::vector<std::thread> threads_;
};

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

void BM_Circuit_Pinned(benchmark::State& state) {
  static circuit::Breaker* const breaker = [] {
    circuit::BreakerConfig config;
    config.name = "bench_pinned";
    return MakeBreaker(config);
  }();
  const bool past_own = state.range(0) != 0;
  const int workers = static_cast<int>(state.range(1));
  const int own = circuit::DefaultStripes();
  std::unique_ptr<StandIns> stand_ins;
  if (past_own) stand_ins = std::make_unique<StandIns>(own);

  std::mutex mu;
  std::condition_variable cv;
  int64_t round = 0;  // the batch the workers are asked to run
  int done = 0;       // workers done with the current round
  double worker_seconds = 0;  // their batches' wall times, summed
  bool stop = false;
  std::atomic<int> wrong_stripe{0};
  std::atomic<uint64_t> shared_writes{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      PinToCpu(w % static_cast<int>(std::thread::hardware_concurrency()));
      const int slot = circuit::internal::ThisThreadSlot();
      if ((slot >= own) != past_own) wrong_stripe.fetch_add(1);
      const uint64_t shared_start = circuit::internal::SharedStripeWritesOnThisThread();
      int64_t seen = 0;
      for (;;) {
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return stop || round != seen; });
          if (stop) break;
          seen = round;
        }
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < kPinnedBatch; ++i) {
          circuit::Permit permit = breaker->TryAcquire();
          if (ABSL_PREDICT_TRUE(permit)) permit.Success();
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        {
          std::lock_guard<std::mutex> lock(mu);
          worker_seconds += seconds;
          ++done;
        }
        cv.notify_all();
      }
      shared_writes.fetch_add(circuit::internal::SharedStripeWritesOnThisThread() - shared_start);
    });
  }
  for (auto _ : state) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++round;
      done = 0;
      worker_seconds = 0;
    }
    cv.notify_all();
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == workers; });
    // The mean of the workers' wall times for their batches, as Google
    // Benchmark times its own threads (the workers run side by side).
    state.SetIterationTime(worker_seconds / workers);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  cv.notify_all();
  for (std::thread& thread : threads) thread.join();
  if (wrong_stripe.load() != 0) {
    state.SkipWithError(past_own ? "a worker owns a stripe" : "a worker has no stripe");
  }
  if (breaker->state() != circuit::State::kClosed) state.SkipWithError("the breaker left CLOSED");
  const double calls = static_cast<double>(state.iterations()) * kPinnedBatch * workers;
  state.SetItemsProcessed(static_cast<int64_t>(calls));
  // Wall time one worker spends per call (each runs kPinnedBatch per
  // iteration, side by side).
  state.counters["ns_per_call_per_worker"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kPinnedBatch,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["shared_writes_per_call"] = static_cast<double>(shared_writes.load()) / calls;
}
BENCHMARK(BM_Circuit_Pinned)
    ->ArgNames({"past_own", "workers"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({1, 2})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("allocs_per_call",
                              "global operator new calls per iteration (thread-local count)");
  benchmark::AddCustomContext("time_per_call_note",
                              "real_time = wall time / iterations of all threads");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
