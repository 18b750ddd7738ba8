// File: circuit/internal/state_word.h
// The packed state word: one std::atomic<uint64_t> that holds everything a
// transition must change at once, so that one CAS moves the whole breaker.
//
//  63               36   35  34  32 31     24 23     16 15      8 7       0
// +-------------------+------+-----+---------+---------+---------+---------+
// |    generation     |window|state|  trial  |  trial  |  trial  | trials  |
// |     (28 bits)     |(1 b) |(3 b)|  slow   | failures|successes|in flight|
// +-------------------+------+-----+---------+---------+---------+---------+
//
// window (1 bit): "the rate window owes a fold". Set only while CLOSED or
// METRICS_ONLY, by a folder that stopped after its bounded number of rounds
// with requests left unserved (src/internal/rate_window.h); the next call
// that sees it (an admission or a success) clears it and folds before going
// on. It lives here because every call already loads this word: the CLOSED
// fast paths test it for free (TryAcquire() compares the state and window
// bits as one 4-bit field; a success compares the generation and window bits
// as one shifted value).
//
// Invariant: the four trial fields are 0 unless state == kHalfOpen.
// Invariant: the window bit is 0 unless state is kClosed or kMetricsOnly;
//            every transition clears it (a new generation's window owes
//            nothing).
// Invariant: trials in flight + trial successes + trial failures <=
//            half_open_trial_calls <= 255; trials in flight <=
//            half_open_max_concurrent; trial slow <= successes + failures.
// Invariant: the generation changes (by exactly 1, modulo 2^28) on every
//            change of state, and only then; a state never repeats within a
//            generation. A permit remembers the generation it was issued in
//            and its outcome is dropped if the word has moved on.
//
// Generations are only ever compared for equality with the word's current
// one (never "older/newer" by serial arithmetic, whose answer flips once a
// stored generation is half the range behind). The counter wraps after 2^28
// (268 million) transitions; a permit held across exactly a multiple of that
// many transitions would be mistaken for a current one.
//
// Internal: the API never names these; see docs/design.md.
#ifndef CIRCUIT_INTERNAL_STATE_WORD_H_
#define CIRCUIT_INTERNAL_STATE_WORD_H_

#include <cstdint>

#include "circuit/state.h"

namespace circuit {
namespace internal {

// One table of fields; every mask and shift derives from it.
inline constexpr int kInFlightShift = 0;
inline constexpr int kInFlightBits = 8;
inline constexpr int kTrialSuccessShift = kInFlightShift + kInFlightBits;
inline constexpr int kTrialSuccessBits = 8;
inline constexpr int kTrialFailureShift = kTrialSuccessShift + kTrialSuccessBits;
inline constexpr int kTrialFailureBits = 8;
inline constexpr int kTrialSlowShift = kTrialFailureShift + kTrialFailureBits;
inline constexpr int kTrialSlowBits = 8;
inline constexpr int kStateShift = kTrialSlowShift + kTrialSlowBits;
inline constexpr int kStateBits = 3;
inline constexpr int kWindowBitShift = kStateShift + kStateBits;
inline constexpr int kGenShift = kWindowBitShift + 1;
inline constexpr int kGenBits = 28;

static_assert(kTrialSuccessShift == kInFlightShift + kInFlightBits, "fields must abut");
static_assert(kGenShift + kGenBits == 64, "the fields fill the word exactly");
static_assert((1 << kStateBits) > static_cast<int>(State::kMetricsOnly),
              "every State fits in the state field");

inline constexpr uint64_t FieldMask(int bits) { return (uint64_t{1} << bits) - 1; }
inline constexpr uint64_t kGenMask = FieldMask(kGenBits);
inline constexpr uint32_t kMaxTrials = FieldMask(kInFlightBits);  // 255
inline constexpr uint64_t kWindowBit = uint64_t{1} << kWindowBitShift;

inline constexpr uint64_t Field(uint64_t word, int shift, int bits) {
  return (word >> shift) & FieldMask(bits);
}

inline constexpr State StateOf(uint64_t word) {
  return static_cast<State>(Field(word, kStateShift, kStateBits));
}
inline constexpr uint32_t GenOf(uint64_t word) {
  return static_cast<uint32_t>(word >> kGenShift);  // the top field: no mask
}

// The state and window bits as one field: equal to a plain State's value
// only when the window bit is clear, so one compare tests both.
inline constexpr uint32_t StateAndWindowOf(uint64_t word) {
  return static_cast<uint32_t>(Field(word, kStateShift, kStateBits + 1));
}

// The generation and window bits as one value: equal to GenAndWindow(gen)
// only when the word is at `gen` with the window bit clear.
inline constexpr uint64_t GenAndWindowOf(uint64_t word) { return word >> kWindowBitShift; }
inline constexpr uint64_t GenAndWindow(uint32_t gen) { return uint64_t{gen} << 1; }
inline constexpr uint32_t InFlightOf(uint64_t word) {
  return static_cast<uint32_t>(Field(word, kInFlightShift, kInFlightBits));
}
inline constexpr uint32_t TrialSuccessesOf(uint64_t word) {
  return static_cast<uint32_t>(Field(word, kTrialSuccessShift, kTrialSuccessBits));
}
inline constexpr uint32_t TrialFailuresOf(uint64_t word) {
  return static_cast<uint32_t>(Field(word, kTrialFailureShift, kTrialFailureBits));
}
inline constexpr uint32_t TrialSlowOf(uint64_t word) {
  return static_cast<uint32_t>(Field(word, kTrialSlowShift, kTrialSlowBits));
}

// A word in `state` at generation `gen` with every trial field 0.
inline constexpr uint64_t MakeWord(State state, uint32_t gen) {
  return (uint64_t{gen & kGenMask} << kGenShift) |
         (uint64_t{static_cast<uint8_t>(state)} << kStateShift);
}

// The word one transition later: `state` at the next generation.
inline constexpr uint64_t NextWord(uint64_t word, State state) {
  return MakeWord(state, static_cast<uint32_t>((GenOf(word) + 1) & kGenMask));
}

// A HALF_OPEN word with explicit trial counts (each must fit its field).
inline constexpr uint64_t MakeTrialWord(uint32_t gen, uint32_t in_flight, uint32_t successes,
                                        uint32_t failures, uint32_t slow) {
  return MakeWord(State::kHalfOpen, gen) | (uint64_t{in_flight} << kInFlightShift) |
         (uint64_t{successes} << kTrialSuccessShift) |
         (uint64_t{failures} << kTrialFailureShift) | (uint64_t{slow} << kTrialSlowShift);
}

inline constexpr uint64_t kOneInFlight = uint64_t{1} << kInFlightShift;

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_STATE_WORD_H_
