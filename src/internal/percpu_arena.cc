// File: src/internal/percpu_arena.cc
// See percpu_arena.h.
#include "circuit/internal/percpu_arena.h"

#include <sys/mman.h>

#include <new>

#include "circuit/internal/percpu.h"

namespace circuit {
namespace internal {

PerCpuArena& PerCpuArena::Get() {
  static PerCpuArena* const arena = new PerCpuArena(PerCpu().cpus);
  return *arena;
}

PerCpuArena::PerCpuArena(int cpus)
    : cpus_(cpus),
      chunk_bytes_((static_cast<size_t>(cpus) + 1) * kPerCpuRegionWords * sizeof(uint64_t)) {}

std::atomic<uint64_t>* PerCpuArena::Allocate(size_t words) {
  if (words == 0 || words > kPerCpuRegionWords) throw std::bad_alloc();
  std::lock_guard<std::mutex> lock(mu_);
  allocated_words_ += words;
  auto reusable = free_.find(words);
  if (reusable != free_.end() && !reusable->second.empty()) {
    std::atomic<uint64_t>* const block = reusable->second.back();
    reusable->second.pop_back();
    // The previous owner's counts, in every region. relaxed: the block is
    // published with the stripe set that gets it.
    for (int region = 0; region <= cpus_; ++region) {
      std::atomic<uint64_t>* const copy = block + static_cast<size_t>(region) * kPerCpuRegionWords;
      for (size_t i = 0; i < words; ++i) copy[i].store(0, std::memory_order_relaxed);
    }
    return block;
  }
  if (chunks_.empty() || used_in_last_chunk_ + words > kPerCpuRegionWords) {
    // A fresh mapping reads as zeros and costs no memory until written.
    void* const memory = mmap(nullptr, chunk_bytes_, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      allocated_words_ -= words;
      throw std::bad_alloc();
    }
    // The leftover of the previous chunk (less than one block) is not used.
    chunks_.push_back(static_cast<std::atomic<uint64_t>*>(memory));
    used_in_last_chunk_ = 0;
  }
  std::atomic<uint64_t>* const block = chunks_.back() + used_in_last_chunk_;
  used_in_last_chunk_ += words;
  return block;
}

void PerCpuArena::Free(std::atomic<uint64_t>* cpu0_block, size_t words) {
  std::lock_guard<std::mutex> lock(mu_);
  allocated_words_ -= words;
  free_[words].push_back(cpu0_block);
}

PerCpuArena::Usage PerCpuArena::usage() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Usage{chunks_.size(), chunks_.size() * chunk_bytes_,
               allocated_words_ * sizeof(uint64_t) * (static_cast<size_t>(cpus_) + 1)};
}

}  // namespace internal
}  // namespace circuit
