// File: circuit/prometheus/collector.h
// `circuit::prometheus::Collector` exports every breaker of a
// `circuit::Registry` to Prometheus through prometheus-cpp: a
// `::prometheus::Collectable` that a service registers with its own
// `::prometheus::Registry` or `::prometheus::Exposer`. The numbers are read
// at scrape time from the breakers' counters and snapshots, so the call
// path does nothing for it. Target //:circuit_prometheus (Bazel) or
// circuit::prometheus (CMake); the core library does not depend on it.
//
//   circuit::Registry breakers(defaults);
//   auto collector = std::make_shared<circuit::prometheus::Collector>(breakers);
//   // or, with a prefix or constant labels:
//   //   circuit::prometheus::Collector::Create(breakers, options).value()
//   prometheus::Exposer exposer("127.0.0.1:9464");
//   exposer.RegisterCollectable(collector);   // GET /metrics
//
// Series (every one labelled breaker="<name>", plus the options' constant
// labels; names under options.prefix, "circuit_breaker" by default):
//   circuit_breaker_calls_total{outcome}   counter. outcome: successful,
//       failed, ignored, released (given back unresolved), rejected. The
//       outcomes are disjoint: their sum is every call that asked.
//   circuit_breaker_slow_calls_total       counter: successful and failed
//       calls at or over slow_call_duration (counted in calls_total too).
//   circuit_breaker_stale_outcomes_total   counter: outcomes dropped because
//       the breaker had moved to another state since the call started.
//   circuit_breaker_state{state}           gauge, one series per state
//       (closed, open, half_open, forced_open, disabled, metrics_only):
//       1 for the state the breaker is in, 0 for the others.
//   circuit_breaker_transitions_total{from,to}  counter (states as above):
//       the four automatic transitions always, others once they happened.
//   circuit_breaker_failure_ratio, circuit_breaker_slow_call_ratio
//       gauges, 0..1, over the current window; absent while the window
//       holds too few calls to judge (BreakerSnapshot's rates).
//   circuit_breaker_failure_ratio_threshold, _slow_call_ratio_threshold
//       gauges, 0..1: the configured thresholds (absent when off), so that
//       an alert can fire before a breaker trips.
//   circuit_breaker_window_calls{outcome}  gauge: the current window's
//       calls (outcome: successful, failed; plus slow, counted in both).
//   circuit_breaker_consecutive_failures   gauge.
//   circuit_breaker_half_open_trials_in_flight  gauge.
//   circuit_breaker_open_remaining_seconds gauge: time until a trial is
//       admitted (0 unless OPEN; +Inf when FORCED_OPEN).
//   circuit_breaker_open_period_seconds    gauge: the current (OPEN) or next
//       open period, with backoff.
//   circuit_breaker_listener_errors_total  counter.
//   circuit_breaker_sharing             gauge, {sharing="shared"|"degraded"}:
//                                       1 for the breaker's; shared breakers
//                                       only (circuit/sharing.h).
//   circuit_breaker_call_duration_seconds  histogram, for breakers with
//       record_call_durations (circuit/call_durations.h for the buckets).
// And for each bulkhead of the registry (circuit/bulkhead.h), labelled
// bulkhead="<name>", under options.bulkhead_prefix ("circuit_bulkhead"):
//   circuit_bulkhead_in_flight, _max_concurrent, _max_in_flight, _waiting
//       gauges: calls in flight now, the limit, the most at once so far,
//       callers waiting for a slot now.
//   circuit_bulkhead_rejected_total, _waited_total  counters.
//   circuit_bulkhead_wait_seconds_total  counter: time spent waiting.
// docs/alerts/ has alerting rules over these series.
//
// Thread safety: Collect() may run on any thread (prometheus-cpp's server
// threads), concurrently with calls, transitions and registry changes.
// It takes the registry's lock as a reader only while copying the list of
// breakers, then reads each breaker as Metrics() and Snapshot() do: no
// lock the call path takes, so a scrape never slows a call. The numbers
// of one breaker are read one after another and may straddle a call.
//
// Lifetime: the registry must outlive the collector.
#ifndef CIRCUIT_PROMETHEUS_COLLECTOR_H_
#define CIRCUIT_PROMETHEUS_COLLECTOR_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "circuit/registry.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace circuit {
namespace prometheus {

struct CollectorOptions {
  // The first part of every series' name. Must be a valid Prometheus metric
  // name ([a-zA-Z_:][a-zA-Z0-9_:]*).
  std::string prefix = "circuit_breaker";
  // The same for the bulkheads' series.
  std::string bulkhead_prefix = "circuit_bulkhead";
  // Labels added to every series (e.g. {"service", "checkout"}). Names must
  // be valid label names and not "breaker", "bulkhead", "outcome",
  // "state", "from", "to" or "le", which the series use.
  std::map<std::string, std::string> const_labels;
};

// ValidateCollectorOptions()
// OK, or InvalidArgumentError naming the bad field and value.
absl::Status ValidateCollectorOptions(const CollectorOptions& options);

class Families;  // src/prometheus/collector.cc

class Collector : public ::prometheus::Collectable {
 public:
  // Exports every breaker `registry` holds at each scrape, with the
  // default options.
  explicit Collector(const Registry& registry) : Collector(registry, CollectorOptions()) {}

  // Collector::Create()
  // The same with `options`, validated (ValidateCollectorOptions()).
  static absl::StatusOr<std::shared_ptr<Collector>> Create(const Registry& registry,
                                                           CollectorOptions options);

  std::vector<::prometheus::MetricFamily> Collect() const override;

 private:
  Collector(const Registry& registry, CollectorOptions options)
      : registry_(registry), options_(std::move(options)) {}
  void CollectBulkheads(Families& out) const;

  const Registry& registry_;
  const CollectorOptions options_;
};

}  // namespace prometheus
}  // namespace circuit

#endif  // CIRCUIT_PROMETHEUS_COLLECTOR_H_
