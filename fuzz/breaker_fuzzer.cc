// File: fuzz/breaker_fuzzer.cc
// A differential fuzzer for circuit::Breaker: the real breaker on a
// FakeClock against the sequential model of fuzz/breaker_model.h, one
// operation at a time, compared after every operation. See fuzz/README.md.
//
// Input layout (every read past the end yields 0, so any input is valid):
//
//   header (kHeaderBytes): the config, field by field (see ReadConfig()),
//     plus up to two "wild" overrides that put an arbitrary value (NaN,
//     infinities, negative or huge durations, zero sizes, huge ints) into a
//     field. Every config goes through ValidateConfig() and Create(), which
//     must agree with the documented rules (circuit_fuzz::ModelBadFields())
//     and, when they reject, name "BreakerConfig.<a bad field>".
//   operations: for a valid config, one opcode byte and its arguments at a
//     time (see RunOp()): acquire into one of 8 permit slots, resolve a slot
//     (success, failure, ignore, release, record a status, drop, move),
//     advance the clock (small, large, or onto the next deadline or bucket
//     edge +-1 ns), the operator controls, bursts of operator transitions
//     (generation wrap-arounds), the Call()/CallOrThrow()/
//     CallWithClassifier() wrappers with status, result and exception
//     outcomes, and Success(took)/Failure(took)/Record(status, took) with
//     durations the caller measured; with header byte 31 bit 6, the
//     distributed mode's hold too (SharedOp(): SetSharing(), Follow(),
//     Reopen(), Lend()).
//
// After every operation: every Metrics() field (read first: it applies no
// due transition), then, as header byte 31 says, state() and generation()
// (which apply a due HALF_OPEN deadline) and every field of Snapshot()
// (which applies it too) must equal the model's, and every
// permit slot's bool, rejected(), is_trial(), generation(),
// rejected_state() and retry_after() too. A difference prints both sides
// and traps (__builtin_trap()).
//
// Slow start (slow_start_duration, header byte 16 bits 4-7) draws each
// admission during its ramp at random: the model holds the breaker to what
// can be known (at the ramp's first instants, f == 0, every call is shed;
// at or past its end every call is admitted; a shed call is rejected in
// CLOSED with the time left in the ramp as its retry delay, counts in
// Metrics().rejected and shed and changes nothing else) and follows the
// breaker's answer otherwise, as it follows a jittered deadline.
//
// The latency-percentile trip (latency_percentile and its threshold,
// header bytes 6-7 bits 5-14 when bit 15 is clear) is compared exactly:
// trips (LATENCY_PERCENTILE, value and threshold), and Snapshot()'s
// latency_percentile, latency_percentile_calls, latency_percentile_threshold.
//
// Adaptive throttling (adaptive_throttling, header byte 1 bits 3-7) draws
// too, against the probability judged last for the generation: the model
// keeps what the judge sees and when it judges (the window, the gate's
// rejections by bucket, the fold points, the bucket claim), so it knows
// whether the gate is set and whether p is 0; it follows the breaker's
// draw only where the share admitted is strictly between 0 and 1, and
// compares Snapshot()'s throttle_probability, throttle_requests and
// throttle_accepts exactly.
//
// FUZZ_TRACE=1 in the environment prints each operation as it runs, with
// the model's view, to decode a crashing input.
#include <array>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/circuit.h"
#include "circuit/fake_clock.h"
#include "circuit/internal/shared_control.h"
#include "fuzz/breaker_model.h"

namespace {

using circuit::Breaker;
using circuit::BreakerConfig;
using circuit::BreakerMetrics;
using circuit::kNumStates;
using circuit::FakeClock;
using circuit::Outcome;
using circuit::Permit;
using circuit::Sharing;
using circuit::SlowCallClock;
using circuit::State;
using circuit::StateName;
using circuit::WindowType;
using circuit_fuzz::BreakerModel;
using circuit_fuzz::ModelMetrics;
using circuit_fuzz::ModelPermit;

constexpr int kSlots = 8;
// Operations: the opcode byte modulo this (see RunOp()).
constexpr int kOpCodes = 26;
// With header byte 31 bit 6 (FuzzConfig::shared_ops), the opcode bytes from
// here up (234 to 255, which read as aliases of 0 to 21 otherwise) are the
// distributed mode's operations (Run::SharedOp()): older inputs, whose bit 6
// is 0, run as they ran then.
constexpr int kSharedOpBase = 256 / kOpCodes * kOpCodes;
constexpr int kMaxOps = 4096;
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDay = 86'400 * kSecond;
// The deadline word holds 50 bits of microseconds from the breaker's
// creation (35 years, docs/design.md section 3); keep the fake clock within
// 5 years of its start so that now + 365 days always fits.
constexpr int64_t kMaxClock = 5 * 365 * kDay;
// Clock origins (flags bit 7): the breaker must work whatever the origin.
constexpr int64_t kOrigins[] = {
    1'764'000'000 * kSecond,               // a Unix-epoch clock (late 2025)
    -(int64_t{1} << 62),                   // far negative
    10 * 365 * kDay,                       // a fake clock ten years in
    std::numeric_limits<int64_t>::max() - 6 * 365 * kDay,  // near the top
};
// A streak of gated draws less likely than this (log2) is a mismatch.
constexpr double kImprobableLog2 = -50;
// Bounds the work of the transition bursts in one input.
constexpr int64_t kMaxBurstTransitions = 70'000;

bool Tracing() {
  static const bool on = [] {
    const char* v = std::getenv("FUZZ_TRACE");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return on;
}



#define TRACE(...)                       \
  do {                                   \
    if (Tracing()) {                     \
      std::fprintf(stderr, __VA_ARGS__); \
    }                                    \
  } while (0)

// ---- Input bytes ----------------------------------------------------------------

class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() | (U8() << 8)); }
  uint32_t U32() { return U16() | (static_cast<uint32_t>(U16()) << 16); }
  size_t pos() const { return pos_; }
  // Starts the operations at `pos` whatever the header read.
  void Seek(size_t pos) { pos_ = pos; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// ---- Exceptions the fuzzed callables throw ----------------------------------------

struct TimeoutError : std::runtime_error {
  TimeoutError() : std::runtime_error("timed out") {}
};
struct Cancelled : std::exception {
  const char* what() const noexcept override { return "cancelled"; }
};
struct BusinessError : std::exception {
  const char* what() const noexcept override { return "no such account"; }
};
enum class Thrown : uint8_t { kTimeout, kCancelled, kBusiness, kInt, kCount };

[[noreturn]] void ThrowKind(Thrown kind) {
  switch (kind) {
    case Thrown::kTimeout:
      throw TimeoutError();
    case Thrown::kCancelled:
      throw Cancelled();
    case Thrown::kBusiness:
      throw BusinessError();
    default:
      throw 42;
  }
}

const char* ThrownName(Thrown kind) {
  switch (kind) {
    case Thrown::kTimeout:
      return "TimeoutError";
    case Thrown::kCancelled:
      return "Cancelled";
    case Thrown::kBusiness:
      return "BusinessError";
    default:
      return "int";
  }
}

// ---- Classifiers (the config's and the model's view of them) -----------------------

// status_is_failure choices.
enum class StatusRule : uint8_t { kDefault, kFailOnCodes, kFailExceptCodes, kThrowing };
// exception_is_failure / exception_is_ignored choices.
enum class ExceptionRule : uint8_t { kDefault, kTyped, kNoneFail, kThrowingIgnored };

Outcome ModelClassifyStatus(StatusRule rule, absl::StatusCode code) {
  // An OK status is a success whatever the classifier (Breaker::Classify()).
  if (code == absl::StatusCode::kOk) return Outcome::kSuccess;
  switch (rule) {
    case StatusRule::kDefault:
      return Outcome::kFailure;
    case StatusRule::kFailOnCodes:
      return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded
                 ? Outcome::kFailure
                 : Outcome::kSuccess;
    case StatusRule::kFailExceptCodes:
      return code == absl::StatusCode::kNotFound || code == absl::StatusCode::kInvalidArgument
                 ? Outcome::kSuccess
                 : Outcome::kFailure;
    case StatusRule::kThrowing:
      // Throws on kInternal: "a classifier that throws says failure".
      if (code == absl::StatusCode::kInternal) return Outcome::kFailure;
      return code == absl::StatusCode::kUnavailable ? Outcome::kFailure : Outcome::kSuccess;
  }
  return Outcome::kFailure;
}

Outcome ModelClassifyException(ExceptionRule rule, Thrown kind) {
  switch (rule) {
    case ExceptionRule::kDefault:
      return Outcome::kFailure;  // every exception fails, none is ignored
    case ExceptionRule::kTyped:
      // ignored: Cancelled; failure: TimeoutError; the rest: success.
      if (kind == Thrown::kCancelled) return Outcome::kIgnored;
      return kind == Thrown::kTimeout ? Outcome::kFailure : Outcome::kSuccess;
    case ExceptionRule::kNoneFail:
      return Outcome::kSuccess;
    case ExceptionRule::kThrowingIgnored:
      // The ignored-classifier throws on int: failure. Else AnyException.
      if (kind == Thrown::kCancelled) return Outcome::kIgnored;
      return Outcome::kFailure;
  }
  return Outcome::kFailure;
}

void InstallClassifiers(BreakerConfig& config, StatusRule status_rule,
                        ExceptionRule exception_rule) {
  switch (status_rule) {
    case StatusRule::kDefault:
      break;
    case StatusRule::kFailOnCodes:
      config.status_is_failure = circuit::FailOnCodes(
          {absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded});
      break;
    case StatusRule::kFailExceptCodes:
      config.status_is_failure = circuit::FailExceptCodes(
          {absl::StatusCode::kNotFound, absl::StatusCode::kInvalidArgument});
      break;
    case StatusRule::kThrowing:
      config.status_is_failure = [](const absl::Status& s) -> bool {
        if (s.code() == absl::StatusCode::kInternal) throw std::logic_error("classifier");
        return s.code() == absl::StatusCode::kUnavailable;
      };
      break;
  }
  switch (exception_rule) {
    case ExceptionRule::kDefault:
      break;
    case ExceptionRule::kTyped:
      config.exception_is_ignored = circuit::ExceptionIsAnyOf<Cancelled>();
      config.exception_is_failure = circuit::ExceptionIsAnyOf<TimeoutError>();
      break;
    case ExceptionRule::kNoneFail:
      config.exception_is_failure = circuit::NoException();
      break;
    case ExceptionRule::kThrowingIgnored:
      config.exception_is_ignored = [](const std::exception_ptr& e) -> bool {
        try {
          std::rethrow_exception(e);
        } catch (const Cancelled&) {
          return true;
        } catch (int) {
          throw std::logic_error("classifier");
        } catch (...) {
          return false;
        }
      };
      config.exception_is_failure = circuit::AnyException();
      break;
  }
}

// ---- Config from bytes ---------------------------------------------------------------

constexpr size_t kHeaderBytes = 32;

// A positive (or, with allow_zero, non-negative) duration of whole
// nanoseconds: a 12-bit magnitude times one of 16 units.
absl::Duration SaneDuration(uint16_t v, bool allow_zero) {
  static constexpr int64_t kUnits[16] = {
      1,          7,           1'000,       999,          1'000'000,    1'001'000,
      10'000'000, 100'000'000, kSecond,     10 * kSecond, 60 * kSecond, 3'600 * kSecond,
      kDay,       1'000'003,   333'333'333, 2'500'000'000};
  int64_t magnitude = v & 0xFFF;
  if (!allow_zero) magnitude += 1;
  return absl::Nanoseconds(magnitude * kUnits[v >> 12]);
}

absl::Duration Clamp(absl::Duration d, absl::Duration lo, absl::Duration hi) {
  return d < lo ? lo : (d > hi ? hi : d);
}

double SanePercent(uint8_t b) {
  static constexpr double kOdd[] = {33.3, 66.7, 0.5, 99.99, 12.5, 100, 50, 1e-9, 0.1, 1.0 / 3};
  if (b <= 100) return b;
  if (b < 160) return 0;  // off, more often
  return kOdd[b % (sizeof(kOdd) / sizeof(kOdd[0]))];
}

// Wild values, most of them invalid somewhere.
int WildInt(uint8_t b) {
  static constexpr int kInts[] = {0,
                                  -1,
                                  1,
                                  std::numeric_limits<int>::min(),
                                  std::numeric_limits<int>::max(),
                                  1'000'000,
                                  1'000'001,
                                  1'000'000'000,
                                  1'000'000'001,
                                  255,
                                  256,
                                  1000,
                                  1001,
                                  1024,
                                  1025,
                                  2,
                                  100,
                                  16,
                                  -1'000'000'000};
  return kInts[b % (sizeof(kInts) / sizeof(kInts[0]))];
}

double WildDouble(uint8_t b) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const double kDoubles[] = {nan,
                             -nan,
                             inf,
                             -inf,
                             -0.0,
                             0,
                             100,
                             std::nextafter(100.0, 200.0),
                             -1e-300,
                             1e308,
                             50,
                             1,
                             std::nextafter(1.0, 0.0),
                             1000,
                             std::nextafter(1000.0, 2000.0),
                             std::numeric_limits<double>::denorm_min(),
                             0.5,
                             std::nextafter(1.0, 2.0),
                             std::numeric_limits<double>::signaling_NaN()};
  return kDoubles[b % (sizeof(kDoubles) / sizeof(kDoubles[0]))];
}

absl::Duration WildDuration(uint8_t b) {
  const absl::Duration year = absl::Hours(24 * 365);
  const absl::Duration kDurations[] = {
      absl::ZeroDuration(),
      absl::Nanoseconds(-1),
      absl::Nanoseconds(1),
      absl::InfiniteDuration(),
      -absl::InfiniteDuration(),
      year,
      year + absl::Nanoseconds(1),
      absl::Hours(24 * 366),
      absl::Nanoseconds(std::numeric_limits<int64_t>::max()),
      absl::Nanoseconds(std::numeric_limits<int64_t>::min()),
      absl::Hours(1e9),
      absl::Nanoseconds(0.25),
      absl::Milliseconds(1) - absl::Nanoseconds(1),
      absl::Microseconds(999),
      absl::Seconds(1),
      absl::Milliseconds(1),
      year - absl::Nanoseconds(1),
      absl::Seconds(-30),
      absl::Hours(-1e9),
      absl::Nanoseconds(1.75),
  };
  return kDurations[b % (sizeof(kDurations) / sizeof(kDurations[0]))];
}

enum WildField : uint8_t {
  kWildNone = 0,
  kWildName,
  kWildConsecutive,
  kWildFailurePct,
  kWildSlowPct,
  kWildSlowDuration,
  kWildWindowType,
  kWildWindowSize,
  kWildWindowDuration,
  kWildWindowBuckets,
  kWildMinimumCalls,
  kWildOpenDuration,
  kWildMultiplier,
  kWildMaxOpen,
  kWildJitter,
  kWildMaxConcurrent,
  kWildTrialCalls,
  kWildJudge,
  kWildHalfOpenMax,
  kWildStripes,
  kWildSuccessesToClose,
  kWildSlowCallClock,
  kWildFieldCount,
  // Not reached by `field % kWildFieldCount`: wild field bytes from
  // kWildProbeBase up (250 to 255, which read as aliases of 8 to 13 before)
  // pick these two, so older inputs decode as they did.
  kWildProbeTimeout = kWildFieldCount,
  kWildProbeOutcome,
};
constexpr uint8_t kWildProbeBase = 250;

// The wild field a header byte names.
uint8_t WildFieldOf(uint8_t b) {
  if (b >= kWildProbeBase) return b < kWildProbeBase + 3 ? kWildProbeTimeout : kWildProbeOutcome;
  return b % kWildFieldCount;
}

const char* WildFieldName(uint8_t f) {
  static const char* const kNames[] = {
      "none",           "name",          "consecutive",   "failure_pct",       "slow_pct",
      "slow_duration",  "window_type",   "window_size",   "window_dur",        "window_buckets",
      "minimum_calls",  "open_duration", "multiplier",    "max_open",          "jitter",
      "max_concurrent", "trial_calls",   "judge_by_rate", "half_open_max_dur", "stripes",
      "successes_to_close", "slow_call_clock", "probe_timeout", "probe_timeout_outcome"};
  return f <= kWildProbeOutcome ? kNames[f] : "?";
}

void ApplyWild(BreakerConfig& c, uint8_t field, uint8_t v) {
  switch (WildFieldOf(field)) {
    case kWildNone:
      break;
    case kWildName:
      c.name = (v & 1) ? "" : std::string(v, 'n');
      break;
    case kWildConsecutive:
      c.consecutive_failures_to_open = WildInt(v);
      break;
    case kWildFailurePct:
      c.failure_rate_threshold = WildDouble(v);
      break;
    case kWildSlowPct:
      c.slow_call_rate_threshold = WildDouble(v);
      break;
    case kWildSlowDuration:
      c.slow_call_duration = WildDuration(v);
      break;
    case kWildWindowType:
      c.window_type = static_cast<WindowType>(v);
      break;
    case kWildWindowSize:
      c.window_size = WildInt(v);
      break;
    case kWildWindowDuration:
      c.window_duration = WildDuration(v);
      break;
    case kWildWindowBuckets:
      c.window_buckets = WildInt(v);
      break;
    case kWildMinimumCalls:
      c.minimum_calls = WildInt(v);
      break;
    case kWildOpenDuration:
      c.open_duration = WildDuration(v);
      break;
    case kWildMultiplier:
      c.open_backoff_multiplier = WildDouble(v);
      break;
    case kWildMaxOpen:
      c.max_open_duration = WildDuration(v);
      break;
    case kWildJitter:
      c.open_jitter = WildDouble(v);
      break;
    case kWildMaxConcurrent:
      c.half_open_max_concurrent = WildInt(v);
      break;
    case kWildTrialCalls:
      c.half_open_trial_calls = WildInt(v);
      break;
    case kWildJudge:
      c.half_open_judge_by_rate = (v & 1) != 0;
      break;
    case kWildHalfOpenMax:
      c.half_open_max_duration = WildDuration(v);
      break;
    case kWildStripes:
      c.stripes = WildInt(v);
      break;
    case kWildSuccessesToClose:
      c.half_open_successes_to_close = WildInt(v);
      break;
    case kWildSlowCallClock:
      c.slow_call_clock = static_cast<SlowCallClock>(v);
      break;
    case kWildProbeTimeout:
      c.half_open_probe_timeout = WildDuration(v);
      break;
    case kWildProbeOutcome:
      c.half_open_probe_timeout_outcome = static_cast<circuit::ProbeTimeoutOutcome>(v);
      break;
  }
}

struct FuzzConfig {
  BreakerConfig config;
  StatusRule status_rule = StatusRule::kDefault;
  ExceptionRule exception_rule = ExceptionRule::kDefault;
  int64_t clock_start = kSecond;
  bool wild = false;
  // Which of Breaker::state() and generation() Compare() calls after an
  // operation (both apply a due HALF_OPEN deadline; Metrics() does not):
  // 0 both, after every operation; 1 neither (a deadline is then applied
  // only by a call, a trial's outcome or release); 2 both, after every
  // other operation; 3 generation() first, then state().
  uint8_t observe = 0;
  // When Compare() also calls Breaker::Snapshot() (which applies a due
  // HALF_OPEN deadline too) and compares every field with the model's
  // BreakerModel::Snapshot(): 0 never (older inputs); 1 after every
  // operation, after Metrics() and before state()/generation(); 2 the same
  // after every other operation (the even ones); 3 after every operation,
  // after state()/generation().
  uint8_t snapshot = 0;
  // Opcode bytes from kSharedOpBase up are Run::SharedOp()'s (byte 31 bit
  // 6; false for every input written before).
  bool shared_ops = false;
  // Byte 31 bit 7: operation 24's fourth way, Permit::FailureRetryAfter()
  // with its amount as the wait (older inputs: three ways, as then).
  bool retry_after_ops = false;
};

// Header layout (byte: meaning):
//   0  flags: bit0 time window, bit1 judge_by_rate, bits2-3 status rule,
//      bits4-5 exception rule, bit6 jitter on (byte 27), bit7 clock origin
//      from kOrigins (bytes 22-25: low 2 bits pick it, the rest add ns)
//   1  consecutive_failures_to_open: b % 8, 0 = unset (5 without a rate
//      threshold, else off; an explicit 0 comes from a wild override);
//      b >= 248: b * 1000; below 248, bits 3-7 (aliases before)
//      adaptive_throttling and its K (Throttle(): 0 off)
//   2  failure_rate_threshold (SanePercent)
//   3  slow_call_rate_threshold (SanePercent)
//   4-5 slow_call_duration (SaneDuration)
//   6-7 window_size: b15 ? (v & 0x7FFF) + 1 : v % 32 + 1; with b15 clear,
//      bits 5-14 (aliases before) the latency-percentile trip (Latency())
//   8-9 window_duration (SaneDuration, raised to 1 ms per bucket)
//   10 window_buckets: b7 ? (b & 0x7F) * 8 + 1 : b % 16 + 1; with b7 clear,
//      bit4 half_open_probe_timeout_outcome kReleased (else kFailure) and
//      bits5-6 the timeout's offset (ProbeTimeout())
//   11-12 minimum_calls: b15 ? (v & 0x7FFF) + 1 : v % 32 + 1
//   13-14 open_duration (SaneDuration, at most 365 days)
//   15 open_backoff_multiplier: 0 -> 1, else a table or 1 + b / 16
//   16 max_open_duration: open_duration * (1 + b % 16), at most 365 days;
//      b >= 0xF0: 365 days; bits 4-7 (aliases before) slow_start_duration
//      (SlowStart(): 0x0_ and 0x9_ to 0xF_ off, 0x1_ to 0x7_ a ramp of
//      1 ms to 30 s, 0x8_ a wild value picked by the low nibble)
//   17 half_open_trial_calls: b7 ? (b & 0x7F) * 2 + 1 : b % 8 + 1; with b7
//      clear, bits3-6 half_open_probe_timeout (ProbeTimeout(): 0-3 off)
//   18 half_open_max_concurrent: 1 + b % trial_calls
//   19-20 half_open_max_duration (SaneDuration, 0 allowed = off)
//   21 stripes: b % 4 + 1; b == 255: 1024
//   22-25 clock start: 1 s + this many ns
//   26-29 two wild overrides: (field, value) x 2
//   27 doubles as the jitter (b / 256 * 0.99) when flag bit6 is set
//   30 half_open_successes_to_close (S): b % (half_open_trial_calls + 1),
//      0 with judge_by_rate (0 = every trial must succeed)
//   31 bits0-1 slow_call_clock (kAuto, kPrecise, kCoarse, kCaller);
//      bits2-3 which of state() and generation() Compare() calls
//      (FuzzConfig::observe); bits4-5 when it calls Snapshot()
//      (FuzzConfig::snapshot); bit6 the distributed mode's operations
//      (FuzzConfig::shared_ops); bit7 FailureRetryAfter() among the
//      resolutions with a duration (FuzzConfig::retry_after_ops)
//   wild field bytes 250-255: half_open_probe_timeout (WildDuration) and
//      half_open_probe_timeout_outcome (any enum value), see WildFieldOf()
// Inputs written before bytes 30-31 were read have zeros there: S = 0,
// kAuto, both observed after every operation, no Snapshot(), as then; and
// before bit 6 of byte 31, no distributed mode's operations. Every seed
// and regression written before slow start has byte 16 under 0x10: no
// slow start, as then; and every one written before adaptive throttling
// has byte 1 under 8 (or 248 and up): no throttling, K = 2, as then; and
// every one written before the latency-percentile trip has bits 5-14 of
// bytes 6-7 clear (or bit 15 set): no latency trip, as then.
// half_open_probe_timeout from byte 17 bits 3-6 (`index`) and byte 10 bits
// 5-6 (`offset`), both read only when their byte's bit 7 is clear: index 0
// to 3 off (every input written before had 0 there, but one regression with
// 2), else 1 ms to 30 s, plus 0, 1 ns, 999'999 ns or 333'333 ns (deadlines
// are rounded up to a millisecond from the breaker's creation).
absl::Duration ProbeTimeout(uint8_t index, uint8_t offset) {
  static constexpr int64_t kMs = 1'000'000;
  static constexpr int64_t kTimeouts[12] = {1 * kMs,   2 * kMs,   3 * kMs,   5 * kMs,
                                            10 * kMs,  50 * kMs,  100 * kMs, 250 * kMs,
                                            1000 * kMs, 2000 * kMs, 5000 * kMs, 30000 * kMs};
  static constexpr int64_t kOffsets[4] = {0, 1, 999'999, 333'333};
  if (index < 4) return absl::ZeroDuration();
  return absl::Nanoseconds(kTimeouts[index - 4] + kOffsets[offset & 3]);
}

// slow_start_duration from byte 16's high nibble (`nibble`) and, for the
// wild values, its low one (`low`, which also sets max_open_duration). Off
// for half of the nibbles (0, and 9 to 15, which include the 365-day
// max_open_duration of 0xF_); 1 to 7 ramps short enough for one input
// to see them start and end (the odd nanoseconds put the end off the
// microsecond grid: the deadline word rounds it up); 8 one of 16 values
// at and around the rule's bounds (0 or 1 ms..1 day), most invalid.
absl::Duration SlowStart(uint8_t nibble, uint8_t low) {
  static constexpr int64_t kMs = 1'000'000;
  static constexpr int64_t kRamps[7] = {1 * kMs,   3 * kMs + 1,        10 * kMs, 50 * kMs + 999,
                                        200 * kMs, 1000 * kMs + 333'333, 30'000 * kMs};
  if (nibble >= 1 && nibble <= 7) return absl::Nanoseconds(kRamps[nibble - 1]);
  if (nibble != 8) return absl::ZeroDuration();
  const absl::Duration day = absl::Hours(24);
  const absl::Duration kWild[16] = {
      absl::ZeroDuration(),  // off
      absl::Milliseconds(1) - absl::Nanoseconds(1),  // invalid
      absl::Milliseconds(1),
      day,
      day + absl::Nanoseconds(1),  // invalid
      absl::Nanoseconds(-1),  // invalid
      absl::InfiniteDuration(),  // invalid
      absl::Nanoseconds(0.25),  // invalid
      absl::Milliseconds(1) + absl::Nanoseconds(0.5),  // taken as whole ns
      absl::Microseconds(999),  // invalid
      absl::Seconds(1),
      day - absl::Nanoseconds(1),
      -absl::InfiniteDuration(),  // invalid
      absl::Nanoseconds(std::numeric_limits<int64_t>::max()),  // invalid
      absl::Milliseconds(2),
      absl::Hours(-1e9),  // invalid
  };
  return kWild[low & 15];
}

// adaptive_throttling and adaptive_throttling_k from byte 1 bits 3-7
// (`t`, when byte 1 < 248). 0: off, K = 2 (every input written before);
// 1 to 24: K from the table below (16 valid, then 8 invalid ones, checked
// whether throttling is on or not), throttling on only with a time window
// (with a count window the input runs unthrottled, or fails validation on
// K alone); 25 to 30: on whatever the window (a count window is invalid),
// with K = 2, 1, 100, NaN, 1.5, 1e308. With nextafter(2, 0), a success and
// a failure give p = 2^-52 / 3: > 0 in Snapshot(), 0 as judged (x 2^32,
// truncated), so no gate.
void Throttle(uint8_t t, BreakerConfig& c) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double kKs[24] = {2, 1, 1.5, 3, 10, 100, std::nextafter(1.0, 2.0),
                          std::nextafter(100.0, 0.0), std::nextafter(2.0, 0.0), 1.25, 4, 50,
                          1.0000001, 2.5, 1.1, 7,
                          // invalid
                          0, std::nextafter(1.0, 0.0), std::nextafter(100.0, 200.0), nan,
                          std::numeric_limits<double>::infinity(), -1, 101, 0.5};
  const double kForced[6] = {2, 1, 100, nan, 1.5, 1e308};
  if (t == 0) return;
  if (t <= 24) {
    c.adaptive_throttling_k = kKs[t - 1];
    c.adaptive_throttling = c.window_type == WindowType::kTimeBased;
  } else {
    c.adaptive_throttling_k = kForced[(t - 25) % 6];
    c.adaptive_throttling = true;
  }
}

// latency_percentile and latency_percentile_threshold from bits 5-14 of
// window_size's u16 (`v`, read only when its bit 15 is clear: bits 5-14
// only repeated window sizes 1 to 32 before, and every stored input has
// them clear). Bits 5-8 pick the percentile (0: off): 50, 90, 99, 99.9,
// 100, 100/3 (33.333333333333336: rank n/3, not n/3 + 1), 0.1, 75, 99.99,
// the least denormal (rank 1), -0 (off), then the invalid NaN, -1,
// 100 + 1 ulp, infinity; bits 9-12 the threshold: 10 ms, 1 us, 1 ms, 25 ms,
// 250 us, 1.2 ms (1.25 ms in force), 100 s, 1 us + 1 ns (1.125 us),
// 3 us, 137 us (137.5 us), 100 s - 1 ns, then the invalid 999 ns, 0,
// 100 s + 1 ns, infinity, and 1 us + 0.5 ns (valid; a fraction of a
// nanosecond, in force as 1.125 us by the rule); bit 13 sets
// consecutive_failures_to_open = 0 (the latency trip alone, or nothing
// with an invalid percentile); bit 14 sets the percentile whatever the
// window (else only with a time window: a count window is invalid). The
// threshold is set with any percentile index but 0, so a threshold with
// the trip off (a count window, -0) is checked not to matter.
void Latency(uint16_t v, BreakerConfig& c) {
  if (v & 0x8000) return;
  const uint8_t percentile = (v >> 5) & 15;
  if (percentile == 0) return;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const double kPercentiles[15] = {
      50, 90, 99, 99.9, 100, 100.0 / 3, 0.1, 75, 99.99, std::numeric_limits<double>::denorm_min(),
      -0.0,
      // invalid
      nan, -1, std::nextafter(100.0, 200.0), inf};
  const absl::Duration kThresholds[16] = {
      absl::Milliseconds(10),
      absl::Microseconds(1),
      absl::Milliseconds(1),
      absl::Milliseconds(25),
      absl::Microseconds(250),
      absl::Microseconds(1200),
      absl::Seconds(100),
      absl::Nanoseconds(1001),
      absl::Microseconds(3),
      absl::Microseconds(137),
      absl::Seconds(100) - absl::Nanoseconds(1),
      // invalid
      absl::Nanoseconds(999),
      absl::ZeroDuration(),
      absl::Seconds(100) + absl::Nanoseconds(1),
      absl::InfiniteDuration(),
      // valid, a fraction of a nanosecond over 1 us
      absl::Nanoseconds(1000.5),
  };
  c.latency_percentile_threshold = kThresholds[(v >> 9) & 15];
  if (c.window_type == WindowType::kTimeBased || (v & 0x4000)) {
    c.latency_percentile = kPercentiles[percentile - 1];
  }
  if (v & 0x2000) c.consecutive_failures_to_open = 0;
}

FuzzConfig ReadConfig(Bytes& in) {
  FuzzConfig f;
  BreakerConfig& c = f.config;
  const uint8_t flags = in.U8();
  c.window_type = (flags & 1) ? WindowType::kTimeBased : WindowType::kCountBased;
  f.status_rule = static_cast<StatusRule>((flags >> 2) & 3);
  f.exception_rule = static_cast<ExceptionRule>((flags >> 4) & 3);

  const uint8_t consecutive = in.U8();
  if (consecutive >= 248) {
    c.consecutive_failures_to_open = consecutive * 1000;
  } else {
    if (consecutive % 8 != 0) c.consecutive_failures_to_open = consecutive % 8;
    Throttle(consecutive >> 3, c);
  }
  c.failure_rate_threshold = SanePercent(in.U8());
  c.slow_call_rate_threshold = SanePercent(in.U8());
  c.slow_call_duration = SaneDuration(in.U16(), /*allow_zero=*/false);
  const uint16_t window_size = in.U16();
  c.window_size = (window_size & 0x8000) ? (window_size & 0x7FFF) + 1 : window_size % 32 + 1;
  Latency(window_size, c);
  const absl::Duration window_duration = SaneDuration(in.U16(), /*allow_zero=*/false);
  const uint8_t buckets = in.U8();
  c.window_buckets = (buckets & 0x80) ? (buckets & 0x7F) * 8 + 1 : buckets % 16 + 1;
  c.window_duration = std::max(window_duration, absl::Milliseconds(1) * c.window_buckets);
  const uint16_t minimum_calls = in.U16();
  c.minimum_calls =
      (minimum_calls & 0x8000) ? (minimum_calls & 0x7FFF) + 1 : minimum_calls % 32 + 1;
  const absl::Duration year = absl::Hours(24 * 365);
  c.open_duration = Clamp(SaneDuration(in.U16(), false), absl::Nanoseconds(1), year);
  const uint8_t multiplier = in.U8();
  static constexpr double kMultipliers[] = {1, 1.5, 2, 3, 10, 1000, 1.0000001, 7.77};
  c.open_backoff_multiplier = multiplier == 0     ? 1
                              : multiplier < 0x80 ? kMultipliers[multiplier % 8]
                                                  : 1 + (multiplier & 0x7F) / 16.0;
  const uint8_t max_open = in.U8();
  c.max_open_duration =
      max_open >= 0xF0 ? year : std::min(year, c.open_duration * (1 + max_open % 16));
  c.slow_start_duration = SlowStart(max_open >> 4, max_open & 15);
  const uint8_t trials = in.U8();
  c.half_open_trial_calls = (trials & 0x80) ? (trials & 0x7F) * 2 + 1 : trials % 8 + 1;
  if ((trials & 0x80) == 0) {
    const uint8_t probe_bits = (buckets & 0x80) ? 0 : buckets >> 4;
    c.half_open_probe_timeout = ProbeTimeout((trials >> 3) & 15, (probe_bits >> 1) & 3);
    if (probe_bits & 1) c.half_open_probe_timeout_outcome = circuit::ProbeTimeoutOutcome::kReleased;
  }
  c.half_open_max_concurrent = 1 + in.U8() % c.half_open_trial_calls;
  c.half_open_judge_by_rate = (flags & 2) != 0;
  if (c.failure_rate_threshold == 0 && c.slow_call_rate_threshold == 0) {
    c.half_open_judge_by_rate = false;
  }
  c.half_open_max_duration = std::min(SaneDuration(in.U16(), /*allow_zero=*/true), year);
  const uint8_t stripes = in.U8();
  if (stripes == 255) {
    c.stripes = 1024;
  } else if (stripes != 254) {  // 254: unset, the machine's default
    c.stripes = stripes % 5;    // 0: every thread counts per CPU
  }
  const uint32_t clock_bytes = in.U32();
  f.clock_start = (flags & 0x80) ? kOrigins[clock_bytes & 3] + (clock_bytes >> 2)
                                 : kSecond + static_cast<int64_t>(clock_bytes);
  const uint8_t wild_field_1 = in.U8();
  const uint8_t wild_value_1 = in.U8();
  const uint8_t wild_field_2 = in.U8();
  const uint8_t wild_value_2 = in.U8();
  if (flags & 0x40) c.open_jitter = wild_value_1 / 256.0 * 0.99;
  const uint8_t successes_to_close = in.U8();
  c.half_open_successes_to_close =
      c.half_open_judge_by_rate ? 0 : successes_to_close % (c.half_open_trial_calls + 1);
  const uint8_t byte31 = in.U8();
  c.slow_call_clock = static_cast<SlowCallClock>(byte31 & 3);
  f.observe = (byte31 >> 2) & 3;
  f.snapshot = (byte31 >> 4) & 3;
  f.shared_ops = (byte31 & 0x40) != 0;
  f.retry_after_ops = (byte31 & 0x80) != 0;
  ApplyWild(c, wild_field_1, wild_value_1);
  ApplyWild(c, wild_field_2, wild_value_2);
  f.wild = WildFieldOf(wild_field_1) != 0 || WildFieldOf(wild_field_2) != 0;
  TRACE("wild: %s=%u %s=%u\n", WildFieldName(WildFieldOf(wild_field_1)), wild_value_1,
        WildFieldName(WildFieldOf(wild_field_2)), wild_value_2);
  InstallClassifiers(c, f.status_rule, f.exception_rule);
  in.Seek(kHeaderBytes);
  return f;
}

std::string Describe(const BreakerConfig& c) {
  return absl::StrCat(
      "consecutive=",
      c.consecutive_failures_to_open ? absl::StrCat(*c.consecutive_failures_to_open) : "unset",
      " failure%=", c.failure_rate_threshold,
      " slow%=", c.slow_call_rate_threshold,
      " slow_call=", absl::FormatDuration(c.slow_call_duration),
      " window=", c.window_type == WindowType::kTimeBased ? "time" : "count",
      " size=", c.window_size, " duration=", absl::FormatDuration(c.window_duration),
      " buckets=", c.window_buckets, " min_calls=", c.minimum_calls,
      " open=", absl::FormatDuration(c.open_duration), " x", c.open_backoff_multiplier,
      " max_open=", absl::FormatDuration(c.max_open_duration), " jitter=", c.open_jitter,
      " concurrent=", c.half_open_max_concurrent, " trials(K)=", c.half_open_trial_calls,
      " S=", c.half_open_successes_to_close, " judge_by_rate=", c.half_open_judge_by_rate,
      " slow_clock=", static_cast<int>(c.slow_call_clock),
      " half_open_max=", absl::FormatDuration(c.half_open_max_duration),
      " probe_timeout=", absl::FormatDuration(c.half_open_probe_timeout),
      " probe_outcome=", static_cast<int>(c.half_open_probe_timeout_outcome),
      " slow_start=", absl::FormatDuration(c.slow_start_duration),
      " throttling=", c.adaptive_throttling, " K=", c.adaptive_throttling_k,
      " latency_percentile=", c.latency_percentile,
      " latency_threshold=", absl::FormatDuration(c.latency_percentile_threshold), " stripes=",
      c.stripes ? absl::StrCat(*c.stripes) : "unset");
}

// ---- Validation ----------------------------------------------------------------------

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "\n==== breaker_fuzzer: MISMATCH ====\n%s\n", what.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

// ValidateConfig() never crashes; it agrees with the documented rules; a
// rejection is InvalidArgument naming "BreakerConfig.<a bad field> must be
// ..., got ...". Create() says the same. Returns true if the config is valid.
bool CheckValidation(const BreakerConfig& config) {
  const absl::Status status = circuit::ValidateConfig(config);
  const std::set<std::string> bad = circuit_fuzz::ModelBadFields(config);
  std::string bad_list;
  for (const std::string& b : bad) absl::StrAppend(&bad_list, b, " ");
  if (status.ok() != bad.empty()) {
    Die(absl::StrCat("ValidateConfig() says ", status.ToString(), "; the documented rules say ",
                     bad.empty() ? "valid" : absl::StrCat("invalid: ", bad_list),
                     "\nconfig: ", Describe(config)));
  }
  const absl::StatusOr<std::unique_ptr<Breaker>> created =
      status.ok() ? absl::StatusOr<std::unique_ptr<Breaker>>(absl::UnknownError("skipped"))
                  : Breaker::Create(config);
  if (status.ok()) return true;
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    Die(absl::StrCat("ValidateConfig() rejected with ", status.ToString(),
                     ", not InvalidArgument"));
  }
  const absl::string_view message = status.message();
  constexpr absl::string_view kPrefix = "BreakerConfig.";
  if (!absl::StartsWith(message, kPrefix)) {
    Die(absl::StrCat("message does not start with \"BreakerConfig.\": ", message));
  }
  const size_t end = message.find(' ');
  const std::string field(message.substr(kPrefix.size(), end - kPrefix.size()));
  if (bad.count(field) == 0) {
    Die(absl::StrCat("message names ", field, ", which is valid; bad: ", bad_list,
                     "\nmessage: ", message, "\nconfig: ", Describe(config)));
  }
  if (!absl::StrContains(message, " must be ") || !absl::StrContains(message, ", got ")) {
    Die(absl::StrCat("message is not \"<field> must be <rule>, got <value>\": ", message));
  }
  if (created.ok() || created.status() != status) {
    Die(absl::StrCat("Create() says ", created.status().ToString(), ", ValidateConfig() says ",
                     status.ToString()));
  }
  return false;
}

// ---- The differential run ------------------------------------------------------------

absl::StatusCode CodeOf(uint8_t b) {
  return static_cast<absl::StatusCode>(b % 18 == 17 ? 0 : b % 18);
}

absl::Status StatusOfCode(absl::StatusCode code) {
  return code == absl::StatusCode::kOk ? absl::OkStatus() : absl::Status(code, "fuzz");
}

std::string PermitString(const Permit& p) {
  return absl::StrCat("{bool=", static_cast<bool>(p), " rejected=", p.rejected(),
                      " trial=", p.is_trial(), " gen=", p.generation(),
                      " rejected_state=", StateName(p.rejected_state()),
                      " retry_after=", absl::FormatDuration(p.retry_after()), "}");
}

std::string ModelPermitString(const ModelPermit& p) {
  return absl::StrCat("{admitted=", p.admitted, " rejected=", p.rejected(), " trial=", p.is_trial(),
                      " gen=", p.generation, " kind=", static_cast<int>(p.kind),
                      " rejected_state=", StateName(p.rejected_state),
                      " retry_nanos=", p.retry_nanos, " [", p.retry_min, ", ", p.retry_max, "]}");
}

// The non-zero transition counts: "CLOSED>OPEN:2,OPEN>HALF_OPEN:1".
std::string TransitionsString(
    const std::array<std::array<uint64_t, kNumStates>, kNumStates>& transitions) {
  std::string out;
  for (int from = 0; from < kNumStates; ++from) {
    for (int to = 0; to < kNumStates; ++to) {
      const uint64_t n = transitions[static_cast<size_t>(from)][static_cast<size_t>(to)];
      if (n == 0) continue;
      absl::StrAppend(&out, out.empty() ? "" : ",", StateName(static_cast<State>(from)), ">",
                      StateName(static_cast<State>(to)), ":", n);
    }
  }
  return out;
}

std::string MetricsString(const BreakerMetrics& m) {
  return absl::StrCat(StateName(m.state), " gen=", m.generation, " permitted=", m.permitted,
                      " rejected=", m.rejected, " successes=", m.successes,
                      " failures=", m.failures, " ignored=", m.ignored, " released=", m.released,
                      " slow=", m.slow, " stale=", m.stale, " opened=", m.opened,
                      " probe_timeouts=", m.probe_timeouts, " shed=", m.shed,
                      " throttled=", m.throttled,
                      " transitions=", TransitionsString(m.transitions));
}

std::string MetricsString(const ModelMetrics& m) {
  BreakerMetrics b;
  b.state = m.state;
  b.generation = m.generation;
  b.permitted = m.permitted;
  b.rejected = m.rejected;
  b.successes = m.successes;
  b.failures = m.failures;
  b.ignored = m.ignored;
  b.released = m.released;
  b.slow = m.slow;
  b.stale = m.stale;
  b.opened = m.opened;
  b.probe_timeouts = m.probe_timeouts;
  b.shed = m.shed;
  b.throttled = m.throttled;
  b.transitions = m.transitions;
  return MetricsString(b);
}

std::string OptionalString(const std::optional<double>& v) {
  return v.has_value() ? absl::StrCat(*v) : std::string("absent");
}

std::string OptionalString(const std::optional<absl::Duration>& v) {
  return v.has_value() ? absl::FormatDuration(*v) : std::string("absent");
}

std::string SnapshotString(const circuit::BreakerSnapshot& s) {
  return absl::StrCat(
      StateName(s.state), " gen=", s.generation, " calls=", s.calls, " successes=", s.successes,
      " failures=", s.failures, " slow=", s.slow_calls,
      " failure_rate=", OptionalString(s.failure_rate),
      " slow_call_rate=", OptionalString(s.slow_call_rate), " run=", s.consecutive_failures,
      " trials: in_flight=", s.trials_in_flight, " successes=", s.trial_successes,
      " failures=", s.trial_failures, " open_remaining=", absl::FormatDuration(s.open_remaining),
      " (", absl::ToInt64Nanoseconds(s.open_remaining), " ns) open_period=",
      absl::ToInt64Nanoseconds(s.open_period), " ns last_trip={",
      circuit::TripCauseName(s.last_trip.cause), " value=", s.last_trip.value,
      " threshold=", s.last_trip.threshold, " gen=", s.last_trip.generation,
      "} sharing=", circuit::SharingName(s.sharing),
      " slow_start_admitted=", OptionalString(s.slow_start_admitted),
      " slow_start_remaining=", absl::ToInt64Nanoseconds(s.slow_start_remaining), " ns",
      " throttle_probability=", OptionalString(s.throttle_probability),
      " throttle_requests=", s.throttle_requests, " throttle_accepts=", s.throttle_accepts,
      " latency_percentile=", OptionalString(s.latency_percentile),
      " latency_percentile_calls=", s.latency_percentile_calls,
      " latency_percentile_threshold=", absl::FormatDuration(s.latency_percentile_threshold));
}

std::string SnapshotString(const circuit_fuzz::ModelSnapshot& s) {
  return absl::StrCat(
      StateName(s.state), " gen=", s.generation, " calls=", s.calls, " successes=", s.successes,
      " failures=", s.failures, " slow=", s.slow_calls,
      " failure_rate=", OptionalString(s.failure_rate),
      " slow_call_rate=", OptionalString(s.slow_call_rate), " run=", s.consecutive_failures,
      " trials: in_flight=", s.trials_in_flight, " successes=", s.trial_successes,
      " failures=", s.trial_failures, " open_remaining=",
      s.open_remaining_infinite
          ? std::string("inf")
          : absl::StrCat("[", s.open_remaining_lo, ", ", s.open_remaining_hi, "] ns"),
      " open_period=[", s.open_period_lo, ", ", s.open_period_hi, "] ns last_trip={",
      circuit::TripCauseName(s.trip_cause), " value=", s.trip_value,
      " threshold=", s.trip_threshold, " gen=", s.trip_generation,
      "} sharing=", circuit::SharingName(s.sharing),
      " slow_start_admitted=", OptionalString(s.slow_start_admitted),
      " slow_start_remaining=", s.slow_start_remaining, " ns",
      " throttle_probability=", OptionalString(s.throttle_probability),
      " throttle_requests=", s.throttle_requests, " throttle_accepts=", s.throttle_accepts,
      " latency_percentile=", OptionalString(s.latency_percentile),
      " latency_percentile_calls=", s.latency_percentile_calls,
      " latency_percentile_threshold=", absl::FormatDuration(s.latency_percentile_threshold));
}

class Run {
 public:
  explicit Run(FuzzConfig f)
      : fuzz_(std::move(f)), clock_(fuzz_.clock_start), model_(WithClock(fuzz_.config), fuzz_.clock_start) {
    BreakerConfig config = fuzz_.config;
    config.clock = &clock_;
    auto created = Breaker::Create(config);
    if (!created.ok()) Die(absl::StrCat("Create() failed: ", created.status().ToString()));
    breaker_ = std::move(created).value();
    TRACE("config: %s\nclock starts at %" PRId64 " ns; distributed mode's operations %s\n",
          Describe(config).c_str(), clock_.NowNanos(), fuzz_.shared_ops ? "on" : "off");
  }

  ~Run() {
    // The permits go before the breaker (declared after it).
  }

  void Go(Bytes& in) {
    Compare("at the start");
    for (op_index_ = 0; op_index_ < kMaxOps && !in.empty(); ++op_index_) {
      RunOp(in);
      Compare("after the operation");
    }
    // Every permit back: the books must balance.
    for (int i = 0; i < kSlots; ++i) {
      real_[i] = Permit();
      model_.Release(model_slots_[i], Now());
      model_slots_[i] = ModelPermit();
    }
    op_code_ = -1;
    last_op_ = "end: drop every slot";
    Compare("after dropping every slot");
    const BreakerMetrics m = breaker_->Metrics();
    if (m.permitted != m.successes + m.failures + m.ignored + m.released) {
      Die(
          absl::StrCat("permitted != successes + failures + ignored + released with no permit "
                       "outstanding: ",
                       MetricsString(m)));
    }
  }

 private:
  static BreakerConfig WithClock(BreakerConfig c) { return c; }

  int64_t Now() const { return clock_.NowNanos(); }

  // Moves the fake clock forward, within kMaxClock.
  void Advance(int64_t nanos) {
    if (nanos <= 0) return;
    if (Now() - fuzz_.clock_start > kMaxClock - nanos) return;
    clock_.Advance(absl::Nanoseconds(nanos));
  }

  [[noreturn]] void Mismatch(const std::string& what) {
    std::string slots;
    for (int i = 0; i < kSlots; ++i) {
      absl::StrAppend(&slots, "  slot ", i, ": real ", PermitString(real_[i]),
                      "\n           model ", ModelPermitString(model_slots_[i]), "\n");
    }
    const BreakerModel::WindowView w = model_.Window(Now());
    const std::string op = !last_op_.empty()
                               ? last_op_
                               : absl::StrCat("opcode ", op_code_, " at byte ", op_offset_,
                                              " (FUZZ_TRACE=1 describes every operation)");
    Die(absl::StrCat(
        what, "\nafter op #", op_index_, ": ", op, "\nconfig: ", Describe(fuzz_.config),
        "\nnow: ", Now(), " ns\nreal:  ", MetricsString(breaker_->Metrics()),
        "\nmodel: ", MetricsString(model_.Metrics()), "\nmodel window: calls=", w.calls,
        " failures=", w.failures, " slow=", w.slow, " run=", model_.consecutive_failures(),
        " reopens=", model_.reopen_count(), " open_until=", model_.open_until(),
        " half_open_until=", model_.half_open_until(),
        " sharing=", circuit::SharingName(model_.sharing()),
        " slow_start_end=", model_.slow_start_end(), " gate=", model_.gated(),
        " judged_throttle=", model_.judged_throttle(),
        " lent=", model_.Lent(model_.generation()),
        "\nmodel latency: ", model_.LatencyString(), "\n", slots));
  }

  void ComparePermit(const Permit& p, ModelPermit& m, const char* where,
                     bool check_status = false) {
    bool same = static_cast<bool>(p) == m.admitted && p.rejected() == m.rejected() &&
                p.is_trial() == m.is_trial();
    if (same && !m.empty()) same = p.generation() == m.generation;
    if (same && m.rejected()) {
      same = p.rejected_state() == m.rejected_state;
      const absl::Duration retry = p.retry_after();
      // OPEN's delay, and slow start's (CLOSED: the time left in the
      // ramp), is worked out when asked: what has passed since the
      // rejection comes off it, down to 0.
      const int64_t since = m.rejected_state == State::kOpen || m.rejected_state == State::kClosed
                                ? std::max<int64_t>(0, Now() - m.start_nanos)
                                : 0;
      const auto left = [since](int64_t nanos) { return std::max<int64_t>(0, nanos - since); };
      if (m.retry_nanos == -1) {
        same = same && retry == absl::InfiniteDuration();
      } else if (m.retry_nanos == -2) {
        const int64_t nanos = absl::ToInt64Nanoseconds(retry);
        same = same && nanos >= left(m.retry_min) && nanos <= left(m.retry_max);
        if (same && nanos > 0) {  // 0: due, by an amount the answer cannot tell
          model_.LearnDeadline(Now(), nanos);
          m.retry_nanos = nanos + since;
        }
      } else {
        same = same && retry == absl::Nanoseconds(left(m.retry_nanos));
      }
      if (check_status) {  // builds a message: once per rejection, not per compare
        const absl::Status why = p.RejectionStatus();
        if (!circuit::IsRejection(why) || why.code() != absl::StatusCode::kUnavailable) {
          Mismatch(absl::StrCat(where, ": RejectionStatus() is not a rejection: ", why.ToString()));
        }
      }
    }
    if (!same) {
      Mismatch(absl::StrCat(where, ": permit differs\n  real  ", PermitString(p), "\n  model ",
                            ModelPermitString(m)));
    }
  }

  void Compare(const char* where, int slot = -1) {
    // Metrics() first: it reads the state word as it is, a due HALF_OPEN
    // deadline not applied; state() and generation() then apply it, as the
    // model's Observe*() do.
    const BreakerMetrics r = breaker_->Metrics();
    const ModelMetrics m = model_.Metrics();
    bool same_state = true;
    const bool observe = fuzz_.observe == 0 || (fuzz_.observe == 2 && (op_index_ & 1) != 0) ||
                         fuzz_.observe == 3;
    const bool snapshot_now =
        fuzz_.snapshot == 1 || fuzz_.snapshot == 3 || (fuzz_.snapshot == 2 && (op_index_ & 1) == 0);
    if (snapshot_now && fuzz_.snapshot != 3) CompareSnapshot(where, r, m);
    if (observe) {
      const int64_t now = Now();
      if (fuzz_.observe == 3) {
        same_state = breaker_->generation() == model_.ObserveGeneration(now);
        same_state = breaker_->state() == model_.ObserveState(now) && same_state;
      } else {
        same_state = breaker_->state() == model_.ObserveState(now);
        same_state = breaker_->generation() == model_.ObserveGeneration(now) && same_state;
      }
    }
    if (!same_state || r.state != m.state || r.generation != m.generation ||
        r.permitted != m.permitted ||
        r.rejected != m.rejected || r.successes != m.successes || r.failures != m.failures ||
        r.ignored != m.ignored || r.released != m.released || r.slow != m.slow ||
        r.stale != m.stale || r.opened != m.opened || r.probe_timeouts != m.probe_timeouts ||
        r.shed != m.shed || r.throttled != m.throttled || r.transitions != m.transitions) {
      Mismatch(absl::StrCat("state or metrics differ (", where,
                            slot >= 0 ? absl::StrCat(", at slot ", slot) : std::string(), ")"));
    }
    if (snapshot_now && fuzz_.snapshot == 3) CompareSnapshot(where, r, m);
    // The gated draws (slow start's ramp, adaptive throttling): each is
    // random, but a streak of like answers less likely than 2^-50 at the
    // shares the model computed is not (one in 10^15, where a run of
    // 300 s makes a few million draws).
    if (model_.draw_streak_log2() < kImprobableLog2) {
      Mismatch(absl::StrCat("the breaker's gated draws: ", model_.draw_streak_length(), " ",
                            model_.draw_streak_admitted() ? "admitted" : "rejected",
                            " in a row, a chance of 2^", model_.draw_streak_log2(),
                            " at the shares the model computed (",
                            "gate=", model_.gated(), ", p judged ", model_.judged_throttle(), ")"));
    }
    for (int i = 0; i < kSlots; ++i) ComparePermit(real_[i], model_slots_[i], "slot");
    // The books balance with the permits still out (a reaped trial counts
    // its own late outcome; probe_timeouts is not part of it).
    uint64_t outstanding = 0;
    for (int i = 0; i < kSlots; ++i) {
      const ModelPermit& slot_permit = model_slots_[i];
      outstanding += slot_permit.admitted && slot_permit.kind != ModelPermit::Kind::kUntracked;
    }
    if (r.permitted != r.successes + r.failures + r.ignored + r.released + outstanding) {
      Mismatch(absl::StrCat("permitted != successes + failures + ignored + released + ",
                            outstanding, " outstanding (", where, ")"));
    }
    if (Tracing()) {
      const BreakerModel::WindowView w = model_.Window(Now());
      TRACE("  -> %s | window calls=%" PRIu64 " failures=%" PRIu64 " slow=%" PRIu64 " run=%" PRIu64
            " trials_in_flight=%u gate=%d judged_throttle=%.17g\n",
            MetricsString(m).c_str(), w.calls, w.failures, w.slow, model_.consecutive_failures(),
            model_.trials_in_flight(), model_.gated() ? 1 : 0, model_.judged_throttle());
    }
  }

  // Breaker::Snapshot() against BreakerModel::Snapshot(), field by field
  // (circuit/snapshot.h). Exact, but for what the model knows as a range:
  // with open_jitter, open_remaining and the OPEN period (the remaining
  // time, when not 0, then fixes the model's deadline). The Metrics()
  // already read (r, m) are printed with a difference, to tell a snapshot
  // that made a transition from one that read it.
  void CompareSnapshot(const char* where, const BreakerMetrics& r, const ModelMetrics& m) {
    const int64_t now = Now();
    const circuit::BreakerSnapshot got = breaker_->Snapshot();
    const circuit_fuzz::ModelSnapshot want = model_.Snapshot(now);
    std::string diff;
    auto check = [&diff](bool same, const char* field) {
      if (!same) absl::StrAppend(&diff, " ", field);
    };
    check(got.state == want.state, "state");
    check(got.generation == want.generation, "generation");
    check(got.calls == want.calls, "calls");
    check(got.successes == want.successes, "successes");
    check(got.failures == want.failures, "failures");
    check(got.slow_calls == want.slow_calls, "slow_calls");
    check(got.failure_rate == want.failure_rate, "failure_rate");
    check(got.slow_call_rate == want.slow_call_rate, "slow_call_rate");
    check(got.consecutive_failures == want.consecutive_failures, "consecutive_failures");
    check(got.trials_in_flight == want.trials_in_flight, "trials_in_flight");
    check(got.trial_successes == want.trial_successes, "trial_successes");
    check(got.trial_failures == want.trial_failures, "trial_failures");
    if (want.open_remaining_infinite) {
      check(got.open_remaining == absl::InfiniteDuration(), "open_remaining");
    } else {
      const int64_t remaining = absl::ToInt64Nanoseconds(got.open_remaining);
      const bool in_range = got.open_remaining != absl::InfiniteDuration() &&
                            remaining >= want.open_remaining_lo &&
                            remaining <= want.open_remaining_hi;
      check(in_range, "open_remaining");
      if (in_range && remaining > 0) model_.LearnDeadline(now, remaining);
    }
    const int64_t period = absl::ToInt64Nanoseconds(got.open_period);
    check(period >= want.open_period_lo && period <= want.open_period_hi, "open_period");
    check(got.last_trip.cause == want.trip_cause, "last_trip.cause");
    check(got.last_trip.value == want.trip_value, "last_trip.value");
    check(got.last_trip.threshold == want.trip_threshold, "last_trip.threshold");
    check(got.last_trip.generation == want.trip_generation, "last_trip.generation");
    check(got.sharing == want.sharing, "sharing");
    check(got.slow_start_admitted == want.slow_start_admitted, "slow_start_admitted");
    check(got.slow_start_remaining == absl::Nanoseconds(want.slow_start_remaining),
          "slow_start_remaining");
    check(got.throttle_probability == want.throttle_probability, "throttle_probability");
    check(got.throttle_requests == want.throttle_requests, "throttle_requests");
    check(got.throttle_accepts == want.throttle_accepts, "throttle_accepts");
    check(got.latency_percentile == want.latency_percentile, "latency_percentile");
    check(got.latency_percentile_calls == want.latency_percentile_calls,
          "latency_percentile_calls");
    check(got.latency_percentile_threshold == want.latency_percentile_threshold,
          "latency_percentile_threshold");
    if (!diff.empty()) {
      Mismatch(absl::StrCat("Snapshot() differs (", where, "):", diff, "\n  real  ",
                            SnapshotString(got), "\n  model ", SnapshotString(want),
                            "\n  Metrics() before it: real ", MetricsString(r), "; model ",
                            MetricsString(m)));
    }
    if (Tracing()) TRACE("  snapshot %s\n", SnapshotString(got).c_str());
  }

  // What the breaker did at the gate: admitted, rejected, or rejected by
  // the throttle's draw (its Metrics().throttled moved since last asked).
  BreakerModel::AcquireHint HintFor(bool admitted) {
    const uint64_t throttled = breaker_->Metrics().throttled;
    const bool by_throttle = throttled != throttled_seen_;
    throttled_seen_ = throttled;
    if (admitted) return BreakerModel::AcquireHint::kAdmitted;
    return by_throttle ? BreakerModel::AcquireHint::kThrottled
                       : BreakerModel::AcquireHint::kRejected;
  }
  uint64_t throttled_seen_ = 0;  // Metrics().throttled when HintFor() last asked

  void Acquire(int slot) {
    const int64_t now = Now();
    Permit p = breaker_->TryAcquire();
    ModelPermit m = model_.Acquire(now, HintFor(static_cast<bool>(p)));
    ComparePermit(p, m, "TryAcquire()", /*check_status=*/true);
    real_[slot] = std::move(p);  // releases what the slot held
    model_.Move(m, model_slots_[slot], now);
  }

  void Resolve(int slot, int how, uint8_t arg) {
    Permit& p = real_[slot];
    ModelPermit& m = model_slots_[slot];
    const int64_t now = Now();
    bool got = false;
    bool want = false;
    switch (how) {
      case 0:
        got = p.Success();
        want = model_.Resolve(m, Outcome::kSuccess, now);
        break;
      case 1:
        got = p.Failure();
        want = model_.Resolve(m, Outcome::kFailure, now);
        break;
      case 2:
        got = p.Ignore();
        want = model_.Resolve(m, Outcome::kIgnored, now);
        break;
      case 3:
        got = p.Release();
        want = model_.Release(m, now);
        break;
      case 4: {
        const absl::StatusCode code = CodeOf(arg);
        got = p.Record(StatusOfCode(code));
        want = model_.Resolve(m, ModelClassifyStatus(fuzz_.status_rule, code), now);
        break;
      }
    }
    if (got != want) {
      Mismatch(absl::StrCat("resolving slot ", slot, " (how ", how, ") returned ", got,
                            ", the model says ", want));
    }
  }

  // Call(fn) where fn advances the clock by `nanos` and returns `code`.
  void CallStatus(absl::StatusCode code, int64_t nanos, bool with_fallback) {
    const int64_t now = Now();
    const absl::Status status = StatusOfCode(code);
    bool ran = false;
    bool fell_back = false;
    auto fn = [&]() -> absl::Status {
      ran = true;
      Advance(nanos);
      return status;
    };
    const absl::Status got = CallWithOptionalFallback(fn, with_fallback, &fell_back);
    ModelPermit m = model_.Acquire(now, HintFor(ran));
    if (ran != m.admitted)
      Mismatch(absl::StrCat("Call(): ran=", ran, ", model admitted=", m.admitted));
    if (!ran) {
      if (with_fallback ? !fell_back : !circuit::IsRejection(got)) {
        Mismatch(absl::StrCat("Call() rejected without the rejection status or fallback: ",
                              got.ToString()));
      }
      return;
    }
    const Outcome outcome = ModelClassifyStatus(fuzz_.status_rule, code);
    model_.Resolve(m, outcome, Now());
    const bool want_fallback = with_fallback && outcome == Outcome::kFailure;
    if (fell_back != want_fallback || (!want_fallback && got != status)) {
      Mismatch(absl::StrCat("Call() returned ", got.ToString(), " fell_back=", fell_back, " for ",
                            status.ToString()));
    }
  }

  // breaker_->Call(fn), or Call(fn, fallback) with a fallback that records
  // it ran and returns OK.
  template <typename F>
  absl::Status CallWithOptionalFallback(F& fn, bool with_fallback, bool* fell_back) {
    if (!with_fallback) return breaker_->Call(fn);
    return breaker_->Call(fn, [fell_back](const absl::Status&) -> absl::Status {
      *fell_back = true;
      return absl::OkStatus();
    });
  }

  // Call(fn) where fn advances the clock and throws.
  void CallThrow(Thrown kind, int64_t nanos, bool with_fallback) {
    const int64_t now = Now();
    bool ran = false;
    bool fell_back = false;
    bool rethrown = false;
    auto fn = [&]() -> absl::Status {
      ran = true;
      Advance(nanos);
      ThrowKind(kind);
    };
    absl::Status got;
    try {
      got = CallWithOptionalFallback(fn, with_fallback, &fell_back);
    } catch (const TimeoutError&) {
      rethrown = true;
    } catch (const Cancelled&) {
      rethrown = true;
    } catch (const BusinessError&) {
      rethrown = true;
    } catch (int) {
      rethrown = true;
    }
    ModelPermit m = model_.Acquire(now, HintFor(ran));
    if (ran != m.admitted)
      Mismatch(absl::StrCat("Call(throw): ran=", ran, ", model admitted=", m.admitted));
    if (!ran) return;
    const Outcome outcome = ModelClassifyException(fuzz_.exception_rule, kind);
    model_.Resolve(m, outcome, Now());
    const bool want_fallback = with_fallback && outcome == Outcome::kFailure;
    if (fell_back != want_fallback || rethrown == want_fallback) {
      Mismatch(absl::StrCat("Call() with ", ThrownName(kind), ": fell_back=", fell_back,
                            " rethrown=", rethrown, " (outcome ", static_cast<int>(outcome), ")"));
    }
  }

  // CallWithClassifier(fn, odd_is_failure) with fn returning StatusOr<int>.
  void CallResult(absl::StatusCode code, uint8_t value, int64_t nanos) {
    const int64_t now = Now();
    bool ran = false;
    auto fn = [&]() -> absl::StatusOr<int> {
      ran = true;
      Advance(nanos);
      if (code != absl::StatusCode::kOk) return absl::Status(code, "fuzz");
      return static_cast<int>(value);
    };
    auto odd_is_failure = [](const absl::StatusOr<int>& r) -> bool {
      if (!r.ok()) return false;
      if (*r == 13) throw std::runtime_error("unlucky");  // a throwing classifier: failure
      return (*r & 1) != 0;
    };
    const absl::StatusOr<int> got = breaker_->CallWithClassifier(fn, odd_is_failure);
    ModelPermit m = model_.Acquire(now, HintFor(ran));
    if (ran != m.admitted) Mismatch(absl::StrCat("CallWithClassifier(): ran=", ran));
    if (!ran) {
      if (!circuit::IsRejection(got.status())) Mismatch("CallWithClassifier(): no rejection");
      return;
    }
    Outcome outcome = ModelClassifyStatus(fuzz_.status_rule, code);
    if (outcome == Outcome::kSuccess && code == absl::StatusCode::kOk) {
      outcome = (value == 13 || (value & 1)) ? Outcome::kFailure : Outcome::kSuccess;
    }
    model_.Resolve(m, outcome, Now());
    if (code == absl::StatusCode::kOk ? (!got.ok() || *got != value)
                                      : got.status().code() != code) {
      Mismatch(absl::StrCat("CallWithClassifier() returned ", got.status().ToString()));
    }
  }

  // CallOrThrow(fn): OpenError when rejected.
  void CallOrThrow(absl::StatusCode code, int64_t nanos) {
    const int64_t now = Now();
    const absl::Status status = StatusOfCode(code);
    bool ran = false;
    bool open_error = false;
    State open_state = State::kClosed;
    absl::Duration open_retry;
    absl::Status got;
    try {
      got = breaker_->CallOrThrow([&]() -> absl::Status {
        ran = true;
        Advance(nanos);
        return status;
      });
    } catch (const circuit::OpenError& e) {
      open_error = true;
      open_state = e.state();
      open_retry = e.retry_after();
    }
    ModelPermit m = model_.Acquire(now, HintFor(ran));
    if (ran != m.admitted || open_error == ran) {
      Mismatch(absl::StrCat("CallOrThrow(): ran=", ran, " OpenError=", open_error,
                            ", model admitted=", m.admitted));
    }
    if (!ran) {
      bool same = open_state == m.rejected_state;
      if (m.retry_nanos == -1) same = same && open_retry == absl::InfiniteDuration();
      if (m.retry_nanos >= 0) same = same && open_retry == absl::Nanoseconds(m.retry_nanos);
      if (m.retry_nanos == -2) {
        const int64_t nanos_left = absl::ToInt64Nanoseconds(open_retry);
        same = same && nanos_left >= m.retry_min && nanos_left <= m.retry_max;
        if (same) model_.LearnDeadline(now, nanos_left);
      }
      if (!same) {
        Mismatch(absl::StrCat("OpenError says ", StateName(open_state), " retry ",
                              absl::FormatDuration(open_retry), "; model ", ModelPermitString(m)));
      }
      return;
    }
    model_.Resolve(m, ModelClassifyStatus(fuzz_.status_rule, code), Now());
    if (got != status) Mismatch(absl::StrCat("CallOrThrow() returned ", got.ToString()));
  }

  // Nanoseconds for the small and large advances.
  static int64_t SmallAdvance(uint8_t kind, uint8_t amount) {
    switch (kind % 4) {
      case 0:
        return amount;  // ns
      case 1:
        return int64_t{amount} * 1'000;  // us
      case 2:
        return int64_t{amount} * 1'000'000;  // ms
      default:
        return int64_t{amount} * 100'000'000;  // 100 ms
    }
  }

  static int64_t LargeAdvance(uint16_t v) {
    const int64_t amount = v & 0x3FFF;
    switch (v >> 14) {
      case 0:
        return amount * kSecond;
      case 1:
        return amount * 60 * kSecond;
      case 2:
        return amount * 3'600 * kSecond;
      default:
        return amount * kDay / 16;
    }
  }

  // The next interesting instant after now: a deadline, a bucket edge, a
  // slot's slow-call threshold.
  int64_t EdgeTarget(uint8_t which) {
    const int64_t now = Now();
    switch (which % 5) {
      case 0:
        return model_.open_until();
      case 1:
        // With per-probe deadlines, bit 7: the earliest one of the current
        // HALF_OPEN period (older inputs had the timeout off).
        if ((which & 0x80) && model_.probe_timeouts_on()) return model_.next_probe_deadline();
        return model_.half_open_until();
      case 2: {
        const int64_t width = model_.bucket_nanos();
        if (width > kMaxClock) return 0;  // one bucket covers the clock's range
        const int64_t base = model_.created_at();
        return base + ((now - base) / width + 1) * width;
      }
      case 3: {
        const ModelPermit& m = model_slots_[(which / 5) % kSlots];
        // With the latency trip on (older inputs had it off), bit 7 or no
        // slow-call detection: the bound of the latency threshold's bin.
        if (m.admitted && model_.latency_on() &&
            ((which & 0x80) || !model_.measures_duration())) {
          return m.start_nanos + model_.latency_threshold_nanos();
        }
        if (!m.admitted || !model_.measures_duration()) return 0;
        if (model_.slow_nanos() > kMaxClock) return 0;  // beyond the clock's range
        return m.start_nanos + model_.slow_nanos();
      }
      default:
        // OPEN: the upper end of a jittered deadline; CLOSED during slow
        // start: the ramp's end (0 otherwise, as before slow start).
        return model_.state() == State::kOpen ? model_.open_until_max()
                                              : model_.slow_start_end();
    }
  }

  // The operator controls, applied to the breaker and the model alike.
  enum class Operator : uint8_t { kForceOpen = 0, kDisable = 1, kMetricsOnly = 2, kReset = 3 };
  void ApplyOperator(Operator op) {
    const int64_t now = Now();
    switch (op) {
      case Operator::kForceOpen:
        breaker_->ForceOpen();
        model_.ForceOpen(now);
        break;
      case Operator::kDisable:
        breaker_->Disable();
        model_.Disable(now);
        break;
      case Operator::kMetricsOnly:
        breaker_->MetricsOnly();
        model_.MetricsOnly(now);
        break;
      case Operator::kReset:
        breaker_->Reset();
        model_.Reset(now);
        break;
    }
  }

  void Burst(uint8_t mode, uint8_t pattern, uint16_t raw) {
    int64_t n;
    if (mode & 0x80) {
      // Near a power of two: generation tags wrap at 2^14 and 2^16.
      n = (int64_t{1} << ((mode & 0x7F) % 18)) + static_cast<int8_t>(raw & 0xFF);
    } else {
      n = raw;
    }
    n = std::max<int64_t>(0, std::min(n, kMaxBurstTransitions - burst_total_));
    burst_total_ += n;
    for (int64_t i = 0; i < n; ++i) {
      static constexpr Operator kBurstOps[] = {Operator::kReset, Operator::kForceOpen,
                                               Operator::kMetricsOnly};
      ApplyOperator(kBurstOps[(pattern + i) % (pattern % 3 + 1)]);
    }
    if (Tracing()) {
      last_op_ = absl::StrCat("burst of ", n, " operator transitions (pattern ", pattern % 3, ")");
    }
  }

  // Describes the operation: formatted only when tracing (it costs more
  // than the operation); a mismatch otherwise names the opcode and offset.
#define NOTE_OP(...)                                                     \
  do {                                                                   \
    if (Tracing()) {                                                     \
      last_op_ = absl::StrCat(__VA_ARGS__);                              \
      TRACE("#%d t=%" PRId64 " %s\n", op_index_, now, last_op_.c_str()); \
    }                                                                    \
  } while (0)

  void RunOp(Bytes& in) {
    op_offset_ = in.pos();
    const uint8_t op = in.U8();
    if (fuzz_.shared_ops && op >= kSharedOpBase) {
      op_code_ = op;
      SharedOp(op - kSharedOpBase, in);
      return;
    }
    op_code_ = op % kOpCodes;
    const int64_t now = Now();
    switch (op % kOpCodes) {
      case 0:
      case 1:
      case 2: {  // the most common: acquire
        const int slot = in.U8() % kSlots;
        NOTE_OP("acquire -> slot ", slot);
        Acquire(slot);
        return;
      }
      case 3:
      case 4:
      case 5:
      case 6:
      case 7:
      case 8: {
        static const char* const kHow[] = {"success", "failure", "ignore", "release", "record"};
        const int how = (op % 24 - 3) % 5;
        const int slot = in.U8() % kSlots;
        const uint8_t arg = how == 4 ? in.U8() : 0;
        NOTE_OP(kHow[how], " slot ", slot,
                how == 4 ? absl::StrCat(" status ", static_cast<int>(CodeOf(arg))) : std::string());
        Resolve(slot, how, arg);
        return;
      }
      case 9: {  // drop: destroy the permit
        const uint8_t b = in.U8();
        const int slot = b % kSlots;
        NOTE_OP("drop slot ", slot, (b & 0x80) ? " (assign empty)" : " (destroy)");
        if (b & 0x80) {
          real_[slot] = Permit();
        } else {
          Permit doomed(std::move(real_[slot]));
        }
        model_.Release(model_slots_[slot], now);
        model_slots_[slot].kind = ModelPermit::Kind::kNone;
        return;
      }
      case 10: {  // move
        const int from = in.U8() % kSlots;
        const int to = in.U8() % kSlots;
        NOTE_OP("move slot ", from, " -> slot ", to);
        Permit& source = real_[from];
        real_[to] = std::move(source);
        model_.Move(model_slots_[from], model_slots_[to], now);
        return;
      }
      case 11:
      case 12: {
        const uint8_t kind = in.U8();
        const uint8_t amount = in.U8();
        const int64_t nanos = SmallAdvance(kind, amount);
        NOTE_OP("advance ", nanos, " ns");
        Advance(nanos);
        return;
      }
      case 13: {
        const int64_t nanos = LargeAdvance(in.U16());
        NOTE_OP("advance ", absl::FormatDuration(absl::Nanoseconds(nanos)));
        Advance(nanos);
        return;
      }
      case 14: {
        const uint8_t which = in.U8();
        const int offset = static_cast<int>(in.U8() % 3) - 1;
        const int64_t target = EdgeTarget(which);
        NOTE_OP("advance to edge ", which % 5, " (", target, ") ", offset >= 0 ? "+" : "", offset,
                " ns");
        if (target > 0) Advance(target + offset - now);
        return;
      }
      case 15: {
        const uint8_t which = in.U8() % 4;
        static const char* const kNames[] = {"ForceOpen", "Disable", "MetricsOnly", "Reset"};
        NOTE_OP(kNames[which]);
        ApplyOperator(static_cast<Operator>(which));
        return;
      }
      case 16: {
        const uint8_t mode = in.U8();
        const uint8_t pattern = in.U8();
        const uint16_t raw = in.U16();
        Burst(mode, pattern, raw);
        TRACE("#%d t=%" PRId64 " %s\n", op_index_, now, last_op_.c_str());
        return;
      }
      case 17:
      case 18: {
        const uint8_t b = in.U8();
        const absl::StatusCode code = CodeOf(in.U8());
        const int64_t nanos = SmallAdvance(b, in.U8());
        NOTE_OP("Call(", (b & 0x80) ? "with fallback, " : "", "status ", static_cast<int>(code),
                ", taking ", nanos, " ns)");
        CallStatus(code, nanos, (b & 0x80) != 0);
        return;
      }
      case 19: {
        const uint8_t b = in.U8();
        const Thrown kind = static_cast<Thrown>((b >> 2) % static_cast<int>(Thrown::kCount));
        const int64_t nanos = SmallAdvance(b, in.U8());
        NOTE_OP("Call(", (b & 0x80) ? "with fallback, " : "", "throws ", ThrownName(kind),
                ", taking ", nanos, " ns)");
        CallThrow(kind, nanos, (b & 0x80) != 0);
        return;
      }
      case 20: {
        const uint8_t b = in.U8();
        const absl::StatusCode code = CodeOf(in.U8());
        const uint8_t value = in.U8();
        const int64_t nanos = SmallAdvance(b, in.U8());
        NOTE_OP("CallWithClassifier(status ", static_cast<int>(code), ", value ", value,
                ", taking ", nanos, " ns)");
        CallResult(code, value, nanos);
        return;
      }
      case 21: {
        const uint8_t b = in.U8();
        const absl::StatusCode code = CodeOf(in.U8());
        const int64_t nanos = SmallAdvance(b, in.U8());
        NOTE_OP("CallOrThrow(status ", static_cast<int>(code), ", taking ", nanos, " ns)");
        CallOrThrow(code, nanos);
        return;
      }
      case 22: {  // acquire into every slot
        NOTE_OP("acquire into every slot");
        for (int i = 0; i < kSlots; ++i) {
          Acquire(i);
          Compare("within the operation", i);
        }
        return;
      }
      case 23: {  // resolve every slot the same way
        const uint8_t b = in.U8();
        const int how = b % 5;
        NOTE_OP("resolve every slot, how ", how);
        for (int i = 0; i < kSlots; ++i) {
          Resolve(i, how, b);
          Compare("within the operation", i);
        }
        return;
      }
      case 24: {  // Success(took) / Failure(took) / Record(status, took):
                  // b bits0-1 how, bits2-3 unit (SmallAdvance), bit7 negative
        const int slot = in.U8() % kSlots;
        const uint8_t b = in.U8();
        const int how = fuzz_.retry_after_ops ? (b & 3) : (b & 3) % 3;
        int64_t took = SmallAdvance((b >> 2) & 3, in.U8());
        if (b & 0x80) took = -took;  // "a negative took counts as zero"
        if (how == 3) {  // the amount is the wait; zero or less: a plain failure
          NOTE_OP("FailureRetryAfter slot ", slot, " wait ", took, " ns");
          ResolveRetryAfter(slot, absl::Nanoseconds(took));
          return;
        }
        const uint8_t code = how == 2 ? in.U8() : 0;
        NOTE_OP(kTookHow[how], " slot ", slot, " took ", took, " ns",
                StatusNote(how, code));
        ResolveTook(slot, how, absl::Nanoseconds(took), code);
        return;
      }
      default: {  // the same, took = slow_call_duration -1, +0 or +1 ns:
                  // b bits0-1 how, bits2-3 the offset
        const int slot = in.U8() % kSlots;
        const uint8_t b = in.U8();
        const int how = (b & 3) % 3;
        const int64_t offset = static_cast<int64_t>(((b >> 2) & 3) % 3) - 1;
        const uint8_t code = how == 2 ? in.U8() : 0;
        const absl::Duration slow = fuzz_.config.slow_call_duration;
        // Past a million hours the breaker's nanoseconds saturate: no edge.
        const absl::Duration took =
            slow > absl::Hours(1'000'000)
                ? slow
                : absl::Ceil(slow, absl::Nanoseconds(1)) + absl::Nanoseconds(offset);
        NOTE_OP(kTookHow[how], " slot ", slot, " took ", absl::FormatDuration(took),
                " (slow_call_duration ", offset >= 0 ? "+" : "", offset, " ns)",
                StatusNote(how, code));
        ResolveTook(slot, how, took, code);
        return;
      }
    }
  }

  // The distributed mode's hold on the breaker
  // (circuit/internal/shared_control.h), as a coordinator's sync uses it;
  // `which` % 4 picks SetSharing(), Follow(), Reopen() of the current
  // generation or of the one before (a coordinator's stale reading), or
  // Lend() to the current one. The current generation is the model's,
  // which Compare() has just checked against Metrics().
  void SharedOp(int which, Bytes& in) {
    using circuit::internal::SharedControl;
    const int64_t now = Now();
    switch (which % 4) {
      case 0: {  // b % 3: kLocal, kShared, kDegraded
        const Sharing to = static_cast<Sharing>(in.U8() % 3);
        NOTE_OP("SetSharing(", circuit::SharingName(to), ")");
        SharedControl::SetSharing(
            *breaker_, to,
            to == Sharing::kDegraded ? absl::UnavailableError("store down") : absl::OkStatus());
        model_.SetSharing(to, now);
        return;
      }
      case 1: {  // b % 3: into CLOSED, OPEN, HALF_OPEN; then a SharedTrip
        static constexpr State kTo[] = {State::kClosed, State::kOpen, State::kHalfOpen};
        const State to = kTo[in.U8() % 3];
        const SharedTrip trip = ReadSharedTrip(in);
        NOTE_OP("Follow(", StateName(to), ", ", trip.open_nanos, " ns, ", trip.value, ", ",
                trip.threshold, ")");
        uint32_t got_gen = 0;
        uint32_t want_gen = 0;
        const bool got = SharedControl::Follow(*breaker_, to, trip.open_nanos, trip.value,
                                               trip.threshold, &got_gen);
        const bool want =
            model_.Follow(to, trip.open_nanos, trip.value, trip.threshold, now, &want_gen);
        if (got != want || got_gen != want_gen) {
          Mismatch(absl::StrCat("Follow(", StateName(to), ") returned ", got, " generation ",
                                got_gen, ", the model says ", want, " generation ", want_gen));
        }
        return;
      }
      case 2: {  // b % 2: generations back; then a SharedTrip
        const uint32_t gen = (model_.generation() - in.U8() % 2) & circuit_fuzz::kModelGenMask;
        const SharedTrip trip = ReadSharedTrip(in);
        NOTE_OP("Reopen(generation ", gen, ", ", trip.open_nanos, " ns, ", trip.value, ", ",
                trip.threshold, ")");
        const bool got =
            SharedControl::Reopen(*breaker_, gen, trip.open_nanos, trip.value, trip.threshold);
        const bool want = model_.Reopen(gen, trip.open_nanos, trip.value, trip.threshold, now);
        if (got != want) {
          Mismatch(absl::StrCat("Reopen() returned ", got, ", the model says ", want));
        }
        return;
      }
      default: {  // b % 8 slots
        const uint32_t slots = in.U8() % 8;
        const uint32_t gen = model_.generation();
        NOTE_OP("Lend(generation ", gen, ", ", slots, " slots)");
        SharedControl::Lend(*breaker_, gen, slots);
        model_.Lend(gen, slots);
        if (SharedControl::Lent(*breaker_, gen) != model_.Lent(gen)) {
          Mismatch(absl::StrCat("Lent() says ", SharedControl::Lent(*breaker_, gen),
                                ", the model says ", model_.Lent(gen)));
        }
        return;
      }
    }
  }

  // The shared state's trip, for Follow() (used only into OPEN) and
  // Reopen(): the open period left, byte 0 bits 0-1 the unit and byte 1
  // the amount (SmallAdvance(): up to 25.5 s), negative with byte 0 bit 7
  // (counts as 0); then the value and the threshold, a byte each.
  struct SharedTrip {
    int64_t open_nanos;
    double value;
    double threshold;
  };
  static SharedTrip ReadSharedTrip(Bytes& in) {
    SharedTrip trip;
    const uint8_t kind = in.U8();
    trip.open_nanos = SmallAdvance(kind, in.U8()) * ((kind & 0x80) ? -1 : 1);
    trip.value = in.U8();
    trip.threshold = in.U8();
    return trip;
  }

  static constexpr const char* kTookHow[] = {"Success(took)", "Failure(took)", "Record(took)"};
  static std::string StatusNote(int how, uint8_t code) {
    return how == 2 ? absl::StrCat(" status ", static_cast<int>(CodeOf(code))) : std::string();
  }

  // Resolves a slot with a duration measured by the caller.
  void ResolveTook(int slot, int how, absl::Duration took, uint8_t code_byte) {
    Permit& p = real_[slot];
    ModelPermit& m = model_slots_[slot];
    const int64_t now = Now();
    bool got = false;
    bool want = false;
    switch (how) {
      case 0:
        got = p.Success(took);
        want = model_.Resolve(m, Outcome::kSuccess, now, took);
        break;
      case 1:
        got = p.Failure(took);
        want = model_.Resolve(m, Outcome::kFailure, now, took);
        break;
      default: {
        const absl::StatusCode code = CodeOf(code_byte);
        got = p.Record(StatusOfCode(code), took);
        want = model_.Resolve(m, ModelClassifyStatus(fuzz_.status_rule, code), now, took);
        break;
      }
    }
    if (got != want) {
      Mismatch(absl::StrCat("resolving slot ", slot, " with took ", absl::FormatDuration(took),
                            " (how ", how, ") returned ", got, ", the model says ", want));
    }
  }

  // Permit::FailureRetryAfter(wait) on a slot.
  void ResolveRetryAfter(int slot, absl::Duration wait) {
    Permit& p = real_[slot];
    ModelPermit& m = model_slots_[slot];
    const int64_t now = Now();
    const bool got = p.FailureRetryAfter(wait);
    std::optional<int64_t> open_nanos;
    if (wait > absl::ZeroDuration()) {
      open_nanos = absl::ToInt64Nanoseconds(std::min(wait, fuzz_.config.max_open_duration));
    }
    const bool want = model_.Resolve(m, Outcome::kFailure, now, std::nullopt, open_nanos);
    if (got != want) {
      Mismatch(absl::StrCat("FailureRetryAfter(", absl::FormatDuration(wait), ") on slot ", slot,
                            " returned ", got, ", the model says ", want));
    }
  }

  FuzzConfig fuzz_;
  FakeClock clock_;
  BreakerModel model_;
  std::unique_ptr<Breaker> breaker_;
  // After breaker_: destroyed first, since permits must not outlive it.
  std::array<Permit, kSlots> real_;
  std::array<ModelPermit, kSlots> model_slots_;
  int op_index_ = 0;
  int64_t burst_total_ = 0;
  std::string last_op_;  // with FUZZ_TRACE only
  size_t op_offset_ = 0;
  int op_code_ = -1;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The model's bins are the header's (circuit/call_durations.h), which
  // Breaker::Durations() and the Prometheus export share with the trip.
  static const bool bins_checked = [] {
    const std::vector<int64_t>& bounds = circuit_fuzz::ModelDurationBounds();
    if (circuit::kCallDurationBuckets != circuit_fuzz::kModelDurationBins ||
        bounds.size() + 1 != static_cast<size_t>(circuit::kCallDurationBuckets)) {
      Die(absl::StrCat("call-duration bins: ", circuit::kCallDurationBuckets, ", the model has ",
                       bounds.size() + 1));
    }
    for (int i = 0; i < circuit::kCallDurationBuckets; ++i) {
      if (circuit::CallDurationBound(i) != circuit_fuzz::ModelBinBound(i)) {
        Die(absl::StrCat("call-duration bin ", i, " bound ",
                         absl::FormatDuration(circuit::CallDurationBound(i)), ", the model has ",
                         absl::FormatDuration(circuit_fuzz::ModelBinBound(i))));
      }
      const int64_t bound = i + 1 < circuit::kCallDurationBuckets
                                ? bounds[static_cast<size_t>(i)]
                                : bounds.back() + 1;
      for (const int64_t d : {bound - 1, bound, bound + 1}) {
        if (circuit::CallDurationBucket(d) != circuit_fuzz::ModelDurationBin(d)) {
          Die(absl::StrCat("CallDurationBucket(", d, ") = ", circuit::CallDurationBucket(d),
                           ", the model's bin is ", circuit_fuzz::ModelDurationBin(d)));
        }
      }
    }
    return true;
  }();
  (void)bins_checked;
  Bytes in(data, size);
  FuzzConfig config = ReadConfig(in);
  if (!CheckValidation(config.config)) return 0;
  Run run(std::move(config));
  run.Go(in);
  return 0;
}
