#include "tests/prometheus/scrape.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace circuit {
namespace testing {
namespace {

// Parses `name{a="x",b="y"}` (values with \\ \" \n escapes) into the
// canonical key; false on a malformed line.
bool CanonicalSeries(absl::string_view series, std::string* key) {
  const size_t brace = series.find('{');
  if (brace == absl::string_view::npos) {
    *key = std::string(series);
    return !key->empty();
  }
  if (series.back() != '}') return false;
  std::map<std::string, std::string> labels;
  size_t i = brace + 1;
  const size_t end = series.size() - 1;
  while (i < end) {
    const size_t eq = series.find('=', i);
    if (eq == absl::string_view::npos || eq + 1 >= end || series[eq + 1] != '"') return false;
    std::string name(series.substr(i, eq - i));
    std::string value;
    size_t j = eq + 2;
    for (; j < end && series[j] != '"'; ++j) {
      if (series[j] == '\\' && j + 1 < end) {
        ++j;
        value.push_back(series[j] == 'n' ? '\n' : series[j]);
      } else {
        value.push_back(series[j]);
      }
    }
    if (j >= end) return false;
    labels[std::move(name)] = std::move(value);
    i = j + 1;
    if (i < end && series[i] == ',') ++i;
  }
  std::string out(series.substr(0, brace));
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    absl::StrAppend(&out, first ? "" : ",", name, "=\"", value, "\"");
    first = false;
  }
  out += '}';
  *key = std::move(out);
  return true;
}

}  // namespace

std::map<std::string, double> ParseScrape(const std::string& text) {
  std::map<std::string, double> series;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    // The value is the last field (prometheus-cpp writes no timestamps).
    const size_t space = line.rfind(' ');
    std::string key;
    double value = 0;
    const absl::string_view number = line.substr(space + 1);
    bool parsed = space != absl::string_view::npos && CanonicalSeries(line.substr(0, space), &key);
    if (parsed) {
      if (number == "+Inf") {
        value = HUGE_VAL;
      } else if (number == "-Inf") {
        value = -HUGE_VAL;
      } else {
        parsed = absl::SimpleAtod(number, &value);
      }
    }
    if (!parsed) {
      ADD_FAILURE() << "unparsable scrape line: " << line;
      continue;
    }
    if (!series.emplace(key, value).second) ADD_FAILURE() << "duplicate series: " << key;
  }
  return series;
}

PromtoolResult PromtoolCheckMetrics(const std::string& text) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  static int files = 0;
  const std::string path = absl::StrCat(dir, "/scrape_", getpid(), "_", files++, ".txt");
  {
    std::ofstream file(path);
    file << text;
  }
  PromtoolResult result;
  const std::string command = absl::StrCat("promtool check metrics < '", path, "' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::remove(path.c_str());
  return result;
}

}  // namespace testing
}  // namespace circuit
