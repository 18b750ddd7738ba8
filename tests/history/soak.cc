// history_soak: runs the history harness for a while, rotating through the
// stress configurations (history.h) and seeds, checks every history, and
// prints the totals. Exits 1 if any history had a violation.
//
//   bazel run -c opt //tests/history:history_soak -- --seconds=300
//
// Flags:
//   --seconds=N   stop after N seconds (default 60)
//   --rounds=N    ... or after N histories, whichever comes first (0: no limit)
//   --threads=N   worker threads per history (default 8)
//   --seed=N      the first seed; history i uses seed + i (default 1)
//   --ops=N       operations per thread per history (default 3000)
//   --config=NAME only this stress configuration (default: rotate through all;
//                 system-clock runs on the system clock, in real time)
//   --shared      with a coordinator thread sharing the breaker (the
//                 distributed mode's hold: HarnessOptions::coordinator)
//   --dump=PATH   write every event of each violating history to PATH.<i>
//   --verbose     print every history's summary
//   --delay=N     history_soak_with_faults only: each call the breaker makes
//                 between a transition's CAS and its deadline store yields
//                 the CPU 20 times with probability N/1000 (fault_injection.h)
//   --strict      read config.h's "never more than half_open_trial_calls
//                 trials admitted per HALF_OPEN period" literally
//   --strict-shed read breaker.h's Metrics().shed ("calls rejected while
//                 CLOSED by slow start's ramp") literally: every call shed
//                 counts, also one shed before the closer stored the ramp's end
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "circuit/config.h"
#include "tests/history/checker.h"
#ifdef CIRCUIT_HISTORY_FAULTS
#include "tests/history/fault_injection.h"
#endif
#include "tests/history/history.h"

namespace {

using circuit::BreakerConfig;
using circuit::history::CheckerOptions;
using circuit::history::CheckHistory;
using circuit::history::CheckResult;

using circuit::history::HarnessOptions;
using circuit::history::History;
using circuit::history::SystemClockStats;

struct Flags {
  int64_t seconds = 60;
  int64_t rounds = 0;
  int threads = 8;
  uint64_t seed = 1;
  int ops = 3000;
  bool strict = false;
  bool strict_shed = false;
  bool verbose = false;
  bool shared = false;
  int64_t delay = 0;
  std::string config;
  std::string dump;
};

bool ParseInt(absl::string_view arg, absl::string_view name, int64_t* out) {
  const std::string prefix = "--" + std::string(name) + "=";
  if (!absl::StartsWith(arg, prefix)) return false;
  if (!absl::SimpleAtoi(arg.substr(prefix.size()), out)) {
    std::fprintf(stderr, "history_soak: bad value in %s\n", std::string(arg).c_str());
    std::exit(2);
  }
  return true;
}

Flags Parse(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    int64_t v = 0;
    if (ParseInt(arg, "seconds", &v)) {
      flags.seconds = v;
    } else if (ParseInt(arg, "rounds", &v)) {
      flags.rounds = v;
    } else if (ParseInt(arg, "threads", &v)) {
      flags.threads = static_cast<int>(v);
    } else if (ParseInt(arg, "seed", &v)) {
      flags.seed = static_cast<uint64_t>(v);
    } else if (ParseInt(arg, "ops", &v)) {
      flags.ops = static_cast<int>(v);
    } else if (ParseInt(arg, "delay", &v)) {
#ifndef CIRCUIT_HISTORY_FAULTS
      std::fprintf(stderr, "history_soak: --delay needs history_soak_with_faults\n");
      std::exit(2);
#endif
      flags.delay = v;
    } else if (absl::StartsWith(arg, "--config=")) {
      flags.config = std::string(arg.substr(9));
    } else if (absl::StartsWith(arg, "--dump=")) {
      flags.dump = std::string(arg.substr(7));
    } else if (arg == "--verbose") {
      flags.verbose = true;
    } else if (arg == "--strict") {
      flags.strict = true;
    } else if (arg == "--strict-shed") {
      flags.strict_shed = true;
    } else if (arg == "--shared") {
      flags.shared = true;
    } else {
      std::fprintf(stderr,
                   "usage: history_soak [--seconds=N] [--rounds=N] [--threads=N] [--seed=N] "
                   "[--ops=N] [--config=NAME] [--shared] [--dump=PATH] [--delay=N] [--verbose] "
                   "[--strict] [--strict-shed]\n");
      std::exit(2);
    }
  }
  return flags;
}

// Every event, the driver's clock marks and the violations, as text.
void Dump(const std::string& path, const History& history, const CheckResult& result) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "history_soak: cannot write %s\n", path.c_str());
    return;
  }
  std::fprintf(f, "config %s seed %llu threads %d\n%s\n", history.config.name.c_str(),
               static_cast<unsigned long long>(history.seed), history.threads,
               result.Summary().c_str());
  size_t mark = 0;
  for (const circuit::history::Event& e : history.events) {
    while (mark < history.clock_marks.size() && history.clock_marks[mark].ticket < e.after) {
      std::fprintf(f, "clock #%llu -> %lld\n",
                   static_cast<unsigned long long>(history.clock_marks[mark].ticket),
                   static_cast<long long>(history.clock_marks[mark].now));
      ++mark;
    }
    std::fprintf(f, "%s\n", circuit::history::FormatEvent(e).c_str());
  }
  for (const circuit::history::TransitionRecord& t : history.transitions) {
    std::fprintf(f, "transition %s\n", circuit::history::FormatTransition(t).c_str());
  }
  std::fclose(f);
  std::printf("  (history written to %s)\n", path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = Parse(argc, argv);
  std::vector<BreakerConfig> configs = circuit::history::StressConfigs();
  if (!flags.config.empty()) {
    configs = {circuit::history::StressConfig(flags.config)};
    if (configs[0].name != flags.config) {
      std::fprintf(stderr, "history_soak: no configuration named %s\n", flags.config.c_str());
      return 2;
    }
  }
#ifdef CIRCUIT_HISTORY_FAULTS
  circuit::history::fault::SetRandomDelay(static_cast<int>(flags.delay), 20);
#endif
  CheckerOptions checker_options;
  checker_options.strict_trial_admission = flags.strict;
  checker_options.strict_shed_count = flags.strict_shed;

  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  Clock::time_point last_report = start;
  uint64_t histories = 0, events = 0, transitions = 0, causes = 0, deadline_checks = 0, opened = 0,
           violations = 0, bad_histories = 0, over_trial_calls = 0;
  std::map<std::string, uint64_t> kinds, violation_counts;
  // Per configuration: what the new behaviours were exercised by.
  struct PerConfig {
    uint64_t histories = 0, transitions = 0, violations = 0, timeout_reopens = 0, timeout_free = 0,
             half_open_deadline_checks = 0, from_deadline = 0, trips_no_failure = 0,
             trips_by_success = 0, opened = 0, closes_after_failed_trial = 0;
    // The shared hold.
    uint64_t coordinator_actions = 0, own_unshared = 0, own_racing = 0, leave_reopens = 0,
             shared_trials = 0, last_slot = 0, shared_rejections = 0, shared_periods = 0;
    // Per-probe deadlines.
    uint64_t probe_timeouts = 0, maybe_reaped = 0, reaps_certain = 0, slots_reclaimed = 0,
             reap_verdicts = 0, recorded_reaps = 0, late_certain = 0, late_maybe = 0;
    // Slow start.
    uint64_t shed_metric = 0, shed = 0, shed_stored = 0, shed_unstored = 0, ramps = 0,
             ramps_ended = 0, ramp_trips = 0, first_instant = 0, ramp_over = 0, retries = 0,
             draws = 0, draws_admitted = 0, outcomes_after_gate = 0, consecutive_runs = 0;
    double fraction_lo = 0, fraction_hi = 0;
    // The latency-percentile trip.
    uint64_t latency_trips = 0, latency_explained = 0, latency_once = 0, latency_due = 0,
             latency_due_min_window = 0, consecutive_trips = 0;
    // The system clock.
    SystemClockStats system_clock;
    int64_t coarse_lag_max = 0;
  };
  std::map<std::string, uint64_t> record_causes;
  std::map<std::string, PerConfig> per_config;
  std::printf(
      "history_soak: %lld s, %lld rounds max, %d threads, %d ops/thread, seed %llu%s%s, "
      "injected delay %lld/1000\n",
      static_cast<long long>(flags.seconds), static_cast<long long>(flags.rounds), flags.threads,
      flags.ops, static_cast<unsigned long long>(flags.seed),
      flags.strict ? ", strict trial admission" : "",
      flags.shared ? ", shared by a coordinator" : "", static_cast<long long>(flags.delay));
  for (uint64_t i = 0;; ++i) {
    if (flags.rounds > 0 && static_cast<int64_t>(i) >= flags.rounds) break;
    if (Clock::now() - start >= std::chrono::seconds(flags.seconds)) break;
    const BreakerConfig& config = configs[i % configs.size()];
    HarnessOptions options;
    options.threads = flags.threads;
    options.ops_per_thread = flags.ops;
    options.seed = flags.seed + i;
    options.coordinator = flags.shared;
    absl::StatusOr<History> history = circuit::history::RunHistory(config, options);
    if (!history.ok()) {
      std::fprintf(stderr, "history_soak: %s\n", history.status().ToString().c_str());
      return 2;
    }
    const CheckResult result = CheckHistory(*history, checker_options);
    ++histories;
    events += result.stats.events;
    transitions += result.stats.transitions;
    causes += result.stats.causes_checked;
    deadline_checks += result.stats.deadline_checks;
    over_trial_calls += result.stats.generations_over_trial_calls;
    opened += history->final_metrics.opened;
    for (const auto& [kind, n] : result.stats.transition_kinds) kinds[kind] += n;
    {
      PerConfig& p = per_config[config.name];
      ++p.histories;
      p.transitions += result.stats.transitions;
      p.violations += result.violation_count();
      p.timeout_reopens += result.stats.timeout_reopens;
      p.timeout_free += result.stats.timeout_reopens_with_free_slots;
      p.half_open_deadline_checks += result.stats.half_open_deadline_checks;
      p.from_deadline += result.stats.open_durations_from_half_open_deadline;
      p.trips_no_failure += result.stats.trips_without_failure_in_flight;
      p.trips_by_success += result.stats.trips_by_a_success;
      p.opened += history->final_metrics.opened;
      p.closes_after_failed_trial += result.stats.closes_after_a_failed_trial;
      p.coordinator_actions += result.stats.coordinator_actions;
      p.own_unshared += result.stats.own_transitions_unshared;
      p.own_racing += result.stats.own_transitions_racing;
      p.leave_reopens += result.stats.leave_reopens;
      p.shared_trials += result.stats.shared_trials_checked;
      p.last_slot += result.stats.shared_trials_on_last_slot;
      p.shared_rejections += result.stats.shared_half_open_rejections;
      p.shared_periods += result.stats.shared_open_periods_timed;
      p.probe_timeouts += history->final_metrics.probe_timeouts;
      p.maybe_reaped += result.stats.trials_maybe_reaped;
      p.reaps_certain += result.stats.reaps_certain;
      p.slots_reclaimed += result.stats.slots_reclaimed_by_reaps;
      p.reap_verdicts += result.stats.reap_verdicts;
      p.recorded_reaps += result.stats.recorded_reap_transitions;
      p.late_certain += result.stats.late_outcomes_certainly_reaped;
      p.late_maybe += result.stats.late_outcomes_maybe_reaped;
      p.shed_metric += history->final_metrics.shed;
      p.shed += result.stats.shed_seen;
      p.shed_stored += result.stats.shed_after_store;
      p.shed_unstored += result.stats.shed_before_store;
      p.ramps += result.stats.ramps;
      p.ramps_ended += result.stats.ramps_ended;
      p.ramp_trips += result.stats.ramp_trips;
      p.first_instant += result.stats.ramp_first_instant_checks;
      p.ramp_over += result.stats.ramp_over_checks;
      p.retries += result.stats.shed_retries_checked;
      p.draws += result.stats.ramp_draws;
      p.draws_admitted += result.stats.ramp_draws_admitted;
      p.fraction_lo += result.stats.ramp_draws_fraction_lo;
      p.fraction_hi += result.stats.ramp_draws_fraction_hi;
      p.outcomes_after_gate += result.stats.ramp_outcomes_after_gate;
      p.consecutive_runs += result.stats.consecutive_runs_checked;
      p.latency_trips += result.stats.latency_trips;
      p.latency_explained += result.stats.latency_trips_checked;
      p.latency_once += result.stats.latency_once_checks;
      p.latency_due += result.stats.latency_due_checks;
      if (result.stats.latency_due_checks > 0 &&
          (p.latency_due_min_window == 0 ||
           result.stats.latency_due_min_window < p.latency_due_min_window)) {
        p.latency_due_min_window = result.stats.latency_due_min_window;
      }
      p.system_clock.Add(result.stats.system_clock);
      p.coarse_lag_max = std::max(p.coarse_lag_max, result.stats.coarse_lag_max);
      {
        auto it = result.stats.record_causes.find("CONSECUTIVE_FAILURES");
        if (it != result.stats.record_causes.end()) p.consecutive_trips += it->second;
      }
      for (const auto& [cause, n] : result.stats.record_causes) record_causes[cause] += n;
    }
    if (flags.verbose && result.ok()) {
      std::printf("history %llu (%s, seed %llu): %s\n", static_cast<unsigned long long>(i),
                  config.name.c_str(), static_cast<unsigned long long>(options.seed),
                  result.Summary().c_str());
    }
    if (!result.ok()) {
      ++bad_histories;
      violations += result.violation_count();
      for (const auto& [check, n] : result.violation_counts) violation_counts[check] += n;
      std::printf("VIOLATION in history %llu (config %s, seed %llu, %d threads):\n%s\n",
                  static_cast<unsigned long long>(i), config.name.c_str(),
                  static_cast<unsigned long long>(options.seed), flags.threads,
                  result.Summary().c_str());
      std::fflush(stdout);
      if (!flags.dump.empty()) Dump(flags.dump + "." + std::to_string(i), *history, result);
    }
    if (Clock::now() - last_report >= std::chrono::seconds(15)) {
      last_report = Clock::now();
      std::printf("  ... %llu histories, %llu events, %llu transitions, %llu violations\n",
                  static_cast<unsigned long long>(histories),
                  static_cast<unsigned long long>(events),
                  static_cast<unsigned long long>(transitions),
                  static_cast<unsigned long long>(violations));
      std::fflush(stdout);
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("history_soak: %.1f s\n", elapsed);
  std::printf("  histories checked  %llu\n", static_cast<unsigned long long>(histories));
  std::printf("  events             %llu\n", static_cast<unsigned long long>(events));
  std::printf("  transitions seen   %llu\n", static_cast<unsigned long long>(transitions));
  for (const auto& [kind, n] : kinds) {
    std::printf("    %-28s %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
  }
  std::printf("  causes found       %llu\n", static_cast<unsigned long long>(causes));
  std::printf("  OPEN deadline checks %llu\n", static_cast<unsigned long long>(deadline_checks));
  std::printf("  opened (Metrics)   %llu\n", static_cast<unsigned long long>(opened));
  std::printf(
      "  HALF_OPEN generations admitting > half_open_trial_calls trials (slots handed "
      "back) %llu\n",
      static_cast<unsigned long long>(over_trial_calls));
  std::printf(
      "  per configuration: histories, transitions, opened, timeout reopens (with free slots), "
      "HALF_OPEN deadline checks, open durations timed from a HALF_OPEN deadline, trips with no "
      "failure in flight (by a success), closes after a failed trial, violations\n");
  for (const auto& [name, p] : per_config) {
    std::printf("    %-24s %llu, %llu, %llu, %llu (%llu), %llu, %llu, %llu (%llu), %llu, %llu\n",
                name.c_str(), static_cast<unsigned long long>(p.histories),
                static_cast<unsigned long long>(p.transitions),
                static_cast<unsigned long long>(p.opened),
                static_cast<unsigned long long>(p.timeout_reopens),
                static_cast<unsigned long long>(p.timeout_free),
                static_cast<unsigned long long>(p.half_open_deadline_checks),
                static_cast<unsigned long long>(p.from_deadline),
                static_cast<unsigned long long>(p.trips_no_failure),
                static_cast<unsigned long long>(p.trips_by_success),
                static_cast<unsigned long long>(p.closes_after_failed_trial),
                static_cast<unsigned long long>(p.violations));
  }
  bool probes = false;
  for (const auto& [name, p] : per_config) probes = probes || p.maybe_reaped > 0;
  if (probes) {
    std::printf(
        "  per-probe deadlines, per configuration: Metrics().probe_timeouts (trials maybe reaped, "
        "reaps certain), slots reclaimed by a reap, verdicts only a reap explains, transitions "
        "recorded as made by a reap, late outcomes of trials certainly reaped (maybe)\n");
    for (const auto& [name, p] : per_config) {
      if (p.maybe_reaped == 0) continue;
      std::printf("    %-24s %llu (%llu, %llu), %llu, %llu, %llu, %llu (%llu)\n", name.c_str(),
                  static_cast<unsigned long long>(p.probe_timeouts),
                  static_cast<unsigned long long>(p.maybe_reaped),
                  static_cast<unsigned long long>(p.reaps_certain),
                  static_cast<unsigned long long>(p.slots_reclaimed),
                  static_cast<unsigned long long>(p.reap_verdicts),
                  static_cast<unsigned long long>(p.recorded_reaps),
                  static_cast<unsigned long long>(p.late_certain),
                  static_cast<unsigned long long>(p.late_maybe));
    }
  }
  std::printf("  runs of consecutive failures that had to trip, per configuration:");
  for (const auto& [name, p] : per_config) {
    if (p.consecutive_runs > 0) {
      std::printf(" %s %llu", name.c_str(), static_cast<unsigned long long>(p.consecutive_runs));
    }
  }
  std::printf("\n");
  bool ramps = false;
  for (const auto& [name, p] : per_config) ramps = ramps || p.shed > 0 || p.ramps > 0;
  if (ramps) {
    std::printf(
        "  slow start, per configuration: Metrics().shed (calls shed, after the end was stored, "
        "certainly before), "
        "ramps timed (seen to end, tripped before their end), calls at a ramp's first instant, "
        "past its end, retries matched to the end, draws (admitted; fractions sum to), outcomes "
        "of ramp calls after the gate cleared\n");
    for (const auto& [name, p] : per_config) {
      if (p.shed == 0 && p.ramps == 0) continue;
      std::printf("    %-24s %llu (%llu, %llu, %llu), %llu (%llu, %llu), %llu, %llu, %llu, "
                  "%llu (%llu; %.0f..%.0f), %llu\n",
                  name.c_str(), static_cast<unsigned long long>(p.shed_metric),
                  static_cast<unsigned long long>(p.shed),
                  static_cast<unsigned long long>(p.shed_stored),
                  static_cast<unsigned long long>(p.shed_unstored),
                  static_cast<unsigned long long>(p.ramps),
                  static_cast<unsigned long long>(p.ramps_ended),
                  static_cast<unsigned long long>(p.ramp_trips),
                  static_cast<unsigned long long>(p.first_instant),
                  static_cast<unsigned long long>(p.ramp_over),
                  static_cast<unsigned long long>(p.retries),
                  static_cast<unsigned long long>(p.draws),
                  static_cast<unsigned long long>(p.draws_admitted), p.fraction_lo, p.fraction_hi,
                  static_cast<unsigned long long>(p.outcomes_after_gate));
    }
  }
  bool latency = false;
  for (const auto& [name, p] : per_config) latency = latency || p.latency_trips > 0 || p.latency_due > 0;
  if (latency) {
    std::printf(
        "  latency-percentile trip, per configuration: LATENCY_PERCENTILE transitions (explained by "
        "their window, after a certain judgment of their bucket), judgments that had to trip "
        "(smallest window), CONSECUTIVE_FAILURES transitions\n");
    for (const auto& [name, p] : per_config) {
      if (p.latency_trips == 0 && p.latency_due == 0) continue;
      std::printf("    %-24s %llu (%llu, %llu), %llu (%llu), %llu\n", name.c_str(),
                  static_cast<unsigned long long>(p.latency_trips),
                  static_cast<unsigned long long>(p.latency_explained),
                  static_cast<unsigned long long>(p.latency_once),
                  static_cast<unsigned long long>(p.latency_due),
                  static_cast<unsigned long long>(p.latency_due_min_window),
                  static_cast<unsigned long long>(p.consecutive_trips));
    }
  }
  bool system_clock = false;
  for (const auto& [name, p] : per_config) {
    system_clock = system_clock || p.system_clock.any();
  }
  if (system_clock) {
    std::printf(
        "  system clock, per configuration: OPEN ends timed (trials timed, smallest margin ns), "
        "OPEN periods paced, (generation, thread) pairs rejected past the deadline (with a stripe "
        "of their own), such rejections (most in one pair), rejections as OPEN of threads past "
        "the own stripes, the coarse clock's largest lag (ns); own-stripe pairs by count\n");
    for (const auto& [name, p] : per_config) {
      const SystemClockStats& sc = p.system_clock;
      if (!sc.any()) continue;
      std::string counts;
      for (const auto& [n, pairs] : sc.late_rejections_by_count) {
        counts += " " + std::to_string(n) + ":" + std::to_string(pairs);
      }
      std::printf("    %-24s %llu (%llu, %lld), %llu, %llu (%llu), %llu (%llu), %llu, %lld;%s\n",
                  name.c_str(),
                  static_cast<unsigned long long>(sc.open_ends_timed),
                  static_cast<unsigned long long>(sc.open_end_trials_timed),
                  static_cast<long long>(sc.open_end_min_margin),
                  static_cast<unsigned long long>(sc.open_periods_paced),
                  static_cast<unsigned long long>(sc.late_rejection_periods),
                  static_cast<unsigned long long>(sc.late_own_stripe_periods),
                  static_cast<unsigned long long>(sc.late_rejections),
                  static_cast<unsigned long long>(sc.late_rejections_max),
                  static_cast<unsigned long long>(sc.unowned_open_rejections),
                  static_cast<long long>(p.coarse_lag_max), counts.c_str());
    }
  }
  if (flags.shared) {
    std::printf("  transition records by cause\n");
    for (const auto& [cause, n] : record_causes) {
      std::printf("    %-28s %llu\n", cause.c_str(), static_cast<unsigned long long>(n));
    }
    std::printf(
        "  shared hold, per configuration: coordinator calls, own transitions certainly unshared "
        "(racing a change of sharing), HALF_OPEN -> OPEN on leaving kShared, trials checked "
        "against the slots lent (on the last slot), HALF_OPEN rejections under kShared, OPEN "
        "periods timed from the coordinator's\n");
    for (const auto& [name, p] : per_config) {
      std::printf("    %-24s %llu, %llu (%llu), %llu, %llu (%llu), %llu, %llu\n", name.c_str(),
                  static_cast<unsigned long long>(p.coordinator_actions),
                  static_cast<unsigned long long>(p.own_unshared),
                  static_cast<unsigned long long>(p.own_racing),
                  static_cast<unsigned long long>(p.leave_reopens),
                  static_cast<unsigned long long>(p.shared_trials),
                  static_cast<unsigned long long>(p.last_slot),
                  static_cast<unsigned long long>(p.shared_rejections),
                  static_cast<unsigned long long>(p.shared_periods));
    }
  }
  std::printf("  violations         %llu in %llu histories\n",
              static_cast<unsigned long long>(violations),
              static_cast<unsigned long long>(bad_histories));
  for (const auto& [check, n] : violation_counts) {
    std::printf("    %-28s %llu\n", check.c_str(), static_cast<unsigned long long>(n));
  }
  return violations == 0 ? 0 : 1;
}
