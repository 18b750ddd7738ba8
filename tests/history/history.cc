// The stress harness: see history.h.
#include "tests/history/history.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/clock.h"
#include "circuit/config.h"
#include "circuit/events.h"
#include "circuit/fake_clock.h"
#include "circuit/internal/shared_control.h"
#include "circuit/internal/stripes.h"

namespace circuit {
namespace history {

absl::string_view OpName(Op op) {
  switch (op) {
    case Op::kAcquire:
      return "ACQUIRE";
    case Op::kSuccess:
      return "SUCCESS";
    case Op::kFailure:
      return "FAILURE";
    case Op::kFailureRetryAfter:
      return "FAILURE_RETRY_AFTER";
    case Op::kIgnore:
      return "IGNORE";
    case Op::kRelease:
      return "RELEASE";
    case Op::kDrop:
      return "DROP";
    case Op::kForceOpen:
      return "FORCE_OPEN";
    case Op::kDisable:
      return "DISABLE";
    case Op::kMetricsOnly:
      return "METRICS_ONLY";
    case Op::kReset:
      return "RESET";
    case Op::kClaim:
      return "CLAIM";
    case Op::kSetSharing:
      return "SET_SHARING";
    case Op::kFollow:
      return "FOLLOW";
    case Op::kReopen:
      return "REOPEN";
    case Op::kLend:
      return "LEND";
  }
  return "UNKNOWN";
}

State OperatorTarget(Op op) {
  switch (op) {
    case Op::kForceOpen:
      return State::kForcedOpen;
    case Op::kDisable:
      return State::kDisabled;
    case Op::kMetricsOnly:
      return State::kMetricsOnly;
    default:
      return State::kClosed;  // Reset()
  }
}

std::string FormatObservation(const Observation& o) {
  if (!o.has_state) return absl::StrCat("g", o.generation, "/?");
  return absl::StrCat("g", o.generation, "/", StateName(o.state));
}

std::string FormatEvent(const Event& e) {
  std::string s = absl::StrCat("t", e.thread, " #", e.before, "..", e.after, " ", OpName(e.op));
  if (e.op == Op::kAcquire) {
    if (e.admitted) {
      absl::StrAppend(&s, e.trial ? " -> trial" : " -> admitted", " p", e.permit, "@g",
                      e.permit_generation);
    } else {
      absl::StrAppend(&s, " -> rejected by g", e.permit_generation, "/",
                      StateName(e.rejected_state));
      if (e.retry_nanos >= 0) absl::StrAppend(&s, " retry ", e.retry_nanos, " ns");
    }
  } else if (IsResolve(e.op)) {
    absl::StrAppend(&s, " p", e.permit, "@g", e.permit_generation, e.trial ? " (trial)" : "",
                    e.meant_slow ? " (slow)" : "",
                    e.took_nanos >= 0 ? absl::StrCat(" took ", e.took_nanos, " ns") : "",
                    e.returned ? "" : " returned false");
  } else if (e.op == Op::kSetSharing) {
    absl::StrAppend(&s, " ", SharingName(e.sharing));
  } else if (e.op == Op::kFollow || e.op == Op::kReopen) {
    absl::StrAppend(&s, e.op == Op::kFollow ? absl::StrCat(" ", StateName(e.follow_to)) : "",
                    e.op == Op::kReopen ? absl::StrCat(" g", e.hold_generation) : "",
                    e.op == Op::kReopen || e.follow_to == State::kOpen
                        ? absl::StrCat(" for ", e.open_nanos / 1000, " us")
                        : "",
                    e.op == Op::kFollow ? absl::StrCat(" -> g", e.hold_generation) : "");
  } else if (e.op == Op::kLend) {
    absl::StrAppend(&s, " g", e.hold_generation, " slots ", e.lent_slots);
  }
  if ((e.op == Op::kClaim || e.op == Op::kFollow || e.op == Op::kReopen) && !e.returned) {
    absl::StrAppend(&s, " returned false");
  }
  absl::StrAppend(&s, " pre ", FormatObservation(e.pre), " post ", FormatObservation(e.post),
                  " clock ", e.clock_before, "..", e.clock_after);
  if (e.coarse_before != 0 || e.coarse_after != 0) {
    absl::StrAppend(&s, " coarse ", e.coarse_before, "..", e.coarse_after);
  }
  if (e.probe) absl::StrAppend(&s, " [probe]");
  return s;
}

std::string FormatTransition(const TransitionRecord& t) {
  return absl::StrCat(StateName(t.from), " -> ", StateName(t.to), " g", t.generation, " (",
                      TransitionCauseName(t.cause),
                      t.cause == TransitionCause::kLatencyPercentile
                          ? absl::StrCat(" ", t.value, " s > ", t.threshold, " s")
                          : "",
                      ") made by t", t.thread,
                      t.event == 0 ? " outside any event" : absl::StrCat(" in event #", t.event),
                      t.ticket == 0 ? "" : absl::StrCat(", told by #", t.ticket),
                      t.coarse == 0 && t.mono == 0
                          ? ""
                          : absl::StrCat(" at coarse ", t.coarse, " (monotonic ", t.mono, ")"));
}

std::vector<BreakerConfig> StressConfigs() {
  std::vector<BreakerConfig> configs;

  BreakerConfig count;
  count.name = "count-window";
  count.consecutive_failures_to_open = 5;
  count.failure_rate_threshold = 50;
  count.window_size = 40;
  count.minimum_calls = 20;
  count.slow_call_rate_threshold = 60;
  count.slow_call_duration = absl::Milliseconds(25);
  count.open_duration = absl::Milliseconds(60);
  count.open_backoff_multiplier = 2;
  count.max_open_duration = absl::Milliseconds(240);
  count.open_jitter = 0.2;
  count.half_open_trial_calls = 4;
  count.half_open_max_concurrent = 2;
  count.stripes = 4;  // fewer than the threads: the per-CPU blocks are used too
  configs.push_back(count);

  BreakerConfig time = count;
  time.name = "time-window";
  time.window_type = WindowType::kTimeBased;
  time.window_duration = absl::Milliseconds(200);
  time.window_buckets = 8;
  time.minimum_calls = 15;
  configs.push_back(time);

  // Every worker counts into its CPU's block (restartable sequences, time
  // buckets updated atomically), preempted and migrated among the workers.
  BreakerConfig per_cpu = time;
  per_cpu.name = "per-cpu-time-window";
  per_cpu.stripes = 0;
  configs.push_back(per_cpu);

  BreakerConfig by_rate = count;
  by_rate.name = "judge-by-rate";
  by_rate.half_open_judge_by_rate = true;
  by_rate.half_open_trial_calls = 6;
  by_rate.half_open_max_concurrent = 3;
  configs.push_back(by_rate);

  BreakerConfig max_duration = count;
  max_duration.name = "half-open-max-duration";
  max_duration.half_open_trial_calls = 3;
  max_duration.half_open_max_concurrent = 3;
  max_duration.half_open_max_duration = absl::Milliseconds(30);
  configs.push_back(max_duration);

  BreakerConfig consecutive;
  consecutive.name = "consecutive-only";
  consecutive.consecutive_failures_to_open = 3;
  consecutive.open_duration = absl::Milliseconds(40);
  consecutive.max_open_duration = absl::Milliseconds(40);
  consecutive.half_open_trial_calls = 2;
  consecutive.half_open_max_concurrent = 2;
  consecutive.stripes = 16;
  configs.push_back(consecutive);

  // S of K: 2 successful trials of 4 close it, 3 failed (or slow) ones
  // reopen it, 2 in flight at once.
  BreakerConfig s_of_k = count;
  s_of_k.name = "successes-to-close";
  s_of_k.half_open_trial_calls = 4;
  s_of_k.half_open_max_concurrent = 2;
  s_of_k.half_open_successes_to_close = 2;
  configs.push_back(s_of_k);

  // A HALF_OPEN limit just above the driver's largest clock step (8 ms),
  // with as many trial slots as workers (K = 8, 3 of them close): it fires
  // in most HALF_OPEN periods, mostly with trial slots free.
  BreakerConfig limit = count;
  limit.name = "half-open-limit";
  limit.half_open_trial_calls = 8;
  limit.half_open_max_concurrent = 8;
  limit.half_open_successes_to_close = 3;
  limit.half_open_max_duration = absl::Milliseconds(12);
  configs.push_back(limit);

  // Rates alone (consecutive_failures_to_open unset: off with a rate set),
  // judged on every outcome: a short time window often holds failures but
  // fewer than minimum_calls calls, and the success that brings it to the
  // minimum opens it.
  BreakerConfig success = count;
  success.name = "success-decides";
  success.consecutive_failures_to_open.reset();
  success.failure_rate_threshold = 12;
  success.slow_call_rate_threshold = 0;
  success.window_type = WindowType::kTimeBased;
  success.window_duration = absl::Milliseconds(16);
  success.window_buckets = 4;
  success.minimum_calls = 12;
  configs.push_back(success);

  // Per-probe deadlines (half_open_probe_timeout): a trial not back 10 ms
  // after its admission is reaped by whoever looks next (a call finding no
  // slot, state(), Snapshot()); the harness hangs trials
  // (HarnessOptions::hang_trial_per_million) so that reaps happen. With
  // S = K a reaped trial that fails reopens the breaker at once.
  BreakerConfig probe = count;
  probe.name = "probe-timeout";
  probe.half_open_probe_timeout = absl::Milliseconds(10);
  probe.half_open_probe_timeout_outcome = ProbeTimeoutOutcome::kFailure;
  configs.push_back(probe);

  // The same with kReleased, and S = 2 of K = 4: a reaped trial's slot goes
  // back, nothing is counted, the generation goes on (its late outcome is
  // stale in a HALF_OPEN that is still current).
  BreakerConfig released = probe;
  released.name = "probe-timeout-released";
  released.half_open_probe_timeout_outcome = ProbeTimeoutOutcome::kReleased;
  released.half_open_successes_to_close = 2;
  configs.push_back(released);

  // Slow start (slow_start_duration): after the trials close it, a fraction
  // of calls rising from 0 to all over 40 ms (about 10 of the driver's
  // steps) is admitted and the rest are shed, rejected as CLOSED. No rate
  // window: every trip needs 3 failures of its own generation, so outages
  // often trip it during the ramp, and healthy spells see ramps end.
  BreakerConfig ramp = consecutive;
  ramp.name = "slow-start";
  ramp.slow_start_duration = absl::Milliseconds(40);
  configs.push_back(ramp);

  // The same over a time window, with trials judged by rate (a by-rate
  // close ramps too) and a 250 ms ramp, about as long as the driver's
  // healthy spells (30 to 120 steps of up to 8 ms): outages often trip it
  // during the ramp.
  BreakerConfig ramp_by_rate = time;
  ramp_by_rate.name = "slow-start-by-rate";
  ramp_by_rate.half_open_judge_by_rate = true;
  ramp_by_rate.half_open_trial_calls = 6;
  ramp_by_rate.half_open_max_concurrent = 3;
  ramp_by_rate.slow_start_duration = absl::Milliseconds(250);
  configs.push_back(ramp_by_rate);

  // The latency-percentile trip: p90 over 25 ms (a bound of the duration
  // bins, so exact) in a 1 s time window of 10 buckets of 100 ms (about 22
  // of the driver's steps, 350 operations), judged once a bucket; beside it
  // only 5 consecutive failures trip. The harness makes half of the outages
  // slow instead of failing (history.cc, ResolveRandomly()): half of their
  // calls take more than 25 ms, given to Success(took)/Failure(took) or
  // (some) held while the clock moves past it, so they trip by latency and
  // the failing ones by consecutive failures; healthy calls mostly take at
  // most 25 ms, given or timed by the breaker (2 % over), and never trip.
  BreakerConfig latency;
  latency.name = "latency";
  latency.consecutive_failures_to_open = 5;
  latency.latency_percentile = 90;
  latency.latency_percentile_threshold = absl::Milliseconds(25);
  latency.window_type = WindowType::kTimeBased;
  latency.window_duration = absl::Seconds(1);
  latency.window_buckets = 10;
  latency.minimum_calls = 40;
  latency.open_duration = absl::Milliseconds(40);
  latency.max_open_duration = absl::Milliseconds(40);
  latency.half_open_trial_calls = 4;
  latency.half_open_max_concurrent = 2;
  latency.stripes = 4;
  configs.push_back(latency);

  // The system clock (clock == nullptr), in real time: rejections while
  // OPEN judge by the clock on one of each thread's rejections in
  // internal::kRejectionsPerClockRead (design.md section 7, "OPEN: a coarse
  // reading per judged rejection"), which a FakeClock never exercises (an
  // injected clock judges every rejection). Short open periods, so that
  // many end in a run of a few hundred milliseconds: 2 ms, which the
  // coarse clock's tick (4 ms here) rounds up to the next tick; no backoff
  // or jitter, so every OPEN the breaker makes lasts exactly open_duration
  // (on the coarse clock). 4 own stripes: with the main thread numbered 0
  // (it runs the tails) workers 1 to 3 have a stripe of their own and
  // judge one rejection in kRejectionsPerClockRead, the others judge every
  // one (the harness records each thread's number).
  BreakerConfig system;
  system.name = std::string(kSystemClockConfig);
  system.consecutive_failures_to_open = 3;
  system.open_duration = absl::Milliseconds(2);
  system.max_open_duration = absl::Milliseconds(2);
  system.half_open_trial_calls = 2;
  system.half_open_max_concurrent = 2;
  system.stripes = 4;
  configs.push_back(system);

  return configs;
}

BreakerConfig StressConfig(absl::string_view name) {
  for (BreakerConfig& config : StressConfigs()) {
    if (config.name == name) return config;
  }
  return BreakerConfig();
}

namespace {

using internal::SharedControl;

// Held by a worker (or handed to another) between acquire and resolution.
struct Held {
  Permit permit;
  uint64_t id = 0;
  uint32_t generation = 0;
  bool trial = false;
  int64_t clock_before = 0;
  int64_t clock_after = 0;
};

struct Worker {
  Worker(int id, uint64_t seed) : id(id), rng(seed) {}
  int id;
  std::mt19937_64 rng;
  std::vector<Event> log;
  uint64_t next_permit = 1;
  std::vector<Held> held;
  Observation last;  // the last post-observation
  uint64_t event = 0;  // the `before` ticket of the event in progress (0: none)
  std::vector<TransitionRecord> transitions;  // those this thread made
};

// The run's thread that is calling into the breaker (null on others).
thread_local Worker* tls_worker = nullptr;

// Listeners run on the thread that made the transition, inside its call:
// so the record names the event that made it. On the system clock it also
// takes a ticket (after the transition's CAS and, for OPEN, its deadline's
// store) and reads the coarse and the precise clock.
class TransitionRecorder : public BreakerListener {
 public:
  TransitionRecorder(std::atomic<uint64_t>* ticket, bool system_clock)
      : ticket_(ticket), system_clock_(system_clock) {}

  void OnTransition(const TransitionEvent& e) override {
    Worker* w = tls_worker;
    if (w == nullptr) return;  // no thread of the run: the checker reports the gap
    TransitionRecord r{e.generation, e.from, e.to, e.cause, w->id, w->event, e.value, e.threshold};
    if (system_clock_) {
      r.ticket = ticket_->fetch_add(1, std::memory_order_seq_cst);
      r.coarse = internal::MonotonicCoarseNanos();
      r.mono = internal::MonotonicNanos();
    }
    w->transitions.push_back(r);
  }

 private:
  std::atomic<uint64_t>* const ticket_;
  const bool system_clock_;
};

// The shared state as the coordinator hears it from the store: here it
// evolves at random, standing for the other instances that share it.
struct SharedState {
  State state = State::kClosed;
  uint64_t generation = 0;
  int64_t open_until = 0;  // OPEN: when the store lets trials start (the fake clock)
  uint32_t lent = 0;       // HALF_OPEN: trial slots lent to this instance
};

// What src/redis/coordinator.cc keeps per breaker to follow it (Tracked).
struct Following {
  int64_t followed = -1;         // the shared generation last followed (-1: none)
  uint32_t half_open_local = 0;  // the local HALF_OPEN that follows ...
  int64_t trial_shared = -1;     // ... this shared HALF_OPEN
};

class Run {
 public:
  Run(BreakerConfig config, const HarnessOptions& options)
      : options_(options), config_(std::move(config)) {
    config_.clock = system_clock_ ? nullptr : &clock_;
  }

  absl::StatusOr<History> Go() {
    History history;
    history.system_clock = system_clock_;
    if (system_clock_) {
      history.start_coarse = internal::MonotonicCoarseNanos();
      struct timespec res;
      history.coarse_resolution =
          clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0
              ? int64_t{res.tv_sec} * 1'000'000'000 + res.tv_nsec
              : 10'000'000;
      history.own_stripes = EffectiveStripes(config_);
      history.thread_slots.assign(static_cast<size_t>(options_.threads) + 2, -1);
    }
    absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(config_);
    if (!breaker.ok()) return breaker.status();
    breaker_ = std::move(breaker).value();
    now_ = Now();

    history.config = config_;
    history.config.clock = nullptr;
    history.seed = options_.seed;
    history.threads = options_.threads;
    history.start_clock = now_;

    std::vector<std::unique_ptr<Worker>> workers;
    for (int id = 0; id < options_.threads; ++id) {
      workers.push_back(std::make_unique<Worker>(
          id, options_.seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(id) * 7919 + 1));
      workers.back()->log.reserve(static_cast<size_t>(options_.ops_per_thread) * 3 + 16);
    }
    Subscription recording;
    // The listener's records name who made each transition: the
    // coordinator's, and with per-probe deadlines which event reaped.
    if (Recording()) {
      recording =
          breaker_->Subscribe(std::make_shared<TransitionRecorder>(&ticket_, system_clock_));
    }
    Worker coordinator(options_.threads + 1, options_.seed ^ 0xc00d);
    const int parties = options_.threads + 1 + (options_.coordinator ? 1 : 0);
    std::atomic<int> ready{0};
    auto start = [&ready, parties] {
      ready.fetch_add(1);
      while (ready.load() < parties) std::this_thread::yield();
    };
    std::thread driver([&] {
      start();
      Drive();
    });
    std::thread sync;
    // On the system clock every thread that calls the breaker records its
    // number (registering it now rather than at its first call).
    auto number = [this, &history](int id) {
      if (system_clock_) history.thread_slots[static_cast<size_t>(id)] = internal::ThisThreadSlot();
    };
    if (options_.coordinator) {
      sync = std::thread([&] {
        tls_worker = &coordinator;
        number(coordinator.id);
        start();
        Coordinate(coordinator);
      });
    }
    std::vector<std::thread> threads;
    for (auto& worker : workers) {
      Worker* w = worker.get();
      threads.emplace_back([this, w, &start, &number] {
        tls_worker = w;
        number(w->id);
        start();
        Work(*w);
      });
    }
    for (std::thread& t : threads) t.join();
    done_.store(true, std::memory_order_release);
    driver.join();
    if (sync.joinable()) sync.join();

    // The quiescent tail, on this thread: nothing else touches the breaker.
    Worker tail(options_.threads, options_.seed ^ 0x5eed);
    tls_worker = &tail;
    number(tail.id);
    std::deque<Held> leftovers;
    {
      std::lock_guard<std::mutex> lock(exchange_mu_);
      leftovers.swap(exchange_);
    }
    for (Held& h : leftovers) ResolveRandomly(tail, h, /*probe=*/false);
    history.quiescent_clock = Now();
    if (system_clock_) history.quiescent_coarse = internal::MonotonicCoarseNanos();
    history.quiescent_trials_in_flight =
        static_cast<int>(SharedControl::Read(*breaker_).trials_in_flight);
    history.quiescent_snapshot_trials_in_flight =
        static_cast<int>(breaker_->Snapshot().trials_in_flight);
    if (options_.probe_tail) ProbeUntilClosed(tail);
    tls_worker = nullptr;

    history.end_clock = Now();
    if (system_clock_) history.end_coarse = internal::MonotonicCoarseNanos();
    history.final_metrics = breaker_->Metrics();
    history.has_final = true;
    history.complete = true;
    history.clock_marks = std::move(marks_);
    for (auto& worker : workers) {
      history.events.insert(history.events.end(), worker->log.begin(), worker->log.end());
    }
    history.events.insert(history.events.end(), tail.log.begin(), tail.log.end());
    history.events.insert(history.events.end(), coordinator.log.begin(), coordinator.log.end());
    std::sort(history.events.begin(), history.events.end(),
              [](const Event& a, const Event& b) { return a.after < b.after; });
    if (Recording()) {
      history.transitions_complete = true;
      for (auto& worker : workers) {
        history.transitions.insert(history.transitions.end(), worker->transitions.begin(),
                                   worker->transitions.end());
      }
      for (const Worker* w : {&tail, &coordinator}) {
        history.transitions.insert(history.transitions.end(), w->transitions.begin(),
                                   w->transitions.end());
      }
      std::sort(history.transitions.begin(), history.transitions.end(),
                [](const TransitionRecord& a, const TransitionRecord& b) {
                  return a.generation < b.generation;
                });
    }
    return history;
  }

 private:
  bool Recording() const {
    return options_.coordinator || config_.half_open_probe_timeout > absl::ZeroDuration() ||
           config_.slow_start_duration > absl::ZeroDuration() || latency_on_ || system_clock_;
  }

  // The clock events are timed by: the FakeClock, or CLOCK_MONOTONIC on the
  // system clock (whose coarse readings Begin() and End() take too).
  int64_t Now() const { return system_clock_ ? internal::MonotonicNanos() : clock_.NowNanos(); }

  static constexpr uint64_t kMaxLagOps = 256;
  static constexpr int kMaxSlowSpins = 200'000;

  // One global ticket. seq_cst (an acq_rel RMW would do): every ticket is an
  // RMW of the same word, so each synchronizes with every later one, and
  // ticket order is a happens-before order between the events that took them.
  uint64_t Ticket() { return ticket_.fetch_add(1, std::memory_order_seq_cst); }

  Observation Observe() const {
    Observation o;
    uint32_t first = breaker_->generation();
    o.generation = first;
    for (int attempt = 0; attempt < 8; ++attempt) {
      const State state = breaker_->state();
      const uint32_t second = breaker_->generation();
      o.generation = second;
      if (second == first) {
        o.has_state = true;
        o.state = state;
        return o;
      }
      first = second;
    }
    return o;
  }

  Event Begin(Worker& w, Op op, bool probe) {
    Event e;
    e.thread = w.id;
    e.op = op;
    e.probe = probe;
    e.before = Ticket();
    w.event = e.before;
    if (system_clock_) e.coarse_before = internal::MonotonicCoarseNanos();
    e.pre = Observe();
    e.clock_before = Now();
    return e;
  }

  void End(Worker& w, Event& e) {
    e.post = Observe();
    e.clock_after = Now();
    if (system_clock_) e.coarse_after = internal::MonotonicCoarseNanos();
    e.after = Ticket();
    w.event = 0;
    w.last = e.post;
    w.log.push_back(e);
  }

  std::optional<Held> Acquire(Worker& w, bool probe) {
    Event e = Begin(w, Op::kAcquire, probe);
    Permit permit = breaker_->TryAcquire();
    e.permit = (static_cast<uint64_t>(w.id + 1) << 40) | w.next_permit++;
    e.permit_generation = permit.generation();
    e.trial = permit.is_trial();
    e.admitted = static_cast<bool>(permit);
    e.rejected_state = e.admitted ? State::kClosed : permit.rejected_state();
    // Shed by slow start's ramp: its retry, asked now (a fresh clock
    // reading, inside the event's two).
    if (!e.admitted && e.rejected_state == State::kClosed) {
      e.retry_nanos = absl::ToInt64Nanoseconds(permit.retry_after());
    }
    End(w, e);
    if (!e.admitted) return std::nullopt;  // a rejected permit's destructor does nothing
    std::optional<Held> held;
    held.emplace();
    held->permit = std::move(permit);
    held->id = e.permit;
    held->generation = e.permit_generation;
    held->trial = e.trial;
    held->clock_before = e.clock_before;
    held->clock_after = e.clock_after;
    return held;
  }

  // `took` >= 0: the call's duration, given to Success(took)/Failure(took).
  void Resolve(Worker& w, Held& h, Op op, bool meant_slow, bool probe, int64_t took = -1) {
    int64_t wait = 0;
    if (op == Op::kFailureRetryAfter) {
      wait = 1 + static_cast<int64_t>(
                     w.rng() % static_cast<uint64_t>(absl::ToInt64Nanoseconds(options_.max_retry_after)));
    }
    Event e = Begin(w, op, probe);
    bool returned = false;
    switch (op) {
      case Op::kSuccess:
        returned = took >= 0 ? h.permit.Success(absl::Nanoseconds(took)) : h.permit.Success();
        break;
      case Op::kFailure:
        returned = took >= 0 ? h.permit.Failure(absl::Nanoseconds(took)) : h.permit.Failure();
        break;
      case Op::kFailureRetryAfter:
        returned = h.permit.FailureRetryAfter(absl::Nanoseconds(wait));
        e.open_nanos = std::min(wait, absl::ToInt64Nanoseconds(config_.max_open_duration));
        break;
      case Op::kIgnore:
        returned = h.permit.Ignore();
        break;
      case Op::kRelease:
        returned = h.permit.Release();
        break;
      default: {
        Permit dropped = std::move(h.permit);  // destroyed unresolved, here
        returned = true;
        break;
      }
    }
    e.permit = h.id;
    e.permit_generation = h.generation;
    e.trial = h.trial;
    e.returned = returned;
    e.acquired_clock_before = h.clock_before;
    e.acquired_clock_after = h.clock_after;
    e.meant_slow = meant_slow;
    e.took_nanos = op == Op::kSuccess || op == Op::kFailure ? took : -1;
    End(w, e);
  }

  void Operator(Worker& w, Op op, bool probe) {
    std::lock_guard<std::mutex> lock(operator_mu_);
    Event e = Begin(w, op, probe);
    switch (op) {
      case Op::kForceOpen:
        breaker_->ForceOpen();
        break;
      case Op::kDisable:
        breaker_->Disable();
        break;
      case Op::kMetricsOnly:
        breaker_->MetricsOnly();
        break;
      default:
        breaker_->Reset();
        break;
    }
    End(w, e);
  }

  bool Chance(Worker& w, int per_million) {
    return static_cast<int>(w.rng() % 1'000'000) < per_million;
  }

  // Success or failure by the dependency's health, sometimes an ignore, a
  // release or a drop.
  void ResolveRandomly(Worker& w, Held& h, bool probe) {
    const uint64_t how = w.rng() % 100;
    Op op;
    if (how < 5) {
      op = Op::kRelease;
    } else if (how < 10) {
      op = Op::kDrop;
    } else if (how < 15) {
      op = Op::kIgnore;
    } else {
      const bool outage = outage_.load(std::memory_order_relaxed);
      // The latency trip: a slow outage fails as rarely as a healthy spell.
      const bool failing = outage && !(latency_on_ && slow_outage_.load(std::memory_order_relaxed));
      const uint64_t roll = w.rng() % 100;
      op = (failing ? roll < 85 : roll < 3) ? Op::kFailure : Op::kSuccess;
      if (op == Op::kFailure && Chance(w, options_.retry_after_per_million)) {
        op = Op::kFailureRetryAfter;
      }
    }
    Resolve(w, h, op, /*meant_slow=*/false, probe, IsFailure(op) || op == Op::kSuccess ? Took(w) : -1);
  }

  // The latency trip's durations (latency_percentile set; -1 otherwise):
  // in a slow outage half the calls take more than the threshold T (T + 1 ns
  // to 3 T, given), a quarter at most T (given) and a quarter are timed by
  // the breaker; in a healthy spell or a failing outage 2 % take more than
  // T, 73 % at most T (given; one in 16 of them exactly T, the bound of
  // its bin), the rest timed (mostly well under T: see Work()).
  int64_t Took(Worker& w) {
    if (!latency_on_) return -1;
    const bool slow = outage_.load(std::memory_order_relaxed) &&
                      slow_outage_.load(std::memory_order_relaxed);
    const uint64_t roll = w.rng() % 100;
    if (roll < (slow ? 50u : 2u)) {
      return latency_threshold_ + 1 +
             static_cast<int64_t>(w.rng() % static_cast<uint64_t>(2 * latency_threshold_));
    }
    if (roll >= 75) return -1;
    if (w.rng() % 16 == 0) return latency_threshold_;
    return static_cast<int64_t>(w.rng() % static_cast<uint64_t>(latency_threshold_ + 1));
  }

  // Holds the permit until the driver has moved the clock past
  // slow_call_duration (bounded: if it has not, the call is simply not slow).
  // `hold`: how far (default: slow_call_duration).
  void ResolveSlowly(Worker& w, Held& h, int64_t hold = -1) {
    slow_waiters_.fetch_add(1, std::memory_order_relaxed);
    const int64_t until =
        h.clock_after + (hold >= 0 ? hold : absl::ToInt64Nanoseconds(config_.slow_call_duration));
    for (int spin = 0; spin < kMaxSlowSpins && clock_.NowNanos() < until; ++spin) {
      std::this_thread::yield();
    }
    slow_waiters_.fetch_sub(1, std::memory_order_relaxed);
    const Op op = w.rng() % 4 == 0 ? Op::kFailure : Op::kSuccess;
    Resolve(w, h, op, /*meant_slow=*/true, /*probe=*/false);
  }

  // A hung probe: holds the trial until the clock has moved 1/2 to 3/2 of
  // half_open_probe_timeout past its admission (bounded, as a slow call),
  // so it is often reaped (state(), generation() and admissions that find
  // no slot reap it), then resolves it late, at random.
  void HangTrial(Worker& w, Held& h) {
    slow_waiters_.fetch_add(1, std::memory_order_relaxed);
    const int64_t until =
        h.clock_after + probe_timeout_ / 2 + static_cast<int64_t>(w.rng() % static_cast<uint64_t>(probe_timeout_));
    for (int spin = 0; spin < kMaxSlowSpins && clock_.NowNanos() < until; ++spin) {
      std::this_thread::yield();
    }
    slow_waiters_.fetch_sub(1, std::memory_order_relaxed);
    ResolveRandomly(w, h, /*probe=*/false);
  }

  // The workers run at most kMaxLagOps operations past the driver's next
  // clock step and the coordinator's next round: time and syncs track work
  // however fast the threads run.
  uint64_t PacedOps() const {
    if (system_clock_ && !options_.coordinator) return std::numeric_limits<uint64_t>::max();
    uint64_t next = next_step_.load(std::memory_order_relaxed);
    if (system_clock_) return next_sync_.load(std::memory_order_relaxed) + kMaxLagOps;
    if (options_.coordinator) next = std::min(next, next_sync_.load(std::memory_order_relaxed));
    return next + kMaxLagOps;
  }

  void Work(Worker& w) {
    static constexpr Op kOperators[] = {Op::kForceOpen, Op::kDisable, Op::kMetricsOnly, Op::kReset,
                                        Op::kReset};
    const bool slow_on = config_.slow_call_rate_threshold > 0;
    for (int op = 0; op < options_.ops_per_thread; ++op) {
      while (ops_.load(std::memory_order_relaxed) > PacedOps()) {
        std::this_thread::yield();  // let the driver (and the coordinator) catch up
      }
      ops_.fetch_add(1, std::memory_order_relaxed);
      const bool operator_state = w.last.has_state && (w.last.state == State::kForcedOpen ||
                                                       w.last.state == State::kDisabled ||
                                                       w.last.state == State::kMetricsOnly);
      if (Chance(w, options_.operator_per_million)) {
        Operator(w, kOperators[w.rng() % 5], /*probe=*/false);
      } else if (operator_state && Chance(w, options_.reset_per_million)) {
        Operator(w, Op::kReset, /*probe=*/false);
      } else if (std::optional<Held> h = Acquire(w, /*probe=*/false)) {
        if (h->trial) {
          // Hold the trial a moment, so that others race for the slots.
          for (int spin = static_cast<int>(w.rng() % 4); spin > 0; --spin) {
            std::this_thread::yield();
          }
        }
        const uint64_t fate = w.rng() % 100;
        if (h->trial && probe_timeout_ > 0 && Chance(w, options_.hang_trial_per_million)) {
          HangTrial(w, *h);
        } else if (fate < 6 && w.held.size() < 3) {
          w.held.push_back(std::move(*h));  // resolved by this thread later
        } else if (fate < 10) {
          std::lock_guard<std::mutex> lock(exchange_mu_);
          exchange_.push_back(std::move(*h));  // resolved by another thread
        } else if (fate < 14 && slow_on) {
          ResolveSlowly(w, *h);
        } else if (fate < 14 && latency_on_ && !h->trial && outage_.load(std::memory_order_relaxed) &&
                   slow_outage_.load(std::memory_order_relaxed)) {
          // A slow outage's call timed by the breaker: held until the clock
          // has moved past the latency threshold.
          ResolveSlowly(w, *h, latency_threshold_ + 1'000'000);
        } else {
          ResolveRandomly(w, *h, /*probe=*/false);
        }
      }
      if (system_clock_) Pause(w);
      if (!w.held.empty() && w.rng() % 4 == 0) {
        const size_t i = static_cast<size_t>(w.rng() % w.held.size());
        ResolveRandomly(w, w.held[i], /*probe=*/false);
        w.held.erase(w.held.begin() + static_cast<std::ptrdiff_t>(i));
      }
      if (w.rng() % 8 == 0) {
        std::optional<Held> other;
        {
          std::lock_guard<std::mutex> lock(exchange_mu_);
          if (!exchange_.empty()) {
            other.emplace(std::move(exchange_.front()));
            exchange_.pop_front();
          }
        }
        if (other) ResolveRandomly(w, *other, /*probe=*/false);
      }
    }
    for (Held& h : w.held) ResolveRandomly(w, h, /*probe=*/false);
    w.held.clear();
  }

  // The only thread that moves the clock while the workers run: a step every
  // ops_per_step operations (so fake time tracks work however fast the
  // threads run), or whenever a worker waits for a slow call. Alternates
  // healthy spells with outages.
  void Drive() {
    if (system_clock_) {
      DriveInRealTime();
      return;
    }
    std::mt19937_64 rng(options_.seed ^ 0xd1ce);
    const int64_t max_step = std::max<int64_t>(1, absl::ToInt64Nanoseconds(options_.max_step));
    int steps_left = 0;
    while (!done_.load(std::memory_order_acquire)) {
      const uint64_t next = next_step_.load(std::memory_order_relaxed);
      const bool paced = ops_.load(std::memory_order_relaxed) >= next;
      if (!paced && slow_waiters_.load(std::memory_order_relaxed) == 0) {
        std::this_thread::yield();
        continue;
      }
      if (paced) {
        next_step_.store(next + static_cast<uint64_t>(options_.ops_per_step),
                         std::memory_order_relaxed);
      }
      if (steps_left-- <= 0) {
        const bool outage = !outage_.load(std::memory_order_relaxed);
        // The latency trip: half of the outages are slow, not failing.
        if (outage && latency_on_) slow_outage_.store(rng() % 2 == 0, std::memory_order_relaxed);
        outage_.store(outage, std::memory_order_relaxed);
        steps_left = outage ? 10 + static_cast<int>(rng() % 50) : 30 + static_cast<int>(rng() % 90);
      }
      const int64_t step = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_step));
      clock_.Advance(absl::Nanoseconds(step));
      now_ += step;
      marks_.push_back(ClockMark{Ticket(), now_});
      std::this_thread::yield();
    }
  }

  // The system clock: nothing moves time, the driver only alternates
  // outages (4 to 24 ms, several open periods each: every trial fails with
  // 85 % chance there) with healthy spells (2 to 14 ms), in real time.
  void DriveInRealTime() {
    std::mt19937_64 rng(options_.seed ^ 0xd1ce);
    while (!done_.load(std::memory_order_acquire)) {
      const bool outage = !outage_.load(std::memory_order_relaxed);
      outage_.store(outage, std::memory_order_relaxed);
      const auto until = std::chrono::steady_clock::now() +
                         std::chrono::microseconds(outage ? 4000 + rng() % 20000 : 2000 + rng() % 12000);
      while (!done_.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    }
  }

  // The system clock: a worker's pause after each operation, so that a run
  // spans many open periods with a bounded number of events and every
  // worker gets the CPU often (2 cores): one time in 16 a sleep of up to
  // 300 us, otherwise a spin of up to 3 us on the precise clock.
  void Pause(Worker& w) {
    const uint64_t roll = w.rng();
    if (roll % 16 == 0) {
      std::this_thread::sleep_for(std::chrono::microseconds((roll >> 8) % 300));
      return;
    }
    const int64_t until = internal::MonotonicNanos() + static_cast<int64_t>((roll >> 8) % 3000);
    while (internal::MonotonicNanos() < until) {
    }
  }

  // ---- The coordinator ----------------------------------------------------------

  // The sync thread of the distributed mode: one round every sync_ops
  // operations of the workers, as src/redis/coordinator.cc's Round(): the
  // store answers (SetSharing(kShared), then Follow() what it said) or is
  // lost for a few rounds (SetSharing(kDegraded) each round, forgetting
  // what was followed, as Degrade()); now and then the breaker is let go
  // (SetSharing(kLocal), as Unshare()) and shared again (Claim(), as
  // Share(), then a round at once). When the workers are done it lets the
  // breaker go: the tail needs it deciding alone.
  void Coordinate(Worker& c) {
    SharedState shared;
    Following following;
    Claim(c);
    Sharing sharing = Sharing::kDegraded;
    int lost_rounds = 0;
    while (!done_.load(std::memory_order_acquire)) {
      const uint64_t next = next_sync_.load(std::memory_order_relaxed);
      if (ops_.load(std::memory_order_relaxed) < next) {
        std::this_thread::yield();
        continue;
      }
      next_sync_.store(next + static_cast<uint64_t>(std::max(1, options_.sync_ops)),
                       std::memory_order_relaxed);
      Evolve(c.rng, shared);
      if (sharing == Sharing::kShared && c.rng() % 32 == 0) {
        lost_rounds = 2 + static_cast<int>(c.rng() % 10);
        if (c.rng() % 4 == 0) {
          SetSharing(c, Sharing::kLocal);
          sharing = Sharing::kLocal;
          following = Following();
        }
      }
      if (lost_rounds > 0) {
        --lost_rounds;
        if (sharing == Sharing::kLocal) continue;  // let go: rounds skip it
        SetSharing(c, Sharing::kDegraded);
        sharing = Sharing::kDegraded;
        following.followed = -1;
        following.trial_shared = -1;
        continue;
      }
      if (sharing == Sharing::kLocal) Claim(c);
      SetSharing(c, Sharing::kShared);
      sharing = Sharing::kShared;
      Follow(c, shared, following);
    }
    SetSharing(c, Sharing::kLocal);
  }

  // One step of the other instances: a shared trip, the store's OPEN over
  // (HALF_OPEN, with 0 or 1 trial slot lent here), a reopen between two
  // syncs, a new shared HALF_OPEN, a verdict on the trials, or more slots
  // lent, one at a time, up to one past half_open_trial_calls (so that the
  // config's bound also binds).
  void Evolve(std::mt19937_64& rng, SharedState& s) {
    const int64_t now = Now();
    const uint64_t roll = rng() % 100;
    auto open = [&] {
      s.state = State::kOpen;
      ++s.generation;
      // At most max_open_duration: the tail waits that long for OPEN to end.
      s.open_until = now + 1 +
                     static_cast<int64_t>(
                         rng() % static_cast<uint64_t>(std::max<int64_t>(
                                     1, absl::ToInt64Nanoseconds(config_.max_open_duration))));
    };
    switch (s.state) {
      case State::kClosed:
        if (roll < 15) open();
        break;
      case State::kOpen:
        if (roll < 6) {
          open();  // the store reopened between two syncs
        } else if (now >= s.open_until) {
          s.state = State::kHalfOpen;
          ++s.generation;
          s.lent = static_cast<uint32_t>(rng() % 2);
        }
        break;
      default:  // HALF_OPEN
        if (roll < 12) {
          s.state = State::kClosed;
          ++s.generation;
        } else if (roll < 22) {
          open();
        } else if (roll < 26) {
          ++s.generation;  // through OPEN into another HALF_OPEN between two syncs
          s.lent = 0;
        } else if (s.lent <= static_cast<uint32_t>(config_.half_open_trial_calls)) {
          s.lent += static_cast<uint32_t>(rng() % 2);
        }
        break;
    }
  }

  // src/redis/coordinator.cc's Follow(), call for call.
  void Follow(Worker& c, const SharedState& shared, Following& t) {
    const internal::LocalCounts local = SharedControl::Read(*breaker_);
    const bool new_generation = t.followed != static_cast<int64_t>(shared.generation);
    const int64_t open_nanos = std::max<int64_t>(0, shared.open_until - Now());
    uint32_t gen = local.generation;
    switch (shared.state) {
      case State::kClosed:
        FollowTo(c, State::kClosed, 0, &gen);
        break;
      case State::kOpen:
        if (local.state == State::kOpen && new_generation) {
          Reopen(c, local.generation, open_nanos);
        } else {
          FollowTo(c, State::kOpen, open_nanos, &gen);
        }
        break;
      default: {  // HALF_OPEN
        const bool ours = local.state == State::kHalfOpen &&
                          local.generation == t.half_open_local &&
                          t.trial_shared == static_cast<int64_t>(shared.generation);
        if (!ours) {
          if (local.state == State::kHalfOpen) FollowTo(c, State::kOpen, 0, &gen);
          if (!FollowTo(c, State::kHalfOpen, 0, &gen)) break;
          t.half_open_local = gen;
          t.trial_shared = static_cast<int64_t>(shared.generation);
        }
        if (shared.lent > 0) Lend(c, t.half_open_local, shared.lent);
        break;
      }
    }
    t.followed = static_cast<int64_t>(shared.generation);
  }

  // The hold's calls, each recorded as one event. The shared trip's value
  // and threshold only reach listeners and snapshots.
  static constexpr double kSharedTripValue = 60;
  static constexpr double kSharedTripThreshold = 50;

  void Claim(Worker& c) {
    Event e = Begin(c, Op::kClaim, /*probe=*/false);
    e.returned = SharedControl::Claim(*breaker_);
    End(c, e);
  }

  void SetSharing(Worker& c, Sharing to) {
    Event e = Begin(c, Op::kSetSharing, /*probe=*/false);
    e.sharing = to;
    SharedControl::SetSharing(*breaker_, to,
                              to == Sharing::kDegraded
                                  ? absl::UnavailableError("the harness's store")
                                  : absl::OkStatus());
    End(c, e);
  }

  bool FollowTo(Worker& c, State to, int64_t open_nanos, uint32_t* gen) {
    Event e = Begin(c, Op::kFollow, /*probe=*/false);
    e.follow_to = to;
    e.open_nanos = open_nanos;
    e.returned = SharedControl::Follow(*breaker_, to, open_nanos, kSharedTripValue,
                                       kSharedTripThreshold, gen);
    e.hold_generation = *gen;
    End(c, e);
    return e.returned;
  }

  void Reopen(Worker& c, uint32_t gen, int64_t open_nanos) {
    Event e = Begin(c, Op::kReopen, /*probe=*/false);
    e.hold_generation = gen;
    e.open_nanos = open_nanos;
    e.returned =
        SharedControl::Reopen(*breaker_, gen, open_nanos, kSharedTripValue, kSharedTripThreshold);
    End(c, e);
  }

  void Lend(Worker& c, uint32_t gen, uint32_t slots) {
    Event e = Begin(c, Op::kLend, /*probe=*/false);
    e.hold_generation = gen;
    e.lent_slots = slots;
    SharedControl::Lend(*breaker_, gen, slots);
    End(c, e);
  }

  // After the workers joined: every permit has ended, so an OPEN breaker
  // must admit a trial once its longest possible open duration has passed,
  // and a HALF_OPEN one must admit a trial at once; a CLOSED one ramping up
  // (slow start) admits every call once its ramp is over. Successful probes
  // close it.
  void ProbeUntilClosed(Worker& w) {
    // On the system clock a rejection while OPEN is judged on one of this
    // thread's rejections in kRejectionsPerClockRead: up to that many more
    // calls after the wait.
    const int attempts = 8 + 4 * config_.half_open_trial_calls +
                         (system_clock_ ? 2 * static_cast<int>(internal::kRejectionsPerClockRead) : 0);
    const absl::Duration longest =
        config_.max_open_duration * (1 + config_.open_jitter) + absl::Seconds(1);
    int64_t waited_out = -1;  // the system clock: the OPEN generation already waited out
    for (int attempt = 0; attempt < attempts; ++attempt) {
      const Observation o = Observe();
      if (o.state == State::kForcedOpen || o.state == State::kDisabled ||
          o.state == State::kMetricsOnly) {
        Operator(w, Op::kReset, /*probe=*/true);
        continue;
      }
      if (o.state == State::kOpen && system_clock_) {
        // Wait out the longest period once (and two ticks of the coarse
        // clock it is judged by), then call until a judgment ends it.
        if (waited_out != static_cast<int64_t>(o.generation)) {
          waited_out = o.generation;
          std::this_thread::sleep_for(std::chrono::nanoseconds(absl::ToInt64Nanoseconds(
              config_.max_open_duration * (1 + config_.open_jitter) + absl::Milliseconds(20))));
        }
      } else if (o.state == State::kOpen) {
        clock_.Advance(longest);
        now_ += absl::ToInt64Nanoseconds(longest);
        marks_.push_back(ClockMark{Ticket(), now_});
      }
      std::optional<Held> h = Acquire(w, /*probe=*/true);
      if (!h) {
        // Shed by slow start's ramp: wait it out (the next call is admitted
        // for certain; the checker says whether this one was allowed).
        const Event& rejected = w.log.back();
        if (rejected.rejected_state == State::kClosed && system_clock_) {
          std::this_thread::sleep_for(std::chrono::nanoseconds(
              absl::ToInt64Nanoseconds(config_.slow_start_duration + absl::Milliseconds(20))));
        } else if (rejected.rejected_state == State::kClosed) {
          clock_.Advance(config_.slow_start_duration);
          now_ += absl::ToInt64Nanoseconds(config_.slow_start_duration);
          marks_.push_back(ClockMark{Ticket(), now_});
        }
        continue;  // the checker says whether that was allowed
      }
      const bool trial = h->trial;
      Resolve(w, *h, Op::kSuccess, /*meant_slow=*/false, /*probe=*/true);
      // Done once a normal call succeeded and the breaker is still CLOSED
      // after it: rates are judged on every outcome, so even this success
      // can open it (a time window whose old buckets aged out while the
      // clock moved on: seed 41673 of success-decides).
      if (!trial && o.state == State::kClosed && w.last.has_state &&
          w.last.state == State::kClosed) {
        return;
      }
    }
  }

  const HarnessOptions options_;
  BreakerConfig config_;
  const bool system_clock_ = OnSystemClock(config_);
  const int64_t probe_timeout_ = absl::ToInt64Nanoseconds(config_.half_open_probe_timeout);
  const bool latency_on_ = config_.latency_percentile > 0;
  const int64_t latency_threshold_ =
      std::max<int64_t>(1, absl::ToInt64Nanoseconds(config_.latency_percentile_threshold));
  FakeClock clock_;
  std::unique_ptr<Breaker> breaker_;
  int64_t now_ = 0;  // the driver's (then the tail's) view of the clock
  std::vector<ClockMark> marks_;

  std::atomic<uint64_t> ticket_{1};
  std::mutex operator_mu_;
  std::mutex exchange_mu_;
  std::deque<Held> exchange_;

  std::atomic<bool> done_{false};
  std::atomic<bool> outage_{false};
  std::atomic<bool> slow_outage_{false};  // the latency trip: this outage is slow, not failing
  std::atomic<uint64_t> ops_{0};
  std::atomic<uint64_t> next_step_{0};  // the first step comes at once
  std::atomic<uint64_t> next_sync_{0};  // the coordinator's next round
  std::atomic<int> slow_waiters_{0};
};

}  // namespace

absl::StatusOr<History> RunHistory(BreakerConfig config, const HarnessOptions& options) {
  if (options.threads < 1 || options.ops_per_thread < 0) {
    return absl::InvalidArgumentError("HarnessOptions: threads >= 1, ops_per_thread >= 0");
  }
  Run run(std::move(config), options);
  return run.Go();
}

}  // namespace history
}  // namespace circuit
