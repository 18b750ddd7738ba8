// Test helpers for the Prometheus export: the text format parsed into
// series, and promtool run over a scrape.
#ifndef CIRCUIT_TESTS_PROMETHEUS_SCRAPE_H_
#define CIRCUIT_TESTS_PROMETHEUS_SCRAPE_H_

#include <map>
#include <string>

namespace circuit {
namespace testing {

// Series -> value. A series is written as its name, then its labels sorted
// by name: `circuit_breaker_calls_total{breaker="a",outcome="failed"}`
// (no braces without labels). HELP, TYPE and blank lines are skipped;
// a line that is none of these, or that parses badly, is a test failure
// (recorded with ADD_FAILURE) and skipped.
std::map<std::string, double> ParseScrape(const std::string& text);

// promtool check metrics over `text`: its exit status and what it printed
// (lint problems). A missing promtool is exit status 127.
struct PromtoolResult {
  int exit_status = -1;
  std::string output;
};
PromtoolResult PromtoolCheckMetrics(const std::string& text);

}  // namespace testing
}  // namespace circuit

#endif  // CIRCUIT_TESTS_PROMETHEUS_SCRAPE_H_
