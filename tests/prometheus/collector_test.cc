// The Prometheus export scraped for real: a prometheus-cpp Exposer on a free
// loopback port, read over HTTP after a scripted sequence of calls, the
// numbers checked series by series, the text checked by promtool.
#include "circuit/prometheus/collector.h"

#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/bulkhead.h"
#include "circuit/fake_clock.h"
#include "circuit/internal/shared_control.h"
#include "circuit/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "tests/prometheus/scrape.h"

namespace circuit {
namespace {

using ::circuit::testing::ParseScrape;
using ::circuit::testing::PromtoolCheckMetrics;

// The exposer on 127.0.0.1, port chosen by the kernel, and its scrape.
class Scraper {
 public:
  explicit Scraper(std::shared_ptr<::prometheus::Collectable> collectable)
      : exposer_("127.0.0.1:0", 1) {
    exposer_.RegisterCollectable(collectable);
    const std::vector<int> ports = exposer_.GetListeningPorts();
    EXPECT_EQ(ports.size(), 1u);
    port_ = ports.empty() ? 0 : ports[0];
  }

  // GET /metrics with a real HTTP client; the body, or "" after a failure.
  std::string Scrape() {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    httplib::Result result = client.Get("/metrics");
    if (!result) {
      ADD_FAILURE() << "GET /metrics failed: " << httplib::to_string(result.error());
      return "";
    }
    EXPECT_EQ(result->status, 200);
    EXPECT_NE(result->get_header_value("Content-Type").find("text/plain"), std::string::npos);
    return result->body;
  }

  int port() const { return port_; }

 private:
  ::prometheus::Exposer exposer_;
  int port_ = 0;
};

std::string Key(const std::string& name, const std::string& labels) {
  return absl::StrCat("circuit_breaker_", name, "{", labels, "}");
}

class CollectorTest : public ::testing::Test {
 protected:
  CollectorTest() : registry_(Defaults()) {}

  BreakerConfig Defaults() {
    BreakerConfig config;
    config.clock = &clock_;
    config.consecutive_failures_to_open = 3;
    config.open_duration = absl::Seconds(10);
    return config;
  }

  FakeClock clock_;
  Registry registry_;
};

TEST_F(CollectorTest, AScrapeAfterAScriptedSequenceShowsEveryNumber) {
  // search: judged by rate over a window of 10, timing calls itself.
  BreakerConfig search = Defaults();
  search.consecutive_failures_to_open = 0;
  search.failure_rate_threshold = 50;
  search.minimum_calls = 4;
  search.window_size = 10;
  search.record_call_durations = true;
  search.slow_call_clock = SlowCallClock::kCaller;
  ASSERT_TRUE(registry_.SetOverride("search", search).ok());

  std::shared_ptr<Breaker> payments = registry_.GetOrCreate("payments").value();
  std::shared_ptr<Breaker> searcher = registry_.GetOrCreate("search").value();
  std::shared_ptr<Breaker> ledger = registry_.GetOrCreate("ledger").value();

  // payments: 2 successes, 3 failures (opens), 4 rejected, 4 s into OPEN.
  for (int i = 0; i < 2; ++i) payments->TryAcquire().Success();
  for (int i = 0; i < 3; ++i) payments->TryAcquire().Failure();
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(payments->TryAcquire());
  clock_.Advance(absl::Seconds(4));
  // search: 3 successes and a failure with durations, one ignored, one
  // released: 25 % failed over 4 calls.
  searcher->TryAcquire().Success(absl::Milliseconds(2));
  searcher->TryAcquire().Success(absl::Milliseconds(20));
  searcher->TryAcquire().Success(absl::Milliseconds(200));
  searcher->TryAcquire().Failure(absl::Milliseconds(30));
  searcher->TryAcquire().Ignore();
  searcher->TryAcquire().Release();
  // ledger: forced open by an operator.
  ASSERT_TRUE(registry_.ForceOpen("ledger"));
  EXPECT_FALSE(ledger->TryAcquire());

  // db: a bulkhead of 2, one slot held, one refused.
  BulkheadConfig db;
  db.max_concurrent = 2;
  std::shared_ptr<Bulkhead> bulkhead = registry_.GetOrCreateBulkhead("db", db).value();
  BulkheadSlot held = bulkhead->TryAcquire();
  { BulkheadSlot second = bulkhead->TryAcquire(); }
  { BulkheadSlot a = bulkhead->TryAcquire(), b = bulkhead->TryAcquire(); }

  auto collector = std::make_shared<prometheus::Collector>(registry_);
  Scraper scraper(collector);
  const std::string text = scraper.Scrape();
  const std::map<std::string, double> s = ParseScrape(text);

  auto expect = [&s](const std::string& key, double value) {
    auto it = s.find(key);
    if (it == s.end()) {
      ADD_FAILURE() << "missing series " << key;
      return;
    }
    EXPECT_EQ(it->second, value) << key;
  };
  expect(Key("calls_total", "breaker=\"payments\",outcome=\"successful\""), 2);
  expect(Key("calls_total", "breaker=\"payments\",outcome=\"failed\""), 3);
  expect(Key("calls_total", "breaker=\"payments\",outcome=\"rejected\""), 4);
  expect(Key("calls_total", "breaker=\"payments\",outcome=\"ignored\""), 0);
  expect(Key("state", "breaker=\"payments\",state=\"open\""), 1);
  expect(Key("state", "breaker=\"payments\",state=\"closed\""), 0);
  expect(Key("state", "breaker=\"payments\",state=\"half_open\""), 0);
  expect(Key("transitions_total", "breaker=\"payments\",from=\"closed\",to=\"open\""), 1);
  expect(Key("transitions_total", "breaker=\"payments\",from=\"half_open\",to=\"closed\""), 0);
  expect(Key("open_remaining_seconds", "breaker=\"payments\""), 6);
  expect(Key("open_period_seconds", "breaker=\"payments\""), 10);
  expect(Key("window_calls", "breaker=\"payments\",outcome=\"failed\""), 0);  // run only
  expect(Key("consecutive_failures", "breaker=\"payments\""), 0);  // reported while CLOSED

  expect(Key("calls_total", "breaker=\"search\",outcome=\"successful\""), 3);
  expect(Key("calls_total", "breaker=\"search\",outcome=\"failed\""), 1);
  expect(Key("calls_total", "breaker=\"search\",outcome=\"ignored\""), 1);
  expect(Key("calls_total", "breaker=\"search\",outcome=\"released\""), 1);
  expect(Key("state", "breaker=\"search\",state=\"closed\""), 1);
  expect(Key("failure_ratio", "breaker=\"search\""), 0.25);
  expect(Key("failure_ratio_threshold", "breaker=\"search\""), 0.5);
  EXPECT_EQ(s.count(Key("slow_call_ratio_threshold", "breaker=\"search\"")), 0u);
  expect(Key("window_calls", "breaker=\"search\",outcome=\"successful\""), 3);
  expect(Key("window_calls", "breaker=\"search\",outcome=\"failed\""), 1);
  expect(Key("open_remaining_seconds", "breaker=\"search\""), 0);
  expect(Key("call_duration_seconds_count", "breaker=\"search\""), 4);
  expect(Key("call_duration_seconds_sum", "breaker=\"search\""), 0.252);
  expect(Key("call_duration_seconds_bucket", "breaker=\"search\",le=\"0.001\""), 0);
  expect(Key("call_duration_seconds_bucket", "breaker=\"search\",le=\"0.0025\""), 1);
  expect(Key("call_duration_seconds_bucket", "breaker=\"search\",le=\"0.025\""), 2);
  expect(Key("call_duration_seconds_bucket", "breaker=\"search\",le=\"0.05\""), 3);
  expect(Key("call_duration_seconds_bucket", "breaker=\"search\",le=\"0.25\""), 4);
  expect(Key("call_duration_seconds_bucket", "breaker=\"search\",le=\"+Inf\""), 4);
  expect(Key("call_duration_seconds_bucket", "breaker=\"search\",le=\"100\""), 4);  // 100 s

  expect(Key("state", "breaker=\"ledger\",state=\"forced_open\""), 1);
  expect(Key("calls_total", "breaker=\"ledger\",outcome=\"rejected\""), 1);
  expect(Key("transitions_total", "breaker=\"ledger\",from=\"closed\",to=\"forced_open\""), 1);
  expect(Key("open_remaining_seconds", "breaker=\"ledger\""), HUGE_VAL);

  expect("circuit_bulkhead_in_flight{bulkhead=\"db\"}", 1);
  expect("circuit_bulkhead_max_concurrent{bulkhead=\"db\"}", 2);
  expect("circuit_bulkhead_max_in_flight{bulkhead=\"db\"}", 2);
  expect("circuit_bulkhead_rejected_total{bulkhead=\"db\"}", 1);
  expect("circuit_bulkhead_waiting{bulkhead=\"db\"}", 0);
  expect("circuit_bulkhead_waited_total{bulkhead=\"db\"}", 0);

  // No rate yet, no histogram: those series are absent, not zero.
  EXPECT_EQ(s.count(Key("failure_ratio", "breaker=\"payments\"")), 0u);
  EXPECT_EQ(s.count(Key("call_duration_seconds_count", "breaker=\"payments\"")), 0u);
  // Transitions that never happened and are not automatic are not shown.
  EXPECT_EQ(s.count(Key("transitions_total",
                        "breaker=\"search\",from=\"closed\",to=\"forced_open\"")),
            0u);

  const testing::PromtoolResult lint = PromtoolCheckMetrics(text);
  EXPECT_EQ(lint.exit_status, 0) << lint.output << "\n--- scrape:\n" << text;
  EXPECT_EQ(lint.output, "") << "--- scrape:\n" << text;
}

TEST_F(CollectorTest, TheSeriesFollowTheBreakersAsTheyChange) {
  std::shared_ptr<Breaker> payments = registry_.GetOrCreate("payments").value();
  auto collector = std::make_shared<prometheus::Collector>(registry_);
  Scraper scraper(collector);
  const std::string open = Key("state", "breaker=\"payments\",state=\"open\"");
  const std::string half = Key("state", "breaker=\"payments\",state=\"half_open\"");
  const std::string closed = Key("state", "breaker=\"payments\",state=\"closed\"");
  EXPECT_EQ(ParseScrape(scraper.Scrape())[closed], 1);
  for (int i = 0; i < 3; ++i) payments->TryAcquire().Failure();
  EXPECT_EQ(ParseScrape(scraper.Scrape())[open], 1);
  clock_.Advance(absl::Seconds(10));
  Permit trial = payments->TryAcquire();
  ASSERT_TRUE(trial);
  std::map<std::string, double> s = ParseScrape(scraper.Scrape());
  EXPECT_EQ(s[half], 1);
  EXPECT_EQ(s[open], 0);
  EXPECT_EQ(s[Key("half_open_trials_in_flight", "breaker=\"payments\"")], 1);
  trial.Success();
  s = ParseScrape(scraper.Scrape());
  EXPECT_EQ(s[closed], 1);
  EXPECT_EQ(s[Key("transitions_total", "breaker=\"payments\",from=\"half_open\",to=\"closed\"")],
            1);
  EXPECT_EQ(s[Key("transitions_total", "breaker=\"payments\",from=\"open\",to=\"half_open\"")], 1);
  // A breaker removed from the registry leaves the scrape.
  ASSERT_TRUE(registry_.Remove("payments"));
  s = ParseScrape(scraper.Scrape());
  EXPECT_EQ(s.count(closed), 0u);
}

TEST_F(CollectorTest, SlowStartsShedCallsAreCountedOnTheirOwnAndAmongTheRejections) {
  BreakerConfig ramped = Defaults();
  ramped.slow_start_duration = absl::Seconds(10);
  ASSERT_TRUE(registry_.SetOverride("inventory", ramped).ok());
  std::shared_ptr<Breaker> inventory = registry_.GetOrCreate("inventory").value();
  for (int i = 0; i < 3; ++i) inventory->TryAcquire().Failure();
  EXPECT_FALSE(inventory->TryAcquire());  // rejected while OPEN
  clock_.Advance(absl::Seconds(10));
  inventory->TryAcquire().Success();  // the trial closes it: the ramp starts
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(inventory->TryAcquire());  // admits 0 % yet
  auto collector = std::make_shared<prometheus::Collector>(registry_);
  Scraper scraper(collector);
  std::map<std::string, double> s = ParseScrape(scraper.Scrape());
  EXPECT_EQ(s[Key("shed_total", "breaker=\"inventory\"")], 5);
  EXPECT_EQ(s[Key("calls_total", "breaker=\"inventory\",outcome=\"rejected\"")], 6);
  EXPECT_EQ(s[Key("state", "breaker=\"inventory\",state=\"closed\"")], 1);
}

TEST_F(CollectorTest, AdaptiveThrottlingShowsItsProbability) {
  BreakerConfig throttled = Defaults();
  throttled.consecutive_failures_to_open = 1000;
  throttled.window_type = WindowType::kTimeBased;
  throttled.minimum_calls = 1;
  throttled.adaptive_throttling = true;
  ASSERT_TRUE(registry_.SetOverride("quotes", throttled).ok());
  std::shared_ptr<Breaker> quotes = registry_.GetOrCreate("quotes").value();
  std::shared_ptr<Breaker> plain = registry_.GetOrCreate("plain").value();
  std::vector<Permit> permits;
  for (int i = 0; i < 9; ++i) permits.push_back(quotes->TryAcquire());
  for (int i = 0; i < 9; ++i) {
    if (i < 2) {
      permits[static_cast<size_t>(i)].Success();
    } else {
      permits[static_cast<size_t>(i)].Failure();
    }
  }
  auto collector = std::make_shared<prometheus::Collector>(registry_);
  Scraper scraper(collector);
  std::map<std::string, double> s = ParseScrape(scraper.Scrape());
  // 9 requests, 2 accepts: (9 - 2 x 2) / (9 + 1).
  EXPECT_DOUBLE_EQ(s[Key("throttle_probability", "breaker=\"quotes\"")], 0.5);
  EXPECT_EQ(s.count(Key("throttle_probability", "breaker=\"plain\"")), 0u);
  EXPECT_EQ(s[Key("throttled_total", "breaker=\"quotes\"")], 0);  // none drawn yet
  EXPECT_EQ(s.count(Key("throttled_total", "breaker=\"plain\"")), 0u);
}

TEST_F(CollectorTest, LatencyPercentileShowsTheLastJudgment) {
  BreakerConfig timed = Defaults();
  timed.window_type = WindowType::kTimeBased;
  timed.window_duration = absl::Seconds(10);
  timed.window_buckets = 10;
  timed.minimum_calls = 100;  // shown below the minimum too; no trip
  timed.latency_percentile = 99;
  timed.latency_percentile_threshold = absl::Milliseconds(250);
  timed.slow_call_clock = SlowCallClock::kCaller;
  ASSERT_TRUE(registry_.SetOverride("search", timed).ok());
  std::shared_ptr<Breaker> search = registry_.GetOrCreate("search").value();
  for (int i = 0; i < 50; ++i) search->TryAcquire().Success(absl::Milliseconds(i < 49 ? 3 : 40));
  clock_.Advance(absl::Seconds(1));
  search->TryAcquire().Success(absl::Milliseconds(3));  // the bucket's judge
  auto collector = std::make_shared<prometheus::Collector>(registry_);
  Scraper scraper(collector);
  std::map<std::string, double> s = ParseScrape(scraper.Scrape());
  // p99 of 50 is the 50th smallest: the 40 ms call's bin, (37.5 ms, 40 ms].
  EXPECT_DOUBLE_EQ(s[Key("latency_percentile_seconds", "breaker=\"search\"")], 0.04);
  EXPECT_EQ(s[Key("state", "breaker=\"search\",state=\"closed\"")], 1);
}

TEST_F(CollectorTest, SharedBreakersShowWhetherTheyHaveTheSharedState) {
  std::shared_ptr<Breaker> payments = registry_.GetOrCreate("payments").value();
  registry_.GetOrCreate("local").value();
  auto collector = std::make_shared<prometheus::Collector>(registry_);
  Scraper scraper(collector);
  const std::string shared = Key("sharing", "breaker=\"payments\",sharing=\"shared\"");
  const std::string degraded = Key("sharing", "breaker=\"payments\",sharing=\"degraded\"");
  std::map<std::string, double> s = ParseScrape(scraper.Scrape());
  EXPECT_EQ(s.count(shared), 0u);  // not shared: no series
  internal::SharedControl::SetSharing(*payments, Sharing::kShared, absl::OkStatus());
  s = ParseScrape(scraper.Scrape());
  EXPECT_EQ(s[shared], 1);
  EXPECT_EQ(s[degraded], 0);
  EXPECT_EQ(s.count(Key("sharing", "breaker=\"local\",sharing=\"shared\"")), 0u);
  internal::SharedControl::SetSharing(*payments, Sharing::kDegraded,
                                      absl::UnavailableError("no Redis"));
  s = ParseScrape(scraper.Scrape());
  EXPECT_EQ(s[shared], 0);
  EXPECT_EQ(s[degraded], 1);
  // Registry::Health() names it, and stays healthy: the breaker decides alone.
  const HealthSummary health = registry_.Health();
  EXPECT_TRUE(health.healthy);
  EXPECT_EQ(health.sharing_degraded, std::vector<std::string>{"payments"});
  EXPECT_THAT(health.ToJson(), ::testing::HasSubstr(R"("sharing_degraded":["payments"])"));
  internal::SharedControl::SetSharing(*payments, Sharing::kLocal, absl::OkStatus());
  EXPECT_EQ(ParseScrape(scraper.Scrape()).count(shared), 0u);
}

TEST_F(CollectorTest, OptionsAddLabelsAndAPrefixAndAreValidated) {
  registry_.GetOrCreate("payments").value()->TryAcquire().Success();
  prometheus::CollectorOptions options;
  options.prefix = "shop_dependency";
  options.const_labels = {{"service", "checkout"}, {"zone", "eu-1"}};
  absl::StatusOr<std::shared_ptr<prometheus::Collector>> collector =
      prometheus::Collector::Create(registry_, options);
  ASSERT_TRUE(collector.ok()) << collector.status();
  ::prometheus::TextSerializer serializer;
  const std::string text = serializer.Serialize((*collector)->Collect());
  const std::map<std::string, double> s = ParseScrape(text);
  EXPECT_EQ(s.at("shop_dependency_calls_total{breaker=\"payments\",outcome=\"successful\","
                 "service=\"checkout\",zone=\"eu-1\"}"),
            1);
  EXPECT_EQ(PromtoolCheckMetrics(text).exit_status, 0);

  struct Bad {
    prometheus::CollectorOptions options;
    std::string field;
  };
  std::vector<Bad> bad(4);
  bad[0].options.prefix = "";
  bad[0].field = "CollectorOptions.prefix";
  bad[1].options.prefix = "9lives";
  bad[1].field = "CollectorOptions.prefix";
  bad[2].options.const_labels = {{"breaker", "x"}};
  bad[2].field = "CollectorOptions.const_labels";
  bad[3].options.const_labels = {{"has-dash", "x"}};
  bad[3].field = "CollectorOptions.const_labels";
  bad.emplace_back();
  bad.back().options.bulkhead_prefix = "bad prefix";
  bad.back().field = "CollectorOptions.bulkhead_prefix";
  bad.emplace_back();
  bad.back().options.const_labels = {{"bulkhead", "x"}};
  bad.back().field = "CollectorOptions.const_labels";
  for (const Bad& b : bad) {
    absl::StatusOr<std::shared_ptr<prometheus::Collector>> created =
        prometheus::Collector::Create(registry_, b.options);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(created.status().message().find(b.field), std::string::npos) << created.status();
  }
}

TEST_F(CollectorTest, BreakerNamesAreEscapedInLabelValues) {
  registry_.GetOrCreate("db \"main\"\\primary\nwest").value()->TryAcquire().Failure();
  ::prometheus::TextSerializer serializer;
  const std::string text = serializer.Serialize(prometheus::Collector(registry_).Collect());
  const std::map<std::string, double> s = ParseScrape(text);
  EXPECT_EQ(s.at("circuit_breaker_calls_total{breaker=\"db \"main\"\\primary\nwest\","
                 "outcome=\"failed\"}"),
            1);
  EXPECT_EQ(PromtoolCheckMetrics(text).exit_status, 0) << text;
}

// The alerting rules (docs/alerts/) name only series the export has.
TEST_F(CollectorTest, TheAlertRulesNameOnlyExportedSeries) {
  BreakerConfig every = Defaults();
  every.failure_rate_threshold = 50;
  every.slow_call_rate_threshold = 50;
  every.minimum_calls = 1;
  every.record_call_durations = true;
  ASSERT_TRUE(registry_.SetOverride("every", every).ok());
  registry_.GetOrCreate("every").value()->TryAcquire().Success();
  // Shared (the distributed mode's hold, as a coordinator sets it): the
  // sharing series are exported only for shared breakers.
  internal::SharedControl::SetSharing(*registry_.Find("every"), Sharing::kDegraded,
                                      absl::UnavailableError("no Redis"));
  std::set<std::string> exported;
  for (const ::prometheus::MetricFamily& family : prometheus::Collector(registry_).Collect()) {
    exported.insert(family.name);
  }

  const char* srcdir = std::getenv("TEST_SRCDIR");
  ASSERT_NE(srcdir, nullptr) << "run under bazel test";
  const std::string path =
      absl::StrCat(srcdir, "/circuit/docs/alerts/circuit_breaker.rules.yml");
  std::ifstream file(path);
  ASSERT_TRUE(file) << path;
  const std::string rules((std::istreambuf_iterator<char>(file)),
                          std::istreambuf_iterator<char>());
  // Every circuit_breaker_[a-z_]+ in the file (std::regex is avoided: GCC
  // 12 warns inside it under the sanitizers' -O1).
  const std::string prefix = "circuit_breaker_";
  int named = 0;
  for (size_t at = rules.find(prefix); at != std::string::npos; at = rules.find(prefix, at)) {
    size_t end = at + prefix.size();
    while (end < rules.size() && (std::islower(static_cast<unsigned char>(rules[end])) != 0 ||
                                  rules[end] == '_')) {
      ++end;
    }
    const std::string name = rules.substr(at, end - at);
    at = end;
    ++named;
    EXPECT_EQ(exported.count(name), 1u) << name << " is in the rules but not exported";
  }
  EXPECT_GT(named, 10);
}

// Scrapes run on the exposer's threads while calls, transitions and
// registry changes run on others: nothing tears, nothing blocks a call
// (the sanitizer runs of this test check the races).
TEST_F(CollectorTest, ScrapesRunConcurrentlyWithCallsAndRegistryChanges) {
  auto collector = std::make_shared<prometheus::Collector>(registry_);
  Scraper scraper(collector);
  // The five breakers exist before the first scrape: a scrape of an empty
  // registry has no breaker series (the callers remove and recreate one at
  // a time, never all five), and a loaded machine (the asan run of CI) may
  // scrape before either caller has run.
  for (int i = 0; i < 5; ++i) registry_.GetOrCreate(absl::StrCat("dep", i)).value();
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t) {
    callers.emplace_back([this, &stop, t] {
      int i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string name = absl::StrCat("dep", (i++ + t) % 5);
        std::shared_ptr<Breaker> b = registry_.GetOrCreate(name).value();
        if (Permit p = b->TryAcquire()) {
          if (i % 3 == 0) p.Failure(); else p.Success();
        }
        if (i % 97 == 0) registry_.Remove(name);
        if (i % 89 == 0) registry_.ResetAll();
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    const std::string text = scraper.Scrape();
    EXPECT_NE(text.find("circuit_breaker_calls_total"), std::string::npos);
    ParseScrape(text);
  }
  stop = true;
  for (std::thread& t : callers) t.join();
}

}  // namespace
}  // namespace circuit
