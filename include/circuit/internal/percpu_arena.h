// File: circuit/internal/percpu_arena.h
// The process-wide arena of per-CPU counter blocks (circuit/internal/
// percpu.h draws the layout). A stripe set takes one block at construction
// and gives it back at destruction; both take a mutex (cold paths: a
// breaker's creation and destruction), the counting never does.
//
// Memory: chunks are anonymous mappings of (cpus + 1) regions of 64 KiB,
// reserved as needed and never returned to the system (like tcmalloc's
// per-CPU caches). A page of a region is only made resident when a thread
// on that CPU first writes a block in it, so a breaker costs its
// 8 x (10 + time buckets) bytes on each CPU that has counted into it, and
// nothing on the others.
#ifndef CIRCUIT_INTERNAL_PERCPU_ARENA_H_
#define CIRCUIT_INTERNAL_PERCPU_ARENA_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>


namespace circuit {
namespace internal {

class PerCpuArena {
 public:
  // The arena for the process's CPU count (PerCpu().cpus): never destroyed.
  static PerCpuArena& Get();

  explicit PerCpuArena(int cpus);
  PerCpuArena(const PerCpuArena&) = delete;
  PerCpuArena& operator=(const PerCpuArena&) = delete;

  // PerCpuArena::Allocate()
  // A block of `words` words (1..kPerCpuRegionWords), zero in every region;
  // returns CPU 0's copy (CPU c's is `+ c * kPerCpuRegionWords`, the shared
  // region's is CPU `cpus()`'s). Throws std::bad_alloc if no chunk can be
  // mapped, as operator new would.
  std::atomic<uint64_t>* Allocate(size_t words);

  // PerCpuArena::Free()
  // Gives back a block from Allocate() of the same `words`. REQUIRES: no
  // thread will count into it again.
  void Free(std::atomic<uint64_t>* cpu0_block, size_t words);

  int cpus() const { return cpus_; }

  struct Usage {
    size_t chunks;          // mappings made
    size_t reserved_bytes;  // their total size (virtual)
    size_t block_bytes;     // bytes in blocks now allocated, every region
  };
  Usage usage() const;

 private:
  const int cpus_;
  const size_t chunk_bytes_;  // (cpus_ + 1) regions
  // std::mutex rather than absl::Mutex: ThreadSanitizer sees its
  // happens-before (Debian's Abseil is not built with TSan annotations).
  // Guards the members below.
  mutable std::mutex mu_;
  std::vector<std::atomic<uint64_t>*> chunks_;
  size_t used_in_last_chunk_ = 0;  // words of each region
  size_t allocated_words_ = 0;     // of each region
  // Freed blocks by size, reused for the same size.
  std::unordered_map<size_t, std::vector<std::atomic<uint64_t>*>> free_;
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_PERCPU_ARENA_H_
