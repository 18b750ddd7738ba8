// README.md's C++ blocks, compiled (tests/readme_blocks.py extracts them
// into readme_blocks.h, with -Wall -Wextra -Werror like every test) and
// the quick start run against the stubs of tests/readme_stubs.h: it does
// what the README says it does.
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "circuit/circuit.h"
#include "circuit/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/readme_blocks.h"

namespace readme {
namespace {

using ::testing::HasSubstr;

TEST(ReadmeTest, EveryCppBlockCompiles) {
  // The build of this file is the test; this names it in the results.
  SUCCEED();
}

TEST(ReadmeTest, TheQuickStartsClientOpensItsBreakerAndFallsBackToItsCache) {
  PaymentsApi api;
  absl::StatusOr<std::unique_ptr<PaymentsClient>> created = PaymentsClient::Create(&api);
  ASSERT_TRUE(created.ok()) << created.status();
  PaymentsClient& payments = **created;

  const Order cached_order{"cached"};
  ASSERT_TRUE(Checkout(payments, cached_order).ok());  // quoted (and cached), charged

  // The service goes down: with the 2 calls above, 18 failures make the
  // 20 calls of minimum_calls, at 90 % failures (>= 50 %): open.
  api.health = absl::UnavailableError("payments down");
  for (int i = 0; i < 18; ++i) {
    ASSERT_EQ(payments.Charge(Order{"o" + std::to_string(i)}), api.health)
        << "call " << i << " did not reach the service";
  }
  const int calls_before = api.calls;

  const absl::Status rejected = payments.Charge(Order{"late"});
  EXPECT_TRUE(circuit::IsRejection(rejected)) << rejected;
  EXPECT_THAT(std::string(rejected.message()), HasSubstr("'payments' is OPEN; retry in 30s"));

  // The fallback: the cached quote, or why there is none.
  const absl::StatusOr<Quote> from_cache = payments.GetQuote(cached_order);
  ASSERT_TRUE(from_cache.ok()) << from_cache.status();
  EXPECT_EQ(from_cache->cents, 100);
  const absl::StatusOr<Quote> none = payments.GetQuote(Order{"never quoted"});
  EXPECT_TRUE(circuit::IsRejection(none.status())) << none.status();
  EXPECT_TRUE(circuit::IsRejection(Checkout(payments, cached_order)));
  EXPECT_EQ(api.calls, calls_before) << "an open breaker lets no call through";
}

TEST(ReadmeTest, A429WithRetryAfterOpensTheBreakerForThatLong) {
  circuit::FakeClock clock;
  circuit::BreakerConfig config;
  config.name = "http";
  config.clock = &clock;
  auto breaker = circuit::Breaker::Create(config).value();
  HttpClient http;
  ASSERT_TRUE(Send(*breaker, http, Request{"/a"}).ok());
  http.next = HttpResponse{429, absl::Seconds(30)};
  EXPECT_FALSE(Send(*breaker, http, Request{"/b"}).ok());
  EXPECT_EQ(breaker->state(), circuit::State::kOpen);  // one 429, not 5 failures
  const absl::Status rejected = Send(*breaker, http, Request{"/c"});
  EXPECT_THAT(std::string(rejected.message()), HasSubstr("retry in 30s"));
  EXPECT_EQ(http.calls, 2);
  http.next = HttpResponse{};
  clock.Advance(absl::Seconds(30));
  EXPECT_TRUE(Send(*breaker, http, Request{"/d"}).ok());  // the trial
  EXPECT_EQ(breaker->state(), circuit::State::kClosed);
}

TEST(ReadmeTest, ARateThresholdAloneDoesNotOpenOnAShortRunOfFailures) {
  // The quick start sets a rate and leaves consecutive_failures_to_open
  // unset: 19 failures in a row (under minimum_calls) do not open it, as 5
  // would with the consecutive trip's default.
  PaymentsApi api;
  std::unique_ptr<PaymentsClient> payments = PaymentsClient::Create(&api).value();
  api.health = absl::UnavailableError("payments down");
  for (int i = 0; i < 19; ++i) EXPECT_FALSE(circuit::IsRejection(payments->Charge(Order{})));
  EXPECT_EQ(payments->Charge(Order{}), api.health) << "the 20th call is still made";
}

}  // namespace
}  // namespace readme
