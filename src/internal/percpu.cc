// File: src/internal/percpu.cc
// The process's per-CPU facts (circuit/internal/percpu.h): how many CPU ids
// there can be, and whether threads add to their CPU's block with a
// restartable sequence or with fetch_add.
#include "circuit/internal/percpu.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace circuit {
namespace internal {
namespace {

// The largest number of CPU ids: one past the last id in
// /sys/devices/system/cpu/possible ("0-63", "0,2-5"), which counts CPUs
// that may be hot-plugged later; else the configured count. An id past it
// still counts correctly (into the shared region).
int PossibleCpus() {
  int cpus = 0;
  if (FILE* file = std::fopen("/sys/devices/system/cpu/possible", "re")) {
    int first = 0;
    int last = 0;
    int c = 0;
    for (;;) {
      if (std::fscanf(file, "%d", &first) != 1) break;
      last = first;
      c = std::fgetc(file);
      if (c == '-') {
        if (std::fscanf(file, "%d", &last) != 1) break;
        c = std::fgetc(file);
      }
      cpus = std::max(cpus, last + 1);
      if (c != ',') break;
    }
    std::fclose(file);
  }
  if (cpus <= 0) cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_CONF));
  // At least one; at most what keeps a chunk (a region a CPU) reasonable.
  return std::clamp(cpus, 1, 4096);
}

PerCpuFacts Decide() {
  PerCpuFacts facts{PerCpuMode::kAtomic, PossibleCpus()};
#if defined(CIRCUIT_INTERNAL_HAVE_RSEQ)
  // glibc sets __rseq_size when it registered the main thread's area (0 if
  // the kernel has no rseq, or the glibc.pthread.rseq tunable turned it
  // off); it then registers every thread it creates.
  if (__rseq_size > 0 && RseqCpu() >= 0) facts.mode = PerCpuMode::kRseq;
#endif
  return facts;
}

}  // namespace

std::atomic<int> g_percpu_cpus{0};

const PerCpuFacts& PerCpu() {
  static const PerCpuFacts facts = [] {
    const PerCpuFacts decided = Decide();
    g_percpu_cpus.store(decided.cpus, std::memory_order_relaxed);
    return decided;
  }();
  return facts;
}

int CurrentCpuForAtomic(int cpus) {
  const int cpu = sched_getcpu();
  return cpu >= 0 && cpu < cpus ? cpu : cpus;
}

}  // namespace internal
}  // namespace circuit
