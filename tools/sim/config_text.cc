// File: tools/sim/config_text.cc
// BreakerConfig fields from and to text: one parser and one printer per
// field type, dispatched by CIRCUIT_SIM_CONFIG_FIELDS.
#include "config_text.h"

#include <cmath>
#include <optional>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace circuit {
namespace sim {
namespace {

absl::Status Expected(absl::string_view key, absl::string_view what, absl::string_view value) {
  return absl::InvalidArgumentError(
      absl::StrCat(key, ": expected ", what, ", got '", absl::CHexEscape(value), "'"));
}

absl::Status Parse(absl::string_view key, absl::string_view value, int* out) {
  if (!absl::SimpleAtoi(value, out)) return Expected(key, "an integer", value);
  return absl::OkStatus();
}

absl::Status Parse(absl::string_view key, absl::string_view value, std::optional<int>* out) {
  int n;
  if (!absl::SimpleAtoi(value, &n)) return Expected(key, "an integer", value);
  *out = n;
  return absl::OkStatus();
}

absl::Status Parse(absl::string_view key, absl::string_view value, double* out) {
  absl::string_view number = absl::StripSuffix(value, "%");  // "50%" reads as 50
  if (!absl::SimpleAtod(number, out) || !std::isfinite(*out)) {
    return Expected(key, "a number", value);
  }
  return absl::OkStatus();
}

absl::Status Parse(absl::string_view key, absl::string_view value, bool* out) {
  if (!absl::SimpleAtob(value, out)) return Expected(key, "true or false", value);
  return absl::OkStatus();
}

absl::Status Parse(absl::string_view key, absl::string_view value, absl::Duration* out) {
  if (value == "0") {
    *out = absl::ZeroDuration();
    return absl::OkStatus();
  }
  if (!absl::ParseDuration(value, out) || *out == absl::InfiniteDuration() ||
      *out == -absl::InfiniteDuration()) {
    return Expected(key, "a duration with its unit (e.g. 30s, 250ms)", value);
  }
  return absl::OkStatus();
}

absl::Status Parse(absl::string_view key, absl::string_view value, WindowType* out) {
  if (value == "count") {
    *out = WindowType::kCountBased;
  } else if (value == "time") {
    *out = WindowType::kTimeBased;
  } else {
    return Expected(key, "count or time", value);
  }
  return absl::OkStatus();
}

absl::Status Parse(absl::string_view key, absl::string_view value, SlowCallClock* out) {
  if (value == "auto") {
    *out = SlowCallClock::kAuto;
  } else if (value == "precise") {
    *out = SlowCallClock::kPrecise;
  } else if (value == "coarse") {
    *out = SlowCallClock::kCoarse;
  } else if (value == "caller") {
    *out = SlowCallClock::kCaller;
  } else {
    return Expected(key, "auto, precise, coarse or caller", value);
  }
  return absl::OkStatus();
}

absl::Status Parse(absl::string_view key, absl::string_view value, ProbeTimeoutOutcome* out) {
  if (value == "failure") {
    *out = ProbeTimeoutOutcome::kFailure;
  } else if (value == "released") {
    *out = ProbeTimeoutOutcome::kReleased;
  } else {
    return Expected(key, "failure or released", value);
  }
  return absl::OkStatus();
}

std::string Format(int v) { return absl::StrCat(v); }
std::string Format(const std::optional<int>& v) { return v ? absl::StrCat(*v) : "unset"; }
std::string Format(double v) { return absl::StrCat(v); }
std::string Format(bool v) { return v ? "true" : "false"; }
std::string Format(absl::Duration v) { return absl::FormatDuration(v); }
std::string Format(WindowType v) { return v == WindowType::kTimeBased ? "time" : "count"; }
std::string Format(SlowCallClock v) {
  switch (v) {
    case SlowCallClock::kAuto:
      return "auto";
    case SlowCallClock::kPrecise:
      return "precise";
    case SlowCallClock::kCoarse:
      return "coarse";
    case SlowCallClock::kCaller:
      return "caller";
  }
  return "unknown";
}

std::string Format(ProbeTimeoutOutcome v) {
  return v == ProbeTimeoutOutcome::kReleased ? "released" : "failure";
}

std::string KnownKeys() {
  std::vector<absl::string_view> keys;
#define CIRCUIT_SIM_KEY(field, help) keys.push_back(#field);
  CIRCUIT_SIM_CONFIG_FIELDS(CIRCUIT_SIM_KEY)
#undef CIRCUIT_SIM_KEY
  return absl::StrJoin(keys, ", ");
}

}  // namespace

absl::Status SetConfigField(BreakerConfig& config, absl::string_view key,
                            absl::string_view value) {
#define CIRCUIT_SIM_SET(field, help) \
  if (key == #field) return Parse(#field, value, &config.field);
  CIRCUIT_SIM_CONFIG_FIELDS(CIRCUIT_SIM_SET)
#undef CIRCUIT_SIM_SET
  return absl::InvalidArgumentError(
      absl::StrCat("unknown key '", absl::CHexEscape(key), "'; the keys are: ", KnownKeys()));
}

std::string FormatConfig(const BreakerConfig& config) {
  const BreakerConfig defaults;
  std::vector<std::string> parts;
#define CIRCUIT_SIM_FORMAT(field, help)                                         \
  if (Format(config.field) != Format(defaults.field)) {                         \
    parts.push_back(absl::StrCat(#field, "=", Format(config.field))); \
  }
  CIRCUIT_SIM_CONFIG_FIELDS(CIRCUIT_SIM_FORMAT)
#undef CIRCUIT_SIM_FORMAT
  return parts.empty() ? "defaults" : absl::StrJoin(parts, " ");
}

absl::StatusOr<std::vector<BreakerConfig>> ParseConfigFile(absl::string_view text,
                                                           absl::string_view file_name) {
  struct Section {
    BreakerConfig config;
    int line = 0;
  };
  std::vector<Section> sections;
  BreakerConfig base;  // keys before the first section
  std::set<std::string> names;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    auto error = [&](absl::string_view message) {
      return absl::InvalidArgumentError(absl::StrCat(file_name, ":", line_number, ": ", message));
    };
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      if (line.back() != ']') return error("a section header is '[name]'");
      const std::string name(absl::StripAsciiWhitespace(line.substr(1, line.size() - 2)));
      if (name.empty()) return error("a section needs a name: '[name]'");
      if (!names.insert(name).second) return error(absl::StrCat("a second section '", name, "'"));
      Section section{base, line_number};
      section.config.name = name;
      sections.push_back(std::move(section));
      continue;
    }
    const size_t equals = line.find('=');
    if (equals == absl::string_view::npos) return error("expected 'key = value' or '[name]'");
    const absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, equals));
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(equals + 1));
    absl::Status set =
        SetConfigField(sections.empty() ? base : sections.back().config, key, value);
    if (!set.ok()) return error(set.message());
  }
  if (sections.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": no config: a config file holds one or more '[name]' sections"));
  }
  std::vector<BreakerConfig> configs;
  for (Section& section : sections) {
    absl::Status valid = ValidateConfig(section.config);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(file_name, ":", section.line, ": [",
                                                     section.config.name, "]: ", valid.message()));
    }
    configs.push_back(std::move(section.config));
  }
  return configs;
}

}  // namespace sim
}  // namespace circuit
