// File: circuit/internal/cas_stats.h
// Counts failed compare-and-swaps (a CAS that lost a race and is retried or
// given up), per thread, when the library is built with CIRCUIT_CAS_STATS
// (the //:circuit_cas_stats target the benchmarks use). In every other build
// NoteCasFailure() is empty and costs nothing.
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
#else
inline void NoteCasFailure() {}
inline uint64_t CasFailuresOnThisThread() { return 0; }
#endif

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_CAS_STATS_H_
