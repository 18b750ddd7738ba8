// The history checker: see checker.h.
#include "tests/history/checker.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "circuit/call_durations.h"
#include "circuit/state.h"

namespace circuit {
namespace history {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kMaxGenerations = 1u << 26;  // a history's range; more is malformed
constexpr int kStates = 6;
constexpr uint8_t kAllStates = (1u << kStates) - 1;

uint8_t Bit(State s) { return static_cast<uint8_t>(1u << static_cast<int>(s)); }
const uint8_t kAdmitting = Bit(State::kClosed) | Bit(State::kMetricsOnly) | Bit(State::kDisabled);
const uint8_t kRejecting = Bit(State::kOpen) | Bit(State::kHalfOpen) | Bit(State::kForcedOpen);
const uint8_t kOperatorStates =
    Bit(State::kForcedOpen) | Bit(State::kDisabled) | Bit(State::kMetricsOnly);
uint8_t Bit(Sharing s) { return static_cast<uint8_t>(1u << static_cast<int>(s)); }
uint64_t EdgeBit(State from, State to) {
  return uint64_t{1} << (static_cast<int>(from) * kStates + static_cast<int>(to));
}

// The transitions the breaker makes by itself (breaker.h).
bool Automatic(State from, State to) {
  return (from == State::kClosed && to == State::kOpen) ||
         (from == State::kOpen && to == State::kHalfOpen) ||
         (from == State::kHalfOpen && (to == State::kClosed || to == State::kOpen));
}

std::string Mask(uint8_t mask) {
  std::vector<std::string> names;
  for (int s = 0; s < kStates; ++s) {
    if (mask & (1u << s)) names.emplace_back(StateName(static_cast<State>(s)));
  }
  return absl::StrCat("{", absl::StrJoin(names, ","), "}");
}

// The transitions each of the breaker's own causes makes (events.h).
bool OwnCauseMakes(TransitionCause cause, State from, State to) {
  switch (cause) {
    case TransitionCause::kConsecutiveFailures:
    case TransitionCause::kFailureRate:
    case TransitionCause::kSlowCallRate:
    case TransitionCause::kLatencyPercentile:
      return from == State::kClosed && to == State::kOpen;
    case TransitionCause::kTrialFailures:
    case TransitionCause::kTrialFailureRate:
    case TransitionCause::kTrialSlowCallRate:
    case TransitionCause::kHalfOpenTimeout:
      return from == State::kHalfOpen && to == State::kOpen;
    case TransitionCause::kOpenPeriodOver:
      return from == State::kOpen && to == State::kHalfOpen;
    case TransitionCause::kTrialsSucceeded:
      return from == State::kHalfOpen && to == State::kClosed;
    case TransitionCause::kRetryAfter:
      return (from == State::kClosed || from == State::kHalfOpen) && to == State::kOpen;
    default:
      return false;
  }
}

// The transitions one call of the coordinator's hold can make
// (shared_control.h): Follow() from CLOSED, OPEN or HALF_OPEN to another of
// them, Reopen() OPEN -> OPEN, and leaving kShared HALF_OPEN -> OPEN.
bool HoldMay(const Event& c, State from, State to) {
  const bool followable =
      from == State::kClosed || from == State::kOpen || from == State::kHalfOpen;
  switch (c.op) {
    case Op::kFollow:
      return followable && to == c.follow_to && from != to;
    case Op::kReopen:
      return from == State::kOpen && to == State::kOpen;
    case Op::kSetSharing:
      return c.sharing != Sharing::kShared && from == State::kHalfOpen && to == State::kOpen;
    default:
      return false;
  }
}

// The period of an OPEN the coordinator's call `c` entered: the one it gave
// (leaving kShared: none).
int64_t HoldPeriod(const Event& c) {
  return c.op == Op::kSetSharing ? 0 : std::max<int64_t>(0, c.open_nanos);
}

class Checker {
 public:
  // `raw`: the history as recorded, when `history` is its coarse view (the
  // system clock: see CheckHistory()); it has the same events in the same
  // order, with the CLOCK_MONOTONIC readings, for the details.
  Checker(const History& history, const CheckerOptions& options, const History* raw = nullptr)
      : h_(history), raw_(raw != nullptr ? *raw : history), o_(options), c_(history.config) {}

  CheckResult Run() {
    if (!Index()) return std::move(r_);
    Holds();
    Observations();
    OperatorControls();
    HoldResults();
    Reach();
    Monotonic();
    AdmissionStates();
    Transitions();
    Trials();
    ProbeSlots();
    LentSlots();
    Causes();
    Records();
    for (const auto& [gen, n] : certain_reaps_) r_.stats.reaps_certain += static_cast<uint64_t>(n);
    SlowStart();
    ConsecutiveTrips();
    LatencyTrips();
    SystemClockOpen();
    Counters();
    Liveness();
    StuckOpen();
    HalfOpenPastDeadline();
    return std::move(r_);
  }

 private:
  struct Known {
    int8_t state = -1;  // observed state, or -1
    // The event that showed it (-1: initial, -3: final Metrics(), -4 - k:
    // transition record k).
    int64_t source = -2;
  };

  void Report(absl::string_view check, std::string detail) {
    uint64_t& n = r_.violation_counts[std::string(check)];
    if (n++ < o_.max_details_per_check) {
      r_.violations.push_back(Violation{std::string(check), std::move(detail)});
    }
  }

  std::string Source(int64_t source) const {
    if (source == -1) return "the initial state";
    if (source == -3) return "the final Metrics()";
    if (source <= -4) {
      return absl::StrCat("the transition record ",
                          FormatTransition(h_.transitions[static_cast<size_t>(-4 - source)]));
    }
    if (source < 0) return "nothing";
    return FormatEvent(h_.events[static_cast<size_t>(source)]);
  }

  const Event& At(size_t i) const { return h_.events[i]; }

  bool Tracked(const Event& acquire) const {
    // A DISABLED permit is untracked: it counts nowhere. Every DISABLED
    // generation is observed by the Disable() that made it (history.h).
    if (acquire.trial) return true;
    const Known& k = known_[acquire.permit_generation];
    return k.state != static_cast<int8_t>(State::kDisabled);
  }

  bool SlowOn() const { return c_.slow_call_rate_threshold > 0; }
  int64_t SlowNanos() const { return absl::ToInt64Nanoseconds(c_.slow_call_duration); }
  // Bounds on the duration the breaker measured for the permit of `r`
  // (exact when the caller gave it).
  int64_t MinDuration(const Event& r) const {
    return r.took_nanos >= 0 ? r.took_nanos : r.clock_before - r.acquired_clock_after;
  }
  int64_t MaxDuration(const Event& r) const {
    return r.took_nanos >= 0 ? r.took_nanos : r.clock_after - r.acquired_clock_before;
  }
  bool MaybeSlow(const Event& r) const { return SlowOn() && MaxDuration(r) >= SlowNanos(); }
  bool CertainlySlow(const Event& r) const { return SlowOn() && MinDuration(r) >= SlowNanos(); }

  // Trials decided by S of K (not by rate): a trial failed if it failed, or
  // was slow when slow calls count (config.h, half_open_successes_to_close).
  int TrialCalls() const { return c_.half_open_trial_calls; }
  int SuccessesToClose() const {
    return c_.half_open_successes_to_close > 0 ? c_.half_open_successes_to_close : TrialCalls();
  }
  bool MaybeFailedTrial(const Event& r) const {
    return IsFailure(r.op) || (r.op == Op::kSuccess && MaybeSlow(r));
  }
  bool CertainlyFailedTrial(const Event& r) const {
    return IsFailure(r.op) || (r.op == Op::kSuccess && CertainlySlow(r));
  }
  bool MaybeSuccessfulTrial(const Event& r) const {
    return r.op == Op::kSuccess && !CertainlySlow(r);
  }
  bool CertainlySuccessfulTrial(const Event& r) const {
    return r.op == Op::kSuccess && !MaybeSlow(r);
  }
  bool IsOutcome(const Event& r) const { return r.op == Op::kSuccess || IsFailure(r.op); }

  // Per-probe deadlines (half_open_probe_timeout; see ReapableAt()).
  bool ProbeTimeoutOn() const { return c_.half_open_probe_timeout > absl::ZeroDuration(); }
  // A reap counts a failed trial (and may make a verdict); kReleased: it
  // only hands the slot back.
  bool ReapFails() const {
    return ProbeTimeoutOn() &&
           c_.half_open_probe_timeout_outcome == ProbeTimeoutOutcome::kFailure;
  }
  // The earliest clock at which anyone can reap the trial acquired in `a`.
  // Its deadline is ceil((elapsed + timeout) / 1 ms) in ms since the
  // breaker's creation (start_clock; FakeClock: coarse == fine), elapsed
  // read in ClaimProbeSlot(), inside the acquire (so at least
  // clock_before), and at least 1; a reaper reaps when floor(its elapsed /
  // 1 ms) >= the deadline, i.e. when its clock is at least start + deadline
  // ms. A trial reaped earlier was reaped before its deadline.
  int64_t ReapableAt(const Event& a) const {
    const int64_t timeout = absl::ToInt64Nanoseconds(c_.half_open_probe_timeout);
    const int64_t claimed = std::max<int64_t>(0, a.clock_before - h_.start_clock);
    const int64_t deadline_ms = std::max<int64_t>(1, (claimed + timeout + 999'999) / 1'000'000);
    return h_.start_clock + deadline_ms * 1'000'000;
  }
  // The resolution of the permit acquired in `a`, or null.
  const Event* ResolutionOf(const Event& a) const {
    auto it = resolve_of_.find(a.permit);
    return it == resolve_of_.end() ? nullptr : &At(it->second);
  }
  // The trial acquired in `a` may have been reaped by a reaper that read
  // the clock at most `clock_hi`: past its deadline by then, and before its
  // own resolution freed its slot (the reap's CAS precedes the resolution's,
  // so the reaper's clock is at most the resolution's clock_after).
  bool MayBeReapedBy(const Event& a, int64_t clock_hi) const {
    if (!ProbeTimeoutOn() || !a.trial) return false;
    if (const Event* r = ResolutionOf(a)) clock_hi = std::min(clock_hi, r->clock_after);
    return ReapableAt(a) <= clock_hi;
  }
  bool MayBeReaped(const Event& a) const {
    return MayBeReapedBy(a, std::numeric_limits<int64_t>::max());
  }
  bool CertainlyReaped(uint64_t permit) const { return certainly_reaped_.count(permit) > 0; }

  // ---- 1. Structure ---------------------------------------------------------

  bool Index() {
    CheckStats& s = r_.stats;
    s.events = h_.events.size();
    uint32_t max_gen = 0;
    auto gen = [&](uint32_t g) { max_gen = std::max(max_gen, g); };
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      event_at_.emplace(e.before, i);
      if (e.after <= e.before || (i > 0 && At(i - 1).after >= e.after)) {
        Report(kMalformed, absl::StrCat("tickets out of order at ", FormatEvent(e)));
      }
      gen(e.pre.generation);
      gen(e.post.generation);
      gen(e.permit_generation);
      if (e.op == Op::kAcquire) {
        ++s.acquires;
        if (e.admitted)
          ++s.admitted;
        else
          ++s.rejected;
        if (e.admitted && e.trial) {
          ++s.trials;
          trial_acquires_[e.permit_generation].push_back(i);
        }
        if (!acquire_of_.emplace(e.permit, i).second) {
          Report(kMalformed, absl::StrCat("permit acquired twice: ", FormatEvent(e)));
        }
      } else if (IsResolve(e.op)) {
        ++s.resolutions;
        if (!resolve_of_.emplace(e.permit, i).second) {
          Report(kMalformed, absl::StrCat("permit resolved twice: ", FormatEvent(e)));
        }
      } else if (IsCoordinator(e.op)) {
        ++s.coordinator_actions;
        gen(e.hold_generation);
      } else {
        ++s.operator_controls;
      }
    }
    for (const TransitionRecord& t : h_.transitions) gen(t.generation);
    for (const auto& [permit, i] : resolve_of_) {
      auto a = acquire_of_.find(permit);
      if (a == acquire_of_.end() || !At(a->second).admitted) {
        Report(kMalformed, absl::StrCat("resolution of no admitted permit: ", FormatEvent(At(i))));
      } else if (At(a->second).after >= At(i).before) {
        Report(kMalformed, absl::StrCat("resolved before acquired: ", FormatEvent(At(i))));
      }
    }
    if (h_.complete) {
      for (const auto& [permit, i] : acquire_of_) {
        if (At(i).admitted && !resolve_of_.count(permit)) {
          Report(kMalformed, absl::StrCat("admitted permit never ended: ", FormatEvent(At(i))));
        }
      }
    }
    if (h_.has_final) gen(h_.final_metrics.generation);
    if (max_gen >= kMaxGenerations) {
      Report(kMalformed, absl::StrCat("generation ", max_gen, " is out of range"));
      return false;
    }
    const size_t n = static_cast<size_t>(max_gen) + 1;
    s.generations = n;
    known_.assign(n, Known{});
    allowed_.assign(n, kAllStates);
    op_mask_.assign(n, 0);
    first_reach_.assign(n + 1, kNever);
    last_seen_.assign(n, kNever);
    hold_edges_.assign(n, 0);
    made_.assign(n, -1);
    record_of_.assign(n, -1);
    for (size_t k = 0; k < h_.transitions.size(); ++k) {
      const uint32_t g = h_.transitions[k].generation;
      if (record_of_[g] < 0) record_of_[g] = static_cast<int64_t>(k);
    }
    return true;
  }

  // ---- 1b. The coordinator's changes of sharing, and its transitions -------------

  void Holds() {
    Sharing now = Sharing::kLocal;  // every breaker starts kLocal
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (e.op == Op::kClaim || e.op == Op::kSetSharing) {
        const Sharing to = e.op == Op::kSetSharing ? e.sharing
                           : e.returned            ? Sharing::kDegraded
                                                   : now;
        if (to != now) sharing_changes_.push_back(SharingChange{e.before, e.after, now, to, i});
        now = to;
      }
      uint64_t edges = 0;
      for (int from = 0; from < kStates; ++from) {
        for (int to = 0; to < kStates; ++to) {
          if (HoldMay(e, static_cast<State>(from), static_cast<State>(to))) {
            edges |= EdgeBit(static_cast<State>(from), static_cast<State>(to));
          }
        }
      }
      if (edges == 0) continue;
      for (uint32_t g = e.pre.generation + 1; g <= e.post.generation; ++g) {
        holders_[g].push_back(i);
        hold_edges_[g] |= edges;
      }
    }
  }

  // The sharing values `e` may have read: the one set by the last change
  // that ended before it began, and those of every change it overlapped
  // (one thread makes them, so they do not overlap one another).
  uint8_t SharingDuring(const Event& e) const {
    auto it =
        std::lower_bound(sharing_changes_.begin(), sharing_changes_.end(), e.before,
                         [](const SharingChange& c, uint64_t ticket) { return c.after < ticket; });
    uint8_t mask = Bit(it == sharing_changes_.begin() ? Sharing::kLocal : std::prev(it)->to);
    for (; it != sharing_changes_.end() && it->before < e.after; ++it) mask |= Bit(it->to);
    return mask;
  }
  bool CertainlyShared(const Event& e) const { return SharingDuring(e) == Bit(Sharing::kShared); }
  bool MaybeShared(const Event& e) const { return SharingDuring(e) & Bit(Sharing::kShared); }

  // The coordinator may have made from -> to at generation g.
  bool HoldMayMake(uint32_t g, State from, State to) const {
    return hold_edges_[g] & EdgeBit(from, to);
  }
  bool HoldMayEnter(uint32_t g, State to) const {
    for (int from = 0; from < kStates; ++from) {
      if (HoldMayMake(g, static_cast<State>(from), to)) return true;
    }
    return false;
  }
  const std::vector<size_t>& Holders(uint32_t g) const {
    static const std::vector<size_t> kNone;
    auto it = holders_.find(g);
    return it == holders_.end() ? kNone : it->second;
  }

  // ---- 2. One state per generation --------------------------------------------

  void Observe(uint32_t gen, State state, int64_t source) {
    Known& k = known_[gen];
    if (k.state < 0) {
      k.state = static_cast<int8_t>(state);
      k.source = source;
      allowed_[gen] &= Bit(state);
      ++r_.stats.observed_generations;
      return;
    }
    if (k.state != static_cast<int8_t>(state)) {
      Report(
          kOneStatePerGeneration,
          absl::StrCat("generation ", gen, " is ", StateName(static_cast<State>(k.state)), " in [",
                       Source(k.source), "] and ", StateName(state), " in [", Source(source), "]"));
    }
  }

  void Observations() {
    Observe(0, State::kClosed, -1);
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      const int64_t src = static_cast<int64_t>(i);
      if (e.pre.has_state) Observe(e.pre.generation, e.pre.state, src);
      if (e.post.has_state) Observe(e.post.generation, e.post.state, src);
      if (e.op == Op::kAcquire && !e.admitted) {
        // One load of the state word gave both.
        Observe(e.permit_generation, e.rejected_state, src);
        // Slow start's ramp sheds calls while CLOSED (SlowStart() says
        // whether that generation can ramp).
        const uint8_t rejecting =
            kRejecting | (SlowStartOn() || ThrottlingOn() ? Bit(State::kClosed) : 0);
        if (!(rejecting & Bit(e.rejected_state))) {
          Report(kRejectedState,
                 absl::StrCat("rejected in a state that admits calls: ", FormatEvent(e)));
        }
      }
      // Follow() returns true once the word it loaded (or stored) is `to`,
      // and names that word's generation; Reopen() moved OPEN g to OPEN g+1.
      if (e.op == Op::kFollow && e.returned) Observe(e.hold_generation, e.follow_to, src);
      if (e.op == Op::kReopen && e.returned) {
        Observe(e.hold_generation, State::kOpen, src);
        Observe(e.hold_generation + 1, State::kOpen, src);
      }
    }
    if (h_.has_final) Observe(h_.final_metrics.generation, h_.final_metrics.state, -3);
    // The breaker's listener names the states on either side of each
    // transition.
    for (size_t k = 0; k < h_.transitions.size(); ++k) {
      const TransitionRecord& t = h_.transitions[k];
      if (t.generation == 0) continue;  // Records() reports it
      Observe(t.generation - 1, t.from, -4 - static_cast<int64_t>(k));
      Observe(t.generation, t.to, -4 - static_cast<int64_t>(k));
    }
  }

  // Follow() returns false only on an operator's state, which it leaves
  // alone. Leaving kShared ends the HALF_OPEN it finds (the shared verdict
  // will not come): once SetSharing() has returned, the generation it saw
  // first is HALF_OPEN to nobody.
  void HoldResults() {
    std::unordered_map<uint32_t, size_t> left;  // generation -> the leaving SetSharing()
    for (const SharingChange& c : sharing_changes_) {
      if (c.from == Sharing::kShared) left.emplace(At(c.event).pre.generation, c.event);
    }
    for (const Event& e : h_.events) {
      auto half_open_after_leaving = [&](uint32_t g) {
        auto it = left.find(g);
        if (it == left.end() || e.before <= At(it->second).after) return;
        Report(kHoldResult,
               absl::StrCat("generation ", g, " is still HALF_OPEN in [", FormatEvent(e),
                            "] after [", FormatEvent(At(it->second)), "] left kShared"));
      };
      if (e.pre.has_state && e.pre.state == State::kHalfOpen) {
        half_open_after_leaving(e.pre.generation);
      }
      if (e.post.has_state && e.post.state == State::kHalfOpen) {
        half_open_after_leaving(e.post.generation);
      }
      if (e.op == Op::kAcquire && (e.admitted ? e.trial : e.rejected_state == State::kHalfOpen)) {
        half_open_after_leaving(e.permit_generation);
      }
    }
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (e.op != Op::kFollow || e.returned) continue;
      const Known& k = known_[e.hold_generation];
      if (k.state >= 0 && !(kOperatorStates & (1u << k.state))) {
        Report(kHoldResult,
               absl::StrCat("Follow() returned false in generation ", e.hold_generation,
                            ", which is ", StateName(static_cast<State>(k.state)), " in [",
                            Source(k.source), "]: ", FormatEvent(e)));
        continue;
      }
      allowed_[e.hold_generation] &= kOperatorStates;
    }
  }

  // ---- 3. Operator controls -------------------------------------------------------

  void OperatorControls() {
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (!IsOperator(e.op)) continue;
      const State target = OperatorTarget(e.op);
      if (e.post.generation <= e.pre.generation) {
        Report(kOperatorLanded, absl::StrCat("the generation did not move: ", FormatEvent(e)));
        continue;
      }
      // FORCED_OPEN, DISABLED and METRICS_ONLY are left only by an operator,
      // and operators hold one mutex: the control sees its own generation.
      if (e.op != Op::kReset && (!e.post.has_state || e.post.state != target)) {
        Report(kOperatorLanded,
               absl::StrCat("expected ", StateName(target), " right after: ", FormatEvent(e)));
      }
      for (uint32_t g = e.pre.generation + 1; g <= e.post.generation; ++g) {
        op_mask_[g] |= Bit(target);
      }
    }
  }

  // ---- 4. When each generation was reached, in tickets ------------------------

  void Reach() {
    for (const Event& e : h_.events) {
      const uint32_t g = std::max(
          {e.pre.generation, e.post.generation, e.op == Op::kAcquire ? e.permit_generation : 0u});
      first_reach_[g] = std::min(first_reach_[g], e.after);
      // Every read of a generation happened after the event's `before`.
      auto seen = [&](uint32_t gen) {
        if (last_seen_[gen] == kNever || last_seen_[gen] < e.before) last_seen_[gen] = e.before;
      };
      seen(e.pre.generation);
      seen(e.post.generation);
      if (e.op == Op::kAcquire) seen(e.permit_generation);
    }
    for (size_t g = first_reach_.size() - 1; g-- > 0;) {
      first_reach_[g] = std::min(first_reach_[g], first_reach_[g + 1]);
    }
  }

  // ---- 5. Generations and the clock never go backwards ---------------------------

  void Monotonic() {
    for (const Event& e : h_.events) {
      bool ok = e.pre.generation <= e.post.generation && e.clock_before <= e.clock_after;
      if (e.op == Op::kAcquire) {
        ok = ok && e.pre.generation <= e.permit_generation &&
             e.permit_generation <= e.post.generation;
      } else if (IsResolve(e.op)) {
        ok = ok && e.permit_generation <= e.pre.generation;
      } else if (e.op == Op::kFollow) {
        ok = ok && e.pre.generation <= e.hold_generation && e.hold_generation <= e.post.generation;
      } else if (e.op == Op::kReopen || e.op == Op::kLend) {
        ok = ok && e.hold_generation <= e.pre.generation;  // read before it began
      }
      if (!ok) Report(kMonotonic, absl::StrCat("within one event: ", FormatEvent(e)));
    }
    // Across events ordered by tickets: a.after < b.before.
    std::vector<size_t> by_before(h_.events.size());
    for (size_t i = 0; i < by_before.size(); ++i) by_before[i] = i;
    std::sort(by_before.begin(), by_before.end(),
              [&](size_t a, size_t b) { return At(a).before < At(b).before; });
    size_t done = 0;  // events (by `after`) wholly before the current one
    size_t mark = 0;  // clock marks before the current one
    uint32_t max_gen = 0;
    int64_t max_clock = h_.start_clock;
    size_t max_gen_source = 0;
    for (size_t i : by_before) {
      const Event& b = At(i);
      while (done < h_.events.size() && At(done).after < b.before) {
        if (At(done).post.generation > max_gen) {
          max_gen = At(done).post.generation;
          max_gen_source = done;
        }
        max_clock = std::max(max_clock, At(done).clock_after);
        ++done;
      }
      while (mark < h_.clock_marks.size() && h_.clock_marks[mark].ticket < b.before) {
        max_clock = std::max(max_clock, h_.clock_marks[mark].now);
        ++mark;
      }
      if (b.pre.generation < max_gen) {
        Report(kMonotonic, absl::StrCat("[", FormatEvent(b), "] reads an older generation than [",
                                        FormatEvent(At(max_gen_source)), "] before it"));
      }
      if (b.clock_before < max_clock) {
        Report(kMonotonic, absl::StrCat("[", FormatEvent(b), "] reads the clock at ",
                                        b.clock_before, " after it had reached ", max_clock));
      }
    }
  }

  // ---- 6. Admitted permits and the state of their generation -------------------------

  void AdmissionStates() {
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (e.op != Op::kAcquire || !e.admitted) continue;
      const uint32_t g = e.permit_generation;
      const uint8_t need = e.trial ? Bit(State::kHalfOpen) : kAdmitting;
      const Known& k = known_[g];
      if (k.state >= 0 && !(need & (1u << k.state))) {
        Report(e.trial ? kTrialInHalfOpen : kAdmittedState,
               absl::StrCat(e.trial ? "a trial" : "a call", " admitted in generation ", g,
                            ", which is ", StateName(static_cast<State>(k.state)), " in [",
                            Source(k.source), "]: ", FormatEvent(e)));
        continue;  // reported; keep the observed state for the transitions
      }
      allowed_[g] &= need;
    }
  }

  // ---- 7. Transitions: a sequential run through every generation ----------------------

  bool Edge(State from, State to, uint32_t gen) const {
    return Automatic(from, to) || (op_mask_[gen] & Bit(to)) || HoldMayMake(gen, from, to);
  }

  void Transitions() {
    CheckStats& s = r_.stats;
    std::vector<uint8_t> reach(allowed_.size(), 0);
    reach[0] = allowed_[0] & Bit(State::kClosed);
    for (size_t g = 1; g < allowed_.size(); ++g) {
      uint8_t next = 0;
      for (int from = 0; from < kStates; ++from) {
        if (!(reach[g - 1] & (1u << from))) continue;
        for (int to = 0; to < kStates; ++to) {
          if ((allowed_[g] & (1u << to)) &&
              Edge(static_cast<State>(from), static_cast<State>(to), static_cast<uint32_t>(g))) {
            next |= static_cast<uint8_t>(1u << to);
          }
        }
      }
      const Known& a = known_[g - 1];
      const Known& b = known_[g];
      if (a.state >= 0 && b.state >= 0) {
        ++s.transitions;
        const State from = static_cast<State>(a.state);
        const State to = static_cast<State>(b.state);
        ++s.transition_kinds[absl::StrCat(StateName(from), "->", StateName(to))];
        if (op_mask_[g] & Bit(to)) ++s.operator_transitions;
      }
      if (next == 0) {
        if (a.state >= 0 && b.state >= 0) {
          Report(kLegalTransition,
                 absl::StrCat(StateName(static_cast<State>(a.state)), " (generation ", g - 1,
                              ") -> ", StateName(static_cast<State>(b.state)), " (generation ", g,
                              ") is not a transition the breaker makes",
                              op_mask_[g] ? absl::StrCat(" (an operator could only make ",
                                                         Mask(op_mask_[g]), " here)")
                                          : " and no operator control was running",
                              "; seen in [", Source(a.source), "] and [", Source(b.source), "]"));
        } else {
          Report(kLegalTransition,
                 absl::StrCat("generation ", g, " must be one of ", Mask(allowed_[g]),
                              " but generation ", g - 1, " can only be ", Mask(reach[g - 1]),
                              " and no legal transition joins them (operator: ", Mask(op_mask_[g]),
                              ")"));
        }
        next = allowed_[g];  // carry on from what was observed
      }
      reach[g] = next;
    }
    reach_ = std::move(reach);
  }

  // ---- 8. Half-open trials -----------------------------------------------------------

  void Trials() {
    const int limit_concurrent = c_.half_open_max_concurrent;
    const int limit_trials = c_.half_open_trial_calls;
    struct PerGen {
      int admitted = 0;
      int handed_back = 0;
      int fresh_outcomes = 0;
      int fresh_successes = 0;  // certainly successful trials among them (S of K)
      int fresh_failed = 0;     // certainly failed (or slow, when slow counts) ones
      std::vector<std::pair<uint64_t, int>> points;  // (ticket, +1 held / -1 let go)
    };
    std::map<uint32_t, PerGen> gens;
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (e.op != Op::kAcquire || !e.admitted || !e.trial) continue;
      PerGen& p = gens[e.permit_generation];
      ++p.admitted;
      // Certainly held from the end of the acquire to the start of the
      // resolution: tickets order them against every other trial's.
      p.points.emplace_back(e.after, +1);
      auto res = resolve_of_.find(e.permit);
      if (res == resolve_of_.end()) continue;  // held to the end
      const Event& r = At(res->second);
      p.points.emplace_back(r.before, -1);
      if (IsGiveBack(r.op)) ++p.handed_back;
      // A reap under kReleased hands the slot back too (as many as may
      // have been reaped: an upper bound on the hand-backs).
      else if (ProbeTimeoutOn() && !ReapFails() && MayBeReaped(e)) ++p.handed_back;
      // A trial that may have been reaped before its resolution: its
      // outcome may be stale (a reap under kFailure counted a failed trial
      // instead, not counted here: a lower bound, as fresh outcomes are).
      if (MayBeReapedBy(e, r.clock_after)) continue;
      // Under kShared trial outcomes are counted and never judged (the
      // coordinator follows the shared verdict): only those certainly
      // judged by the breaker count here.
      if ((r.op == Op::kSuccess || IsFailure(r.op)) && r.returned &&
          r.post.generation == e.permit_generation && !MaybeShared(r)) {
        ++p.fresh_outcomes;  // counted by the word, which stayed HALF_OPEN
        if (CertainlySuccessfulTrial(r)) ++p.fresh_successes;
        if (CertainlyFailedTrial(r)) ++p.fresh_failed;
      }
    }
    for (auto& [gen, p] : gens) {
      std::sort(p.points.begin(), p.points.end());
      int held = 0;
      for (const auto& [ticket, delta] : p.points) {
        held += delta;
        r_.stats.max_trials_in_flight = std::max(r_.stats.max_trials_in_flight, held);
        // With per-probe deadlines a reap frees a held trial's slot:
        // ProbeSlots() checks those generations.
        if (held > limit_concurrent && delta > 0 && !ProbeTimeoutOn()) {
          Report(kTrialsInFlight,
                 absl::StrCat(held, " trials of generation ", gen, " were held at once at ticket ",
                              ticket, " (half_open_max_concurrent ", limit_concurrent, ")"));
          break;
        }
      }
      if (p.admitted - p.handed_back > limit_trials) {
        Report(kTrialsPerGeneration,
               absl::StrCat(p.admitted, " trials admitted in generation ", gen, ", ", p.handed_back,
                            " handed back: more than half_open_trial_calls ", limit_trials,
                            " took part"));
      } else if (p.admitted > limit_trials) {
        ++r_.stats.generations_over_trial_calls;
        if (o_.strict_trial_admission) {
          Report(kTrialsPerGeneration,
                 absl::StrCat(p.admitted, " trials admitted in generation ", gen,
                              " (half_open_trial_calls ", limit_trials, "; ", p.handed_back,
                              " were handed back and their slots reused)"));
        }
      }
      if (p.fresh_outcomes > limit_trials - 1) {
        Report(kTrialOutcomes,
               absl::StrCat(p.fresh_outcomes, " trial outcomes of generation ", gen,
                            " left it HALF_OPEN; at most half_open_trial_calls - 1 = ",
                            limit_trials - 1, " can"));
      }
      if (!c_.half_open_judge_by_rate && p.fresh_failed > 0 && gen + 1 < known_.size() &&
          known_[gen + 1].state == static_cast<int8_t>(State::kClosed) &&
          !(op_mask_[gen + 1] & Bit(State::kClosed)) &&
          !HoldMayMake(gen + 1, State::kHalfOpen, State::kClosed)) {
        ++r_.stats.closes_after_a_failed_trial;
      }
      // S of K: S successful trials close it, more than K - S failed ones
      // reopen it, so at most S - 1 and K - S of them leave it HALF_OPEN.
      if (!c_.half_open_judge_by_rate) {
        const int s = SuccessesToClose();
        if (p.fresh_successes > s - 1) {
          Report(kTrialOutcomes,
                 absl::StrCat(p.fresh_successes, " successful trials of generation ", gen,
                              " left it HALF_OPEN; S = ", s, " of them close it"));
        }
        if (p.fresh_failed > limit_trials - s) {
          Report(kTrialOutcomes, absl::StrCat(p.fresh_failed, " failed trials of generation ", gen,
                                              " left it HALF_OPEN; more than K - S = ",
                                              limit_trials - s, " of them reopen it"));
        }
      }
    }
    if (h_.complete) {
      for (size_t g = 0; g < known_.size(); ++g) {
        // The coordinator's HALF_OPEN starts with no trial, and may end
        // before one was lent a slot.
        if (known_[g].state == static_cast<int8_t>(State::kHalfOpen) &&
            !gens.count(static_cast<uint32_t>(g)) &&
            !HoldMayEnter(static_cast<uint32_t>(g), State::kHalfOpen)) {
          Report(kHalfOpenHasTrial,
                 absl::StrCat("generation ", g, " is HALF_OPEN in [", Source(known_[g].source),
                              "] but no trial was admitted in it (the caller that moves OPEN "
                              "to HALF_OPEN is its first trial)"));
        }
      }
    }
  }

  // ---- 8a. Per-probe deadlines: slots reclaimed by reaps ----------------------------------

  // With half_open_probe_timeout set, a trial's slot (its in-flight count)
  // goes back at its resolution or when it is reaped. A trial n of HALF_OPEN
  // g is admitted only while fewer than half_open_max_concurrent trials of g
  // are in flight. The trials of g certainly held by their callers at n's
  // admission (acquired before n began, resolution begun after n ended) were
  // in flight then unless reaped before n's CAS: so if there are `held` of
  // them, at least held - C + 1 had been reaped, by a reaper that read the
  // clock before n's CAS, at most n.clock_after. Fewer trials past their
  // deadline by then: one was reaped before its deadline. Exactly as many:
  // each of them was certainly reaped (its late outcome is stale and can
  // make no transition).
  void ProbeSlots() {
    if (!ProbeTimeoutOn()) return;
    const int limit = c_.half_open_max_concurrent;
    std::map<uint32_t, std::vector<size_t>> gens;
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (e.op == Op::kAcquire && e.admitted && e.trial) gens[e.permit_generation].push_back(i);
      if (e.op == Op::kAcquire && e.admitted && e.trial && MayBeReaped(e)) {
        ++r_.stats.trials_maybe_reaped;
      }
    }
    for (const auto& [gen, acquires] : gens) {
      int needed_here = 0;  // reaps this generation certainly had
      for (size_t n : acquires) {
        const Event& admitted = At(n);
        std::vector<size_t> held, past;
        for (size_t m : acquires) {
          const Event& a = At(m);
          if (m == n || a.after >= admitted.before) continue;
          const Event* r = ResolutionOf(a);
          if (r != nullptr && r->before <= admitted.after) continue;
          held.push_back(m);
          if (ReapableAt(a) <= admitted.clock_after) past.push_back(m);
        }
        const int need = static_cast<int>(held.size()) - limit + 1;
        if (need <= 0) continue;
        ++r_.stats.slots_reclaimed_by_reaps;
        needed_here = std::max(needed_here, need);
        if (static_cast<int>(past.size()) < need) {
          std::string trials;
          for (size_t m : held) {
            absl::StrAppend(&trials, "\n    [", FormatEvent(At(m)), "] reapable at clock ",
                            ReapableAt(At(m)));
          }
          Report(kProbeReapedEarly,
                 absl::StrCat(held.size(), " trials of generation ", gen,
                              " were certainly held when [", FormatEvent(admitted),
                              "] was admitted (half_open_max_concurrent ", limit, "), so ", need,
                              " had been reaped, but only ", past.size(),
                              " were past their probe deadline by its clock:", trials));
        } else if (static_cast<int>(past.size()) == need) {
          for (size_t m : past) certainly_reaped_.insert(At(m).permit);
        }
      }
      certain_reaps_[gen] = std::max(certain_reaps_[gen], needed_here);
    }
  }

  // ---- 8b. Trials under the shared hold: within the slots lent ----------------------------

  // Under kShared a trial of HALF_OPEN g is admitted only if in flight +
  // done < the slots lent to g (besides the config's bounds). The slots it
  // read were lent by a Lend(g) that began before its acquire ended, and
  // are only ever raised, so at most the largest of those. Every trial of g
  // admitted before it that was not handed back was in flight or done: at
  // least those whose acquire ended before it began, less every hand-back
  // that began before it ended. Outcomes move a trial from in flight to
  // done, and trials admitted while degraded take slots too, so neither
  // lowers the count. A trial counts only if its acquire certainly read
  // kShared.
  void LentSlots() {
    struct PerGen {
      std::vector<std::pair<uint64_t, uint32_t>> lends;  // (before, slots)
      std::vector<uint64_t> admitted;                    // trial acquires' `after`
      std::vector<uint64_t> handed_back;                 // hand-backs' `before`
      std::vector<size_t> shared;                        // trial acquires certainly under kShared
    };
    std::map<uint32_t, PerGen> gens;
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (e.op == Op::kLend) {
        gens[e.hold_generation].lends.emplace_back(e.before, e.lent_slots);
      } else if (e.op == Op::kAcquire && !e.admitted && e.rejected_state == State::kHalfOpen &&
                 CertainlyShared(e)) {
        ++r_.stats.shared_half_open_rejections;
      } else if (e.op == Op::kAcquire && e.admitted && e.trial) {
        PerGen& p = gens[e.permit_generation];
        p.admitted.push_back(e.after);
        if (CertainlyShared(e)) p.shared.push_back(i);
      } else if (IsGiveBack(e.op) && e.trial && !ReapHandsBack(e.permit)) {
        gens[e.permit_generation].handed_back.push_back(e.before);
      }
      // Per-probe deadlines, kReleased: a reap hands the slot back too, no
      // earlier than its claim (inside the acquire) and than the first
      // ticket by which the clock can have reached its deadline.
      if (e.op == Op::kAcquire && e.admitted && e.trial && ProbeTimeoutOn() && !ReapFails() &&
          MayBeReaped(e)) {
        // The earlier of the reap and its own hand-back, if any.
        const Event* r = ResolutionOf(e);
        uint64_t at = std::max(e.before, FirstTicketWithClock(ReapableAt(e)));
        if (r != nullptr && IsGiveBack(r->op)) at = std::min(at, r->before);
        gens[e.permit_generation].handed_back.push_back(at);
      }
    }
    for (auto& [gen, p] : gens) {
      if (p.shared.empty()) continue;
      std::sort(p.admitted.begin(), p.admitted.end());
      std::sort(p.handed_back.begin(), p.handed_back.end());
      auto count_before = [](const std::vector<uint64_t>& v, uint64_t t) {
        return static_cast<int64_t>(std::lower_bound(v.begin(), v.end(), t) - v.begin());
      };
      auto lent_by = [&p = p](uint64_t t) {
        uint32_t lent = 0;
        for (const auto& [before, slots] : p.lends) {
          if (before < t) lent = std::max(lent, slots);
        }
        return lent;
      };
      uint64_t last_after = 0;
      for (size_t i : p.shared) {
        const Event& a = At(i);
        last_after = std::max(last_after, a.after);
        const uint32_t lent = lent_by(a.after);
        const int64_t taken =
            count_before(p.admitted, a.before) - count_before(p.handed_back, a.after);
        ++r_.stats.shared_trials_checked;
        if (taken >= static_cast<int64_t>(lent)) {
          Report(kTrialsWithinLentSlots,
                 absl::StrCat("under kShared, a trial of generation ", gen, " was admitted with ",
                              taken, " of its trials certainly in flight or done, but at most ",
                              lent, " slots were lent to it by then: ", FormatEvent(a)));
        } else if (taken + 1 == static_cast<int64_t>(lent)) {
          ++r_.stats.shared_trials_on_last_slot;
        }
      }
      // However they overlapped: the last of them to be admitted found all
      // the others in flight or done, unless handed back.
      const uint32_t lent = lent_by(last_after);
      if (static_cast<int64_t>(p.shared.size()) - static_cast<int64_t>(p.handed_back.size()) >
          static_cast<int64_t>(lent)) {
        Report(kTrialsWithinLentSlots,
               absl::StrCat(p.shared.size(), " trials of generation ", gen,
                            " were admitted under kShared and ", p.handed_back.size(),
                            " trials handed back, but at most ", lent, " slots were lent to it"));
      }
    }
  }

  // The clock as read by anything that happened before ticket `t`: at most
  // the clock after the last advance the driver made before its first ticket
  // past `t` (its next advance comes after that ticket).
  int64_t ClockBefore(uint64_t t) const {
    auto mark =
        std::upper_bound(h_.clock_marks.begin(), h_.clock_marks.end(), t,
                         [](uint64_t ticket, const ClockMark& m) { return ticket < m.ticket; });
    return mark == h_.clock_marks.end() ? h_.end_clock : mark->now;
  }

  // Per-probe deadlines, kReleased: the trial acquired as `permit` may have
  // handed its slot back by a reap.
  bool ReapHandsBack(uint64_t permit) const {
    if (!ProbeTimeoutOn() || ReapFails()) return false;
    auto a = acquire_of_.find(permit);
    return a != acquire_of_.end() && MayBeReaped(At(a->second));
  }

  // The first ticket t with ClockBefore(t) >= clock: before it, nothing
  // can have read a clock that late.
  uint64_t FirstTicketWithClock(int64_t clock) const {
    auto mark = std::lower_bound(h_.clock_marks.begin(), h_.clock_marks.end(), clock,
                                 [](const ClockMark& m, int64_t c) { return m.now < c; });
    if (mark == h_.clock_marks.end()) {
      return h_.end_clock >= clock && !h_.clock_marks.empty() ? h_.clock_marks.back().ticket : kNever;
    }
    return mark == h_.clock_marks.begin() ? 0 : std::prev(mark)->ticket;
  }

  // ---- 9. Every automatic transition has a cause in its own generation ------------------

  // The ticket spans [before, after] of some events, to ask whether any of
  // them overlaps a window of tickets.
  class Spans {
   public:
    template <typename Pick>
    Spans(const std::vector<Event>& events, Pick pick) {
      for (const Event& e : events) {
        if (pick(e)) spans_.emplace_back(e.before, e.after);
      }
      std::sort(spans_.begin(), spans_.end());
      uint64_t latest = 0;
      for (auto& span : spans_) span.second = latest = std::max(latest, span.second);
    }
    // Some span with before < hi and after > lo.
    bool Overlap(uint64_t lo, uint64_t hi) const {
      auto it = std::lower_bound(spans_.begin(), spans_.end(), std::make_pair(hi, uint64_t{0}));
      return it != spans_.begin() && std::prev(it)->second > lo;
    }

   private:
    std::vector<std::pair<uint64_t, uint64_t>> spans_;  // by before; second: max after so far
  };

  // HALF_OPEN `gen` left between tickets `left` and `seen`: were its trial
  // slots certainly free then? Upper bounds: a trial may still have been
  // held unless its resolution ended before `left`; an outcome may have been
  // counted if its resolution began before `seen`.
  bool SlotsCertainlyFree(uint64_t left, uint64_t seen, const std::vector<size_t>& acquires) const {
    int held = 0, done = 0;
    for (size_t i : acquires) {
      const Event& a = At(i);
      if (a.before >= seen) continue;
      auto res = resolve_of_.find(a.permit);
      if (res == resolve_of_.end()) {
        ++held;
        continue;
      }
      const Event& r = At(res->second);
      if (r.after > left) ++held;
      if (IsOutcome(r) && r.before < seen) ++done;
    }
    return held < c_.half_open_max_concurrent && held + done < TrialCalls();
  }

  void Causes() {
    // Resolutions and trial acquires, by the permit's generation.
    std::unordered_map<uint32_t, std::vector<size_t>> resolutions;
    std::unordered_map<uint32_t, std::vector<size_t>> trial_acquires;
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (IsResolve(e.op) && e.returned) {
        auto a = acquire_of_.find(e.permit);
        if (a != acquire_of_.end() && Tracked(At(a->second))) {
          resolutions[e.permit_generation].push_back(i);
        }
      } else if (e.op == Op::kAcquire && e.admitted && e.trial) {
        trial_acquires[e.permit_generation].push_back(i);
      }
    }
    CheckStats& s = r_.stats;
    const bool judge_by_rate = c_.half_open_judge_by_rate;
    const bool consecutive_only =
        c_.failure_rate_threshold == 0 && c_.slow_call_rate_threshold == 0;
    const int trials = TrialCalls();
    const int to_close = SuccessesToClose();
    const bool timeout = c_.half_open_max_duration > absl::ZeroDuration();
    const int64_t limit = absl::ToInt64Nanoseconds(c_.half_open_max_duration);
    // Who may have been at work while CLOSED became OPEN (for the stats).
    const Spans failing(h_.events, [&](const Event& e) {
      return IsFailure(e.op) || (e.op == Op::kSuccess && MaybeSlow(e));
    });
    const Spans succeeding(h_.events, [](const Event& e) { return e.op == Op::kSuccess; });
    const Spans admitting(h_.events, [](const Event& e) { return e.op == Op::kAcquire; });
    for (size_t g = 1; g < known_.size(); ++g) {
      const Known& a = known_[g - 1];
      const Known& b = known_[g];
      if (a.state < 0 || b.state < 0) continue;
      const State from = static_cast<State>(a.state);
      const State to = static_cast<State>(b.state);
      if (!Automatic(from, to) || (op_mask_[g] & Bit(to)) ||
          HoldMayMake(static_cast<uint32_t>(g), from, to)) {
        continue;
      }
      // A cause started before anyone saw generation g; after that it was
      // too late (it would have read g). The transition itself came after
      // the last read of g - 1 began (`left`), and before `deadline`.
      const uint64_t deadline = first_reach_[g];
      const uint64_t left = last_seen_[g - 1] == kNever ? 0 : last_seen_[g - 1];
      int failures = 0, maybe_slow_successes = 0, successes = 0, trial_starts = 0;
      int retry_afters = 0;  // FailureRetryAfter(): one opens it, whatever else
      int maybe_failed = 0, maybe_successful = 0;  // trials, judged by S of K
      const uint32_t prev = static_cast<uint32_t>(g - 1);
      // Trials reaped before their outcome (certainly: ProbeSlots()): the
      // outcome is stale. Others that may have been are counted (an upper
      // bound on what the verdict counted).
      std::unordered_set<uint64_t> counted_failed;  // trials counted as maybe failed
      for (size_t i : resolutions[prev]) {
        const Event& r = At(i);
        if (r.before >= deadline) continue;
        if (r.trial != (from == State::kHalfOpen)) continue;
        if (r.trial && CertainlyReaped(r.permit)) continue;
        if (r.trial && (judge_by_rate ? IsOutcome(r) : MaybeFailedTrial(r))) {
          counted_failed.insert(r.permit);
        }
        if (IsFailure(r.op)) ++failures;
        if (r.op == Op::kFailureRetryAfter) ++retry_afters;
        if (r.op == Op::kSuccess) {
          ++successes;
          if (MaybeSlow(r)) ++maybe_slow_successes;
        }
        if (MaybeFailedTrial(r)) ++maybe_failed;
        if (MaybeSuccessfulTrial(r)) ++maybe_successful;
      }
      for (size_t i : trial_acquires[static_cast<uint32_t>(g)]) {
        if (At(i).before < deadline) ++trial_starts;
      }
      // With per-probe deadlines and kFailure, a reap counts a failed trial
      // (and an outcome, by rate) for the state machine: trials of the
      // HALF_OPEN generation that began before the transition was seen and
      // that a reaper whose clock was at most the clock before that ticket
      // can have reaped, not already counted by their own outcome.
      int reaps = 0;
      if (from == State::kHalfOpen && ReapFails()) {
        const int64_t clock_hi = ClockBefore(deadline);
        for (size_t i : trial_acquires[prev]) {
          const Event& a = At(i);
          if (a.before < deadline && !counted_failed.count(a.permit) && MayBeReapedBy(a, clock_hi)) {
            ++reaps;
          }
        }
      }
      std::string why;
      absl::string_view check = kTransitionCause;
      if (from == State::kClosed) {
        if (LatencyMayHaveMade(static_cast<uint32_t>(g))) {
          // The latency-percentile trip needs no failure: LatencyTrips()
          // judges it from the durations.
        } else if (failures + maybe_slow_successes == 0) {
          why = "no failure or slow call of the CLOSED generation began before it";
        } else if (consecutive_only && retry_afters == 0 &&
                   failures < EffectiveConsecutiveFailuresToOpen(c_)) {
          why = absl::StrCat("only ", failures,
                             " failures of the CLOSED generation began "
                             "before it (consecutive_failures_to_open ",
                             EffectiveConsecutiveFailuresToOpen(c_), ")");
        } else if (!failing.Overlap(left, deadline)) {
          // Rates are judged on every outcome: the success that brings a
          // window holding failures up to minimum_calls (or a call serving
          // an owed fold) opened it.
          ++s.trips_without_failure_in_flight;
          if (!admitting.Overlap(left, deadline) && succeeding.Overlap(left, deadline)) {
            ++s.trips_by_a_success;
          }
        }
      } else if (from == State::kOpen) {
        if (trial_starts == 0) why = "no trial of the HALF_OPEN generation began before it";
      } else if (to == State::kClosed) {
        // By rate: T outcomes. By S of K: S successful trials (a trial
        // that was certainly slow, when slow calls count, failed).
        const int deciding = judge_by_rate ? successes + failures : maybe_successful;
        const int needed = judge_by_rate ? trials : to_close;
        if (judge_by_rate && deciding < needed && deciding + reaps >= needed) {
          ++s.reap_verdicts;  // a reap was the K-th outcome
        } else if (deciding < needed) {
          why = judge_by_rate
                    ? absl::StrCat("only ", deciding,
                                   " trial outcomes of the HALF_OPEN generation began before it "
                                   "(half_open_trial_calls ",
                                   trials, ")")
                    : absl::StrCat("only ", deciding,
                                   " successful trials of the HALF_OPEN generation began before "
                                   "it (S = ",
                                   to_close, " of K = ", trials, " close it)");
        }
      } else {  // HALF_OPEN -> OPEN
        // By rate: T outcomes. By S of K: more than K - S failed trials.
        const bool decided = retry_afters > 0 ||
                             (judge_by_rate ? successes + failures >= trials
                                            : maybe_failed > trials - to_close);
        const bool decided_by_reaps =
            !decided && reaps > 0 &&
            (judge_by_rate ? successes + failures + reaps >= trials
                           : maybe_failed + reaps > trials - to_close);
        if (decided_by_reaps) {
          ++s.reap_verdicts;
          // Nothing else explains it (operators and the coordinator were
          // left out above): a reap of this generation happened.
          if (!timeout && retry_afters == 0) {
            certain_reaps_[prev] = std::max(certain_reaps_[prev], 1);
          }
        }
        if (!decided && !decided_by_reaps) {
          // Only the deadline can explain it: HALF_OPEN ends
          // half_open_max_duration after it began, whether or not slots are
          // free. The generation's first trial read the clock when it began
          // (no later than the winner that entered HALF_OPEN); whoever noticed
          // the deadline read the clock before ticket `deadline`.
          int64_t entered = std::numeric_limits<int64_t>::max();
          for (size_t i : trial_acquires[prev]) entered = std::min(entered, At(i).clock_before);
          if (!timeout || (entered != std::numeric_limits<int64_t>::max() &&
                           ClockBefore(deadline) < entered + limit)) {
            why = absl::StrCat(
                judge_by_rate
                    ? absl::StrCat("only ", successes + failures, " trial outcomes began before it")
                    : absl::StrCat("only ", maybe_failed,
                                   " failed or slow trials of the HALF_OPEN generation began "
                                   "before it (more than K - S = ",
                                   trials - to_close, " reopen it)"),
                timeout ? " and its trials were not yet half_open_max_duration old" : "",
                ReapFails() ? " and no trial of it was past its probe deadline (a reap counts a "
                              "failed trial) by the clock before that ticket"
                            : "");
            if (ReapFails()) check = kProbeReapedEarly;
          } else {
            ++s.timeout_reopens;
            if (SlotsCertainlyFree(left, deadline, trial_acquires[prev])) {
              ++s.timeout_reopens_with_free_slots;
            }
          }
        }
      }
      if (why.empty() && from == State::kOpen && g >= 2) {
        why = OpenLongEnough(static_cast<uint32_t>(g), deadline, resolutions, trial_acquires);
      }
      if (why.empty()) {
        ++s.causes_checked;
      } else {
        Report(check,
               absl::StrCat(StateName(from), " (generation ", g - 1, ") -> ", StateName(to),
                            " (generation ", g, ", first seen by ticket ", deadline, "): ", why,
                            "; seen in [", Source(b.source), "]"));
      }
    }
  }

  // OPEN (g-1) -> HALF_OPEN (g): the caller that moved it read the clock at
  // or past OPEN's deadline, at least open_duration * (1 - jitter) after the
  // OPEN period began. When it began, at least:
  //   * from CLOSED: the clock the opener read, no earlier than the
  //     earliest call that can have caused the opening;
  //   * from HALF_OPEN by its trials: the clock the reopener read, after the
  //     k trials its verdict counted had begun (each was counted by a CAS
  //     the reopener read before its clock): k = K - S + 1 failed trials,
  //     or K outcomes by rate;
  //   * from HALF_OPEN by its deadline: the deadline itself (entry +
  //     half_open_max_duration), NOT the clock of whoever noticed it later.
  // The mover read the clock before its own acquire ended and before g was
  // seen.
  std::string OpenLongEnough(uint32_t g, uint64_t seen,
                             std::unordered_map<uint32_t, std::vector<size_t>>& resolutions,
                             std::unordered_map<uint32_t, std::vector<size_t>>& trial_acquires) {
    const Known& before_open = known_[g - 2];
    if (before_open.state < 0) return "";
    const uint64_t opened_seen = first_reach_[g - 1];
    constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
    int64_t opened_lo = kNone;  // the OPEN period began at this clock, at least
    bool from_deadline = false;
    const State from = static_cast<State>(before_open.state);
    if (from == State::kClosed) {
      for (size_t i : resolutions[g - 2]) {
        const Event& r = At(i);
        if (r.before >= opened_seen || r.trial) continue;
        // A latency trip is made by any outcome (it judges the window).
        if (IsFailure(r.op) || (r.op == Op::kSuccess && MaybeSlow(r)) ||
            (IsOutcome(r) && LatencyMayHaveMade(g - 1))) {
          opened_lo = std::min(opened_lo, r.clock_before);
        }
      }
    } else if (from == State::kHalfOpen) {
      // One clock per trial that can have been counted: its outcome's, or
      // (per-probe deadlines, kFailure) the earliest clock of a reaper that
      // can have reaped it, whichever is earlier.
      std::unordered_map<uint64_t, int64_t> counted;  // permit -> clock, at least
      for (size_t i : resolutions[g - 2]) {
        const Event& r = At(i);
        if (r.before >= opened_seen || !r.trial || CertainlyReaped(r.permit)) continue;
        if (c_.half_open_judge_by_rate ? IsOutcome(r) : MaybeFailedTrial(r)) {
          counted[r.permit] = r.clock_before;
        }
      }
      if (ReapFails()) {
        const int64_t clock_hi = ClockBefore(opened_seen);
        for (size_t i : trial_acquires[g - 2]) {
          const Event& a = At(i);
          if (a.before >= opened_seen || !MayBeReapedBy(a, clock_hi)) continue;
          auto it = counted.find(a.permit);
          if (it == counted.end()) {
            counted[a.permit] = ReapableAt(a);
          } else {
            it->second = std::min(it->second, ReapableAt(a));
          }
        }
      }
      std::vector<int64_t> clocks;
      for (const auto& [permit, clock] : counted) clocks.push_back(clock);
      const size_t k = static_cast<size_t>(
          c_.half_open_judge_by_rate ? TrialCalls() : TrialCalls() - SuccessesToClose() + 1);
      if (k >= 1 && clocks.size() >= k) {
        std::nth_element(clocks.begin(), clocks.begin() + static_cast<std::ptrdiff_t>(k - 1),
                         clocks.end());
        opened_lo = clocks[k - 1];
      }
      if (c_.half_open_max_duration > absl::ZeroDuration()) {
        int64_t entered = kNone;
        for (size_t i : trial_acquires[g - 2]) entered = std::min(entered, At(i).clock_before);
        if (entered != kNone) {
          const int64_t at_deadline = entered + absl::ToInt64Nanoseconds(c_.half_open_max_duration);
          if (at_deadline < opened_lo) {
            opened_lo = at_deadline;
            from_deadline = true;
          }
        }
      }
    }
    // Whoever can have opened it: the breaker (a failure, trials, the
    // HALF_OPEN deadline: opened_lo, if any can have), or the coordinator,
    // whose OPEN lasts exactly the period it gave from the clock it read
    // inside its call. The earliest end among them binds.
    int64_t shortest = 0;
    std::string since;
    if (opened_lo != kNone) {
      shortest = ShortestOpenNanos(ReopenCountAtLeast(g - 1));
      since = from_deadline ? "the HALF_OPEN deadline that reopened it" : "the call that opened it";
    }
    // A FailureRetryAfter() of the generation before can have opened it for
    // exactly the wait it gave, from the clock it read.
    bool by_retry_after = false;
    for (size_t i : resolutions[g - 2]) {
      const Event& r = At(i);
      if (r.op != Op::kFailureRetryAfter || r.before >= opened_seen) continue;
      if (r.trial != (from == State::kHalfOpen)) continue;
      if (opened_lo == kNone || r.clock_before + r.open_nanos < opened_lo + shortest) {
        opened_lo = r.clock_before;
        shortest = r.open_nanos;
        since = absl::StrCat("[", FormatEvent(r), "], which asked for that period");
        from_deadline = false;
        by_retry_after = true;
      }
    }
    bool by_hold = false;
    for (size_t i : Holders(g - 1)) {
      const Event& c = At(i);
      if (!HoldMay(c, from, State::kOpen)) continue;
      if (opened_lo == kNone || c.clock_before + HoldPeriod(c) < opened_lo + shortest) {
        opened_lo = c.clock_before;
        shortest = HoldPeriod(c);
        since = absl::StrCat("[", FormatEvent(c), "], which gave it that period");
        from_deadline = false;
        by_hold = true;
        by_retry_after = false;
      }
    }
    if (opened_lo == kNone) return "";
    int64_t moved_hi = std::numeric_limits<int64_t>::min();
    for (size_t i : trial_acquires[g]) {
      if (At(i).before < seen) moved_hi = std::max(moved_hi, At(i).clock_after);
    }
    moved_hi = std::min(moved_hi, ClockBefore(seen));
    ++r_.stats.open_durations_checked;
    if (from_deadline) ++r_.stats.open_durations_from_half_open_deadline;
    if (by_hold) ++r_.stats.shared_open_periods_timed;
    if (by_retry_after) ++r_.stats.retry_after_periods_timed;
    if (moved_hi + 2000 >= opened_lo + shortest) return "";
    return absl::StrCat("it left OPEN after at most ", (moved_hi - opened_lo) / 1000,
                        " us of clock since ", since, "; the shortest open duration is ",
                        shortest / 1000, " us");
  }

  // The re-open count an OPEN generation's period was computed with, at
  // least: 0 from CLOSED, one more than the OPEN before it for a reopen from
  // HALF_OPEN (the breaker enters HALF_OPEN only from OPEN, so g-1
  // HALF_OPEN means g-2 OPEN). Exact, not a guess: each OPEN's winner
  // updates the count before it stores its deadline, and the next
  // HALF_OPEN needs that deadline, so a reopen's winner reads its
  // predecessor's count (design.md section 3). An unobserved generation
  // ends the walk (count 0 from there), and so does a HALF_OPEN the
  // coordinator may have entered: from CLOSED, or from an OPEN whose
  // winner may not have stored its count yet (it needs no deadline).
  int ReopenCountAtLeast(uint32_t open_gen) const {
    int count = 0;
    for (uint32_t g = open_gen; g >= 2 && count < 64; g -= 2) {
      if (known_[g - 1].state != static_cast<int8_t>(State::kHalfOpen)) break;
      ++count;
      if (HoldMayEnter(g - 1, State::kHalfOpen)) break;
    }
    return count;
  }

  // The shortest open period with `reopen_count` reopens: backed off,
  // capped, then jittered down (at the cap jitter only shortens).
  int64_t ShortestOpenNanos(int reopen_count) const {
    const double base = absl::ToDoubleNanoseconds(c_.open_duration);
    const double cap = absl::ToDoubleNanoseconds(c_.max_open_duration);
    const double backed_off =
        std::min(base * std::pow(c_.open_backoff_multiplier, reopen_count), cap);
    return static_cast<int64_t>(backed_off * (1 - c_.open_jitter));
  }

  // ---- 9b. Transition records: who made each transition, and why ------------------------

  // The listener runs on the thread that made the transition, inside its
  // call, so a record names its maker. A SHARED transition is one the
  // maker, a call of the coordinator, can make; an OPERATOR one, the
  // maker's control; any other cause is the breaker's own, and makes the
  // transition that cause names, never while its maker certainly read
  // kShared (the decision it took read kShared: design.md section 13).
  void Records() {
    if (h_.transitions.empty() && !h_.transitions_complete) return;
    CheckStats& s = r_.stats;
    const std::unordered_map<uint64_t, size_t>& event_at = event_at_;
    std::vector<int64_t>& made = made_;  // generation -> its record
    for (size_t k = 0; k < h_.transitions.size(); ++k) {
      const TransitionRecord& t = h_.transitions[k];
      if (t.generation == 0) {
        Report(kTransitionRecord,
               absl::StrCat("a transition into generation 0: ", FormatTransition(t)));
      } else if (made[t.generation] >= 0) {
        Report(kTransitionRecord,
               absl::StrCat(
                   "two transitions into generation ", t.generation, ": ", FormatTransition(t),
                   " and ",
                   FormatTransition(h_.transitions[static_cast<size_t>(made[t.generation])])));
      } else {
        made[t.generation] = static_cast<int64_t>(k);
      }
    }
    if (h_.transitions_complete) {
      for (size_t g = 1; g < made.size(); ++g) {
        if (made[g] < 0) {
          Report(kTransitionRecord,
                 absl::StrCat("no record of the transition into generation ", g));
        }
      }
    }
    for (const TransitionRecord& t : h_.transitions) {
      const uint32_t g = t.generation;
      if (g == 0) continue;
      const Event* e = nullptr;
      if (t.event != 0) {
        auto it = event_at.find(t.event);
        if (it == event_at.end() || At(it->second).thread != t.thread) {
          Report(kTransitionRecord,
                 absl::StrCat("the record names no event of its thread: ", FormatTransition(t)));
          continue;
        }
        e = &At(it->second);
      }
      ++s.record_causes[std::string(TransitionCauseName(t.cause))];
      // Made by the call between its two observations; an own transition
      // may also be made by them (a due HALF_OPEN deadline).
      const bool own = t.cause != TransitionCause::kShared && t.cause != TransitionCause::kOperator;
      const bool in_window =
          e == nullptr || ((own || e->pre.generation < g) && g <= e->post.generation);
      std::string why;
      absl::string_view check = kTransitionRecord;
      if (t.cause == TransitionCause::kShared) {
        if (e == nullptr || !HoldMay(*e, t.from, t.to) ||
            (e->op == Op::kFollow && e->hold_generation != g) ||
            (e->op == Op::kReopen && e->hold_generation + 1 != g)) {
          why = "a SHARED transition that its maker, no call of the coordinator's hold, made";
        } else if (e->op == Op::kSetSharing) {
          ++s.leave_reopens;
        }
      } else if (t.cause == TransitionCause::kOperator) {
        if (e == nullptr || !IsOperator(e->op) || OperatorTarget(e->op) != t.to) {
          why = "an OPERATOR transition that its maker, no operator control, made";
        }
      } else if (!OwnCauseMakes(t.cause, t.from, t.to)) {
        why = "its cause does not make that transition";
      } else if (t.cause == TransitionCause::kHalfOpenTimeout && made[g - 1] >= 0 &&
                 h_.transitions[static_cast<size_t>(made[g - 1])].cause ==
                     TransitionCause::kShared) {
        why = "the HALF_OPEN it left was the coordinator's, which has no deadline";
      } else if (e != nullptr && TrialVerdict(t.cause)) {
        TrialVerdictMaker(g, *e, &why, &check);
      }
      if (why.empty() && !in_window) why = "made outside its maker's window of generations";
      if (!why.empty()) {
        Report(check, absl::StrCat(why, ": ", FormatTransition(t),
                                   e ? absl::StrCat(" [", FormatEvent(*e), "]") : ""));
        continue;
      }
      if (!own || e == nullptr) continue;
      const uint8_t sharing = SharingDuring(*e);
      if (sharing == Bit(Sharing::kShared)) {
        Report(kOwnTransitionWhileShared,
               absl::StrCat("the breaker made ", FormatTransition(t),
                            " itself in an event that certainly read kShared: [", FormatEvent(*e),
                            "]"));
      } else if (sharing & Bit(Sharing::kShared)) {
        ++s.own_transitions_racing;
      } else {
        ++s.own_transitions_unshared;
      }
    }
  }

  static bool TrialVerdict(TransitionCause cause) {
    return cause == TransitionCause::kTrialFailures || cause == TransitionCause::kTrialFailureRate ||
           cause == TransitionCause::kTrialSlowCallRate || cause == TransitionCause::kTrialsSucceeded;
  }

  // A trial verdict (HALF_OPEN g-1 -> g) is made by OnTrialOutcome(): in
  // the resolution of a trial of generation g-1 (an outcome), or, with
  // per-probe deadlines and kFailure, by a reap, which any event may make
  // (its observations call state() and generation(), which reap; a call
  // finding no slot reaps). A reap by `e` needs a trial of g-1 claimed
  // before `e` ended, not resolved before `e` began, and past its deadline
  // by e's clock_after. The late outcome of a trial certainly reaped is
  // stale: it makes no verdict.
  void TrialVerdictMaker(uint32_t g, const Event& e, std::string* why,
                         absl::string_view* check) {
    const bool outcome =
        IsResolve(e.op) && IsOutcome(e) && e.trial && e.permit_generation + 1 == g;
    bool reap = false;
    auto it = trial_acquires_.find(g - 1);
    if (ReapFails() && it != trial_acquires_.end()) {
      for (size_t i : it->second) {
        const Event& a = At(i);
        if (a.before >= e.after || (outcome && a.permit == e.permit)) continue;
        const Event* r = ResolutionOf(a);
        if (r != nullptr && r->after < e.before) continue;
        if (MayBeReapedBy(a, e.clock_after)) reap = true;
      }
    }
    if (!outcome) {
      if (reap) {
        ++r_.stats.recorded_reap_transitions;
      } else if (ReapFails()) {
        *why = absl::StrCat(
            "a trial verdict made by an event that counted no trial outcome of generation ", g - 1,
            ", so by a reap, but no trial of it was held and past its probe deadline by the "
            "event's clock");
        *check = kProbeReapedEarly;
      } else {
        *why = absl::StrCat("a trial verdict made by an event that counted no trial outcome of "
                            "generation ",
                            g - 1);
      }
    } else if (CertainlyReaped(e.permit) && !reap) {
      *why = "a trial verdict made by the late outcome of a trial that was certainly reaped";
      *check = kLateReapedOutcome;
    }
  }

  // ---- 9c. Slow start (slow_start_duration) ----------------------------------------------

  // /tmp/spec/slow_start.md. Only the HALF_OPEN -> CLOSED CAS of a trials'
  // verdict sets the gate (never Reset(), an operator, the shared state's
  // CLOSED); the closer read its clock (CoarseNowNanos(), the FakeClock's
  // reading) before that CAS, and the transition stores the ramp's end,
  // close + slow_start_duration on the elapsed scale rounded up to a
  // microsecond, in the deadline word before the closer's event returns.
  // An admission in CLOSED with the gate set reads the clock (`now`, inside
  // its event) and the end: now >= end clears the gate and admits; else it
  // admits with probability f = 1 - (end - now) / ramp (0 at the ramp's
  // first instant) and sheds the rest, retry_after() = end - the clock when
  // asked; an end not stored yet (or overwritten by a later generation's:
  // the generation moved under the call) sheds with end = now + ramp.
  bool SlowStartOn() const { return c_.slow_start_duration > absl::ZeroDuration(); }
  // Adaptive throttling (commit f8dc182) draws at the same gate, in any
  // CLOSED generation, and multiplies a ramp's fraction by its own share:
  // with it on, a shed call may be the throttle's (its own retry, at any
  // time), so only the bounds it cannot break are checked (nothing admitted
  // at a ramp's first instant, no more admitted than the fractions allow,
  // the counts).
  bool ThrottlingOn() const { return c_.adaptive_throttling; }
  int64_t RampNanos() const { return absl::ToInt64Nanoseconds(c_.slow_start_duration); }

  // The ramp's end (absolute clock) for a closer that read `closer_clock`.
  int64_t RampEnd(int64_t closer_clock) const {
    const int64_t elapsed = closer_clock - h_.start_clock + RampNanos();
    const int64_t micros = elapsed <= 0 ? 0 : (elapsed + 999) / 1000;
    return h_.start_clock + micros * 1000;
  }

  // The clock as read by anything after ticket `t`: at least the clock of
  // the driver's last advance whose mark it took before `t`.
  int64_t ClockAtLeast(uint64_t t) const {
    auto mark =
        std::lower_bound(h_.clock_marks.begin(), h_.clock_marks.end(), t,
                         [](const ClockMark& m, uint64_t ticket) { return m.ticket < ticket; });
    return mark == h_.clock_marks.begin() ? h_.start_clock : std::prev(mark)->now;
  }

  struct Ramp {
    bool may_gate = false;  // slow start can have gated this CLOSED generation
    bool certain = false;   // ... and certainly did: a trials' verdict closed it
    std::string why_not;    // when !may_gate
    bool timed = false;     // the closer's clock is bounded: the fields below
    int64_t closer_lo = 0;  // the closer read at least this clock
    int64_t end_lo = 0;     // the ramp's end lies in [end_lo, end_hi]
    int64_t end_hi = 0;
    uint64_t stored_by = kNever;  // the end is certainly stored after this ticket
  };

  Ramp RampOf(uint32_t g) const {
    Ramp r;
    if (!SlowStartOn()) {
      r.why_not = "slow_start_duration is off";
      return r;
    }
    if (g == 0) {
      r.why_not = "generation 0 is the breaker's first CLOSED, which no trials closed";
      return r;
    }
    const Event* closer = nullptr;
    if (g < made_.size() && made_[g] >= 0) {
      const TransitionRecord& t = h_.transitions[static_cast<size_t>(made_[g])];
      if (t.from != State::kHalfOpen || t.to != State::kClosed ||
          t.cause != TransitionCause::kTrialsSucceeded) {
        r.why_not = absl::StrCat("it was entered by ", FormatTransition(t),
                                 ", not by a trials' verdict");
        return r;
      }
      r.may_gate = r.certain = true;
      if (t.event != 0) {
        auto it = event_at_.find(t.event);
        if (it != event_at_.end() && At(it->second).thread == t.thread) closer = &At(it->second);
      }
    } else {
      const Known& prev = known_[g - 1];
      if (prev.state >= 0 && prev.state != static_cast<int8_t>(State::kHalfOpen)) {
        r.why_not = absl::StrCat("generation ", g - 1, " before it is ",
                                 StateName(static_cast<State>(prev.state)), " in [",
                                 Source(prev.source), "], not HALF_OPEN");
        return r;
      }
      r.may_gate = true;
      r.certain = prev.state == static_cast<int8_t>(State::kHalfOpen) &&
                  !(op_mask_[g] & Bit(State::kClosed)) &&
                  !HoldMayMake(g, State::kHalfOpen, State::kClosed);
    }
    if (!r.certain) return r;
    int64_t lo, hi = std::numeric_limits<int64_t>::max();
    uint64_t done;
    if (closer != nullptr) {
      // A trial outcome read the clock inside its operation; any other
      // maker (a reap in an observation, even the pre-observation of an
      // outcome, which comes before clock_before) after its `before` ticket.
      const bool outcome = IsResolve(closer->op) && IsOutcome(*closer) && closer->trial &&
                           closer->permit_generation + 1 == g && closer->pre.generation < g;
      lo = outcome ? closer->clock_before : ClockAtLeast(closer->before);
      hi = closer->clock_after;
      done = closer->after;
    } else if (!ProbeTimeoutOn()) {
      // No record: the closer is a trial outcome of g - 1 that began before
      // g was seen; the end is stored once every such outcome has returned.
      lo = std::numeric_limits<int64_t>::max();
      done = 0;
      auto it = trial_acquires_.find(g - 1);
      if (it != trial_acquires_.end()) {
        for (size_t i : it->second) {
          const Event* res = ResolutionOf(At(i));
          if (res == nullptr || !IsOutcome(*res) || res->before >= first_reach_[g]) continue;
          lo = std::min(lo, res->clock_before);
          done = std::max(done, res->after);
        }
      }
      if (lo == std::numeric_limits<int64_t>::max()) return r;
    } else {
      return r;  // a reap may have closed it, in any event
    }
    // Its clock read came before the CAS, so before anyone saw g.
    hi = std::min(hi, ClockBefore(first_reach_[g]));
    r.timed = true;
    r.closer_lo = lo;
    r.end_lo = RampEnd(lo);
    r.end_hi = RampEnd(std::max(lo, hi));
    r.stored_by = done;
    return r;
  }

  void SlowStart() {
    CheckStats& s = r_.stats;
    const int64_t ramp = RampNanos();
    std::unordered_map<uint32_t, Ramp> ramps;
    auto ramp_of = [&](uint32_t g) -> const Ramp& {
      auto it = ramps.find(g);
      if (it == ramps.end()) {
        it = ramps.emplace(g, RampOf(g)).first;
        if (it->second.timed) ++s.ramps;
      }
      return it->second;
    };
    // Per ramp: the end its shed calls' retries imply, all of them at once.
    struct Agreed {
      int64_t lo = std::numeric_limits<int64_t>::min();
      int64_t hi = std::numeric_limits<int64_t>::max();
      size_t first = 0;  // the event that set the bounds first
      bool any = false;
      bool reported = false;
    };
    std::unordered_map<uint32_t, Agreed> agreed;
    // Per ramp: the first ticket by which its gate was certainly cleared
    // (a call admitted past the end had returned), and whether it ended.
    std::unordered_map<uint32_t, uint64_t> cleared;
    double fraction_lo = 0, fraction_hi = 0;
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (e.op != Op::kAcquire) continue;
      const uint32_t g = e.permit_generation;
      const bool shed = !e.admitted && e.rejected_state == State::kClosed;
      const bool normal = e.admitted && !e.trial;
      if (shed) ++s.shed_seen;
      // Off, a call rejected as CLOSED is rejected-only-when-open's.
      if (!SlowStartOn() || !(shed || normal)) continue;
      if (normal && known_[g].state != static_cast<int8_t>(State::kClosed)) continue;
      const Ramp& rp = ramp_of(g);
      if (shed && !rp.may_gate) {
        if (ThrottlingOn()) continue;
        Report(kShedOutsideRamp, absl::StrCat("a call shed as CLOSED in generation ", g,
                                              ", which cannot ramp: ", rp.why_not, ": ",
                                              FormatEvent(e)));
        continue;
      }
      if (!rp.timed) continue;
      // The ramp's first instant: f = 1 - (end - now) / ramp <= 0 whatever
      // the end and the call's clock. (A gate cleared before would need a
      // clearer that read end or more, and this call reads after it.)
      if (e.clock_after + ramp <= rp.end_lo) {
        ++s.ramp_first_instant_checks;
        if (normal) {
          Report(kRampFirstInstant,
                 absl::StrCat("admitted at clock ", e.clock_after, ", at the first instant of the ",
                              "ramp of generation ", g, " (closed at clock ", rp.closer_lo,
                              " or later; ramp end at least ", rp.end_lo, "): ", FormatEvent(e)));
        }
      }
      // The end is certainly stored (the closer's event has returned) and
      // no later generation's overwrote it (g is current after the call).
      const bool stored = e.before > rp.stored_by && e.post.generation == g;
      if (shed && e.retry_nanos >= 0 && !ThrottlingOn()) {
        // The end the retry implies: retry + the clock it was asked at
        // (inside the event); a retry of 0 means an end at or before it.
        const int64_t lo = e.retry_nanos > 0 ? e.clock_before + e.retry_nanos
                                             : std::numeric_limits<int64_t>::min();
        const int64_t hi = e.clock_after + e.retry_nanos;
        // Not stored: the call read no end and shed with now + ramp, not
        // rounded, its now no earlier than the closer's.
        const int64_t may_lo =
            stored ? rp.end_lo : std::min(rp.end_lo, std::max(rp.closer_lo, e.clock_before) + ramp);
        const int64_t may_hi = stored ? rp.end_hi : std::max(rp.end_hi, e.clock_after + ramp);
        if (hi < may_lo || lo > may_hi) {
          Report(kShedRetry,
                 absl::StrCat("retry_after() ", e.retry_nanos, " ns puts the ramp's end in [", lo,
                              ", ", hi, "], but the ramp of generation ", g, " ends in [",
                              may_lo, ", ", may_hi, "]: ", FormatEvent(e)));
        } else if (!stored && (hi < rp.end_lo || lo > rp.end_hi)) {
          ++s.shed_before_store;  // its end is now + ramp: it read no stored end
        } else if (stored) {
          ++s.shed_retries_checked;
          Agreed& a = agreed[g];
          if (!a.any) a.first = i;
          a.any = true;
          a.lo = std::max(a.lo, lo);
          a.hi = std::min(a.hi, hi);
          if (a.lo > a.hi && !a.reported) {
            a.reported = true;
            Report(kShedRetry,
                   absl::StrCat("the shed calls of generation ", g,
                                " disagree on the ramp's end (one stored end): [",
                                FormatEvent(At(a.first)), "] and [", FormatEvent(e), "]"));
          }
        }
      }
      if (!stored) continue;
      if (shed) ++s.shed_after_store;
      // Past the end: every call is admitted (and the first clears the gate
      // for the rest of the generation).
      if (e.clock_before >= rp.end_hi) {
        ++s.ramp_over_checks;
        if (shed) {
          if (!ThrottlingOn()) {
            Report(kShedAfterRamp,
                   absl::StrCat("shed at clock ", e.clock_before, ", past the end of the ramp of ",
                                "generation ", g, " (at most ", rp.end_hi,
                                ", stored before ticket ", rp.stored_by, "): ", FormatEvent(e)));
          }
        } else {
          auto [it, fresh] = cleared.emplace(g, e.after);
          if (fresh) ++s.ramps_ended;
          it->second = std::min(it->second, e.after);
        }
        continue;
      }
      // A draw: the fraction lies in [f_lo, f_hi] (the call read its clock
      // inside its event, the end lies in [end_lo, end_hi]).
      const double f_lo = std::clamp(
          1.0 - static_cast<double>(rp.end_hi - e.clock_before) / static_cast<double>(ramp), 0.0,
          1.0);
      const double f_hi = std::clamp(
          1.0 - static_cast<double>(rp.end_lo - e.clock_after) / static_cast<double>(ramp), 0.0,
          1.0);
      if (f_hi <= 0) continue;  // certainly shed: the first instant's check
      ++s.ramp_draws;
      if (normal) ++s.ramp_draws_admitted;
      fraction_lo += ThrottlingOn() ? 0.0 : f_lo;
      fraction_hi += f_hi;
    }
    s.ramp_draws_fraction_lo = fraction_lo;
    s.ramp_draws_fraction_hi = fraction_hi;
    // Each draw admits with a probability p_i in [f_lo_i, f_hi_i] that is
    // fixed before it is drawn, so admitted - sum p_i is a martingale with
    // steps in a range of width 1: by Azuma-Hoeffding it strays more than
    // t from 0 with probability at most exp(-2 t^2 / n). t = 6 sqrt(n):
    // exp(-72), about 5e-32, per history and side. A ramp that admits half
    // or twice as many as its fractions say is caught once a history has
    // a few hundred draws.
    if (s.ramp_draws > 0) {
      const double n = static_cast<double>(s.ramp_draws);
      const double slack = 6 * std::sqrt(n);
      const double admitted = static_cast<double>(s.ramp_draws_admitted);
      if (admitted < fraction_lo - slack || admitted > fraction_hi + slack) {
        Report(kRampShare,
               absl::StrCat(s.ramp_draws_admitted, " of ", s.ramp_draws,
                            " draws during ramps were admitted; their fractions allow ",
                            fraction_lo, " to ", fraction_hi, " (+- ", slack,
                            ", a deviation with probability below 1e-31)"));
      }
    }
    // Trips during a ramp (certainly before its end), and outcomes of
    // calls admitted during a ramp that resolved after its gate was
    // certainly cleared, in the same generation (they count: not stale).
    for (const auto& [g, rp] : ramps) {
      if (!rp.timed || g + 1 >= known_.size()) continue;
      if (known_[g + 1].state == static_cast<int8_t>(State::kOpen) &&
          ClockBefore(first_reach_[g + 1]) < rp.end_lo) {
        ++s.ramp_trips;
      }
    }
    for (const Event& r : h_.events) {
      if (!IsResolve(r.op) || !IsOutcome(r) || r.trial) continue;
      auto it = cleared.find(r.permit_generation);
      if (it == cleared.end() || r.before <= it->second) continue;
      if (r.pre.generation != r.permit_generation || r.post.generation != r.permit_generation) {
        continue;
      }
      const Ramp& rp = ramps.at(r.permit_generation);
      if (r.acquired_clock_after < rp.end_lo) ++s.ramp_outcomes_after_gate;
    }
    // A shed call changes nothing: no transition is made by one out of a
    // CLOSED generation (its observations can only end a HALF_OPEN, and
    // an owed fold it serves, if it trips, leaves the call rejected as
    // OPEN).
    for (const TransitionRecord& t : h_.transitions) {
      if (t.event == 0 || t.from != State::kClosed) continue;
      auto it = event_at_.find(t.event);
      if (it == event_at_.end()) continue;
      const Event& e = At(it->second);
      if (e.thread != t.thread || e.op != Op::kAcquire || e.admitted ||
          e.rejected_state != State::kClosed) {
        continue;
      }
      Report(kShedChangedState, absl::StrCat("a shed call made ", FormatTransition(t), ": [",
                                             FormatEvent(e), "]"));
    }
  }

  // ---- 9d. Consecutive failures trip -----------------------------------------------------

  // With consecutive_failures_to_open N: each failure of a CLOSED
  // generation's permit adds to the run of its generation (if current), a
  // success of it ends the run, and the failure whose run reaches N trips
  // before it returns (TripIfCurrent() loops until the word is no longer
  // CLOSED g), unless the shared state decides. So N failures of g that
  // began while g was current, none under kShared, with no success of g
  // overlapping the span from the first one's start to the last one's end,
  // leave g over once they have all returned: an event that begins after
  // that and still reads g is a missed trip (or failures not counted, as
  // during a ramp). Anything else (the window tripping first) only ends g
  // sooner.
  void ConsecutiveTrips() {
    const int needed = EffectiveConsecutiveFailuresToOpen(c_);
    if (needed <= 0) return;
    std::unordered_map<uint32_t, std::vector<size_t>> failures;
    std::unordered_map<uint32_t, std::vector<size_t>> successes;
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (!IsResolve(e.op) || e.trial) continue;
      auto a = acquire_of_.find(e.permit);
      if (a == acquire_of_.end() || !Tracked(At(a->second))) continue;
      if (e.op == Op::kSuccess) {
        successes[e.permit_generation].push_back(i);
      } else if (IsFailure(e.op) && e.pre.generation == e.permit_generation && !MaybeShared(e)) {
        failures[e.permit_generation].push_back(i);
      }
    }
    for (auto& [g, fs] : failures) {
      if (static_cast<int>(fs.size()) < needed) continue;
      if (known_[g].state != static_cast<int8_t>(State::kClosed)) continue;
      std::sort(fs.begin(), fs.end(),
                [&](size_t a, size_t b) { return At(a).after < At(b).after; });
      // Successes by `before`, with the latest `after` so far.
      std::vector<std::pair<uint64_t, uint64_t>> ss;
      for (size_t k : successes[g]) ss.emplace_back(At(k).before, At(k).after);
      std::sort(ss.begin(), ss.end());
      for (size_t k = 1; k < ss.size(); ++k) {
        ss[k].second = std::max(ss[k].second, ss[k - 1].second);
      }
      for (size_t j = static_cast<size_t>(needed) - 1; j < fs.size(); ++j) {
        const uint64_t end = At(fs[j]).after;
        // Successes that began before the last failure ended must have
        // ended before the first one began.
        auto it = std::lower_bound(ss.begin(), ss.end(), std::make_pair(end, uint64_t{0}));
        const uint64_t barrier = it == ss.begin() ? 0 : std::prev(it)->second;
        int run = 0;
        for (size_t k = 0; k <= j; ++k) {
          if (At(fs[k]).before > barrier) ++run;
        }
        if (run < needed) continue;
        ++r_.stats.consecutive_runs_checked;
        if (last_seen_[g] != kNever && last_seen_[g] > end) {
          std::string which;
          for (size_t k = 0; k <= j; ++k) {
            if (At(fs[k]).before > barrier) {
              absl::StrAppend(&which, "\n    [", FormatEvent(At(fs[k])), "]");
            }
          }
          Report(kMissedTrip,
                 absl::StrCat(run, " failures of CLOSED generation ", g,
                              " with no success among them (consecutive_failures_to_open ",
                              needed, ") had returned by ticket ", end,
                              ", yet an event that began at ticket ", last_seen_[g],
                              " still read generation ", g, ":", which));
        }
        break;
      }
    }
  }

  // ---- 9e. The latency-percentile trip (latency_percentile) ------------------------------

  // src/latency.cc, src/internal/latency_window.h. An outcome (success or
  // failure, with a duration: given, or timed by the breaker between the
  // acquire's and the resolution's clock reads) of a normal permit of
  // generation f loads the state word; if f is current and CLOSED or
  // METRICS_ONLY it judges (f, its bucket) unless judged_ already holds
  // that key or another judge holds the flag, then counts its own bin into
  // the cumulative histogram. A judgment at bucket E sums the histogram
  // and subtracts the snapshot of f's oldest judged bucket among
  // E - window_buckets .. E (taking E's own if it has none); it trips CLOSED
  // f when that window holds at least minimum_calls calls and fewer than
  // NearestRank(n) of them lie in the threshold's bin or below.
  //
  // What the history shows soundly:
  //   * a call may have counted only if it is an outcome of a tracked
  //     normal permit not certainly stale (its pre-observation shows its
  //     own generation), and it counted for certain if its
  //     post-observation still shows that generation (the load lies
  //     between: it saw the generation current, and counting is then
  //     unconditional);
  //   * into f's windows only after f began: the event that made f (its
  //     transition record names it) began before the CAS into f, which
  //     every judge of f read; a call that ended before that ticket was
  //     in f's first snapshot already;
  //   * judges are outcome events; one that overlaps no other outcome event
  //     (isolated) finds the flag free (every earlier holder released it
  //     before its event ended), so it judges its key or finds it judged;
  //   * the clock a judge read lies within its event's two readings, and a
  //     call that ended before FirstTicketWithClock(B) counted before anyone
  //     read a clock of B or more (the driver's release of the clock).
  bool LatencyOn() const { return c_.latency_percentile > 0; }
  // Generation `g` may have been made by a latency trip: the feature is on,
  // and no record says another cause made it.
  bool LatencyMayHaveMade(uint32_t g) const {
    if (!LatencyOn()) return false;
    if (g >= record_of_.size() || record_of_[g] < 0) return true;
    return h_.transitions[static_cast<size_t>(record_of_[g])].cause ==
           TransitionCause::kLatencyPercentile;
  }
  // The threshold's bin (a fraction of a nanosecond rounded up, as the
  // bins round a duration; the stress configurations use whole ones).
  int LatencyThresholdBin() const {
    return CallDurationBucket(absl::ToInt64Nanoseconds(
        absl::Ceil(c_.latency_percentile_threshold, absl::Nanoseconds(1))));
  }
  int64_t LatencyBucketNanos() const {
    return std::max<int64_t>(1, absl::ToInt64Nanoseconds(c_.window_duration / c_.window_buckets));
  }
  // The bucket of a clock reading (ElapsedNanos() from the breaker's
  // creation, start_clock; FakeClock: coarse == fine).
  int64_t LatencyEpoch(int64_t clock) const {
    return std::max<int64_t>(0, clock - h_.start_clock) / LatencyBucketNanos();
  }
  bool EpochCertain(const Event& e) const {
    return LatencyEpoch(e.clock_before) == LatencyEpoch(e.clock_after);
  }
  int MinBin(const Event& r) const { return CallDurationBucket(std::max<int64_t>(0, MinDuration(r))); }
  int MaxBin(const Event& r) const { return CallDurationBucket(std::max<int64_t>(0, MaxDuration(r))); }
  // The nearest rank of the latency_percentile-th percentile of n calls,
  // as CallDurationPercentileBin() computes it.
  uint64_t NearestRank(uint64_t n) const {
    const long double exact =
        static_cast<long double>(c_.latency_percentile) * static_cast<long double>(n) / 100;
    const long double nearest = std::round(exact);
    const long double rounded =
        std::fabs(exact - nearest) <= 1e-12L * std::max(1.0L, exact) ? nearest : std::ceil(exact);
    uint64_t rank = rounded <= 1 ? 1 : static_cast<uint64_t>(rounded);
    return std::min(rank, n);
  }
  bool MayCountLatency(const Event& r) const {
    if (!IsResolve(r.op) || !IsOutcome(r) || !r.returned || r.trial) return false;
    if (r.pre.generation != r.permit_generation) return false;  // certainly stale
    auto a = acquire_of_.find(r.permit);
    if (a == acquire_of_.end() || !Tracked(At(a->second))) return false;
    return allowed_[r.permit_generation] & (Bit(State::kClosed) | Bit(State::kMetricsOnly));
  }
  bool CertainlyCountsLatency(const Event& r) const {
    if (!MayCountLatency(r) || r.post.generation != r.permit_generation) return false;
    const int8_t k = known_[r.permit_generation].state;
    return k == static_cast<int8_t>(State::kClosed) || k == static_cast<int8_t>(State::kMetricsOnly);
  }
  // The `before` ticket of the event that made generation f (0: unknown).
  uint64_t MakerBefore(uint32_t f) const {
    if (f == 0 || f >= record_of_.size() || record_of_[f] < 0) return 0;
    return h_.transitions[static_cast<size_t>(record_of_[f])].event;
  }

  void LatencyTrips() {
    CheckStats& s = r_.stats;
    if (!LatencyOn()) {
      for (const TransitionRecord& t : h_.transitions) {
        if (t.cause == TransitionCause::kLatencyPercentile) {
          Report(kLatencyTrip, absl::StrCat("a latency trip with latency_percentile off: ",
                                            FormatTransition(t)));
        }
      }
      return;
    }
    const int thr = LatencyThresholdBin();
    const int last_finite = static_cast<int>(kCallDurationBoundNanos.size()) - 1;
    const int64_t span = c_.window_buckets;
    const uint64_t min_calls = static_cast<uint64_t>(std::max(1, c_.minimum_calls));
    // Outcome events (the only judges), by `before`; isolated: overlapping
    // no other outcome event.
    std::vector<size_t> outcomes;
    for (size_t i = 0; i < h_.events.size(); ++i) {
      if (IsResolve(At(i).op) && IsOutcome(At(i))) outcomes.push_back(i);
    }
    std::sort(outcomes.begin(), outcomes.end(),
              [&](size_t a, size_t b) { return At(a).before < At(b).before; });
    std::vector<char> isolated(h_.events.size(), 0);
    uint64_t latest = 0;  // the latest `after` of the outcomes begun before
    for (size_t k = 0; k < outcomes.size(); ++k) {
      const Event& e = At(outcomes[k]);
      const bool earlier = k > 0 && latest > e.before;
      const bool later = k + 1 < outcomes.size() && At(outcomes[k + 1]).before < e.after;
      isolated[outcomes[k]] = !earlier && !later;
      latest = std::max(latest, e.after);
    }
    // Calls that may have counted, by `after`; by their generation.
    std::vector<size_t> may;
    std::unordered_map<uint32_t, std::vector<size_t>> of_gen;
    for (size_t i = 0; i < h_.events.size(); ++i) {
      if (!MayCountLatency(At(i))) continue;
      may.push_back(i);
      of_gen[At(i).permit_generation].push_back(i);
    }
    const uint64_t needed_over = min_calls - NearestRank(min_calls) + 1;

    // (1) who made it, (2) what its window can have held.
    for (const TransitionRecord& t : h_.transitions) {
      if (t.cause != TransitionCause::kLatencyPercentile || t.generation == 0) continue;
      ++s.latency_trips;
      const uint32_t f = t.generation - 1;
      const Event* m = nullptr;
      if (t.event != 0) {
        auto it = event_at_.find(t.event);
        if (it != event_at_.end()) m = &At(it->second);
      }
      std::string why;
      int vbin = -1;
      const double thr_seconds = absl::ToDoubleSeconds(CallDurationBound(thr));
      if (m == nullptr || !IsResolve(m->op) || !IsOutcome(*m) || m->trial ||
          m->permit_generation != f || m->pre.generation != f) {
        why = absl::StrCat(
            "made by an event that is no outcome of a normal permit of CLOSED generation ", f,
            " that can have seen it current (only those judge its window)");
      } else if (std::fabs(t.threshold - thr_seconds) > 1e-12 * std::max(1.0, thr_seconds)) {
        why = absl::StrCat("its threshold is ", t.threshold, " s, not latency_percentile_threshold "
                           "rounded up to its bin's bound, ", thr_seconds, " s");
      } else {
        // Rounded to the nanosecond and back: a bound, +-1.
        const int64_t nanos = static_cast<int64_t>(std::llround(t.value * 1e9));
        vbin = std::min(CallDurationBucket(nanos - 1), last_finite);
        if (std::llabs(kCallDurationBoundNanos[static_cast<size_t>(vbin)] - nanos) > 1) {
          why = absl::StrCat("its value ", t.value, " s is no bin's bound");
        } else if (vbin <= thr) {
          why = absl::StrCat("its value ", t.value, " s is not above the threshold ", thr_seconds,
                             " s");
        }
      }
      if (why.empty()) {
        // Every call that may have been counted into f's window before m
        // judged it (m judges before counting itself).
        const uint64_t began = MakerBefore(f);
        uint64_t n = 0, over = 0;
        bool in_bin = false;
        for (size_t i : may) {
          const Event& r = At(i);
          if (&r == m || r.after <= began || r.before >= m->after) continue;
          ++n;
          const int lo = MinBin(r), hi = std::min(MaxBin(r), last_finite);
          if (hi >= vbin) ++over;
          if (lo <= vbin && vbin <= hi) in_bin = true;
        }
        if (n < min_calls) {
          why = absl::StrCat("only ", n, " calls can have been counted into generation ", f,
                             "'s window before it (minimum_calls ", min_calls, ")");
        } else if (over < needed_over) {
          why = absl::StrCat("only ", over, " of the ", n,
                             " calls that can have been counted into its window can lie in the "
                             "value's bin or above, and at least ",
                             needed_over, " must (p", c_.latency_percentile, " of at least ",
                             min_calls, " calls)");
        } else if (!in_bin) {
          why = absl::StrCat("none of the ", n,
                             " calls that can have been counted into its window can lie in the "
                             "value's bin");
        }
      }
      if (!why.empty()) {
        Report(kLatencyTrip, absl::StrCat(why, ": ", FormatTransition(t),
                                          m ? absl::StrCat(" [", FormatEvent(*m), "]") : ""));
        continue;
      }
      ++s.latency_trips_checked;
      // (5) Judged once per (generation, bucket): an isolated outcome A of
      // f in m's bucket, whose load saw f, judged that key or found it
      // judged; every judge after A and before m's judged_ load read that
      // same bucket (and f, the only generation current until m's trip),
      // so judged_ still held the key and m did not judge.
      if (!EpochCertain(*m)) continue;
      const int64_t e = LatencyEpoch(m->clock_before);
      const Event* a = nullptr;
      size_t a_index = 0;
      for (size_t i : of_gen[f]) {
        const Event& r = At(i);
        if (r.after >= m->before) break;
        if (isolated[i] && r.post.generation == f && EpochCertain(r) &&
            LatencyEpoch(r.clock_before) == e) {
          a = &r;
          a_index = i;
        }
      }
      if (a == nullptr) continue;
      bool same_bucket = true;
      for (size_t i = a_index + 1; i < h_.events.size() && same_bucket; ++i) {
        const Event& z = At(i);
        if (!IsResolve(z.op) || !IsOutcome(z) || z.before >= m->after) continue;
        if (LatencyEpoch(z.clock_after) != e) same_bucket = false;
      }
      if (!same_bucket) continue;
      ++s.latency_once_checks;
      if (known_[f].state == static_cast<int8_t>(State::kClosed)) {
        Report(kLatencyOncePerBucket,
               absl::StrCat("bucket ", e, " of generation ", f, " was judged by [", FormatEvent(*a),
                            "] (or before it), and no judge of another bucket came between, yet ",
                            FormatTransition(t), " judged it again: [", FormatEvent(*m), "]"));
      }
    }

    // (4) A judgment that had to trip. J, an isolated outcome of f begun
    // with f current, in bucket E, judged (f, E) (or it had been). A, an
    // isolated outcome of f in an earlier bucket within window_buckets,
    // whose load saw f, left a snapshot of f in A's bucket (no judge
    // between A and J can have replaced it: they read buckets A's .. E),
    // and every snapshot of f of an older bucket was taken before A ended
    // (a judge that read an older bucket and overlaps neither A nor J came
    // before A): so that judgment's window holds at least every call
    // certainly counted that began after A ended and ended before anyone
    // read bucket E's clock, and at most those that may have been counted
    // since f began, J excluded. If the first are >= minimum_calls and the
    // second hold fewer at most the threshold than the first's nearest
    // rank, it tripped: f is over when J returns. Not with the shared hold
    // (SharedDecides(): the window only records).
    if (r_.stats.coordinator_actions > 0) return;
    for (auto& [f, list] : of_gen) {
      if (known_[f].state != static_cast<int8_t>(State::kClosed)) continue;
      const uint64_t began = MakerBefore(f);
      std::vector<size_t> certain;   // counted for certain, calls of f
      std::vector<uint64_t> at_most;  // `before` of calls possibly at most the threshold
      for (size_t i : list) {
        if (CertainlyCountsLatency(At(i))) certain.push_back(i);
      }
      for (size_t i : may) {
        const Event& r = At(i);
        if (r.after > began && MinBin(r) <= thr) at_most.push_back(r.before);
      }
      std::sort(at_most.begin(), at_most.end());
      for (size_t j : list) {
        const Event& J = At(j);
        if (!isolated[j] || J.pre.generation != f || !EpochCertain(J)) continue;
        const int64_t ej = LatencyEpoch(J.clock_before);
        const Event* a = nullptr;
        for (size_t i : list) {
          const Event& r = At(i);
          if (r.after >= J.before) break;
          const int64_t ea = LatencyEpoch(r.clock_before);
          if (isolated[i] && r.post.generation == f && EpochCertain(r) && ea < ej &&
              ea >= ej - span) {
            a = &r;
            break;
          }
        }
        if (a == nullptr) continue;
        const uint64_t until = std::min(
            J.before, FirstTicketWithClock(h_.start_clock + ej * LatencyBucketNanos()));
        uint64_t in_window = 0;
        for (size_t i : certain) {
          const Event& c = At(i);
          if (c.before > a->after && c.after < until) ++in_window;
        }
        if (in_window < min_calls) continue;
        uint64_t le = static_cast<uint64_t>(
            std::lower_bound(at_most.begin(), at_most.end(), J.after) - at_most.begin());
        if (MinBin(J) <= thr && le > 0) --le;  // J is not in the window it judges
        if (le >= NearestRank(in_window)) continue;
        ++s.latency_due_checks;
        if (s.latency_due_min_window == 0 || in_window < s.latency_due_min_window) {
          s.latency_due_min_window = in_window;
        }
        if (last_seen_[f] != kNever && last_seen_[f] > J.after) {
          Report(kMissedLatencyTrip,
                 absl::StrCat("generation ", f, "'s judgment of bucket ", ej, " held at least ",
                              in_window, " calls counted for certain (after [", FormatEvent(*a),
                              "]) and at most ", le, " that can lie at or below the threshold "
                              "(nearest rank ", NearestRank(in_window),
                              "), so it had to trip, yet an event that began at ticket ",
                              last_seen_[f], " still read generation ", f, " after [",
                              FormatEvent(J), "]"));
        }
        break;  // f ends by J: no later judgment of it
      }
    }
  }

  // ---- 10. Counters, stale and slow outcomes -------------------------------------------

  void Counters() {
    if (!h_.has_final) return;
    const BreakerMetrics& m = h_.final_metrics;
    uint64_t permitted = 0, rejected = 0, successes = 0, failures = 0, ignored = 0, released = 0;
    CheckStats& s = r_.stats;
    for (const Event& e : h_.events) {
      if (e.op == Op::kAcquire) {
        if (!e.admitted)
          ++rejected;
        else if (Tracked(e))
          ++permitted;
        continue;
      }
      if (!IsResolve(e.op) || !e.returned) continue;
      auto a = acquire_of_.find(e.permit);
      if (a == acquire_of_.end() || !Tracked(At(a->second))) continue;
      switch (e.op) {
        case Op::kSuccess:
          ++successes;
          break;
        case Op::kFailure:
        case Op::kFailureRetryAfter:
          ++failures;
          break;
        case Op::kIgnore:
          ++ignored;
          break;
        default:
          ++released;
          break;
      }
      if (e.op != Op::kSuccess && !IsFailure(e.op)) continue;
      if (e.pre.generation != e.permit_generation) {
        ++s.stale_certain;  // the generation had passed before it began
      } else if (e.trial && CertainlyReaped(e.permit)) {
        ++s.late_outcomes_certainly_reaped;  // reaped before: stale
      } else if (e.post.generation != e.permit_generation) {
        ++s.stale_uncertain;  // it moved while the outcome was recorded
      } else if (e.trial && MayBeReaped(At(a->second))) {
        ++s.late_outcomes_maybe_reaped;  // stale if it was reaped first
      }
      if (SlowOn()) {
        if (MinDuration(e) >= SlowNanos()) {
          ++s.slow_certain;
        } else if (MaxDuration(e) >= SlowNanos()) {
          ++s.slow_uncertain;
        }
      }
    }
    auto expect = [&](absl::string_view what, uint64_t got, uint64_t want) {
      if (got != want) {
        Report(kCounters,
               absl::StrCat("Metrics().", what, " is ", got, ", the history says ", want));
      }
    };
    if (h_.complete) {
      expect("permitted", m.permitted, permitted);
      expect("rejected", m.rejected, rejected);
      expect("successes", m.successes, successes);
      expect("failures", m.failures, failures);
      expect("ignored", m.ignored, ignored);
      expect("released", m.released, released);
    }
    if (m.permitted != m.successes + m.failures + m.ignored + m.released) {
      Report(kCounters, absl::StrCat("Metrics(): permitted ", m.permitted, " != successes ",
                                     m.successes, " + failures ", m.failures, " + ignored ",
                                     m.ignored, " + released ", m.released));
    }
    const uint64_t stale_lo = s.stale_certain + s.late_outcomes_certainly_reaped;
    const uint64_t stale_hi = stale_lo + s.stale_uncertain + s.late_outcomes_maybe_reaped;
    if (m.stale < stale_lo || m.stale > stale_hi) {
      Report(kStaleCount,
             absl::StrCat("Metrics().stale is ", m.stale, "; the history shows ", stale_lo,
                          " outcomes certainly stale (", s.late_outcomes_certainly_reaped,
                          " of trials certainly reaped) and ", stale_hi - stale_lo,
                          " that may be (", s.late_outcomes_maybe_reaped,
                          " of trials that may have been reaped)"));
    }
    // Per-probe deadlines: every reap is of a trial past its deadline while
    // held (at most the trials that may have been reaped), and the history
    // certainly shows some (slots reclaimed, verdicts only a reap explains).
    if (h_.complete) {
      if (!ProbeTimeoutOn() && m.probe_timeouts != 0) {
        Report(kCounters, absl::StrCat("Metrics().probe_timeouts is ", m.probe_timeouts,
                                       " with half_open_probe_timeout off"));
      } else if (m.probe_timeouts < s.reaps_certain || m.probe_timeouts > s.trials_maybe_reaped) {
        Report(kCounters,
               absl::StrCat("Metrics().probe_timeouts is ", m.probe_timeouts,
                            "; the history shows ", s.reaps_certain, " reaps certain and ",
                            s.trials_maybe_reaped, " trials that were past their deadline while "
                            "held"));
      }
    }
    // Every acquire was permitted, rejected or untracked (DISABLED); slow
    // start's shed calls are rejected calls: at least those shed certainly
    // after the ramp's end was stored (gate.cc counts them), at most all
    // calls rejected as CLOSED (strict: exactly those).
    if (h_.complete) {
      uint64_t acquires = 0, untracked = 0;
      for (const Event& e : h_.events) {
        if (e.op != Op::kAcquire) continue;
        ++acquires;
        if (e.admitted && !Tracked(e)) ++untracked;
      }
      if (m.permitted + m.rejected + untracked != acquires) {
        Report(kCounters, absl::StrCat("Metrics(): permitted ", m.permitted, " + rejected ",
                                       m.rejected, " + ", untracked, " untracked (DISABLED) != ",
                                       acquires, " acquires"));
      }
      if (m.shed > m.rejected) {
        Report(kCounters, absl::StrCat("Metrics().shed ", m.shed, " > rejected ", m.rejected));
      }
      const uint64_t shed_lo = o_.strict_shed_count ? s.shed_seen : s.shed_after_store;
      if (m.shed < shed_lo || m.shed > s.shed_seen) {
        Report(kCounters,
               absl::StrCat("Metrics().shed is ", m.shed, "; the history shows ", s.shed_seen,
                            " calls rejected as CLOSED, ", s.shed_after_store,
                            " of them certainly after their ramp's end was stored",
                            o_.strict_shed_count ? " (strict: all must count)" : ""));
      }
    }
    if (m.slow < s.slow_certain || m.slow > s.slow_certain + s.slow_uncertain) {
      Report(kSlowCount,
             absl::StrCat("Metrics().slow is ", m.slow, "; the history shows ", s.slow_certain,
                          " calls certainly slow and ", s.slow_uncertain, " that may be"));
    }
    // Transitions into OPEN: at least the OPEN generations seen, at most the
    // generations that may have been OPEN.
    uint64_t open_seen = 0, open_possible = 0;
    for (size_t g = 1; g < known_.size(); ++g) {
      if (known_[g].state == static_cast<int8_t>(State::kOpen)) ++open_seen;
      if (allowed_[g] & reach_[g] & Bit(State::kOpen)) ++open_possible;
    }
    if (m.opened < open_seen || m.opened > open_possible) {
      Report(kCounters, absl::StrCat("Metrics().opened is ", m.opened, "; ", open_seen,
                                     " OPEN generations were seen and ", open_possible,
                                     " may have been OPEN"));
    }
    // The quiescent tail runs alone: its last event saw the final generation.
    if (h_.complete && !h_.events.empty() && h_.events.back().probe &&
        h_.events.back().post.generation != m.generation) {
      Report(kCounters, absl::StrCat("Metrics().generation is ", m.generation,
                                     " but the last event, on a quiet breaker, saw ",
                                     FormatObservation(h_.events.back().post)));
    }
  }

  // ---- 11. Liveness once quiet --------------------------------------------------------

  // The longest OPEN generation g can last: OpenDurationNanos() is at most
  // max_open_duration * (1 + jitter), the coordinator's OPEN lasts the
  // period it gave, and the deadline is rounded up to a microsecond.
  int64_t LongestOpenNanos(uint32_t g) const {
    int64_t longest = static_cast<int64_t>(absl::ToDoubleNanoseconds(c_.max_open_duration) *
                                           (1 + c_.open_jitter));
    for (size_t i : Holders(g)) longest = std::max(longest, HoldPeriod(At(i)));
    return longest + 2000;
  }

  void Liveness() {
    bool probed = false;
    for (const Event& e : h_.events) {
      if (!e.probe || e.op != Op::kAcquire) continue;
      probed = true;
      if (e.admitted || !e.pre.has_state) continue;
      // Every permit has ended. HALF_OPEN has a free slot, unless it is past
      // half_open_max_duration: then this very call reopens it and is
      // rejected by the OPEN generation after it (transition-cause says
      // whether the deadline had come). OPEN has stored its deadline (its
      // winner returned) and that deadline has passed: the period began no
      // later than the clock its winner read (at the HALF_OPEN deadline, for
      // a reopen by the deadline), before the generation was first seen.
      const bool reopened_by_deadline = e.pre.state == State::kHalfOpen &&
                                        e.permit_generation != e.pre.generation &&
                                        c_.half_open_max_duration > absl::ZeroDuration();
      if ((e.pre.state == State::kHalfOpen && !reopened_by_deadline) ||
          (e.pre.state == State::kOpen &&
           e.clock_before >=
               ClockBefore(first_reach_[e.pre.generation]) + LongestOpenNanos(e.pre.generation))) {
        Report(kLiveness,
               absl::StrCat("a quiet breaker rejected a call it must admit: ", FormatEvent(e)));
      }
    }
    if (probed && h_.has_final && h_.final_metrics.state != State::kClosed) {
      Report(kLiveness, absl::StrCat("successful probes did not close the breaker: it ends ",
                                     StateName(h_.final_metrics.state)));
    }
    // Every permit has ended: no trial slot may still be taken (a reaped
    // trial gave its slot back when it was reaped, and its late resolution
    // hands back nothing more).
    if (h_.quiescent_trials_in_flight > 0) {
      Report(kLiveness, absl::StrCat("once every permit had ended, the state word still counted ",
                                     h_.quiescent_trials_in_flight, " trials in flight"));
    }
    if (h_.quiescent_snapshot_trials_in_flight > 0) {
      Report(kLiveness, absl::StrCat("once every permit had ended, Snapshot().trials_in_flight "
                                     "was still ",
                                     h_.quiescent_snapshot_trials_in_flight));
    }
  }

  // ---- 12. OPEN past its deadline, mid-run ------------------------------------------------

  // A rejection in OPEN at generation g that began after the transition's
  // winner had certainly stored g's deadline, read a clock past any deadline
  // g can have, and saw g still current afterwards, can only mean that g's
  // deadline word was lost. Under kShared the coordinator ends OPEN, so
  // only rejections that certainly read another sharing count.
  void StuckOpen() {
    // On the system clock a thread's rejection while OPEN is judged on one
    // of its rejections in kRejectionsPerClockRead: past the deadline the
    // others are rejected still, by design (SystemClockOpen() bounds them;
    // and there are no clock marks to bound the winner's clock by).
    if (h_.system_clock) return;
    // Each thread's events by `before` (a thread's events do not overlap).
    std::map<int, std::vector<std::pair<uint64_t, uint64_t>>> spans;
    for (const Event& e : h_.events) spans[e.thread].emplace_back(e.before, e.after);
    for (auto& [thread, v] : spans) std::sort(v.begin(), v.end());
    std::unordered_map<uint32_t, std::pair<uint64_t, int64_t>> bounds;  // g -> (Q, U)
    for (const Event& e : h_.events) {
      if (e.op != Op::kAcquire || e.admitted || e.rejected_state != State::kOpen) continue;
      const uint32_t g = e.permit_generation;
      if (e.post.generation != g || MaybeShared(e)) continue;
      auto it = bounds.find(g);
      if (it == bounds.end()) {
        const uint64_t seen = first_reach_[g];
        // The winner's operation began before `seen`; every such operation
        // has ended by Q.
        uint64_t q = seen;
        for (const auto& [thread, v] : spans) {
          auto pos = std::lower_bound(v.begin(), v.end(), std::make_pair(seen, uint64_t{0}));
          if (pos != v.begin()) q = std::max(q, std::prev(pos)->second);
        }
        // The winner read the clock before its CAS, which happened before
        // ticket `seen`: at most the clock of the first advance after it.
        int64_t u = h_.end_clock;
        auto mark = std::upper_bound(h_.clock_marks.begin(), h_.clock_marks.end(), seen,
                                     [](uint64_t t, const ClockMark& m) { return t < m.ticket; });
        if (mark != h_.clock_marks.end()) u = mark->now;
        if (seen == kNever) q = kNever;
        it = bounds.emplace(g, std::make_pair(q, u)).first;
      }
      const auto [q, u] = it->second;
      if (q == kNever || e.before <= q) continue;
      ++r_.stats.deadline_checks;
      const int64_t longest = LongestOpenNanos(g);
      if (e.clock_before >= u + longest) {
        Report(kStuckOpen,
               absl::StrCat("generation ", g, " entered OPEN with the clock at most ", u,
                            " and its winner returned before ticket ", q, ", yet at clock ",
                            e.clock_before, " (", (e.clock_before - u) / 1000000,
                            " ms later; the longest open duration is ", longest / 1000000,
                            " ms) a call was still rejected as OPEN: ", FormatEvent(e)));
      }
    }
  }

  // ---- 13. HALF_OPEN past its half_open_max_duration ------------------------------------

  // The winner of OPEN -> HALF_OPEN g (the trial that entered it) stores g's
  // deadline, entry + half_open_max_duration rounded up to a microsecond,
  // before its acquire returns, and nothing overwrites it while g is
  // current. Every call that loads a HALF_OPEN word (admission, trial
  // outcome, release) and every state() / generation() compares a fresh
  // clock reading with it before anything else, and reopens if it is due.
  // So an event that began after every trial acquire of g that can be the
  // winner had returned, read a clock past any deadline g can have, and
  // still found g HALF_OPEN (a trial admitted in g, a rejection by HALF_OPEN
  // g, a post-observation of HALF_OPEN g: each read the clock after
  // clock_before) shows a deadline that was not applied. Not under kShared
  // (only events that certainly read another sharing count), and not for a
  // HALF_OPEN the coordinator may have entered: that one has no deadline.
  void HalfOpenPastDeadline() {
    if (c_.half_open_max_duration <= absl::ZeroDuration()) return;
    const int64_t limit = absl::ToInt64Nanoseconds(c_.half_open_max_duration);
    std::unordered_map<uint32_t, std::pair<uint64_t, int64_t>> bounds;  // g -> (Q, deadline)
    for (const Event& e : h_.events) {
      if (e.op != Op::kAcquire || !e.admitted || !e.trial) continue;
      const uint32_t g = e.permit_generation;
      auto it = bounds.find(g);
      if (it == bounds.end()) {
        it = bounds.emplace(g, std::make_pair(uint64_t{0}, ClockBefore(first_reach_[g]))).first;
      }
      // The winner began before g was first seen. It read the clock no
      // later than any trial of g returned (they were admitted after its
      // CAS).
      if (e.before < first_reach_[g]) it->second.first = std::max(it->second.first, e.after);
      it->second.second = std::min(it->second.second, e.clock_after);
    }
    for (const Event& e : h_.events) {
      uint32_t g;
      if (e.op == Op::kAcquire && e.admitted && e.trial) {
        g = e.permit_generation;
      } else if (e.op == Op::kAcquire && !e.admitted && e.rejected_state == State::kHalfOpen) {
        g = e.permit_generation;
      } else if (e.post.has_state && e.post.state == State::kHalfOpen) {
        g = e.post.generation;
      } else {
        continue;
      }
      if (MaybeShared(e) || HoldMayEnter(g, State::kHalfOpen)) continue;
      auto it = bounds.find(g);
      if (it == bounds.end()) continue;  // no trial: half-open-starts-with-a-trial says so
      const auto [q, entered_hi] = it->second;
      if (e.before <= q) continue;
      ++r_.stats.half_open_deadline_checks;
      const int64_t latest = entered_hi + limit + 1000;  // rounded up to a microsecond
      if (e.clock_before >= latest) {
        Report(
            kHalfOpenPastDeadline,
            absl::StrCat("generation ", g, " entered HALF_OPEN with the clock at most ", entered_hi,
                         " and its winner returned before ticket ", q, ", yet at clock ",
                         e.clock_before, " (", (e.clock_before - entered_hi) / 1000,
                         " us later; half_open_max_duration is ", limit / 1000,
                         " us) it was still HALF_OPEN: ", FormatEvent(e)));
      }
    }
  }

  // ---- 14. OPEN on the system clock ------------------------------------------------------

  // On the system clock the breaker ends OPEN by CLOCK_MONOTONIC_COARSE,
  // which every event reads first and last (coarse_before, coarse_after;
  // this view's clock_before and clock_after): every coarse reading the
  // breaker took inside an event lies between them, and readings on any
  // threads ordered by tickets are ordered too (one global clock). The
  // winner of a transition into OPEN g read c0 before its CAS, inside the
  // event its record names, and stored the deadline
  //   D = c0 + P rounded up to a microsecond (on the breaker's scale, from
  //       its creation: transitions.cc, DeadlineWord()), so
  //   c0 + P <= D <= c0 + P + 999 ns,
  // P the period: at least ShortestOpenNanos() (backoff from the re-open
  // count, jitter down) and at most max_open_duration (jitter never takes a
  // period past the cap); before its listener ran (Publish(): CAS, the
  // deadline, then the listeners), whose record holds a ticket and a
  // coarse reading taken after c0. So
  //   maker.coarse_before + P_lo <= D <= record.coarse + P_hi + 999.
  // Only OPEN entered by the breaker's own trip (not SHARED, not a
  // retry-after's period).
  static bool OwnTrip(TransitionCause cause) {
    switch (cause) {
      case TransitionCause::kConsecutiveFailures:
      case TransitionCause::kFailureRate:
      case TransitionCause::kSlowCallRate:
      case TransitionCause::kLatencyPercentile:
      case TransitionCause::kTrialFailures:
      case TransitionCause::kTrialFailureRate:
      case TransitionCause::kTrialSlowCallRate:
      case TransitionCause::kHalfOpenTimeout:
        return true;
      default:
        return false;
    }
  }

  const TransitionRecord* RecordOf(uint32_t g) const {
    if (g >= made_.size() || made_[g] < 0) return nullptr;
    return &h_.transitions[static_cast<size_t>(made_[g])];
  }
  const Event* EventAt(uint64_t before) const {
    if (before == 0) return nullptr;
    auto it = event_at_.find(before);
    return it == event_at_.end() ? nullptr : &At(it->second);
  }
  // The thread's number (internal::ThisThreadSlot()), or -1 if unknown.
  int ThreadSlot(int thread) const {
    return thread >= 0 && static_cast<size_t>(thread) < h_.thread_slots.size()
               ? h_.thread_slots[static_cast<size_t>(thread)]
               : -1;
  }
  // The event as recorded (CLOCK_MONOTONIC readings), for the details.
  std::string Raw(const Event& e) const {
    return FormatEvent(raw_.events[static_cast<size_t>(&e - h_.events.data())]);
  }

  // Checks 1 and 2 of the system clock:
  //  open-never-ends-early: a trial of HALF_OPEN g+1 (entered from OPEN g
  //    by OPEN_PERIOD_OVER) was admitted by a call that read the coarse
  //    clock at or past D, which it read before its event ended: so
  //    coarse_after >= maker.coarse_before + P_lo, for every trial of g+1
  //    and for the event the record of g+1 names (the first trial).
  //  open-ends-late-by-at-most-15-calls-a-thread: a call that loads OPEN g
  //    on a thread with a stripe of its own is judged by a fresh coarse
  //    reading on one of any kRejectionsPerClockRead consecutive
  //    rejections of that thread (the one made when its count of
  //    rejections in its stripe, never reset, to which every rejection
  //    adds one, is a multiple of it), and otherwise rejected unjudged.
  //    Count, per thread, its calls rejected as OPEN g that began after the
  //    record's ticket (the deadline certainly stored), read the coarse
  //    clock at or past record.coarse + P_hi + 999 (the deadline certainly
  //    come) first thing, and ended before the event that made g+1 began (so g was
  //    current throughout: no stale word, no later generation's deadline
  //    in the deadline word). Those are consecutive calls of that thread
  //    (any call of it in between was rejected as OPEN g too), and a
  //    judged one among them would have found OPEN over and ended it
  //    (TryAcquireSlow(): the CAS to HALF_OPEN, retried while g is current)
  //    instead of being rejected: so at most kRejectionsPerClockRead - 1
  //    of them, and none on a thread past the own stripes (every rejection
  //    judged). A generation whose end is unknown (no record of g+1, or
  //    one made outside any event) and a thread whose number is unknown
  //    are left out, and so is a thread one of whose counted calls may
  //    have read kShared (the shared store ends OPEN there).
  void SystemClockOpen() {
    if (!h_.system_clock) return;
    CheckStats& s = r_.stats;
    SystemClockStats& sc = s.system_clock;
    // How far the coarse clock lagged the precise one, as each listener
    // read them one after the other (a figure: no check relies on a bound).
    for (const TransitionRecord& t : h_.transitions) {
      if (t.coarse != 0) s.coarse_lag_max = std::max(s.coarse_lag_max, t.mono - t.coarse);
    }
    std::unordered_map<uint32_t, std::vector<size_t>> open_rejections;  // by generation
    for (size_t i = 0; i < h_.events.size(); ++i) {
      const Event& e = At(i);
      if (e.op == Op::kAcquire && !e.admitted && e.rejected_state == State::kOpen) {
        open_rejections[e.permit_generation].push_back(i);
      }
    }
    const int64_t longest = absl::ToInt64Nanoseconds(c_.max_open_duration);
    const uint64_t per_read = std::max<uint32_t>(1, o_.rejections_per_clock_read);
    for (uint32_t g = 1; g < made_.size(); ++g) {
      const TransitionRecord* opened = RecordOf(g);
      if (opened == nullptr || opened->to != State::kOpen || !OwnTrip(opened->cause)) continue;
      const TransitionRecord* next = RecordOf(g + 1);
      // 1. Never early.
      const Event* maker = EventAt(opened->event);
      if (maker != nullptr && next != nullptr && next->from == State::kOpen &&
          next->to == State::kHalfOpen && next->cause == TransitionCause::kOpenPeriodOver) {
        const int64_t shortest = ShortestOpenNanos(ReopenCountAtLeast(g));
        const int64_t deadline_lo = maker->coarse_before + shortest;
        std::vector<const Event*> trials;
        auto it = trial_acquires_.find(g + 1);
        if (it != trial_acquires_.end()) {
          for (size_t i : it->second) trials.push_back(&At(i));
        }
        const Event* first = EventAt(next->event);
        if (first != nullptr && std::find(trials.begin(), trials.end(), first) == trials.end()) {
          trials.push_back(first);
        }
        if (!trials.empty()) ++sc.open_ends_timed;
        for (const Event* t : trials) {
          ++sc.open_end_trials_timed;
          const int64_t margin = t->coarse_after - deadline_lo;
          if (margin >= 0) {
            if (sc.open_end_min_margin < 0 || margin < sc.open_end_min_margin) {
              sc.open_end_min_margin = margin;
            }
            continue;
          }
          Report(kOpenEndsEarly,
                 absl::StrCat("HALF_OPEN generation ", g + 1, " admitted a trial in an event that "
                              "ended at coarse ", t->coarse_after, ", ", -margin,
                              " ns before OPEN generation ", g, "'s deadline can have come (its "
                              "winner's event began at coarse ", maker->coarse_before,
                              ", the shortest period is ", shortest, " ns): [", Raw(*t),
                              "]; OPEN made by ", FormatTransition(*opened), " [", Raw(*maker),
                              "]; left by ", FormatTransition(*next)));
        }
      }
      // 2. Late by at most kRejectionsPerClockRead - 1 calls a thread.
      if (opened->ticket == 0 || opened->coarse == 0) continue;
      uint64_t end = kNever;
      if (g + 1 < made_.size()) {
        if (next == nullptr || next->event == 0) continue;  // its end is unknown
        end = next->event;
      }
      const int64_t deadline_hi = opened->coarse + longest + 999;
      ++sc.open_periods_paced;
      std::map<int, std::vector<size_t>> late;  // thread -> its counted rejections
      std::set<int> shared;                     // threads with one that may have read kShared
      auto it = open_rejections.find(g);
      if (it == open_rejections.end()) continue;
      for (size_t i : it->second) {
        const Event& e = At(i);
        if (e.before <= opened->ticket || e.after >= end) continue;
        if (ThreadSlot(e.thread) >= h_.own_stripes) ++sc.unowned_open_rejections;
        if (e.coarse_before < deadline_hi) continue;
        late[e.thread].push_back(i);
        if (MaybeShared(e)) shared.insert(e.thread);
      }
      for (const auto& [thread, calls] : late) {
        if (shared.count(thread)) continue;
        const int slot = ThreadSlot(thread);
        if (slot < 0) continue;
        const bool own = slot < h_.own_stripes;
        const uint64_t bound = own ? per_read - 1 : 0;
        const uint64_t n = calls.size();
        ++sc.late_rejection_periods;
        sc.late_rejections += n;
        sc.late_rejections_max = std::max(sc.late_rejections_max, n);
        if (own) {
          ++sc.late_own_stripe_periods;
          ++sc.late_rejections_by_count[n];
        }
        if (n <= bound) continue;
        const Event& first = At(calls.front());
        const Event& last = At(calls.back());
        Report(kOpenEndsLate,
               absl::StrCat(
                   "thread ", thread, " (number ", slot,
                   own ? absl::StrCat(", a stripe of its own: it judges one rejection in ",
                                      per_read)
                       : ", past the own stripes: it judges every rejection",
                   ") was rejected as OPEN generation ", g, " in ", n, " calls (at most ", bound,
                   " allowed) that began past its deadline (coarse ", deadline_hi,
                   " at the latest) and after it was stored (ticket ", opened->ticket,
                   "), and ended before ",
                   end == kNever ? "the history did" : absl::StrCat("ticket ", end),
                   ": first [", Raw(first), "] (", (raw_.events[calls.front()].clock_before -
                                                     opened->mono) / 1000,
                   " us after the record), last [", Raw(last), "]; OPEN made by ",
                   FormatTransition(*opened),
                   next != nullptr ? absl::StrCat("; left by ", FormatTransition(*next)) : ""));
      }
    }
  }

  const History& h_;
  const History& raw_;
  const CheckerOptions& o_;
  const BreakerConfig& c_;
  CheckResult r_;
  std::unordered_map<uint64_t, size_t> acquire_of_;
  std::unordered_map<uint64_t, size_t> resolve_of_;
  std::unordered_map<uint64_t, size_t> event_at_;  // by `before`
  std::vector<int64_t> made_;  // generation -> its transition record (-1: none)
  std::vector<int64_t> record_of_;  // the same, known from Index() on
  // Per-probe deadlines: the trials certainly reaped (by permit), and the
  // reaps each HALF_OPEN generation certainly had.
  std::unordered_set<uint64_t> certainly_reaped_;
  std::map<uint32_t, int> certain_reaps_;
  std::unordered_map<uint32_t, std::vector<size_t>> trial_acquires_;  // by generation
  std::vector<Known> known_;
  std::vector<uint8_t> allowed_;
  std::vector<uint8_t> op_mask_;
  std::vector<uint8_t> reach_;
  std::vector<uint64_t> first_reach_;  // first ticket by which a generation >= g was seen
  // The last `before` of an event that read generation g (kNever: none): a
  // transition out of g came after it.
  std::vector<uint64_t> last_seen_;
  // The coordinator's changes of sharing, in order: it stored `to` between
  // `before` and `after` (changes to the sharing already set left out).
  struct SharingChange {
    uint64_t before;
    uint64_t after;
    Sharing from;
    Sharing to;
    size_t event;
  };
  std::vector<SharingChange> sharing_changes_;
  // Generation -> the coordinator's calls whose window covers it and that
  // can make a transition; and the transitions they can make there.
  std::unordered_map<uint32_t, std::vector<size_t>> holders_;
  std::vector<uint64_t> hold_edges_;
};

}  // namespace

uint64_t CheckResult::violation_count() const {
  uint64_t n = 0;
  for (const auto& [check, count] : violation_counts) n += count;
  return n;
}

std::string CheckResult::Summary() const {
  const CheckStats& s = stats;
  std::vector<std::string> kinds;
  for (const auto& [kind, n] : s.transition_kinds) kinds.push_back(absl::StrCat(kind, " ", n));
  std::string out = absl::StrCat(
      "events ", s.events, " (acquires ", s.acquires, ": admitted ", s.admitted, ", rejected ",
      s.rejected, ", trials ", s.trials, "; resolutions ", s.resolutions, "; operator ",
      s.operator_controls, "), generations ", s.generations, " (", s.observed_generations,
      " observed), transitions seen ", s.transitions, " (", s.operator_transitions,
      " possibly by an operator; ", absl::StrJoin(kinds, ", "), "), causes found ",
      s.causes_checked, ", max trials in flight ", s.max_trials_in_flight,
      ", generations over half_open_trial_calls after hand-backs ", s.generations_over_trial_calls,
      ", stale ", s.stale_certain, "+", s.stale_uncertain, "?, slow ", s.slow_certain, "+",
      s.slow_uncertain, "?, OPEN deadline checks ", s.deadline_checks, ", open durations timed ",
      s.open_durations_checked, " (", s.open_durations_from_half_open_deadline,
      " from a HALF_OPEN deadline), timeout reopens ", s.timeout_reopens, " (",
      s.timeout_reopens_with_free_slots, " with free slots), HALF_OPEN deadline checks ",
      s.half_open_deadline_checks, ", trips with no failure in flight ",
      s.trips_without_failure_in_flight, " (", s.trips_by_a_success,
      " by a success), closes after a failed trial ", s.closes_after_a_failed_trial,
      ", violations ", violation_count());
  if (s.coordinator_actions > 0) {
    std::vector<std::string> causes;
    for (const auto& [cause, n] : s.record_causes) causes.push_back(absl::StrCat(cause, " ", n));
    absl::StrAppend(&out, "; shared hold: coordinator calls ", s.coordinator_actions,
                    ", transitions by cause (", absl::StrJoin(causes, ", "),
                    "), own transitions certainly unshared ", s.own_transitions_unshared, " (",
                    s.own_transitions_racing,
                    " racing a change of sharing), HALF_OPEN -> OPEN on leaving kShared ",
                    s.leave_reopens, ", trials checked against the slots lent ",
                    s.shared_trials_checked, " (", s.shared_trials_on_last_slot,
                    " on the last slot), HALF_OPEN rejections under kShared ",
                    s.shared_half_open_rejections, ", OPEN periods timed from the coordinator's ",
                    s.shared_open_periods_timed);
  }
  if (s.trials_maybe_reaped > 0 || s.reaps_certain > 0 || s.recorded_reap_transitions > 0) {
    absl::StrAppend(&out, "; probe deadlines: trials maybe reaped ", s.trials_maybe_reaped,
                    ", reaps certain ", s.reaps_certain, ", slots reclaimed by a reap ",
                    s.slots_reclaimed_by_reaps, ", verdicts only a reap explains ",
                    s.reap_verdicts, ", transitions recorded as made by a reap ",
                    s.recorded_reap_transitions, ", late outcomes certainly reaped ",
                    s.late_outcomes_certainly_reaped, " (maybe ", s.late_outcomes_maybe_reaped,
                    ")");
  }
  if (s.shed_seen > 0 || s.ramps > 0) {
    absl::StrAppend(&out, "; slow start: ramps timed ", s.ramps, " (", s.ramps_ended,
                    " seen to end, ",
                    s.ramp_trips, " tripped before their end), shed ", s.shed_seen, " (",
                    s.shed_after_store, " after the end was stored, ", s.shed_before_store,
                    " certainly before; retries matched ",
                    s.shed_retries_checked, "), calls at a ramp's first instant ",
                    s.ramp_first_instant_checks, ", past its end ", s.ramp_over_checks,
                    ", draws ", s.ramp_draws, " (admitted ", s.ramp_draws_admitted,
                    ", fractions sum to ", static_cast<int64_t>(s.ramp_draws_fraction_lo), "..",
                    static_cast<int64_t>(s.ramp_draws_fraction_hi + 0.5),
                    "), outcomes of ramp calls after the gate cleared ",
                    s.ramp_outcomes_after_gate);
  }
  if (s.consecutive_runs_checked > 0) {
    absl::StrAppend(&out, "; runs of consecutive failures that had to trip ",
                    s.consecutive_runs_checked);
  }
  if (s.latency_trips > 0 || s.latency_due_checks > 0) {
    absl::StrAppend(&out, "; latency trips ", s.latency_trips, " (", s.latency_trips_checked,
                    " explained, ", s.latency_once_checks,
                    " after a certain judgment of their bucket), judgments that had to trip ",
                    s.latency_due_checks, " (smallest window ", s.latency_due_min_window, ")");
  }
  if (const SystemClockStats& sc = s.system_clock; sc.any()) {
    std::vector<std::string> counts;
    for (const auto& [n, pairs] : sc.late_rejections_by_count) {
      counts.push_back(absl::StrCat(n, ": ", pairs));
    }
    absl::StrAppend(&out, "; system clock: OPEN ends timed ", sc.open_ends_timed, " (",
                    sc.open_end_trials_timed, " trials, smallest margin ", sc.open_end_min_margin,
                    " ns), OPEN periods paced ", sc.open_periods_paced,
                    ", (generation, thread) pairs rejected past the deadline ",
                    sc.late_rejection_periods, " (", sc.late_own_stripe_periods,
                    " with a stripe of their own; by count ", absl::StrJoin(counts, ", "),
                    "), such rejections ", sc.late_rejections, " (at most ", sc.late_rejections_max,
                    " a pair), rejections as OPEN of threads past the own stripes ",
                    sc.unowned_open_rejections, ", the coarse clock up to ", s.coarse_lag_max,
                    " ns behind the precise one (read by the listener)");
  }
  for (const Violation& v : violations) absl::StrAppend(&out, "\n  [", v.check, "] ", v.detail);
  return out;
}

void SystemClockStats::Add(const SystemClockStats& other) {
  open_ends_timed += other.open_ends_timed;
  open_end_trials_timed += other.open_end_trials_timed;
  if (other.open_end_min_margin >= 0 &&
      (open_end_min_margin < 0 || other.open_end_min_margin < open_end_min_margin)) {
    open_end_min_margin = other.open_end_min_margin;
  }
  open_periods_paced += other.open_periods_paced;
  late_rejection_periods += other.late_rejection_periods;
  late_own_stripe_periods += other.late_own_stripe_periods;
  late_rejections += other.late_rejections;
  late_rejections_max = std::max(late_rejections_max, other.late_rejections_max);
  for (const auto& [n, pairs] : other.late_rejections_by_count) {
    late_rejections_by_count[n] += pairs;
  }
  unowned_open_rejections += other.unowned_open_rejections;
}

CheckResult CheckHistory(const History& history, const CheckerOptions& options) {
  if (!history.system_clock) return Checker(history, options).Run();
  // On the system clock the breaker reads CLOCK_MONOTONIC_COARSE (OPEN's
  // end, and every other decision this configuration times), which lags
  // CLOCK_MONOTONIC by up to a tick: the checks, which bound the breaker's
  // readings inside an event by the event's two, run on the coarse view of
  // the history (each event's coarse readings as its clock, the acquire's
  // as a resolution's acquired clock). Exact, with no slack for the tick.
  History coarse = history;
  std::unordered_map<uint64_t, const Event*> acquires;
  for (Event& e : coarse.events) {
    e.clock_before = e.coarse_before;
    e.clock_after = e.coarse_after;
    if (e.op == Op::kAcquire) acquires.emplace(e.permit, &e);
  }
  for (Event& e : coarse.events) {
    if (!IsResolve(e.op)) continue;
    auto a = acquires.find(e.permit);
    if (a == acquires.end()) continue;
    e.acquired_clock_before = a->second->coarse_before;
    e.acquired_clock_after = a->second->coarse_after;
  }
  coarse.start_clock = history.start_coarse;
  coarse.quiescent_clock = history.quiescent_coarse;
  coarse.end_clock = history.end_coarse;
  coarse.clock_marks.clear();
  return Checker(coarse, options, &history).Run();
}

}  // namespace history
}  // namespace circuit
