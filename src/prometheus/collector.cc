// File: src/prometheus/collector.cc
// circuit::prometheus::Collector: a registry's breakers as Prometheus
// metric families, built at scrape time (circuit/prometheus/collector.h).
#include "circuit/prometheus/collector.h"

#include <cctype>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/bulkhead.h"
#include "circuit/call_durations.h"
#include "circuit/snapshot.h"
#include "circuit/state.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace circuit {
namespace prometheus {
namespace {

using ::prometheus::ClientMetric;
using ::prometheus::MetricFamily;
using ::prometheus::MetricType;

bool IsMetricName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = std::isalpha(c) || c == '_' || c == ':' || (i > 0 && std::isdigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(const std::string& name) {
  if (name.empty() || name.rfind("__", 0) == 0) return false;  // "__" is reserved
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c));
    if (!ok) return false;
  }
  return true;
}

// "closed", "half_open", ...: Prometheus label values are lower case by
// convention.
std::string StateLabel(State state) { return absl::AsciiStrToLower(StateName(state)); }

double Seconds(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return std::numeric_limits<double>::infinity();
  return absl::ToDoubleSeconds(d);
}

}  // namespace

// Builds the families of one scrape: each Family() is created once, in
// the order of the header, and gets one metric a breaker (or more).
class Families {
 public:
  explicit Families(const CollectorOptions& options) : options_(options) {}

  // A family and the label that names its series' owner: "breaker" or
  // "bulkhead".
  struct Entry {
    MetricFamily family;
    const char* owner_label;
  };

  // A family named `prefix`_`suffix` whose series are labelled
  // `owner_label`.
  Entry& Family(const std::string& suffix, const std::string& help, MetricType type,
                const std::string& prefix, const char* owner_label = "breaker") {
    families_.push_back(
        Entry{MetricFamily{absl::StrCat(prefix, "_", suffix), help, type, {}}, owner_label});
    return families_.back();
  }
  Entry& Family(const std::string& suffix, const std::string& help, MetricType type) {
    return Family(suffix, help, type, options_.prefix);
  }

  // A metric of `entry`'s family for the breaker (or bulkhead) named
  // `owner`, with `labels` after its name.
  ClientMetric& Add(Entry& entry, const std::string& owner,
                    std::vector<ClientMetric::Label> labels = {}) {
    ClientMetric metric;
    metric.label.reserve(options_.const_labels.size() + 1 + labels.size());
    for (const auto& [name, value] : options_.const_labels) metric.label.push_back({name, value});
    metric.label.push_back({entry.owner_label, owner});
    for (ClientMetric::Label& label : labels) metric.label.push_back(std::move(label));
    entry.family.metric.push_back(std::move(metric));
    return entry.family.metric.back();
  }

  // The families with at least one series: one with none (no rate to show
  // yet, no histogram) is left out, since the text format would print a
  // HELP and TYPE for nothing.
  std::vector<MetricFamily> Take() && {
    std::vector<MetricFamily> shown;
    for (Entry& entry : families_) {
      if (!entry.family.metric.empty()) shown.push_back(std::move(entry.family));
    }
    return shown;
  }

 private:
  const CollectorOptions& options_;
  // A deque: Family()'s references stay valid as more are created.
  std::deque<Entry> families_;
};

namespace {

// What one breaker shows at one scrape.
struct Reading {
  std::string name;
  BreakerMetrics metrics;
  BreakerSnapshot snapshot;
  CallDurations durations;
  double failure_threshold;  // percent, 0 when off
  double slow_threshold;
  bool throttling;  // adaptive_throttling
};

}  // namespace

absl::Status ValidateCollectorOptions(const CollectorOptions& options) {
  for (const auto& [field, prefix] : {std::pair<const char*, const std::string*>{
                                          "prefix", &options.prefix},
                                      {"bulkhead_prefix", &options.bulkhead_prefix}}) {
    if (!IsMetricName(*prefix)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "CollectorOptions.", field, ": \"", *prefix,
          "\" is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"));
    }
  }
  for (const auto& [name, value] : options.const_labels) {
    if (!IsLabelName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "CollectorOptions.const_labels: \"", name,
          "\" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"));
    }
    for (const char* used : {"breaker", "bulkhead", "outcome", "state", "from", "to", "le", "sharing"}) {
      if (name == used) {
        return absl::InvalidArgumentError(absl::StrCat("CollectorOptions.const_labels: \"", name,
                                                       "\" is a label the series use already"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Collector>> Collector::Create(const Registry& registry,
                                                             CollectorOptions options) {
  absl::Status status = ValidateCollectorOptions(options);
  if (!status.ok()) return status;
  return std::shared_ptr<Collector>(new Collector(registry, std::move(options)));
}

std::vector<MetricFamily> Collector::Collect() const {
  std::vector<Reading> readings;
  for (const std::shared_ptr<Breaker>& breaker : registry_.All()) {
    readings.push_back(Reading{std::string(breaker->name()), breaker->Metrics(),
                               breaker->Snapshot(), breaker->Durations(),
                               breaker->config().failure_rate_threshold,
                               breaker->config().slow_call_rate_threshold,
                               breaker->config().adaptive_throttling});
  }

  Families out(options_);
  Families::Entry* calls = &out.Family(
      "calls_total",
      "Calls through the breaker by outcome: successful, failed, ignored, released "
      "(given back unresolved), rejected (not permitted). Disjoint.",
      MetricType::Counter);
  Families::Entry* slow = &out.Family(
      "slow_calls_total",
      "Successful and failed calls at or over slow_call_duration (also in calls_total).",
      MetricType::Counter);
  Families::Entry* stale = &out.Family(
      "stale_outcomes_total",
      "Outcomes dropped because the breaker changed state since the call started.",
      MetricType::Counter);
  Families::Entry* state = &out.Family(
      "state", "1 for the state the breaker is in, 0 for the others.", MetricType::Gauge);
  Families::Entry* transitions =
      &out.Family("transitions_total", "State transitions by from and to.", MetricType::Counter);
  Families::Entry* failure_ratio = &out.Family(
      "failure_ratio",
      "Failed calls over calls in the current window (0..1); absent while too few calls.",
      MetricType::Gauge);
  Families::Entry* slow_ratio = &out.Family(
      "slow_call_ratio",
      "Slow calls over calls in the current window (0..1); absent while too few calls.",
      MetricType::Gauge);
  Families::Entry* failure_threshold = &out.Family(
      "failure_ratio_threshold",
      "The failure ratio at which the breaker opens (failure_rate_threshold / 100); absent "
      "when off.",
      MetricType::Gauge);
  Families::Entry* slow_threshold = &out.Family(
      "slow_call_ratio_threshold",
      "The slow-call ratio at which the breaker opens (slow_call_rate_threshold / 100); "
      "absent when off.",
      MetricType::Gauge);
  Families::Entry* window = &out.Family(
      "window_calls",
      "Calls in the current window by outcome (successful, failed; slow counted again).",
      MetricType::Gauge);
  Families::Entry* consecutive = &out.Family(
      "consecutive_failures", "The current run of failures in a row.", MetricType::Gauge);
  Families::Entry* trials = &out.Family("half_open_trials_in_flight",
                                     "Half-open trial calls admitted and not yet resolved.",
                                     MetricType::Gauge);
  Families::Entry* remaining = &out.Family(
      "open_remaining_seconds",
      "Time until the breaker admits a trial call: 0 unless OPEN, +Inf when FORCED_OPEN.",
      MetricType::Gauge);
  Families::Entry* period = &out.Family(
      "open_period_seconds", "The current (OPEN) or next open period, with backoff.",
      MetricType::Gauge);
  Families::Entry* listener_errors = &out.Family(
      "listener_errors_total", "Event listener calls that threw.", MetricType::Counter);
  Families::Entry* probe_timeouts = &out.Family(
      "probe_timeouts_total",
      "Half-open trial calls that outlived half_open_probe_timeout and were reaped.",
      MetricType::Counter);
  Families::Entry* shed = &out.Family(
      "shed_total",
      "Calls rejected while CLOSED by slow start's ramp after recovery (slow_start_duration) or "
      "adaptive throttling; also counted among the rejections.",
      MetricType::Counter);
  Families::Entry* throttled = &out.Family(
      "throttled_total",
      "Of the shed calls, those adaptive throttling rejected (breakers with "
      "adaptive_throttling).",
      MetricType::Counter);
  Families::Entry* throttle = &out.Family(
      "throttle_probability",
      "Adaptive throttling's probability of rejecting a call locally, as of the scrape "
      "(breakers with adaptive_throttling).",
      MetricType::Gauge);
  Families::Entry* latency = &out.Family(
      "latency_percentile_seconds",
      "The window's latency percentile as of its last judgment (once a bucket), as its "
      "bin's bound (breakers with latency_percentile; +Inf past 100 s).",
      MetricType::Gauge);
  Families::Entry* sharing = &out.Family(
      "sharing",
      "Shared breakers (distributed mode) only: 1 for shared (the shared state decides) or "
      "degraded (the shared store is lost: deciding alone), 0 for the other.",
      MetricType::Gauge);
  Families::Entry* durations = &out.Family(
      "call_duration_seconds",
      "Call durations (breakers with record_call_durations).", MetricType::Histogram);

  for (const Reading& r : readings) {
    const BreakerMetrics& m = r.metrics;
    const BreakerSnapshot& s = r.snapshot;
    const std::pair<const char*, uint64_t> outcomes[] = {
        {"successful", m.successes}, {"failed", m.failures},   {"ignored", m.ignored},
        {"released", m.released},    {"rejected", m.rejected},
    };
    for (const auto& [outcome, value] : outcomes) {
      out.Add(*calls, r.name, {{"outcome", outcome}}).counter.value = static_cast<double>(value);
    }
    out.Add(*slow, r.name).counter.value = static_cast<double>(m.slow);
    out.Add(*stale, r.name).counter.value = static_cast<double>(m.stale);

    for (int i = 0; i < kNumStates; ++i) {
      const State each = static_cast<State>(i);
      out.Add(*state, r.name, {{"state", StateLabel(each)}}).gauge.value = each == s.state ? 1 : 0;
    }
    for (int from = 0; from < kNumStates; ++from) {
      for (int to = 0; to < kNumStates; ++to) {
        const State f = static_cast<State>(from);
        const State t = static_cast<State>(to);
        const bool automatic = (f == State::kClosed && t == State::kOpen) ||
                               (f == State::kOpen && t == State::kHalfOpen) ||
                               (f == State::kHalfOpen && t == State::kOpen) ||
                               (f == State::kHalfOpen && t == State::kClosed);
        const uint64_t count = m.transitions[from][to];
        if (count == 0 && !automatic) continue;
        out.Add(*transitions, r.name, {{"from", StateLabel(f)}, {"to", StateLabel(t)}})
            .counter.value = static_cast<double>(count);
      }
    }
    if (s.failure_rate) out.Add(*failure_ratio, r.name).gauge.value = *s.failure_rate / 100;
    if (s.slow_call_rate) out.Add(*slow_ratio, r.name).gauge.value = *s.slow_call_rate / 100;
    if (r.failure_threshold > 0) {
      out.Add(*failure_threshold, r.name).gauge.value = r.failure_threshold / 100;
    }
    if (r.slow_threshold > 0) {
      out.Add(*slow_threshold, r.name).gauge.value = r.slow_threshold / 100;
    }
    out.Add(*window, r.name, {{"outcome", "successful"}}).gauge.value =
        static_cast<double>(s.successes);
    out.Add(*window, r.name, {{"outcome", "failed"}}).gauge.value =
        static_cast<double>(s.failures);
    out.Add(*window, r.name, {{"outcome", "slow"}}).gauge.value =
        static_cast<double>(s.slow_calls);
    out.Add(*consecutive, r.name).gauge.value = s.consecutive_failures;
    out.Add(*trials, r.name).gauge.value = s.trials_in_flight;
    out.Add(*remaining, r.name).gauge.value = Seconds(s.open_remaining);
    out.Add(*period, r.name).gauge.value = Seconds(s.open_period);
    out.Add(*listener_errors, r.name).counter.value = static_cast<double>(m.listener_errors);
    out.Add(*probe_timeouts, r.name).counter.value = static_cast<double>(m.probe_timeouts);
    out.Add(*shed, r.name).counter.value = static_cast<double>(m.shed);
    if (s.throttle_probability.has_value()) {
      out.Add(*throttle, r.name).gauge.value = *s.throttle_probability;
    }
    if (r.throttling) out.Add(*throttled, r.name).counter.value = static_cast<double>(m.throttled);
    if (s.latency_percentile.has_value()) {
      out.Add(*latency, r.name).gauge.value = Seconds(*s.latency_percentile);
    }
    if (s.sharing != Sharing::kLocal) {
      for (const Sharing each : {Sharing::kShared, Sharing::kDegraded}) {
        out.Add(*sharing, r.name, {{"sharing", absl::AsciiStrToLower(SharingName(each))}})
            .gauge.value = each == s.sharing ? 1 : 0;
      }
    }

    if (r.durations.recorded) {
      ClientMetric& metric = out.Add(*durations, r.name);
      ClientMetric::Histogram& h = metric.histogram;
      h.sample_count = r.durations.count;
      h.sample_sum = absl::ToDoubleSeconds(r.durations.sum);
      uint64_t cumulative = 0;
      // The bins are fine (circuit/call_durations.h); the export shows the
      // cumulative counts at the 1-2.5-5 bounds among them, exactly.
      for (int i = 0; i < kCallDurationBuckets; ++i) {
        cumulative += r.durations.counts[static_cast<size_t>(i)];
        if (CallDurationExported(i)) {
          h.bucket.push_back({cumulative, Seconds(CallDurationBound(i))});
        }
      }
    }
  }

  CollectBulkheads(out);
  return std::move(out).Take();
}

void Collector::CollectBulkheads(Families& out) const {
  std::vector<std::pair<std::string, BulkheadMetrics>> readings;
  for (const std::shared_ptr<Bulkhead>& bulkhead : registry_.AllBulkheads()) {
    readings.emplace_back(std::string(bulkhead->name()), bulkhead->Metrics());
  }
  const std::string& prefix = options_.bulkhead_prefix;
  Families::Entry* in_flight = &out.Family("in_flight", "Calls in flight now.", MetricType::Gauge,
                                        prefix, "bulkhead");
  Families::Entry* limit = &out.Family("max_concurrent", "The limit of calls in flight.",
                                    MetricType::Gauge, prefix, "bulkhead");
  Families::Entry* peak = &out.Family("max_in_flight", "The most calls in flight at once so far.",
                                   MetricType::Gauge, prefix, "bulkhead");
  Families::Entry* waiting = &out.Family("waiting", "Callers waiting for a slot now.",
                                      MetricType::Gauge, prefix, "bulkhead");
  Families::Entry* rejected = &out.Family("rejected_total", "Calls refused: no slot (after any wait).",
                                       MetricType::Counter, prefix, "bulkhead");
  Families::Entry* waited = &out.Family("waited_total", "Calls that waited for a slot.",
                                     MetricType::Counter, prefix, "bulkhead");
  Families::Entry* wait_time = &out.Family("wait_seconds_total", "Time spent waiting for a slot.",
                                        MetricType::Counter, prefix, "bulkhead");
  for (const auto& [name, m] : readings) {
    out.Add(*in_flight, name).gauge.value = m.in_flight;
    out.Add(*limit, name).gauge.value = m.max_concurrent;
    out.Add(*peak, name).gauge.value = m.max_in_flight;
    out.Add(*waiting, name).gauge.value = m.waiting;
    out.Add(*rejected, name).counter.value = static_cast<double>(m.rejected);
    out.Add(*waited, name).counter.value = static_cast<double>(m.waited);
    out.Add(*wait_time, name).counter.value = absl::ToDoubleSeconds(m.wait_time);
  }
}

}  // namespace prometheus
}  // namespace circuit
