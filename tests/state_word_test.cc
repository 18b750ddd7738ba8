// Tests of the packed state word (circuit/internal/state_word.h): every
// field round-trips, fields do not bleed into each other, NextWord() moves to
// the next generation with the trial fields cleared, and the generation
// wraps at 2^26; the gate and window bits are tested with the state and the generation.
#include "circuit/internal/state_word.h"

#include <cstdint>
#include <vector>

#include "circuit/state.h"
#include "gtest/gtest.h"

namespace circuit {
namespace internal {
namespace {

constexpr uint32_t kLastGen = (uint32_t{1} << 26) - 1;

const std::vector<State>& AllStates() {
  static const std::vector<State> kStates = {State::kClosed,     State::kOpen,
                                             State::kHalfOpen,   State::kForcedOpen,
                                             State::kDisabled,   State::kMetricsOnly};
  return kStates;
}

const std::vector<uint32_t>& SomeGenerations() {
  static const std::vector<uint32_t> kGens = {0,          1,          2,          255,
                                              256,        65535,      65536,      12345678,
                                              1u << 25,   kLastGen - 1, kLastGen};
  return kGens;
}

TEST(StateWordTest, LayoutMatchesTheDocumentedDiagram) {
  EXPECT_EQ(kInFlightShift, 0);
  EXPECT_EQ(kTrialSuccessShift, 8);
  EXPECT_EQ(kTrialFailureShift, 16);
  EXPECT_EQ(kTrialSlowShift, 24);
  EXPECT_EQ(kStateShift, 32);
  EXPECT_EQ(kStateBits, 3);
  EXPECT_EQ(kGatedShift, 35);
  EXPECT_EQ(kFoldOwedShift, 36);
  EXPECT_EQ(kSuccessesWantedShift, 37);
  EXPECT_EQ(kGenShift, 38);
  EXPECT_EQ(kGenBits, 26);
  EXPECT_EQ(kGenMask, uint64_t{kLastGen});
  EXPECT_EQ(kMaxTrials, 255u);
  EXPECT_EQ(kOneInFlight, uint64_t{1});

  // One unit in each field lands on the documented bit.
  EXPECT_EQ(MakeTrialWord(0, 1, 0, 0, 0) & 0xFFFFFFFFu, uint64_t{1} << 0);
  EXPECT_EQ(MakeTrialWord(0, 0, 1, 0, 0) & 0xFFFFFFFFu, uint64_t{1} << 8);
  EXPECT_EQ(MakeTrialWord(0, 0, 0, 1, 0) & 0xFFFFFFFFu, uint64_t{1} << 16);
  EXPECT_EQ(MakeTrialWord(0, 0, 0, 0, 1) & 0xFFFFFFFFu, uint64_t{1} << 24);
  EXPECT_EQ(MakeWord(State::kOpen, 0), uint64_t{1} << 32);
  EXPECT_EQ(MakeWord(State::kClosed, 1), uint64_t{1} << 38);
  EXPECT_EQ(kGatedBit, uint64_t{1} << 35);
  EXPECT_EQ(kFoldOwedBit, uint64_t{1} << 36);
  EXPECT_EQ(kSuccessesWantedBit, uint64_t{1} << 37);
  EXPECT_EQ(MakeWord(State::kClosed, 0), uint64_t{0});
}

TEST(StateWordTest, StateAndGenerationRoundTripForEveryStateAndManyGenerations) {
  for (State state : AllStates()) {
    for (uint32_t gen : SomeGenerations()) {
      SCOPED_TRACE(testing::Message() << "state " << static_cast<int>(state) << " gen " << gen);
      const uint64_t word = MakeWord(state, gen);
      EXPECT_EQ(StateOf(word), state);
      EXPECT_EQ(GenOf(word), gen);
      EXPECT_EQ(InFlightOf(word), 0u);
      EXPECT_EQ(TrialSuccessesOf(word), 0u);
      EXPECT_EQ(TrialFailuresOf(word), 0u);
      EXPECT_EQ(TrialSlowOf(word), 0u);
    }
  }
}

TEST(StateWordTest, EveryTrialFieldRoundTripsOverItsWholeRange) {
  for (uint32_t v = 0; v <= 255; ++v) {
    SCOPED_TRACE(testing::Message() << "value " << v);
    const uint64_t in_flight = MakeTrialWord(kLastGen, v, 0, 0, 0);
    EXPECT_EQ(InFlightOf(in_flight), v);
    EXPECT_EQ(TrialSuccessesOf(in_flight), 0u);
    EXPECT_EQ(TrialFailuresOf(in_flight), 0u);
    EXPECT_EQ(TrialSlowOf(in_flight), 0u);

    const uint64_t successes = MakeTrialWord(kLastGen, 0, v, 0, 0);
    EXPECT_EQ(InFlightOf(successes), 0u);
    EXPECT_EQ(TrialSuccessesOf(successes), v);
    EXPECT_EQ(TrialFailuresOf(successes), 0u);
    EXPECT_EQ(TrialSlowOf(successes), 0u);

    const uint64_t failures = MakeTrialWord(kLastGen, 0, 0, v, 0);
    EXPECT_EQ(InFlightOf(failures), 0u);
    EXPECT_EQ(TrialSuccessesOf(failures), 0u);
    EXPECT_EQ(TrialFailuresOf(failures), v);
    EXPECT_EQ(TrialSlowOf(failures), 0u);

    const uint64_t slow = MakeTrialWord(kLastGen, 0, 0, 0, v);
    EXPECT_EQ(InFlightOf(slow), 0u);
    EXPECT_EQ(TrialSuccessesOf(slow), 0u);
    EXPECT_EQ(TrialFailuresOf(slow), 0u);
    EXPECT_EQ(TrialSlowOf(slow), v);

    for (uint64_t word : {in_flight, successes, failures, slow}) {
      EXPECT_EQ(StateOf(word), State::kHalfOpen);
      EXPECT_EQ(GenOf(word), kLastGen);
    }
  }
}

TEST(StateWordTest, AllFieldsRoundTripTogether) {
  struct Case {
    uint32_t gen, in_flight, successes, failures, slow;
  };
  const Case cases[] = {
      {0, 0, 0, 0, 0},           {1, 1, 1, 1, 1},        {kLastGen, 255, 255, 255, 255},
      {kLastGen, 0, 255, 0, 255}, {7, 255, 0, 255, 0},    {123456, 3, 17, 42, 200},
      {1u << 25, 128, 127, 1, 254},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "gen " << c.gen << " in_flight " << c.in_flight
                                    << " successes " << c.successes << " failures "
                                    << c.failures << " slow " << c.slow);
    const uint64_t word = MakeTrialWord(c.gen, c.in_flight, c.successes, c.failures, c.slow);
    EXPECT_EQ(StateOf(word), State::kHalfOpen);
    EXPECT_EQ(GenOf(word), c.gen);
    EXPECT_EQ(InFlightOf(word), c.in_flight);
    EXPECT_EQ(TrialSuccessesOf(word), c.successes);
    EXPECT_EQ(TrialFailuresOf(word), c.failures);
    EXPECT_EQ(TrialSlowOf(word), c.slow);
  }
}

TEST(StateWordTest, AddingOneInFlightChangesOnlyTheInFlightField) {
  uint64_t word = MakeTrialWord(4242, 0, 3, 2, 1);
  for (uint32_t n = 1; n <= 255; ++n) {
    word += kOneInFlight;
    ASSERT_EQ(InFlightOf(word), n);
    ASSERT_EQ(TrialSuccessesOf(word), 3u);
    ASSERT_EQ(TrialFailuresOf(word), 2u);
    ASSERT_EQ(TrialSlowOf(word), 1u);
    ASSERT_EQ(StateOf(word), State::kHalfOpen);
    ASSERT_EQ(GenOf(word), 4242u);
  }
  word -= kOneInFlight;
  EXPECT_EQ(InFlightOf(word), 254u);
  EXPECT_EQ(TrialSuccessesOf(word), 3u);
}

TEST(StateWordTest, NextWordBumpsTheGenerationAndSetsTheState) {
  for (State from : AllStates()) {
    for (State to : AllStates()) {
      for (uint32_t gen : {0u, 1u, 99u, kLastGen - 1}) {
        const uint64_t next = NextWord(MakeWord(from, gen), to);
        EXPECT_EQ(StateOf(next), to);
        EXPECT_EQ(GenOf(next), gen + 1);
      }
    }
  }
}

TEST(StateWordTest, NextWordZeroesEveryTrialField) {
  const uint64_t half_open = MakeTrialWord(77, 5, 200, 13, 9);
  for (State to : AllStates()) {
    SCOPED_TRACE(testing::Message() << "to " << static_cast<int>(to));
    const uint64_t next = NextWord(half_open, to);
    EXPECT_EQ(GenOf(next), 78u);
    EXPECT_EQ(StateOf(next), to);
    EXPECT_EQ(InFlightOf(next), 0u);
    EXPECT_EQ(TrialSuccessesOf(next), 0u);
    EXPECT_EQ(TrialFailuresOf(next), 0u);
    EXPECT_EQ(TrialSlowOf(next), 0u);
    EXPECT_EQ(next, MakeWord(to, 78));
  }
  // Even a word with every trial bit set comes out clean.
  const uint64_t full = MakeTrialWord(kLastGen - 1, 255, 255, 255, 255);
  const uint64_t next = NextWord(full, State::kOpen);
  EXPECT_EQ(next, MakeWord(State::kOpen, kLastGen));
  EXPECT_EQ(next & 0xFFFFFFFFu, 0u);
}

TEST(StateWordTest, GenerationWrapsToZeroAfterTwoToTheTwentySix) {
  const uint64_t last = MakeWord(State::kHalfOpen, kLastGen);
  ASSERT_EQ(GenOf(last), kLastGen);
  const uint64_t wrapped = NextWord(last, State::kClosed);
  EXPECT_EQ(GenOf(wrapped), 0u);
  EXPECT_EQ(StateOf(wrapped), State::kClosed);
  EXPECT_EQ(wrapped, MakeWord(State::kClosed, 0));
  EXPECT_EQ(GenOf(NextWord(wrapped, State::kOpen)), 1u);

  // A trial word at the last generation wraps the same way.
  const uint64_t trial = MakeTrialWord(kLastGen, 1, 2, 3, 1);
  EXPECT_EQ(NextWord(trial, State::kOpen), MakeWord(State::kOpen, 0));
}

TEST(StateWordTest, GenerationsBeyondTwentySixBitsAreTakenModuloTwoToTheTwentySix) {
  EXPECT_EQ(GenOf(MakeWord(State::kOpen, 1u << 26)), 0u);
  EXPECT_EQ(GenOf(MakeWord(State::kOpen, (1u << 26) + 5)), 5u);
  EXPECT_EQ(GenOf(MakeWord(State::kOpen, 0xFFFFFFFFu)), kLastGen);
  // Masking the generation never corrupts the state field.
  EXPECT_EQ(StateOf(MakeWord(State::kOpen, 0xFFFFFFFFu)), State::kOpen);
  EXPECT_EQ(StateOf(MakeWord(State::kClosed, 0xFFFFFFFFu)), State::kClosed);
}

TEST(StateWordTest, RepeatedTransitionsCountUpThroughTheWrap) {
  // The last thousand generations, then across the wrap.
  uint64_t word = MakeWord(State::kClosed, kLastGen - 1000);
  for (int i = 0; i < 1001; ++i) word = NextWord(word, i % 2 == 0 ? State::kOpen : State::kClosed);
  EXPECT_EQ(GenOf(word), 0u);
  for (int i = 0; i < 10; ++i) word = NextWord(word, State::kHalfOpen);
  EXPECT_EQ(GenOf(word), 10u);
  EXPECT_EQ(StateOf(word), State::kHalfOpen);
}

TEST(StateWordTest, TheWindowBitsSendClosedCallsOffBothFastPaths) {
  for (uint32_t gen : SomeGenerations()) {
    SCOPED_TRACE(testing::Message() << "gen " << gen);
    for (State state : {State::kClosed, State::kMetricsOnly}) {
      const uint64_t word = MakeWord(state, gen);
      // Without the bits the combined fields read as the plain values.
      EXPECT_EQ(StateGateAndFoldOwedOf(word), static_cast<uint32_t>(state));
      EXPECT_EQ(GenAndWindowBitsOf(word), GenAndWindowBits(GenOf(word)));
      for (uint64_t bits : {kFoldOwedBit, kSuccessesWantedBit, kWindowBits}) {
        const uint64_t marked = word | bits;
        // An owed fold stops admissions at the inline compare; wanted
        // successes do not concern admissions.
        bool admitted_inline = false;
        for (State other : {State::kClosed, State::kMetricsOnly}) {
          admitted_inline |= StateGateAndFoldOwedOf(marked) == static_cast<uint32_t>(other);
        }
        EXPECT_EQ(admitted_inline, (bits & kFoldOwedBit) == 0);
        // Either bit sends a success off the inline path.
        EXPECT_NE(GenAndWindowBitsOf(marked), GenAndWindowBits(GenOf(word)));
        // The state and the generation themselves are untouched.
        EXPECT_EQ(StateOf(marked), state);
        EXPECT_EQ(GenOf(marked), GenOf(word));
        // A transition clears them.
        EXPECT_EQ(NextWord(marked, State::kOpen) & kWindowBits, 0u);
      }
    }
  }
}

TEST(StateWordTest, TheHelpersAreUsableInConstantExpressions) {
  constexpr uint64_t kWord = MakeTrialWord(9, 1, 2, 3, 0);
  static_assert(StateOf(kWord) == State::kHalfOpen, "state");
  static_assert(GenOf(kWord) == 9, "generation");
  static_assert(InFlightOf(kWord) == 1, "in flight");
  static_assert(TrialSuccessesOf(kWord) == 2, "successes");
  static_assert(TrialFailuresOf(kWord) == 3, "failures");
  static_assert(GenOf(NextWord(kWord, State::kOpen)) == 10, "next generation");
  static_assert(InFlightOf(NextWord(kWord, State::kOpen)) == 0, "next clears trials");
  EXPECT_EQ(Field(kWord, kTrialFailureShift, kTrialFailureBits), 3u);
}

TEST(StateWordTest, TheGateSendsClosedAdmissionsOffTheInlinePathButNotSuccesses) {
  for (uint32_t gen : SomeGenerations()) {
    SCOPED_TRACE(testing::Message() << "gen " << gen);
    const uint64_t word = MakeWord(State::kClosed, gen);
    for (uint64_t window_bits : {uint64_t{0}, kFoldOwedBit, kSuccessesWantedBit, kWindowBits}) {
      const uint64_t gated = word | kGatedBit | window_bits;
      // No plain state reads equal: TryAcquire() takes the slow path.
      for (State state : AllStates()) {
        EXPECT_NE(StateGateAndFoldOwedOf(gated), static_cast<uint32_t>(state));
      }
      // A success compares only the generation and the window bits.
      EXPECT_EQ(GenAndWindowBitsOf(gated), GenAndWindowBitsOf(word | window_bits));
      EXPECT_EQ(StateOf(gated), State::kClosed);
      EXPECT_EQ(GenOf(gated), gen);
      // A transition clears it.
      EXPECT_EQ(NextWord(gated, State::kOpen) & kGatedBit, 0u);
      EXPECT_EQ(NextWord(gated, State::kClosed) & kGatedBit, 0u);
    }
  }
}

}  // namespace
}  // namespace internal
}  // namespace circuit
