// File: src/internal/vdso.cc
// Finds the kernel's vDSO clock_gettime at load time and, once it has
// checked it against the C library's, makes it the one the breaker calls
// (internal::clock_gettime_fn in circuit/clock.h).
//
// Why: the C library's clock_gettime reaches the same vDSO code through a
// wrapper that costs more than the read itself for the coarse clock (3.1 ns
// against 1.9 ns a CLOCK_MONOTONIC_COARSE read on this project's machine).
// Slow-call detection with the coarse clock reads it twice a call, so the
// wrapper would be half the cost of the feature.
//
// How: the kernel maps the vDSO as a small ELF shared object and passes its
// address in the auxiliary vector (AT_SYSINFO_EHDR). Its dynamic section
// gives the symbol table, the string table and the hash table (whose chain
// count is the number of symbols), as the kernel's own example parser
// (tools/testing/selftests/vDSO/parse_vdso.c) reads them. Anything
// unexpected (no vDSO, as under some sandboxes; another ELF class; a
// missing table; a symbol not found; a function that fails or disagrees
// with the C library's clock) leaves the C library's clock_gettime in place,
// which is always correct.
#include <time.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "absl/base/config.h"
#include "circuit/clock.h"

#if defined(__linux__) && defined(__ELF__) && !defined(ABSL_HAVE_MEMORY_SANITIZER)
#define CIRCUIT_HAVE_VDSO_LOOKUP 1
#include <elf.h>
#include <link.h>  // ElfW
#include <sys/auxv.h>
#endif

namespace circuit {
namespace internal {

std::atomic<ClockGettimeFn> clock_gettime_fn{&::clock_gettime};

namespace {

#if defined(CIRCUIT_HAVE_VDSO_LOOKUP)

// The vDSO's name for clock_gettime: __vdso_ on x86 and RISC-V, __kernel_
// on arm64 and powerpc.
constexpr const char* kSymbolNames[] = {"__vdso_clock_gettime", "__kernel_clock_gettime"};

ClockGettimeFn FindVdsoClockGettime() {
  const uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  if (base == 0) return nullptr;
  const auto* header = reinterpret_cast<const ElfW(Ehdr)*>(base);
  if (std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0) return nullptr;
#if __SIZEOF_POINTER__ == 8
  if (header->e_ident[EI_CLASS] != ELFCLASS64) return nullptr;
#else
  if (header->e_ident[EI_CLASS] != ELFCLASS32) return nullptr;
#endif
  if (header->e_phentsize != sizeof(ElfW(Phdr))) return nullptr;

  // The load offset maps the image's virtual addresses to where it is
  // mapped; the dynamic section lists the tables.
  const auto* program = reinterpret_cast<const ElfW(Phdr)*>(base + header->e_phoff);
  const ElfW(Dyn)* dynamic = nullptr;
  uintptr_t load_offset = 0;
  bool found_load = false;
  for (int i = 0; i < header->e_phnum; ++i) {
    if (program[i].p_type == PT_LOAD && !found_load) {
      load_offset = base + program[i].p_offset - program[i].p_vaddr;
      found_load = true;
    } else if (program[i].p_type == PT_DYNAMIC) {
      dynamic = reinterpret_cast<const ElfW(Dyn)*>(base + program[i].p_offset);
    }
  }
  if (!found_load || dynamic == nullptr) return nullptr;

  const ElfW(Sym)* symbols = nullptr;
  const char* strings = nullptr;
  const ElfW(Word)* hash = nullptr;
  for (const ElfW(Dyn)* entry = dynamic; entry->d_tag != DT_NULL; ++entry) {
    const uintptr_t address = load_offset + entry->d_un.d_ptr;
    switch (entry->d_tag) {
      case DT_SYMTAB:
        symbols = reinterpret_cast<const ElfW(Sym)*>(address);
        break;
      case DT_STRTAB:
        strings = reinterpret_cast<const char*>(address);
        break;
      case DT_HASH:
        hash = reinterpret_cast<const ElfW(Word)*>(address);
        break;
      default:
        break;
    }
  }
  if (symbols == nullptr || strings == nullptr || hash == nullptr) return nullptr;

  // DT_HASH: nbucket, nchain, ...; nchain is the number of symbols.
  const ElfW(Word) symbol_count = hash[1];
  for (const char* name : kSymbolNames) {
    for (ElfW(Word) i = 0; i < symbol_count; ++i) {
      const ElfW(Sym)& symbol = symbols[i];
      if (ELF64_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_shndx == SHN_UNDEF) continue;
      if (std::strcmp(strings + symbol.st_name, name) != 0) continue;
      return reinterpret_cast<ClockGettimeFn>(load_offset + symbol.st_value);
    }
  }
  return nullptr;
}

int64_t Nanos(const struct timespec& ts) {
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// True if `candidate` reads both clocks the breaker uses without error and
// agrees with the C library's reading taken around it.
bool AgreesWithLibc(ClockGettimeFn candidate) {
  for (clockid_t id : {CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE}) {
    struct timespec before, during, after;
    if (::clock_gettime(id, &before) != 0) return false;
    if (candidate(id, &during) != 0) return false;
    if (::clock_gettime(id, &after) != 0) return false;
    if (Nanos(during) < Nanos(before) || Nanos(during) > Nanos(after)) return false;
  }
  return true;
}

#endif  // CIRCUIT_HAVE_VDSO_LOOKUP

// Runs before main(): static storage, dynamic initialization. A breaker
// read before it (from another file's static initializer) uses the C
// library's clock_gettime, the constant initial value.
[[maybe_unused]] const bool kVdsoClockInstalled = [] {
#if defined(CIRCUIT_HAVE_VDSO_LOOKUP)
  const ClockGettimeFn vdso = FindVdsoClockGettime();
  if (vdso != nullptr && AgreesWithLibc(vdso)) {
    clock_gettime_fn.store(vdso, std::memory_order_relaxed);
    return true;
  }
#endif
  return false;
}();

}  // namespace

bool ClockReadsVdsoDirectly() {
  return clock_gettime_fn.load(std::memory_order_relaxed) != &::clock_gettime;
}

}  // namespace internal
}  // namespace circuit
