// File: src/fallbacks.cc
// The out-of-line parts of the ready-made fallbacks (circuit/fallbacks.h,
// circuit/last_good_cache.h, circuit/deferred_queue.h):
// validating LastGoodCacheConfig and DeferredQueueConfig, one rule per
// field, each message naming the field; and the statuses a LastGoodCache
// miss and a full DeferredQueue return.
#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/fallbacks.h"

namespace circuit {
namespace {

absl::Status Invalid(absl::string_view config, absl::string_view field, absl::string_view rule,
                     absl::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat(config, ".", field, " must be ", rule, ", got ", got));
}

}  // namespace

absl::Status ValidateLastGoodCacheConfig(const LastGoodCacheConfig& config) {
  constexpr absl::string_view kConfig = "LastGoodCacheConfig";
  if (config.max_entries < 1) {
    return Invalid(kConfig, "max_entries", ">= 1", absl::StrCat(config.max_entries));
  }
  // Ages are kept in whole nanoseconds: a positive max_age is at least 1.
  if (config.max_age < absl::Nanoseconds(1)) {
    return Invalid(kConfig, "max_age", ">= 1ns", absl::FormatDuration(config.max_age));
  }
  return absl::OkStatus();
}

absl::Status ValidateDeferredQueueConfig(const DeferredQueueConfig& config) {
  constexpr absl::string_view kConfig = "DeferredQueueConfig";
  if (config.name.empty()) return Invalid(kConfig, "name", "non-empty", "\"\"");
  if (config.capacity < 1) {
    return Invalid(kConfig, "capacity", ">= 1", absl::StrCat(config.capacity));
  }
  return absl::OkStatus();
}

namespace internal {

absl::Status LastGoodCacheMiss(const absl::Status& reason,
                               std::optional<absl::Duration> stale_age, absl::Duration max_age) {
  const std::string note =
      stale_age.has_value()
          ? absl::StrCat("no fresh value was cached for the key (the one held was ",
                         absl::FormatDuration(*stale_age), " old, over max_age ",
                         absl::FormatDuration(max_age), ")")
          : std::string("no fresh value was cached for the key (none held: never remembered, "
                        "evicted or expired)");
  if (reason.ok()) {
    // A StatusOr cannot hold an OK status: say what happened instead.
    return absl::UnknownError(absl::StrCat(note, "; the fallback was given an OK reason"));
  }
  absl::Status status(reason.code(), reason.message().empty()
                                         ? note
                                         : absl::StrCat(reason.message(), "; ", note));
  reason.ForEachPayload([&status](absl::string_view url, const absl::Cord& payload) {
    status.SetPayload(url, payload);
  });
  return status;
}

absl::Status DeferredQueueFull(absl::string_view name, size_t size, size_t capacity,
                               const absl::Status& reason) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "deferred queue '", name, "' is full: ", size, " of ", capacity,
      " requests waiting; not deferred after: ", absl::StatusCodeToString(reason.code()), ": ",
      reason.message()));
}

}  // namespace internal
}  // namespace circuit
