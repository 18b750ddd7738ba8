// File: tools/sim/replay.cc
// Simulation: one breaker on a trace's clock. Replay: a trace through
// several of them, judged against when the dependency was unhealthy.
#include "replay.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/internal/thread_random.h"

namespace circuit {
namespace sim {

// ---- Simulation ---------------------------------------------------------------

// Records each transition at the trace time it happened. Listeners run on
// the thread that made the transition, before the call that made it
// returns (circuit/events.h), so the clock still reads that time.
class Simulation::Recorder : public BreakerListener {
 public:
  explicit Recorder(Simulation* simulation) : simulation_(simulation) {}
  void OnTransition(const TransitionEvent& event) override {
    simulation_->transitions_.push_back(Transition{simulation_->now_nanos(), event.from, event.to,
                                                   event.cause, event.value, event.threshold});
  }

 private:
  Simulation* simulation_;
};

struct Simulation::InFlight {
  int64_t end_nanos;
  uint64_t arrival;  // breaks ties between equal ends: first in, first out
  int64_t latency_nanos;
  int64_t retry_after_nanos;
  TraceOutcome outcome;
  Permit permit;
};

namespace {
// std::push_heap builds a max-heap: "later" is "less".
struct EndsLater {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    return a.end_nanos != b.end_nanos ? a.end_nanos > b.end_nanos : a.arrival > b.arrival;
  }
};
}  // namespace

Simulation::Simulation(int64_t origin_nanos, bool honor_retry_after)
    : origin_nanos_(origin_nanos),
      honor_retry_after_(honor_retry_after),
      // Any fixed nonzero state (xorshift's one forbidden state is 0).
      random_state_(internal::MixBits(0x51a77e5ea5u)),
      clock_(kClockOrigin) {}

Simulation::~Simulation() = default;

absl::StatusOr<std::unique_ptr<Simulation>> Simulation::Create(BreakerConfig config,
                                                               int64_t origin_nanos,
                                                               bool honor_retry_after) {
  std::unique_ptr<Simulation> simulation(new Simulation(origin_nanos, honor_retry_after));
  config.clock = &simulation->clock_;
  simulation->draws_ = config.slow_start_duration > absl::ZeroDuration() ||
                       config.adaptive_throttling;
  absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(std::move(config));
  if (!breaker.ok()) return breaker.status();
  simulation->breaker_ = std::move(breaker).value();
  simulation->subscription_ =
      simulation->breaker_->Subscribe(std::make_shared<Recorder>(simulation.get()));
  return simulation;
}

void Simulation::AdvanceTo(int64_t trace_nanos) {
  const int64_t target = trace_nanos - origin_nanos_ + kClockOrigin;
  const int64_t now = clock_.NowNanos();
  if (target > now) clock_.Advance(absl::Nanoseconds(target - now));
}

void Simulation::ResolveUntil(int64_t trace_nanos) {
  while (!in_flight_.empty() && in_flight_.front().end_nanos <= trace_nanos) {
    std::pop_heap(in_flight_.begin(), in_flight_.end(), EndsLater());
    InFlight& call = in_flight_.back();
    AdvanceTo(call.end_nanos);
    const absl::Duration took = absl::Nanoseconds(call.latency_nanos);
    switch (call.outcome) {
      case TraceOutcome::kSuccess:
        call.permit.Success(took);
        break;
      case TraceOutcome::kFailure:
        if (call.retry_after_nanos > 0 && honor_retry_after_) {
          call.permit.FailureRetryAfter(absl::Nanoseconds(call.retry_after_nanos), took);
        } else {
          call.permit.Failure(took);
        }
        break;
      case TraceOutcome::kIgnored:
        call.permit.Ignore();
        break;
    }
    in_flight_.pop_back();
  }
}

bool Simulation::Feed(const TraceCall& call) {
  ResolveUntil(call.start_nanos);
  AdvanceTo(call.start_nanos);
  if (draws_) std::swap(internal::tls_random_state, random_state_);
  Permit permit = breaker_->TryAcquire();
  if (draws_) std::swap(internal::tls_random_state, random_state_);
  if (!permit) return false;
  in_flight_.push_back(InFlight{call.start_nanos + call.latency_nanos, arrivals_++,
                                call.latency_nanos, call.retry_after_nanos, call.outcome,
                                std::move(permit)});
  std::push_heap(in_flight_.begin(), in_flight_.end(), EndsLater());
  return true;
}

void Simulation::Finish() { ResolveUntil(std::numeric_limits<int64_t>::max()); }

// ---- Replay ---------------------------------------------------------------------

absl::string_view OutageSourceName(OutageSource source) {
  switch (source) {
    case OutageSource::kGiven:
      return "given";
    case OutageSource::kAnnotated:
      return "annotated";
    case OutageSource::kDetected:
      return "detected";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<Replay>> Replay::Create(std::vector<BreakerConfig> configs,
                                                       ReplayOptions options,
                                                       int64_t origin_nanos) {
  if (configs.empty()) return absl::InvalidArgumentError("no config to replay");
  if (options.bucket_nanos < 1'000'000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the bucket must be at least 1ms, got ",
        absl::FormatDuration(absl::Nanoseconds(options.bucket_nanos))));
  }
  if (!options.honor_retry_after.empty() && options.honor_retry_after.size() != configs.size()) {
    return absl::InvalidArgumentError("honor_retry_after must have one entry per config");
  }
  for (const Period& outage : options.outages) {
    if (outage.end_nanos <= outage.start_nanos) {
      return absl::InvalidArgumentError("an outage must end after it starts");
    }
  }
  std::unique_ptr<Replay> replay(new Replay(configs, std::move(options), origin_nanos));
  for (size_t i = 0; i < configs.size(); ++i) {
    BreakerConfig& config = configs[i];
    const std::string name = config.name;
    const bool honor =
        replay->options_.honor_retry_after.empty() || replay->options_.honor_retry_after[i];
    absl::StatusOr<std::unique_ptr<Simulation>> simulation =
        Simulation::Create(std::move(config), origin_nanos, honor);
    if (!simulation.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config '", name, "': ", simulation.status().message()));
    }
    replay->simulations_.push_back(std::move(simulation).value());
  }
  replay->rejected_.resize(replay->simulations_.size());
  replay->failures_admitted_.resize(replay->simulations_.size());
  return replay;
}

absl::Status Replay::Feed(const TraceCall& call) {
  const int64_t bucket = (call.start_nanos - origin_nanos_) / options_.bucket_nanos;
  if (bucket >= options_.max_buckets) {
    const absl::Duration fits = absl::Ceil(
        absl::Nanoseconds((call.start_nanos - origin_nanos_) / options_.max_buckets + 1),
        absl::Milliseconds(1));
    return absl::InvalidArgumentError(absl::StrCat(
        "the trace spans more than ", options_.max_buckets, " buckets of ",
        absl::FormatDuration(absl::Nanoseconds(options_.bucket_nanos)),
        ": use a bucket of at least ", absl::FormatDuration(fits)));
  }
  if (static_cast<size_t>(bucket) >= buckets_.size()) {
    buckets_.resize(bucket + 1);
    for (std::vector<uint32_t>& rejected : rejected_) rejected.resize(bucket + 1);
  }
  TraceBucket& counts = buckets_[bucket];
  ++counts.calls;
  if (call.outcome == TraceOutcome::kFailure) ++counts.failures;
  if (options_.unhealthy_latency_nanos > 0 &&
      call.latency_nanos >= options_.unhealthy_latency_nanos) {
    ++counts.slow;
  }
  ++calls_;
  end_nanos_ = std::max(end_nanos_, call.start_nanos + call.latency_nanos);
  for (size_t i = 0; i < simulations_.size(); ++i) {
    if (simulations_[i]->Feed(call)) {
      if (call.outcome == TraceOutcome::kFailure) ++failures_admitted_[i];
    } else {
      ++rejected_[i][bucket];
    }
  }
  return absl::OkStatus();
}

std::vector<Period> Replay::DetectOutages() const {
  std::vector<Period> outages;
  bool in_outage = false;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const TraceBucket& b = buckets_[i];
    bool unhealthy = in_outage;  // an empty bucket continues its run
    if (b.calls > 0) {
      unhealthy = 100.0 * b.failures >= options_.unhealthy_failure_rate * b.calls ||
                  (options_.unhealthy_latency_nanos > 0 &&
                   100.0 * b.slow >= options_.unhealthy_slow_rate * b.calls);
    }
    const int64_t start = origin_nanos_ + static_cast<int64_t>(i) * options_.bucket_nanos;
    if (unhealthy && !in_outage) outages.push_back(Period{start, start});
    if (unhealthy) outages.back().end_nanos = start + options_.bucket_nanos;
    in_outage = unhealthy;
  }
  return outages;
}

namespace {

// The state at trace time `at` (after every transition at or before it).
State StateAt(const std::vector<Transition>& transitions, int64_t at) {
  auto after = std::upper_bound(transitions.begin(), transitions.end(), at,
                                [](int64_t t, const Transition& tr) { return t < tr.at_nanos; });
  return after == transitions.begin() ? State::kClosed : std::prev(after)->to;
}

bool Overlaps(const std::vector<Period>& outages, int64_t start, int64_t end) {
  for (const Period& p : outages) {
    if (p.start_nanos < end && start < p.end_nanos) return true;
  }
  return false;
}

}  // namespace

ConfigResult Replay::Judge(size_t index, const std::vector<Period>& outages) const {
  ConfigResult result;
  result.config = configs_[index];
  result.config.clock = nullptr;
  result.honor_retry_after =
      options_.honor_retry_after.empty() || options_.honor_retry_after[index];
  result.transitions = simulations_[index]->transitions();
  const std::vector<Transition>& transitions = result.transitions;
  result.bucket_rejected = rejected_[index];
  for (uint32_t r : result.bucket_rejected) result.rejected += r;
  result.admitted = calls_ - result.rejected;
  result.failures_admitted = failures_admitted_[index];
  result.shed = static_cast<int64_t>(simulations_[index]->breaker().Metrics().shed);
  for (size_t b = 0; b < buckets_.size(); ++b) {
    if (!buckets_[b].unhealthy) result.rejected_while_healthy += result.bucket_rejected[b];
  }

  auto in_outage = [&](int64_t t) {
    for (const Period& p : outages) {
      if (p.start_nanos <= t && t < p.end_nanos) return true;
    }
    return false;
  };
  for (const Transition& t : transitions) {
    if (t.to == State::kOpen && t.from == State::kClosed) {
      ++result.openings;
      if (!in_outage(t.at_nanos)) ++result.openings_while_healthy;
    } else if (t.to == State::kOpen && t.from == State::kHalfOpen) {
      ++result.reopenings;
    } else if (t.to == State::kClosed && t.from == State::kHalfOpen) {
      ++result.closings;
    }
  }

  // Time in each state, and each bucket's longest-held state.
  const int64_t end = std::max(end_nanos_, simulations_[index]->now_nanos());
  result.bucket_state.assign(buckets_.size(), State::kClosed);
  {
    std::array<int64_t, kNumStates> in_bucket{};
    size_t bucket = 0;
    auto close_bucket = [&]() {
      const auto longest = std::max_element(in_bucket.begin(), in_bucket.end());
      result.bucket_state[bucket] = static_cast<State>(longest - in_bucket.begin());
      in_bucket.fill(0);
      ++bucket;
    };
    // Walks [from, to) in `state`, splitting it at bucket boundaries.
    auto hold = [&](State state, int64_t from, int64_t to) {
      result.nanos_in_state[static_cast<int>(state)] += to - from;
      while (from < to && bucket < buckets_.size()) {
        const int64_t bucket_end =
            origin_nanos_ + static_cast<int64_t>(bucket + 1) * options_.bucket_nanos;
        const int64_t until = std::min(to, bucket_end);
        in_bucket[static_cast<int>(state)] += until - from;
        from = until;
        if (from == bucket_end) close_bucket();
      }
    };
    State state = State::kClosed;
    int64_t since = origin_nanos_;
    for (const Transition& t : transitions) {
      hold(state, since, t.at_nanos);
      state = t.to;
      since = t.at_nanos;
    }
    hold(state, since, end);
    if (bucket < buckets_.size()) close_bucket();
  }

  for (const Period& outage : outages) {
    OutageResult o;
    o.period = outage;
    if (StateAt(transitions, outage.start_nanos) != State::kClosed) {
      o.time_to_open_nanos = 0;
      o.opened = true;
    }
    for (const Transition& t : transitions) {
      if (t.at_nanos < outage.start_nanos || t.at_nanos >= outage.end_nanos) continue;
      if (t.to != State::kClosed) o.opened = true;
      if (!o.time_to_open_nanos.has_value() && t.to == State::kOpen) {
        o.time_to_open_nanos = t.at_nanos - outage.start_nanos;
      }
    }
    if (o.opened) {
      if (StateAt(transitions, outage.end_nanos) == State::kClosed) {
        // Closed before the end: when it last did.
        for (auto t = transitions.rbegin(); t != transitions.rend(); ++t) {
          if (t->at_nanos <= outage.end_nanos && t->to == State::kClosed) {
            o.time_to_close_nanos = t->at_nanos - outage.end_nanos;
            break;
          }
        }
      } else {
        for (const Transition& t : transitions) {
          if (t.at_nanos > outage.end_nanos && t.to == State::kClosed) {
            o.time_to_close_nanos = t.at_nanos - outage.end_nanos;
            break;
          }
        }
      }
    }
    result.outages.push_back(o);
  }
  return result;
}

Report Replay::Finish(const std::vector<Period>& annotated) {
  for (std::unique_ptr<Simulation>& simulation : simulations_) simulation->Finish();
  Report report;
  report.calls = calls_;
  report.origin_nanos = origin_nanos_;
  report.end_nanos = end_nanos_;
  report.bucket_nanos = options_.bucket_nanos;
  if (!options_.outages.empty()) {
    report.outages = options_.outages;
    report.outage_source = OutageSource::kGiven;
  } else if (!annotated.empty()) {
    report.outages = annotated;
    report.outage_source = OutageSource::kAnnotated;
  } else {
    report.outages = DetectOutages();
    report.outage_source = OutageSource::kDetected;
  }
  std::sort(report.outages.begin(), report.outages.end(),
            [](const Period& a, const Period& b) { return a.start_nanos < b.start_nanos; });
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const int64_t start = origin_nanos_ + static_cast<int64_t>(b) * options_.bucket_nanos;
    buckets_[b].unhealthy = Overlaps(report.outages, start, start + options_.bucket_nanos);
  }
  for (size_t i = 0; i < simulations_.size(); ++i) {
    report.configs.push_back(Judge(i, report.outages));
  }
  report.buckets = buckets_;
  return report;
}

}  // namespace sim
}  // namespace circuit
