// File: circuit/registry.h
// A process's breakers by name: one default config with per-name
// overrides, created on first use, listed by state for operators, forced or
// reset by name, and summed up as a health verdict.
//
//   circuit::BreakerConfig defaults;
//   defaults.failure_rate_threshold = 50;
//   circuit::Registry registry(defaults);
//   circuit::BreakerConfig payments = defaults;
//   payments.open_duration = absl::Seconds(5);
//   registry.SetOverride("payments", payments).IgnoreError();
//
//   std::shared_ptr<circuit::Breaker> breaker = registry.GetOrCreate("payments").value();
//   // ... keep `breaker` beside the dependency's client; call through it.
//
//   circuit::HealthSummary health = registry.Health();
//   if (!health.healthy) serve_503(health.ToJson());
//
// Ownership: breakers are shared (std::shared_ptr). Remove() drops the
// registry's reference; a caller still holding the breaker keeps using it
// safely until it lets go, and GetOrCreate() of the same name afterwards
// makes a new breaker.
//
// Thread safety: every member is thread-safe. Lookups (Find(),
// GetOrCreate() of an existing name) take the registry's mutex as readers;
// writers hold it only to insert or erase a map entry (a breaker is built,
// and its config validated, outside it), never while a breaker runs. The
// call path itself never touches the registry: look a breaker up once and
// keep the shared_ptr. A lookup per call costs a shared lock and a
// shared_ptr copy, both shared writes: 32 ns at 1 thread here, and
// contended across threads (0.15x the throughput at 2;
// BM_Circuit_RegistryLookupByName in docs/benchmarks.md).
#ifndef CIRCUIT_REGISTRY_H_
#define CIRCUIT_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/bulkhead.h"
#include "circuit/config.h"
#include "circuit/snapshot.h"
#include "circuit/state.h"

namespace circuit {

// Registry::Health(): healthy when every breaker is CLOSED, DISABLED or
// METRICS_ONLY; degraded otherwise, naming the breakers that are not.
struct HealthSummary {
  struct Entry {
    std::string name;
    State state = State::kClosed;
    TripReason last_trip;            // why it last opened
    absl::Duration open_remaining;   // see BreakerSnapshot
  };
  bool healthy = true;
  int breakers = 0;                  // how many were looked at
  std::vector<Entry> not_closed;     // by name
  // Shared breakers that have lost the shared store (Sharing::kDegraded,
  // circuit/sharing.h), by name. They still decide alone, so they do not
  // make the summary unhealthy: a readiness probe that failed with the
  // store would take every instance down with it.
  std::vector<std::string> sharing_degraded;

  // {"status":"healthy"|"degraded","breakers":N,"not_closed":[{"name":...,
  //  "state":"OPEN","last_trip":{"cause":"FAILURE_RATE","value":55,
  //  "threshold":50},"open_remaining_seconds":12.5}],
  //  "sharing_degraded":["payments"]}; names escaped as JSON strings. An
  // infinite open_remaining (FORCED_OPEN) is null.
  std::string ToJson() const;
};

class Registry {
 public:
  // `defaults` is validated by the first GetOrCreate() that uses it.
  explicit Registry(BreakerConfig defaults = BreakerConfig());
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registry::SetOverride()
  // The config of the breaker named `name` when it is created (its `name`
  // field is set to `name`). Validated here: InvalidArgumentError naming
  // the field, as ValidateConfig(). A breaker that exists already keeps its
  // config (FailedPreconditionError): Remove() it first.
  absl::Status SetOverride(absl::string_view name, BreakerConfig config);

  // Registry::GetOrCreate()
  // The breaker named `name`, created from its override or the defaults on
  // first use. Errors: InvalidArgumentError for an empty name or an invalid
  // default config (the override was validated by SetOverride()).
  absl::StatusOr<std::shared_ptr<Breaker>> GetOrCreate(absl::string_view name);

  // The breaker named `name`, or null.
  std::shared_ptr<Breaker> Find(absl::string_view name) const;

  // Every breaker, by name.
  std::vector<std::shared_ptr<Breaker>> All() const;
  std::vector<std::string> Names() const;
  // The names of the breakers now in `state` (as state() reports it: a
  // HALF_OPEN past its limit is OPEN), by name.
  std::vector<std::string> NamesInState(State state) const;
  std::vector<std::string> Open() const { return NamesInState(State::kOpen); }
  std::vector<std::string> HalfOpen() const { return NamesInState(State::kHalfOpen); }
  std::vector<std::string> Closed() const { return NamesInState(State::kClosed); }

  // Operators' levers by name: false if there is no such breaker.
  bool ForceOpen(absl::string_view name);
  bool Reset(absl::string_view name);
  void ResetAll();

  // Registry::Remove()
  // Drops the registry's breaker named `name` (false if none); holders of
  // it keep a working breaker. Its override stays.
  bool Remove(absl::string_view name);

  HealthSummary Health() const;

  // ---- Bulkheads (circuit/bulkhead.h) ---------------------------------------
  // Named like breakers, in a namespace of their own, so that an operator
  // and the Prometheus export see them beside the breakers.

  // Registry::GetOrCreateBulkhead()
  // The bulkhead named `name`, created from `config` (its `name` set to
  // `name`) on first use; an existing one keeps its config. Errors:
  // InvalidArgumentError for an empty name or an invalid config
  // (ValidateBulkheadConfig(), asked only when it is created).
  absl::StatusOr<std::shared_ptr<Bulkhead>> GetOrCreateBulkhead(
      absl::string_view name, BulkheadConfig config = BulkheadConfig());
  // The bulkhead named `name`, or null.
  std::shared_ptr<Bulkhead> FindBulkhead(absl::string_view name) const;
  // Every bulkhead, by name.
  std::vector<std::shared_ptr<Bulkhead>> AllBulkheads() const;
  // Drops the registry's bulkhead named `name` (false if none); holders
  // keep a working bulkhead.
  bool RemoveBulkhead(absl::string_view name);

 private:
  using Map = std::map<std::string, std::shared_ptr<Breaker>, std::less<>>;

  const BreakerConfig defaults_;
  // std::shared_mutex rather than absl::Mutex: ThreadSanitizer sees its
  // happens-before (Debian's Abseil is not built with TSan annotations).
  mutable std::shared_mutex mu_;
  Map breakers_;  // guarded by mu_
  std::map<std::string, BreakerConfig, std::less<>> overrides_;  // guarded by mu_
  std::map<std::string, std::shared_ptr<Bulkhead>, std::less<>> bulkheads_;  // guarded by mu_
};

}  // namespace circuit

#endif  // CIRCUIT_REGISTRY_H_
