// File: circuit/internal/percpu.h
// Per-CPU counters: where a thread without a stripe of its own counts, so
// that no calling thread, whatever its number, writes a line that a thread
// on another CPU writes (design.md section 4).
//
// Every breaker has one block of counter words per CPU, in a process-wide
// arena (src/internal/percpu_arena.cc) that packs the blocks of many
// breakers into one region per CPU, like the kernel's percpu allocator:
//
//   chunk:  | region of CPU 0 | region of CPU 1 | ... | CPU n-1 | shared |
//             64 KiB each (kPerCpuRegionWords words)
//   a breaker's block: the same offset in every region; the block for CPU c
//   is `cpu0_block + c * kPerCpuRegionWords`.
//
// A region is written only by threads running on its CPU, so a line there
// is shared only with threads of the same CPU, which cannot run at the same
// time; packing the blocks of many breakers costs nothing and keeps a
// breaker's per-CPU memory at its counters' 80 bytes a CPU rather than a
// padded 128-byte stripe. The last region ("shared") is for threads that
// cannot tell their CPU (below); it is updated with atomic adds only.
//
// How a thread adds to its CPU's block (the process chooses once):
//
//   kRseq    x86-64 with glibc's restartable sequences registered (glibc
//            2.35 and later register one for every thread, so the current
//            CPU is a plain load from the thread's rseq area). The add is a
//            restartable sequence: the kernel restarts it if the thread is
//            preempted, migrated or signalled between reading the CPU and
//            the add, so one non-locked `add` on the CPU's word is exact,
//            against threads and signal handlers alike. About 0.4 ns an add
//            here, against 0.1 ns for a thread's own stripe and 4.6 ns for
//            an uncontended `lock add`. A thread whose rseq area is not
//            registered (glibc could not register it) counts into the
//            shared region with fetch_add.
//   kAtomic  anywhere else (another architecture, no rseq, ThreadSanitizer,
//            which cannot see the asm): fetch_add on the block of the CPU
//            sched_getcpu() reports. Exact; a line is contended only when a
//            thread migrates between reading its CPU and the add.
#ifndef CIRCUIT_INTERNAL_PERCPU_H_
#define CIRCUIT_INTERNAL_PERCPU_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"

#if defined(__SANITIZE_THREAD__)
#define CIRCUIT_INTERNAL_PERCPU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CIRCUIT_INTERNAL_PERCPU_TSAN 1
#endif
#endif

#if defined(__x86_64__) && defined(__linux__) && !defined(CIRCUIT_INTERNAL_PERCPU_TSAN) && \
    __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#if defined(RSEQ_SIG)
#define CIRCUIT_INTERNAL_HAVE_RSEQ 1
#endif
#endif

namespace circuit {
namespace internal {

// Words in one CPU's region of an arena chunk (64 KiB): a power of two, so
// that the block of CPU c is a shift and an add away from CPU 0's. Large
// enough for the biggest block (the counters and 1000 time buckets).
inline constexpr size_t kPerCpuRegionWords = size_t{1} << 13;

enum class PerCpuMode : uint8_t { kRseq, kAtomic };

struct PerCpuFacts {
  PerCpuMode mode;
  // Regions per chunk for CPUs: CPU ids are 0..cpus-1; the shared region is
  // region `cpus`.
  int cpus;
};

// The process's choice, made once (on first use) and never changed.
const PerCpuFacts& PerCpu();

// PerCpu().cpus without the function-local static's guard, for the counting
// path: set by the first PerCpu(), which every stripe set's construction
// makes (so a thread counting into a breaker sees it set: the breaker's
// publication orders it). relaxed: written once.
extern std::atomic<int> g_percpu_cpus;

// The CPU the calling thread runs on, for kAtomic: in [0, cpus], where cpus
// (the shared region) stands for "unknown". Out of line: sched_getcpu().
int CurrentCpuForAtomic(int cpus);

#if defined(CIRCUIT_INTERNAL_HAVE_RSEQ)
// The calling thread's rseq area, registered by glibc.
inline struct rseq* ThisThreadRseq() {
  return reinterpret_cast<struct rseq*>(static_cast<char*>(__builtin_thread_pointer()) +
                                        __rseq_offset);
}

// The CPU the calling thread runs on as its rseq area says (a relaxed load:
// the kernel writes it on the thread's own CPU before returning to it), or
// a negative value if glibc did not register the area for this thread.
inline int32_t RseqCpu() {
  return static_cast<int32_t>(
      __atomic_load_n(&ThisThreadRseq()->cpu_id, __ATOMIC_RELAXED));
}

// RseqIncrement()
// Adds 1 to word `c` of the block of the CPU this thread runs on:
// `cpu0_block + cpu * kPerCpuRegionWords + c`, `cpus` CPUs. Returns false,
// having added nothing, if this thread's rseq area is not registered or it
// runs on a CPU id past `cpus` (hot-plugged since the count): the caller
// then counts into the shared region.
//
// The restartable sequence, as the kernel's rseq selftests write it: store
// the sequence's descriptor (start, length, abort address) in the thread's
// rseq area, check that the CPU is still the one the address was computed
// for, add. If the kernel preempts, migrates or signals the thread anywhere
// from the check to the add (the add is the commit: one instruction), it
// resumes the thread at the abort address, which starts over. The 4 bytes
// before the abort address must be glibc's registered signature (RSEQ_SIG).
// The descriptor and the abort handler go to sections flagged "?": members
// of the section group of the code around them, so that when the linker
// drops a duplicate copy of an inline function (a COMDAT group), it drops
// their descriptors too instead of leaving them pointing into nothing.
// relaxed for the hardware: a statistic, as for an own stripe.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool RseqIncrement(std::atomic<uint64_t>* cpu0_block, int cpus,
                                                       int c) {
  static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t), "asm addresses the storage");
  for (;;) {
    const int32_t cpu = RseqCpu();
    // One unsigned compare: negative (unregistered) or past `cpus`.
    if (ABSL_PREDICT_FALSE(static_cast<uint32_t>(cpu) >= static_cast<uint32_t>(cpus))) {
      return false;
    }
    std::atomic<uint64_t>* const word =
        cpu0_block + static_cast<size_t>(cpu) * kPerCpuRegionWords + c;
    asm goto(
        // The descriptor: version 0, flags 0, start 1f, length 2f - 1f,
        // abort 4f; 32-byte aligned, as the kernel requires.
        ".pushsection __rseq_cs, \"aw?\"\n\t"
        ".balign 32\n\t"
        "3:\n\t"
        ".long 0, 0\n\t"
        ".quad 1f, (2f - 1f), 4f\n\t"
        ".popsection\n\t"
        // Arm it: rseq_cs (offset 8 of the area) = the descriptor.
        "leaq 3b(%%rip), %%rax\n\t"
        "movq %%rax, %%fs:8(%[area])\n\t"
        "1:\n\t"
        // Still on `cpu` (cpu_id: offset 4)?
        "cmpl %[cpu], %%fs:4(%[area])\n\t"
        "jnz 4f\n\t"
        // Commit.
        "addq $1, (%[word])\n\t"
        "2:\n\t"
        // The abort handler, out of line, after the signature (encoded as
        // the operand of an undefined instruction, as the selftests do).
        ".pushsection __rseq_failure, \"ax?\"\n\t"
        ".byte 0x0f, 0xb9, 0x3d\n\t"
        ".long 0x53053053\n\t"
        "4:\n\t"
        "jmp %l[restart]\n\t"
        ".popsection\n\t"
        :
        : [cpu] "r"(cpu), [area] "r"(__rseq_offset), [word] "r"(word)
        : "memory", "cc", "rax"
        : restart);
    return true;
  restart:;
  }
}
static_assert(RSEQ_SIG == 0x53053053, "the abort signature in RseqIncrement()");
#endif  // CIRCUIT_INTERNAL_HAVE_RSEQ

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_PERCPU_H_
