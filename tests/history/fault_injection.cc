// Interposes std::pow() and absl::ToInt64Nanoseconds(): see fault_injection.h.
#include "tests/history/fault_injection.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>

#include "absl/base/config.h"
#include "absl/time/time.h"

namespace circuit {
namespace history {
namespace fault {
namespace {

std::atomic<bool> g_held{false};
std::atomic<bool> g_released{false};
std::atomic<int> g_per_mille{0};
std::atomic<int> g_yields{0};
thread_local bool t_hold_pow = false;
thread_local bool t_hold_to_nanos = false;

void Park() {
  g_held.store(true);
  while (!g_released.load()) std::this_thread::yield();
}

void MaybeDelay() {
  const int per_mille = g_per_mille.load(std::memory_order_relaxed);
  if (per_mille <= 0) return;
  thread_local std::minstd_rand rng(
      static_cast<unsigned>(std::hash<std::thread::id>()(std::this_thread::get_id())));
  if (static_cast<int>(rng() % 1000) >= per_mille) return;
  for (int i = g_yields.load(std::memory_order_relaxed); i > 0; --i) std::this_thread::yield();
}

}  // namespace

void HoldNextPowOnThisThread() { t_hold_pow = true; }
void HoldNextToNanosOnThisThread() { t_hold_to_nanos = true; }
bool SomeoneIsHeld() { return g_held.load(); }
void Release() { g_released.store(true); }
void ResetHolds() {
  g_held.store(false);
  g_released.store(false);
}
void SetRandomDelay(int per_mille, int yields) {
  g_yields.store(yields);
  g_per_mille.store(per_mille);
}

// The interposed functions call these first.
void BeforePow() {
  if (t_hold_pow) {
    t_hold_pow = false;
    Park();
  }
  MaybeDelay();
}

void BeforeToNanos() {
  if (t_hold_to_nanos) {
    t_hold_to_nanos = false;
    Park();
  }
  MaybeDelay();
}

}  // namespace fault
}  // namespace history
}  // namespace circuit

// The breaker's OpenDurationNanos() calls pow() between the CAS into OPEN
// and the deadline store.
extern "C" double pow(double x, double y) {
  using Fn = double (*)(double, double);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pow"));
  circuit::history::fault::BeforePow();
  return real(x, y);
}

namespace {
#define CIRCUIT_FAULT_STR2(x) #x
#define CIRCUIT_FAULT_STR(x) CIRCUIT_FAULT_STR2(x)
// absl::<inline namespace>::ToInt64Nanoseconds(absl::<inline namespace>::Duration)
std::string MangledToInt64Nanoseconds() {
#if ABSL_OPTION_USE_INLINE_NAMESPACE
  const std::string ns = CIRCUIT_FAULT_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  return "_ZN4absl" + std::to_string(ns.size()) + ns + "18ToInt64NanosecondsENS0_8DurationE";
#else
  return "_ZN4absl18ToInt64NanosecondsENS_8DurationE";
#endif
}
}  // namespace

// AfterTransition() calls it between the CAS into HALF_OPEN and the deadline
// store (and everyone else calls it too, which only adds delays).
namespace absl {
ABSL_NAMESPACE_BEGIN
int64_t ToInt64Nanoseconds(Duration d) {
  using Fn = int64_t (*)(Duration);
  static const Fn real =
      reinterpret_cast<Fn>(dlsym(RTLD_NEXT, MangledToInt64Nanoseconds().c_str()));
  circuit::history::fault::BeforeToNanos();
  return real(d);
}
ABSL_NAMESPACE_END
}  // namespace absl
