// File: src/internal/thread_random.cc
// Seeds a thread's generator (circuit/internal/thread_random.h).
#include "circuit/internal/thread_random.h"

#include <atomic>
#include <cstdint>

namespace circuit {
namespace internal {

uint64_t SeedThreadRandom() {
  // relaxed: only its uniqueness matters (the RMW's atomicity gives it).
  static std::atomic<uint64_t> threads_seeded{0};
  const uint64_t n = threads_seeded.fetch_add(1, std::memory_order_relaxed);
  uint64_t seed = MixBits(reinterpret_cast<uintptr_t>(&tls_random_state) ^ MixBits(n));
  if (seed == 0) seed = 0x9e3779b97f4a7c15u;  // xorshift's one forbidden state
  tls_random_state = seed;
  return seed;
}

}  // namespace internal
}  // namespace circuit
