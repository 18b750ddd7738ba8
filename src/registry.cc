// File: src/registry.cc
// See circuit/registry.h.
#include "circuit/registry.h"

#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace circuit {

namespace {

// `text` as a JSON string literal.
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// A finite double as JSON (NaN and infinities are not JSON numbers).
std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  return absl::StrCat(value);
}

bool Healthy(State state) {
  return state == State::kClosed || state == State::kDisabled || state == State::kMetricsOnly;
}

}  // namespace

std::string HealthSummary::ToJson() const {
  std::string out = absl::StrCat("{\"status\":", healthy ? "\"healthy\"" : "\"degraded\"",
                                 ",\"breakers\":", breakers, ",\"not_closed\":[");
  for (size_t i = 0; i < not_closed.size(); ++i) {
    const Entry& e = not_closed[i];
    if (i > 0) out += ",";
    absl::StrAppend(&out, "{\"name\":", JsonString(e.name), ",\"state\":",
                    JsonString(StateName(e.state)), ",\"last_trip\":{\"cause\":",
                    JsonString(TripCauseName(e.last_trip.cause)),
                    ",\"value\":", JsonNumber(e.last_trip.value),
                    ",\"threshold\":", JsonNumber(e.last_trip.threshold),
                    "},\"open_remaining_seconds\":",
                    e.open_remaining == absl::InfiniteDuration()
                        ? std::string("null")
                        : JsonNumber(absl::ToDoubleSeconds(e.open_remaining)),
                    "}");
  }
  out += "],\"sharing_degraded\":[";
  for (size_t i = 0; i < sharing_degraded.size(); ++i) {
    if (i > 0) out += ",";
    out += JsonString(sharing_degraded[i]);
  }
  return out + "]}";
}

Registry::Registry(BreakerConfig defaults) : defaults_(std::move(defaults)) {}

absl::Status Registry::SetOverride(absl::string_view name, BreakerConfig config) {
  if (name.empty()) return absl::InvalidArgumentError("Registry: a breaker needs a name");
  config.name = std::string(name);
  if (absl::Status status = ValidateConfig(config); !status.ok()) return status;
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (breakers_.find(name) != breakers_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Registry: breaker '", name, "' exists already; Remove() it first"));
  }
  overrides_.insert_or_assign(std::string(name), std::move(config));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Breaker>> Registry::GetOrCreate(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("Registry: a breaker needs a name");
  BreakerConfig config;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (auto it = breakers_.find(name); it != breakers_.end()) return it->second;
    auto o = overrides_.find(name);
    config = o != overrides_.end() ? o->second : defaults_;
  }
  // Built outside the lock: creation allocates and validates.
  config.name = std::string(name);
  absl::StatusOr<std::unique_ptr<Breaker>> made = Breaker::Create(std::move(config));
  if (!made.ok()) return made.status();
  std::shared_ptr<Breaker> breaker = std::move(made).value();
  std::unique_lock<std::shared_mutex> lock(mu_);
  // A racing GetOrCreate() may have inserted first: everyone gets that one.
  auto [it, inserted] = breakers_.try_emplace(std::string(name), std::move(breaker));
  return it->second;
}

std::shared_ptr<Breaker> Registry::Find(absl::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = breakers_.find(name);
  return it == breakers_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Breaker>> Registry::All() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<std::shared_ptr<Breaker>> all;
  all.reserve(breakers_.size());
  for (const auto& [name, breaker] : breakers_) all.push_back(breaker);
  return all;
}

std::vector<std::string> Registry::Names() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<std::string> names;
  names.reserve(breakers_.size());
  for (const auto& [name, breaker] : breakers_) names.push_back(name);
  return names;
}

std::vector<std::string> Registry::NamesInState(State state) const {
  std::vector<std::string> names;
  // The breakers are read outside the lock: state() may make a transition
  // and call listeners, which may call back into the registry.
  for (const std::shared_ptr<Breaker>& breaker : All()) {
    if (breaker->state() == state) names.emplace_back(breaker->name());
  }
  return names;
}

bool Registry::ForceOpen(absl::string_view name) {
  std::shared_ptr<Breaker> breaker = Find(name);
  if (breaker == nullptr) return false;
  breaker->ForceOpen();
  return true;
}

bool Registry::Reset(absl::string_view name) {
  std::shared_ptr<Breaker> breaker = Find(name);
  if (breaker == nullptr) return false;
  breaker->Reset();
  return true;
}

void Registry::ResetAll() {
  for (const std::shared_ptr<Breaker>& breaker : All()) breaker->Reset();
}

bool Registry::Remove(absl::string_view name) {
  std::shared_ptr<Breaker> removed;  // released after the lock
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = breakers_.find(name);
  if (it == breakers_.end()) return false;
  removed = std::move(it->second);
  breakers_.erase(it);
  return true;
}

HealthSummary Registry::Health() const {
  HealthSummary health;
  for (const std::shared_ptr<Breaker>& breaker : All()) {
    ++health.breakers;
    const BreakerSnapshot snapshot = breaker->Snapshot();
    if (snapshot.sharing == Sharing::kDegraded) {
      health.sharing_degraded.push_back(std::string(breaker->name()));
    }
    if (Healthy(snapshot.state)) continue;
    health.healthy = false;
    HealthSummary::Entry entry;
    entry.name = std::string(breaker->name());
    entry.state = snapshot.state;
    entry.last_trip = snapshot.last_trip;
    entry.open_remaining = snapshot.open_remaining;
    health.not_closed.push_back(std::move(entry));
  }
  return health;
}

// ---- Bulkheads -------------------------------------------------------------

absl::StatusOr<std::shared_ptr<Bulkhead>> Registry::GetOrCreateBulkhead(absl::string_view name,
                                                                        BulkheadConfig config) {
  if (name.empty()) return absl::InvalidArgumentError("Registry: a bulkhead needs a name");
  if (std::shared_ptr<Bulkhead> found = FindBulkhead(name)) return found;
  // Built outside the lock, as breakers are.
  config.name = std::string(name);
  absl::StatusOr<std::unique_ptr<Bulkhead>> made = Bulkhead::Create(std::move(config));
  if (!made.ok()) return made.status();
  std::shared_ptr<Bulkhead> bulkhead = std::move(made).value();
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto [it, inserted] = bulkheads_.try_emplace(std::string(name), std::move(bulkhead));
  return it->second;
}

std::shared_ptr<Bulkhead> Registry::FindBulkhead(absl::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = bulkheads_.find(name);
  return it == bulkheads_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Bulkhead>> Registry::AllBulkheads() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<std::shared_ptr<Bulkhead>> all;
  all.reserve(bulkheads_.size());
  for (const auto& [name, bulkhead] : bulkheads_) all.push_back(bulkhead);
  return all;
}

bool Registry::RemoveBulkhead(absl::string_view name) {
  std::shared_ptr<Bulkhead> removed;  // destroyed after the lock, if last
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = bulkheads_.find(name);
  if (it == bulkheads_.end()) return false;
  removed = std::move(it->second);
  bulkheads_.erase(it);
  return true;
}

}  // namespace circuit
