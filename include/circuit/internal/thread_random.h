// File: circuit/internal/thread_random.h
// A per-thread pseudo-random generator for decisions that admit a fraction
// of calls (slow start's ramp): a few instructions, no shared write, no
// lock, no allocation, async-signal-safe in the sense that a handler's draw
// only perturbs the sequence.
//
//   if (internal::ThreadRandom32() < threshold) Admit();
//
// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
// generators, scrambled", 2016): period 2^64 - 1, the high 32 bits of the
// output pass BigCrush. Not for secrets. Each thread's state starts from
// its own address mixed with a process-wide counter (splitmix64), on first
// use, so two threads never share a sequence and a thread's first draws
// are as good as its later ones.
#ifndef CIRCUIT_INTERNAL_THREAD_RANDOM_H_
#define CIRCUIT_INTERNAL_THREAD_RANDOM_H_

#include <atomic>
#include <cstdint>

#include "absl/base/optimization.h"

namespace circuit {
namespace internal {

// splitmix64's finaliser: a bijection that spreads every input bit.
inline uint64_t MixBits(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

// 0 until the thread's first draw (xorshift's state is never 0 after).
// Trivially constructed and destroyed: no TLS guard.
inline thread_local uint64_t tls_random_state = 0;

uint64_t SeedThreadRandom();  // src/internal/thread_random.cc

// The number of values ThreadRandom32() draws from, 2^32: a share s is
// admitted by `ThreadRandom32() < s * kThreadRandomRange`.
inline constexpr double kThreadRandomRange = 4294967296.0;

// ThreadRandom32()
// A uniform draw in [0, 2^32) from the calling thread's generator.
inline uint32_t ThreadRandom32() {
  uint64_t x = tls_random_state;
  if (ABSL_PREDICT_FALSE(x == 0)) x = SeedThreadRandom();
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  tls_random_state = x;
  return static_cast<uint32_t>((x * 0x2545f4914f6cdd1du) >> 32);
}

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_THREAD_RANDOM_H_
