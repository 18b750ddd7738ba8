// File: circuit/clock.h
// `circuit::Clock` is where a breaker reads time. It has two reads:
//
//   NowNanos()        precise monotonic time; measures call durations for
//                     slow-call detection (two reads per call, only when a
//                     slow-call trip is configured).
//   CoarseNowNanos()  cheap monotonic time with a resolution of a few
//                     milliseconds; decides when OPEN is over and which
//                     bucket of a time window a call lands in.
//
// The default (`BreakerConfig::clock == nullptr`) is the system clock:
// NowNanos() is CLOCK_MONOTONIC (about 20 ns with the TSC clocksource, 40 ns
// on a kvm-clock virtual machine) and CoarseNowNanos() is CLOCK_MONOTONIC_COARSE
// (about 2 ns, with the kernel tick as resolution: 4 ms at HZ=250). The
// breaker calls the system clock directly, without a virtual call, and
// calls the kernel's vDSO entry without the C library's wrapper.
//
// Tests inject a `circuit::FakeClock` (circuit/fake_clock.h) instead and
// advance it by hand: no test sleeps to wait for a transition.
//
// Thread safety: implementations must be safe to call from any thread.
#ifndef CIRCUIT_CLOCK_H_
#define CIRCUIT_CLOCK_H_

#include <time.h>

#include <atomic>
#include <cstdint>

namespace circuit {

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic nanoseconds from an arbitrary origin (any int64_t value: a
  // breaker keeps time from its own creation). Never decreases.
  virtual int64_t NowNanos() const = 0;

  // Monotonic nanoseconds, possibly a few milliseconds behind NowNanos().
  // Default: NowNanos().
  virtual int64_t CoarseNowNanos() const { return NowNanos(); }
};

// SystemClock()
// The process-wide system clock described above. Never null; never freed.
const Clock* SystemClock();

namespace internal {
// The clock_gettime the breaker calls: the kernel's vDSO entry itself where
// src/internal/vdso.cc finds and checks it at load time, else the C
// library's clock_gettime (which reaches the same vDSO code through a
// wrapper: 3.1 ns against 1.9 ns a CLOCK_MONOTONIC_COARSE read here).
// Constant-initialized to the C library's, so a breaker used by another
// file's static initializer before the upgrade reads a correct clock.
// relaxed: a function pointer, written once; either value is a correct
// clock, so a reader needs no order with anything.
using ClockGettimeFn = int (*)(clockid_t, struct timespec*);
extern std::atomic<ClockGettimeFn> clock_gettime_fn;

// True if clock_gettime_fn is the vDSO's own (for tests and the report).
bool ClockReadsVdsoDirectly();

inline int64_t ReadClockNanos(clockid_t id) {
  struct timespec ts;
  clock_gettime_fn.load(std::memory_order_relaxed)(id, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The system clock's two reads, inline so that the breaker's fast path pays
// neither a virtual call nor the C library's wrapper: no system call.
inline int64_t MonotonicNanos() { return ReadClockNanos(CLOCK_MONOTONIC); }
inline int64_t MonotonicCoarseNanos() { return ReadClockNanos(CLOCK_MONOTONIC_COARSE); }

// How often a rejection while OPEN reads the clock. With the system clock,
// a thread with a stripe of its own (see circuit/internal/stripes.h) judges
// whether OPEN is over on one of its rejections in kRejectionsPerClockRead
// on each breaker (the one made when its stripe's count of them there is a
// multiple of it: so its first one is, unless it took the number, and so
// the stripe and its count, of a thread that exited), by a fresh coarse
// reading, and rejects the others without reading the clock or the
// deadline. So OPEN never ends early, and it can end late: up to
// kRejectionsPerClockRead - 1 calls of each thread after the open duration
// may still be rejected before that thread judges (any thread's judgment
// admits the first trial). The bound is in calls, not time: a thread that
// calls once a second, alone, may see its first trial up to 15 s late.
// Every rejection is judged with an injected Clock (even one that reads the
// system clock), with call listeners and on a thread past the own stripes,
// and so are a thread's first call anywhere (it is numbered on the way) and
// the breaker's next rejection after Retry() has waited out a rejection's
// delay. The delay a rejection reports (Permit::retry_after()) is worked
// out from a fresh reading when asked, so it is never longer than the
// truth. 16: a judgment (a coarse read, about 3 ns here,
// BM_Ref_MonotonicCoarseDirect in docs/benchmarks.md, and a branch that
// goes the other way) costs about 3.4 ns, so about 0.2 ns a rejection
// (0.4 ns at 8, which kept the rejection over its 2 ns target;
// docs/benchmarks.md).
inline constexpr uint32_t kRejectionsPerClockRead = 16;

}  // namespace internal

}  // namespace circuit

#endif  // CIRCUIT_CLOCK_H_
