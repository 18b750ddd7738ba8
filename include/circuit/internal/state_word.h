// File: circuit/internal/state_word.h
// The packed state word: one std::atomic<uint64_t> that holds everything a
// transition must change at once, so that one CAS moves the whole breaker.
//
//  63          38   37   36   35  34  32 31     24 23     16 15      8 7       0
// +--------------+----+----+----+-----+---------+---------+---------+---------+
// |  generation  |want|owed|gate|state|  trial  |  trial  |  trial  | trials  |
// |  (26 bits)   |    |    |    |(3 b)|  slow   | failures|successes|in flight|
// +--------------+----+----+----+-----+---------+---------+---------+---------+
//
// The gate bit, set only while CLOSED, sends admissions of the CLOSED path
// to the gate (src/gate.cc), which admits a fraction of them:
//   gate (35)  slow start is ramping (BreakerConfig::slow_start_duration;
//              set by the HALF_OPEN -> CLOSED transition itself, the
//              deadline word holding the ramp's end) or adaptive throttling
//              has judged a probability above 0 (set by the judge's CAS
//              within the CLOSED generation); cleared by the first
//              admission that finds neither at work. Outcomes do not look
//              at it.
//
// The two window bits, set only while CLOSED or METRICS_ONLY, send calls of
// the CLOSED path to the rate window (src/internal/rate_window.h):
//   owed (36)  the window owes a fold: a folder stopped after its bounded
//              number of rounds with requests unserved. The next admission
//              or success clears it and folds before going on.
//   want (37)  the window wants successes: it holds failures or slow calls
//              but fewer than minimum_calls calls, so the success that
//              brings it to the minimum may be the outcome that trips it
//              (rates are judged on every outcome). A success clears it,
//              counts itself and folds; the fold sets it again while the
//              window is still short of its minimum.
// They live here because every call already loads this word: the CLOSED
// fast paths test them for free. TryAcquire() compares the state, gate and
// owed bits as one 5-bit field (want does not concern admissions); a success
// compares the generation and both window bits as one shifted value (the
// gate does not concern outcomes).
//
// Invariant: the four trial fields are 0 unless state == kHalfOpen.
// Invariant: the window bits are 0 unless state is kClosed or kMetricsOnly;
//            every transition clears them (a new generation's window owes
//            nothing and wants nothing).
// Invariant: the gate bit is 0 unless state is kClosed; only the
//            HALF_OPEN -> CLOSED transition and a throttle judge set it,
//            and only the clearing CAS (same generation) or a transition
//            clears it.
// Invariant: trials in flight + trial successes + trial failures <=
//            half_open_trial_calls <= 255; trials in flight <=
//            half_open_max_concurrent; trial slow <= successes + failures.
// Invariant: the generation changes (by exactly 1, modulo 2^26) on every
//            change of state, and only then; a state never repeats within a
//            generation. A permit remembers the generation it was issued in
//            and its outcome is dropped if the word has moved on.
//
// Generations are only ever compared for equality with the word's current
// one (never "older/newer" by serial arithmetic, whose answer flips once a
// stored generation is half the range behind). The counter wraps after 2^26
// (67 million) transitions; a permit held across exactly a multiple of that
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
inline constexpr int kGatedShift = kStateShift + kStateBits;
inline constexpr int kFoldOwedShift = kGatedShift + 1;
inline constexpr int kSuccessesWantedShift = kFoldOwedShift + 1;
inline constexpr int kGenShift = kSuccessesWantedShift + 1;
inline constexpr int kGenBits = 26;

static_assert(kTrialSuccessShift == kInFlightShift + kInFlightBits, "fields must abut");
static_assert(kGenShift + kGenBits == 64, "the fields fill the word exactly");
static_assert((1 << kStateBits) > static_cast<int>(State::kMetricsOnly),
              "every State fits in the state field");

inline constexpr uint64_t FieldMask(int bits) { return (uint64_t{1} << bits) - 1; }
inline constexpr uint64_t kGenMask = FieldMask(kGenBits);
inline constexpr uint32_t kMaxTrials = FieldMask(kInFlightBits);  // 255
inline constexpr uint64_t kGatedBit = uint64_t{1} << kGatedShift;
inline constexpr uint64_t kFoldOwedBit = uint64_t{1} << kFoldOwedShift;
inline constexpr uint64_t kSuccessesWantedBit = uint64_t{1} << kSuccessesWantedShift;
inline constexpr uint64_t kWindowBits = kFoldOwedBit | kSuccessesWantedBit;

inline constexpr uint64_t Field(uint64_t word, int shift, int bits) {
  return (word >> shift) & FieldMask(bits);
}

inline constexpr State StateOf(uint64_t word) {
  return static_cast<State>(Field(word, kStateShift, kStateBits));
}
inline constexpr uint32_t GenOf(uint64_t word) {
  return static_cast<uint32_t>(word >> kGenShift);  // the top field: no mask
}

// The state, the gate and the owed bit as one field: equal to a plain
// State's value only when the gate is open and no fold is owed, so one
// compare tests all three.
inline constexpr uint32_t StateGateAndFoldOwedOf(uint64_t word) {
  return static_cast<uint32_t>(Field(word, kStateShift, kStateBits + 2));
}

// The generation and both window bits as one value: equal to
// GenAndWindowBits(gen) only when the word is at `gen` with both clear.
inline constexpr uint64_t GenAndWindowBitsOf(uint64_t word) { return word >> kFoldOwedShift; }
inline constexpr uint64_t GenAndWindowBits(uint32_t gen) {
  return uint64_t{gen} << (kGenShift - kFoldOwedShift);
}

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
