// circuit::Registry: defaults and overrides, one breaker per name however
// many threads ask, lists by state, operators' levers by name, removal while
// a caller holds the breaker, and the health summary with its JSON.
#include "circuit/registry.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

BreakerConfig Defaults(FakeClock* clock) {
  BreakerConfig config;
  config.clock = clock;
  config.consecutive_failures_to_open = 2;
  config.open_duration = absl::Seconds(10);
  config.max_open_duration = absl::Seconds(10);
  return config;
}

void FailTwice(Breaker& breaker) {
  for (int i = 0; i < 2; ++i) {
    Permit permit = breaker.TryAcquire();
    ASSERT_TRUE(permit);
    permit.Failure();
  }
}

TEST(RegistryTest, CreatesFromTheDefaultsOrTheOverrideOnFirstUse) {
  FakeClock clock;
  Registry registry(Defaults(&clock));
  BreakerConfig slow = Defaults(&clock);
  slow.consecutive_failures_to_open = 5;
  ASSERT_TRUE(registry.SetOverride("search", slow).ok());

  auto payments = registry.GetOrCreate("payments");
  ASSERT_TRUE(payments.ok()) << payments.status();
  EXPECT_EQ((*payments)->name(), "payments");
  EXPECT_EQ((*payments)->config().consecutive_failures_to_open, 2);
  auto search = registry.GetOrCreate("search");
  ASSERT_TRUE(search.ok());
  EXPECT_EQ((*search)->name(), "search");
  EXPECT_EQ((*search)->config().consecutive_failures_to_open, 5);

  // The same name gives the same breaker.
  EXPECT_EQ(registry.GetOrCreate("payments").value(), *payments);
  EXPECT_EQ(registry.Find("payments"), *payments);
  EXPECT_EQ(registry.Find("absent"), nullptr);
  EXPECT_THAT(registry.Names(), ElementsAre("payments", "search"));
  EXPECT_EQ(registry.All().size(), 2u);
}

TEST(RegistryTest, BadNamesAndConfigsGetClearErrors) {
  FakeClock clock;
  Registry registry(Defaults(&clock));
  EXPECT_EQ(registry.GetOrCreate("").status().code(), absl::StatusCode::kInvalidArgument);
  BreakerConfig bad = Defaults(&clock);
  bad.window_size = 0;
  bad.failure_rate_threshold = 50;
  const absl::Status status = registry.SetOverride("x", bad);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("BreakerConfig.window_size"));
  // An override for a breaker that exists already would be silently unused.
  ASSERT_TRUE(registry.GetOrCreate("y").ok());
  EXPECT_EQ(registry.SetOverride("y", Defaults(&clock)).code(),
            absl::StatusCode::kFailedPrecondition);

  // Invalid defaults: every creation says why, nothing is registered.
  BreakerConfig broken = Defaults(&clock);
  broken.open_jitter = 2;
  Registry bad_defaults(broken);
  const auto made = bad_defaults.GetOrCreate("z");
  EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(made.status().message()), HasSubstr("open_jitter"));
  EXPECT_TRUE(bad_defaults.Names().empty());
}

TEST(RegistryTest, ManyThreadsAskingForANameGetOneBreaker) {
  FakeClock clock;
  Registry registry(Defaults(&clock));
  constexpr int kThreads = 8;
  std::vector<std::shared_ptr<Breaker>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { got[t] = registry.GetOrCreate("shared").value(); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& breaker : got) EXPECT_EQ(breaker, got[0]);
  EXPECT_EQ(registry.All().size(), 1u);
}

TEST(RegistryTest, ListsByStateAndLeversByName) {
  FakeClock clock;
  Registry registry(Defaults(&clock));
  auto a = registry.GetOrCreate("a").value();
  auto b = registry.GetOrCreate("b").value();
  auto c = registry.GetOrCreate("c").value();
  FailTwice(*a);
  FailTwice(*b);
  clock.Advance(absl::Seconds(10));
  Permit trial = b->TryAcquire();  // b: HALF_OPEN
  ASSERT_TRUE(trial.is_trial());
  EXPECT_THAT(registry.Open(), ElementsAre("a"));
  EXPECT_THAT(registry.HalfOpen(), ElementsAre("b"));
  EXPECT_THAT(registry.Closed(), ElementsAre("c"));

  EXPECT_TRUE(registry.ForceOpen("c"));
  EXPECT_EQ(c->state(), State::kForcedOpen);
  EXPECT_FALSE(registry.ForceOpen("nope"));
  EXPECT_TRUE(registry.Reset("a"));
  EXPECT_EQ(a->state(), State::kClosed);
  EXPECT_FALSE(registry.Reset("nope"));
  trial.Success();  // closes b
  registry.ResetAll();
  EXPECT_THAT(registry.Closed(), ElementsAre("a", "b", "c"));
}

TEST(RegistryTest, RemoveLeavesHoldersAWorkingBreaker) {
  FakeClock clock;
  Registry registry(Defaults(&clock));
  std::shared_ptr<Breaker> held = registry.GetOrCreate("payments").value();
  Permit permit = held->TryAcquire();
  EXPECT_TRUE(registry.Remove("payments"));
  EXPECT_FALSE(registry.Remove("payments"));
  EXPECT_EQ(registry.Find("payments"), nullptr);
  // The holder's breaker still counts, and its permit resolves.
  permit.Success();
  FailTwice(*held);
  EXPECT_EQ(held->state(), State::kOpen);
  EXPECT_EQ(held->Metrics().successes, 1u);
  // A new breaker under the same name starts afresh.
  std::shared_ptr<Breaker> fresh = registry.GetOrCreate("payments").value();
  EXPECT_NE(fresh, held);
  EXPECT_EQ(fresh->state(), State::kClosed);
}

TEST(RegistryTest, HealthIsDegradedWhileABreakerIsNotClosedAndSaysWhy) {
  FakeClock clock;
  Registry registry(Defaults(&clock));
  EXPECT_TRUE(registry.Health().healthy);
  EXPECT_EQ(registry.Health().ToJson(), R"({"status":"healthy","breakers":0,"not_closed":[],"sharing_degraded":[]})");
  auto payments = registry.GetOrCreate("pay\"ments").value();  // a name that needs escaping
  auto search = registry.GetOrCreate("search").value();
  search->Disable();  // disabled counts as healthy
  EXPECT_TRUE(registry.Health().healthy);

  FailTwice(*payments);
  clock.Advance(absl::Seconds(4));
  const HealthSummary health = registry.Health();
  EXPECT_FALSE(health.healthy);
  EXPECT_EQ(health.breakers, 2);
  ASSERT_EQ(health.not_closed.size(), 1u);
  EXPECT_EQ(health.not_closed[0].name, "pay\"ments");
  EXPECT_EQ(health.not_closed[0].state, State::kOpen);
  EXPECT_EQ(health.not_closed[0].last_trip.cause, TripCause::kConsecutiveFailures);
  EXPECT_EQ(health.not_closed[0].open_remaining, absl::Seconds(6));
  EXPECT_EQ(health.ToJson(),
            R"({"status":"degraded","breakers":2,"not_closed":[{"name":"pay\"ments",)"
            R"("state":"OPEN","last_trip":{"cause":"CONSECUTIVE_FAILURES","value":2,)"
            R"("threshold":2},"open_remaining_seconds":6}],"sharing_degraded":[]})");

  registry.ForceOpen("search");
  EXPECT_THAT(registry.Health().ToJson(), HasSubstr(R"("open_remaining_seconds":null)"));
  registry.ResetAll();
  EXPECT_TRUE(registry.Health().healthy);
}

TEST(RegistryBulkheadTest, BulkheadsAreNamedSharedAndRemovableWhileHeld) {
  Registry registry;
  BulkheadConfig config;
  config.max_concurrent = 3;
  config.name = "ignored: the registry names it";
  std::shared_ptr<Bulkhead> db = registry.GetOrCreateBulkhead("db", config).value();
  EXPECT_EQ(db->name(), "db");
  EXPECT_EQ(db->config().max_concurrent, 3);
  // An existing bulkhead keeps its config.
  EXPECT_EQ(registry.GetOrCreateBulkhead("db").value(), db);
  EXPECT_EQ(registry.FindBulkhead("db"), db);
  EXPECT_EQ(registry.FindBulkhead("cache"), nullptr);
  EXPECT_EQ(registry.GetOrCreateBulkhead("").status().code(), absl::StatusCode::kInvalidArgument);
  BulkheadConfig bad;
  bad.max_concurrent = 0;
  const absl::Status invalid = registry.GetOrCreateBulkhead("cache", bad).status();
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(invalid.message().find("BulkheadConfig.max_concurrent"), absl::string_view::npos);
  EXPECT_EQ(registry.FindBulkhead("cache"), nullptr);
  // Breakers and bulkheads are separate namespaces.
  EXPECT_EQ(registry.Find("db"), nullptr);
  ASSERT_EQ(registry.AllBulkheads().size(), 1u);

  BulkheadSlot slot = db->TryAcquire();
  EXPECT_TRUE(registry.RemoveBulkhead("db"));
  EXPECT_FALSE(registry.RemoveBulkhead("db"));
  EXPECT_TRUE(registry.AllBulkheads().empty());
  EXPECT_EQ(db->Metrics().in_flight, 1u);  // the holder's bulkhead still works
  slot.Release();
  EXPECT_NE(registry.GetOrCreateBulkhead("db").value(), db);  // a new one
}

}  // namespace
}  // namespace circuit
