// File: bench/memory_report.cc
// Bytes per breaker: what Breaker::Create() allocates on the heap (the
// breaker, its own stripes, its rate window) plus its block in every region
// of the per-CPU arena, for three configs; measured on this machine, and
// computed for a 64-CPU machine from the same parts. Then 10,000 default
// breakers made for real here, against the per-breaker figure. Prints the
// markdown that bench/make_report.py puts in docs/benchmarks.md, and one
// machine-readable line per figure ("memory <key> <bytes>") for its targets.
//
//   ./bazelw run -c opt //bench:memory_report
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/internal/percpu.h"
#include "circuit/internal/percpu_arena.h"
#include "circuit/internal/stripes.h"

// Requested bytes of every global operator new (not the allocator's own
// overhead), so that one Create() can be weighed.
std::atomic<size_t> g_requested{0};

void* operator new(std::size_t size) {
  g_requested.fetch_add(size, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
  g_requested.fetch_add(size, std::memory_order_relaxed);
  const size_t a = static_cast<size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

constexpr int kBigMachineCpus = 64;
constexpr int kRegistryBreakers = 10'000;

struct Shape {
  const char* key;
  const char* what;
  circuit::BreakerConfig config;
};

std::vector<Shape> Shapes() {
  std::vector<Shape> shapes;
  shapes.push_back({"default", "default config (5 consecutive failures, no window)", {}});
  circuit::BreakerConfig count;
  count.failure_rate_threshold = 50;
  count.window_type = circuit::WindowType::kCountBased;
  count.window_size = 100;
  shapes.push_back({"count100", "100-call count window", count});
  circuit::BreakerConfig time;
  time.failure_rate_threshold = 50;
  time.window_type = circuit::WindowType::kTimeBased;
  time.window_duration = absl::Seconds(60);
  time.window_buckets = 60;
  shapes.push_back({"time60", "60 s / 60-bucket time window", time});
  return shapes;
}

int Buckets(const circuit::BreakerConfig& config) {
  return config.window_type == circuit::WindowType::kTimeBased ? config.window_buckets : 0;
}

std::unique_ptr<circuit::Breaker> Make(const circuit::BreakerConfig& config) {
  absl::StatusOr<std::unique_ptr<circuit::Breaker>> breaker = circuit::Breaker::Create(config);
  if (!breaker.ok()) {
    std::fprintf(stderr, "Create: %s\n", breaker.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(breaker).value();
}

}  // namespace

int main() {
  using circuit::internal::PerCpuArena;
  using circuit::internal::StripeSet;
  PerCpuArena& arena = PerCpuArena::Get();
  const int cpus = arena.cpus();
  const int own_here = circuit::DefaultStripes();
  const int own_big = circuit::kMaxDefaultStripes;  // 64 CPUs: the cap
  std::printf("CPU ids here: %d (own stripes by default: %d); a 64-CPU machine: %d own stripes.\n\n",
              cpus, own_here, own_big);
  std::printf("| config | heap here | per-CPU blocks here | total here | total on %d CPUs |\n",
              kBigMachineCpus);
  std::printf("|---|---|---|---|---|\n");
  std::vector<std::string> lines;
  lines.push_back("memory cpus " + std::to_string(cpus));
  for (const Shape& shape : Shapes()) {
    const int buckets = Buckets(shape.config);
    const size_t heap_before = g_requested.load();
    const size_t blocks_before = arena.usage().block_bytes;
    std::unique_ptr<circuit::Breaker> breaker = Make(shape.config);
    const size_t heap = g_requested.load() - heap_before;
    const size_t blocks = arena.usage().block_bytes - blocks_before;
    // The same breaker on 64 CPUs: the heap but for its own stripes, then
    // the stripe set's own stripes and blocks for that machine.
    const size_t own_bytes_here =
        StripeSet::BytesFor(own_here, buckets, 0) - StripeSet::BytesFor(0, buckets, 0);
    const size_t big = heap - own_bytes_here + StripeSet::BytesFor(own_big, buckets, kBigMachineCpus);
    std::printf("| %s | %zu B | %zu B | %zu B | %zu B |\n", shape.what, heap, blocks, heap + blocks,
                big);
    lines.push_back("memory " + std::string(shape.key) + "_here " + std::to_string(heap + blocks));
    lines.push_back("memory " + std::string(shape.key) + "_64cpu " + std::to_string(big));
  }

  // A registry's worth of default breakers, for real.
  const size_t heap_before = g_requested.load();
  const size_t blocks_before = arena.usage().block_bytes;
  {
    std::vector<std::unique_ptr<circuit::Breaker>> registry;
    registry.reserve(kRegistryBreakers);
    const size_t reserve = g_requested.load();
    for (int i = 0; i < kRegistryBreakers; ++i) registry.push_back(Make(circuit::BreakerConfig()));
    const size_t heap = g_requested.load() - reserve;
    const size_t blocks = arena.usage().block_bytes - blocks_before;
    std::printf("\n%d default breakers made here: %zu B on the heap + %zu B of per-CPU blocks "
                "= %.2f MB (%zu B each).\n",
                kRegistryBreakers, heap, blocks, static_cast<double>(heap + blocks) / 1e6,
                (heap + blocks) / kRegistryBreakers);
    lines.push_back("memory registry_here " + std::to_string(heap + blocks));
    (void)heap_before;
  }
  std::printf("\n");
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  return 0;
}
