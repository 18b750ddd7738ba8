// circuit::Bulkhead: the limit, the wait, the rejection value, the slot
// given back whatever happens, and the composition with a breaker.
#include "circuit/bulkhead.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Bulkhead> MakeBulkhead(int max_concurrent,
                                       absl::Duration max_wait = absl::ZeroDuration()) {
  BulkheadConfig config;
  config.name = "db";
  config.max_concurrent = max_concurrent;
  config.max_wait = max_wait;
  absl::StatusOr<std::unique_ptr<Bulkhead>> bulkhead = Bulkhead::Create(config);
  EXPECT_TRUE(bulkhead.ok()) << bulkhead.status();
  return std::move(bulkhead).value();
}

TEST(BulkheadConfigTest, EachBadFieldIsNamed) {
  struct Case {
    BulkheadConfig config;
    std::string message;
  };
  std::vector<Case> cases(5);
  cases[0].config.name = "";
  cases[0].message = "BulkheadConfig.name";
  cases[1].config.max_concurrent = 0;
  cases[1].message = "BulkheadConfig.max_concurrent must be in 1..1000000, got 0";
  cases[2].config.max_concurrent = 1'000'001;
  cases[2].message = "BulkheadConfig.max_concurrent";
  cases[3].config.max_wait = -absl::Milliseconds(1);
  cases[3].message = "BulkheadConfig.max_wait must be in 0..1h, got -1ms";
  cases[4].config.max_wait = absl::InfiniteDuration();
  cases[4].message = "BulkheadConfig.max_wait";
  for (const Case& c : cases) {
    const absl::Status status = ValidateBulkheadConfig(c.config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message));
    EXPECT_EQ(Bulkhead::Create(c.config).status(), status);
  }
  EXPECT_TRUE(ValidateBulkheadConfig(BulkheadConfig()).ok());
}

TEST(BulkheadTest, AdmitsUpToTheLimitThenRefusesWithAValue) {
  std::unique_ptr<Bulkhead> bulkhead = MakeBulkhead(2);
  BulkheadSlot a = bulkhead->TryAcquire();
  BulkheadSlot b = bulkhead->TryAcquire();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  BulkheadSlot refused = bulkhead->TryAcquire();
  EXPECT_FALSE(refused);
  EXPECT_TRUE(refused.rejected());
  const absl::Status status = refused.RejectionStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "bulkhead 'db' is full: 2 calls in flight of 2");
  EXPECT_TRUE(IsBulkheadRejection(status));
  EXPECT_FALSE(IsBulkheadRejection(absl::ResourceExhaustedError("quota")));
  EXPECT_FALSE(IsRejection(status)) << "not a breaker's rejection";
  EXPECT_TRUE(a.RejectionStatus().ok());

  BulkheadMetrics m = bulkhead->Metrics();
  EXPECT_EQ(m.in_flight, 2u);
  EXPECT_EQ(m.max_in_flight, 2u);
  EXPECT_EQ(m.rejected, 1u);
  EXPECT_EQ(m.max_concurrent, 2);

  a.Release();
  a.Release();  // idempotent
  EXPECT_EQ(bulkhead->Metrics().in_flight, 1u);
  EXPECT_TRUE(bulkhead->TryAcquire());  // taken and given back at once
  {
    BulkheadSlot moved = std::move(b);
    EXPECT_FALSE(b);  // NOLINT: moved-from is empty
    EXPECT_EQ(bulkhead->Metrics().in_flight, 1u);
  }
  m = bulkhead->Metrics();
  EXPECT_EQ(m.in_flight, 0u);
  EXPECT_EQ(m.max_in_flight, 2u);
}

// A thread's first CAS guesses the word from its last take, of whichever
// bulkhead: a guess from another bulkhead must never admit or refuse wrongly.
TEST(BulkheadTest, TakesAlternatingBetweenBulkheadsAreJudgedOnTheirOwnWords) {
  std::unique_ptr<Bulkhead> one = MakeBulkhead(1);
  std::unique_ptr<Bulkhead> three = MakeBulkhead(3);
  BulkheadSlot a = one->TryAcquire();
  ASSERT_TRUE(a);
  std::vector<BulkheadSlot> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(three->TryAcquire());
    ASSERT_TRUE(held.back()) << i;
    EXPECT_FALSE(one->TryAcquire()) << "guessing from the other bulkhead, " << i;
  }
  EXPECT_FALSE(three->TryAcquire());
  a.Release();
  EXPECT_TRUE(one->TryAcquire());
  held.pop_back();
  BulkheadSlot again = three->TryAcquire();
  EXPECT_TRUE(again);
  EXPECT_EQ(three->Metrics().in_flight, 3u);
  EXPECT_EQ(three->Metrics().max_in_flight, 3u);
  EXPECT_EQ(one->Metrics().rejected, 3u);
  EXPECT_EQ(three->Metrics().rejected, 1u);
}

TEST(BulkheadTest, ASlotMayBeGivenBackOnAnotherThread) {
  std::unique_ptr<Bulkhead> bulkhead = MakeBulkhead(1);
  BulkheadSlot slot = bulkhead->TryAcquire();
  ASSERT_TRUE(slot);
  std::thread([s = std::move(slot)]() mutable { s.Release(); }).join();
  EXPECT_EQ(bulkhead->Metrics().in_flight, 0u);
  EXPECT_TRUE(bulkhead->TryAcquire());
}

TEST(BulkheadTest, CallGivesTheSlotBackHoweverFnEnds) {
  std::unique_ptr<Bulkhead> bulkhead = MakeBulkhead(1);
  EXPECT_TRUE(bulkhead->Call([] {}).ok());
  EXPECT_EQ(bulkhead->Call([] { return absl::InternalError("x"); }).code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(bulkhead->Call([] { return 7; }).value(), 7);
  EXPECT_EQ(*bulkhead->Call([] { return std::make_unique<int>(8); }).value(), 8);
  EXPECT_EQ(bulkhead->Call([] { return absl::StatusOr<int>(9); }).value(), 9);
  EXPECT_THROW(bulkhead->Call([]() -> int { throw std::runtime_error("boom"); }),
               std::runtime_error);
  EXPECT_EQ(bulkhead->Metrics().in_flight, 0u);
  // Full: Call() returns the rejection without running fn.
  BulkheadSlot held = bulkhead->TryAcquire();
  bool ran = false;
  const absl::StatusOr<int> refused = bulkhead->Call([&] {
    ran = true;
    return 1;
  });
  EXPECT_FALSE(ran);
  EXPECT_TRUE(IsBulkheadRejection(refused.status()));
}

class BulkheadAndBreakerTest : public ::testing::Test {
 protected:
  BulkheadAndBreakerTest() : bulkhead_(MakeBulkhead(1)) {
    BreakerConfig config;
    config.clock = &clock_;
    config.consecutive_failures_to_open = 2;
    breaker_ = Breaker::Create(config).value();
  }
  FakeClock clock_;
  std::unique_ptr<Bulkhead> bulkhead_;
  std::unique_ptr<Breaker> breaker_;
};

TEST_F(BulkheadAndBreakerTest, ACallRunsOnlyIfBothAdmitItAndTheBreakerCountsOnlyWhatRan) {
  EXPECT_EQ(bulkhead_->Call(*breaker_, [] { return 1; }).value(), 1);
  EXPECT_EQ(breaker_->Metrics().successes, 1u);

  // The bulkhead refuses: the breaker never hears of the call.
  BulkheadSlot held = bulkhead_->TryAcquire();
  const absl::Status refused = bulkhead_->Call(*breaker_, [] { return absl::OkStatus(); });
  EXPECT_TRUE(IsBulkheadRejection(refused));
  EXPECT_EQ(breaker_->Metrics().permitted, 1u);
  held.Release();

  // The breaker rejects: the slot is given back at once.
  breaker_->ForceOpen();
  const absl::Status rejected = bulkhead_->Call(*breaker_, [] { return absl::OkStatus(); });
  EXPECT_TRUE(IsRejection(rejected));
  EXPECT_EQ(bulkhead_->Metrics().in_flight, 0u);
  breaker_->Reset();

  // Failures are the breaker's to count, and the slot still comes back.
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(bulkhead_->Call(*breaker_, [] { return absl::UnavailableError("down"); }).ok());
  }
  EXPECT_EQ(breaker_->state(), State::kOpen);
  EXPECT_EQ(bulkhead_->Metrics().in_flight, 0u);
  // An exception through both: recorded by the breaker, rethrown, and the
  // slot comes back.
  breaker_->Reset();
  EXPECT_THROW(bulkhead_->Call(*breaker_, []() -> int { throw std::runtime_error("x"); }),
               std::runtime_error);
  EXPECT_EQ(breaker_->Metrics().failures, 3u);
  EXPECT_EQ(bulkhead_->Metrics().in_flight, 0u);
}

TEST_F(BulkheadAndBreakerTest, AFallbackGetsTheBulkheadsRejectionAsItsReason) {
  BulkheadSlot held = bulkhead_->TryAcquire();
  absl::Status reason;
  const absl::StatusOr<std::string> result = bulkhead_->Call(
      *breaker_, [](const std::string& id) { return "live " + id; },
      [&](const absl::Status& why, const std::string& id) {
        reason = why;
        return "cached " + id;
      },
      std::string("q1"));
  EXPECT_EQ(result.value(), "cached q1");
  EXPECT_TRUE(IsBulkheadRejection(reason));
  EXPECT_EQ(breaker_->Metrics().permitted, 0u);
  held.Release();
  EXPECT_EQ(bulkhead_->Call(
                    *breaker_, [](const std::string& id) { return "live " + id; },
                    [](const std::string& id) { return "cached " + id; }, std::string("q2"))
                .value(),
            "live q2");
}

TEST(BulkheadWaitTest, AWaiterGetsASlotGivenBackWhileItWaits) {
  std::unique_ptr<Bulkhead> bulkhead = MakeBulkhead(1, absl::Seconds(30));
  BulkheadSlot held = bulkhead->TryAcquire();
  std::atomic<bool> admitted{false};
  std::thread waiter([&] {
    BulkheadSlot slot = bulkhead->Acquire();
    admitted = static_cast<bool>(slot);
  });
  // Give the slot back once the waiter is registered as waiting.
  while (bulkhead->Metrics().waiting == 0) std::this_thread::yield();
  held.Release();
  waiter.join();
  EXPECT_TRUE(admitted);
  const BulkheadMetrics m = bulkhead->Metrics();
  EXPECT_EQ(m.waited, 1u);
  EXPECT_EQ(m.rejected, 0u);
  EXPECT_EQ(m.waiting, 0u);
  EXPECT_EQ(m.in_flight, 0u);
}

// No caller is blocked past max_wait: a full bulkhead that never frees
// refuses after the wait, saying it waited.
TEST(BulkheadWaitTest, AWaiterIsRefusedAfterMaxWaitAndNoLater) {
  const absl::Duration max_wait = absl::Milliseconds(30);
  std::unique_ptr<Bulkhead> bulkhead = MakeBulkhead(1, max_wait);
  BulkheadSlot held = bulkhead->TryAcquire();
  const absl::Time start = absl::Now();
  BulkheadSlot refused = bulkhead->Acquire();
  const absl::Duration took = absl::Now() - start;
  EXPECT_FALSE(refused);
  EXPECT_GE(took, max_wait);
  EXPECT_LT(took, max_wait + absl::Seconds(5)) << "a generous bound: the machine may be busy";
  EXPECT_THAT(std::string(refused.RejectionStatus().message()), HasSubstr("(waited 30ms)"));
  const BulkheadMetrics m = bulkhead->Metrics();
  EXPECT_EQ(m.waited, 1u);
  EXPECT_EQ(m.rejected, 1u);
  EXPECT_GE(m.wait_time, max_wait);
  // TryAcquire() never waits, whatever max_wait says.
  EXPECT_FALSE(bulkhead->TryAcquire());
  EXPECT_EQ(bulkhead->Metrics().waited, 1u);
}

TEST(BulkheadStressTest, NeverMoreInFlightThanTheLimitAndEverySlotComesBack) {
  for (const absl::Duration max_wait : {absl::ZeroDuration(), absl::Seconds(60)}) {
    constexpr int kLimit = 3;
    constexpr int kThreads = 8;
    constexpr int kCalls = 5000;
    std::unique_ptr<Bulkhead> bulkhead = MakeBulkhead(kLimit, max_wait);
    std::atomic<int> inside{0};
    std::atomic<int> most{0};
    std::atomic<int> admitted{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kCalls; ++i) {
          BulkheadSlot slot = bulkhead->Acquire();
          if (!slot) {
            refused.fetch_add(1);
            continue;
          }
          const int now = inside.fetch_add(1) + 1;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          admitted.fetch_add(1);
          inside.fetch_sub(1);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    const BulkheadMetrics m = bulkhead->Metrics();
    EXPECT_LE(most.load(), kLimit);
    EXPECT_LE(m.max_in_flight, static_cast<uint32_t>(kLimit));
    EXPECT_EQ(m.in_flight, 0u);
    EXPECT_EQ(m.waiting, 0u);
    EXPECT_EQ(admitted.load() + refused.load(), kThreads * kCalls);
    EXPECT_EQ(m.rejected, static_cast<uint64_t>(refused.load()));
    if (max_wait > absl::ZeroDuration()) {
      EXPECT_EQ(refused.load(), 0) << "with a minute to wait, every call gets a slot";
    }
  }
}

TEST(BulkheadDeathTest, DestroyingItWithASlotTakenAborts) {
  EXPECT_DEATH(
      {
        std::unique_ptr<Bulkhead> bulkhead = MakeBulkhead(1);
        BulkheadSlot* leaked = new BulkheadSlot(bulkhead->TryAcquire());
        (void)leaked;
        bulkhead.reset();
      },
      "Bulkhead 'db' destroyed with 1 slots taken");
}

}  // namespace
}  // namespace circuit
