// File: circuit/internal/cas_stats.h
// Counts, per thread, when the library is built with CIRCUIT_CAS_STATS (the
// //:circuit_cas_stats target the benchmarks use):
//   * failed compare-and-swaps (a CAS that lost a race and is retried or
//     given up);
//   * counter increments that went to a line shared without regard to the
//     CPU (the per-CPU arena's shared region: a thread that cannot tell its
//     CPU), which threads on several CPUs may write at once.
// In every other build the Note functions are empty and cost nothing.
#ifndef CIRCUIT_INTERNAL_CAS_STATS_H_
#define CIRCUIT_INTERNAL_CAS_STATS_H_

#include <cstdint>

namespace circuit {
namespace internal {

#ifdef CIRCUIT_CAS_STATS
inline thread_local uint64_t tls_cas_failures = 0;
inline void NoteCasFailure() { ++tls_cas_failures; }
// Failed CASes made by the calling thread so far.
inline uint64_t CasFailuresOnThisThread() { return tls_cas_failures; }
inline thread_local uint64_t tls_shared_stripe_writes = 0;
inline void NoteSharedStripeWrite() { ++tls_shared_stripe_writes; }
// Increments into a shared line made by the calling thread so far.
inline uint64_t SharedStripeWritesOnThisThread() { return tls_shared_stripe_writes; }
#else
inline void NoteCasFailure() {}
inline uint64_t CasFailuresOnThisThread() { return 0; }
inline void NoteSharedStripeWrite() {}
inline uint64_t SharedStripeWritesOnThisThread() { return 0; }
#endif

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_CAS_STATS_H_
