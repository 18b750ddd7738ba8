// File: tests/redis/shared_test.cc
// The distributed mode (circuit/redis/shared.h) against a real redis-server
// (tests/redis/redis_server.h): instances are separate Coordinators, each
// with its own connection, sharing breakers by name. Rounds are driven with
// SyncNow() (the background interval is an hour), so every step is
// deterministic but for Redis's clock, which the open periods are kept far
// from.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/circuit.h"
#include "circuit/redis/shared.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/redis/redis_server.h"

namespace circuit {
namespace redis {
namespace {

using ::circuit::testing::RedisConnection;
using ::circuit::testing::RedisServer;
using ::testing::HasSubstr;

// A config that trips on a 50 % failure rate over the last 10 calls.
BreakerConfig RateConfig(const std::string& name) {
  BreakerConfig config;
  config.name = name;
  config.failure_rate_threshold = 50;
  config.window_size = 10;
  config.minimum_calls = 10;
  config.open_duration = absl::Milliseconds(300);
  config.half_open_trial_calls = 2;
  config.half_open_max_concurrent = 2;
  return config;
}

class SharedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // hiredis writes to a server that may be gone
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
  }

  RedisOptions Options() const {
    RedisOptions options;
    options.unix_socket = server_->unix_socket();
    options.sync_interval = absl::Hours(1);  // rounds are driven by SyncNow()
    options.reconnect_backoff = absl::ZeroDuration();
    return options;
  }

  std::unique_ptr<Coordinator> NewInstance() {
    absl::StatusOr<std::unique_ptr<Coordinator>> made = Coordinator::Create(Options());
    EXPECT_TRUE(made.ok()) << made.status();
    return made.ok() ? std::move(made).value() : nullptr;
  }

  static void Outcomes(Breaker& breaker, int successes, int failures) {
    for (int i = 0; i < successes; ++i) {
      Permit p = breaker.TryAcquire();
      ASSERT_TRUE(p);
      p.Success();
    }
    for (int i = 0; i < failures; ++i) {
      Permit p = breaker.TryAcquire();
      ASSERT_TRUE(p);
      p.Failure();
    }
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(SharedTest, FailuresSpreadAcrossInstancesOpenEveryOne) {
  auto a = NewInstance();
  auto b = NewInstance();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("payments")).value();
  std::shared_ptr<Breaker> on_b = b->Share(RateConfig("payments")).value();
  ASSERT_TRUE(a->SyncNow().ok());
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kShared);

  // 5 calls, 3 failed, on each: neither window alone holds minimum_calls,
  // the shared one holds 10 calls, 60 % failed.
  Outcomes(*on_a, 2, 3);
  Outcomes(*on_b, 2, 3);
  EXPECT_EQ(on_a->state(), State::kClosed);
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(a->Shared("payments").state, State::kClosed);
  EXPECT_EQ(a->Shared("payments").window_calls, 5u);
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_EQ(b->Shared("payments").state, State::kOpen);
  EXPECT_EQ(b->Shared("payments").last_trip.cause, TripCause::kFailureRate);
  EXPECT_DOUBLE_EQ(b->Shared("payments").last_trip.value, 60);
  EXPECT_EQ(on_b->state(), State::kOpen);
  EXPECT_EQ(on_b->Snapshot().last_trip.cause, TripCause::kShared);
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(on_a->state(), State::kOpen);
  EXPECT_FALSE(on_a->TryAcquire());
  EXPECT_FALSE(on_b->TryAcquire());
}

TEST_F(SharedTest, HalfOpenTrialsAreBoundedAcrossInstancesAndRecoveryClosesAll) {
  auto a = NewInstance();
  auto b = NewInstance();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("search")).value();
  std::shared_ptr<Breaker> on_b = b->Share(RateConfig("search")).value();
  Outcomes(*on_a, 0, 10);
  ASSERT_TRUE(a->SyncNow().ok());
  ASSERT_TRUE(b->SyncNow().ok());
  ASSERT_EQ(on_a->state(), State::kOpen);
  ASSERT_EQ(on_b->state(), State::kOpen);

  absl::SleepFor(absl::Milliseconds(400));  // past the 300 ms open period
  // Calls arrive on both: rejected (the store ends OPEN), and asking.
  EXPECT_FALSE(on_a->TryAcquire());
  EXPECT_FALSE(on_b->TryAcquire());
  ASSERT_TRUE(a->SyncNow().ok());  // HALF_OPEN; a takes both trial slots
  ASSERT_TRUE(b->SyncNow().ok());  // none left for b
  EXPECT_EQ(a->Shared("search").state, State::kHalfOpen);
  EXPECT_EQ(a->Shared("search").trial_slots_lent_here, 2u);
  EXPECT_EQ(b->Shared("search").trial_slots_lent_here, 0u);
  EXPECT_EQ(on_a->state(), State::kHalfOpen);
  EXPECT_EQ(on_b->state(), State::kHalfOpen);

  Permit t1 = on_a->TryAcquire();
  Permit t2 = on_a->TryAcquire();
  EXPECT_TRUE(t1);
  EXPECT_TRUE(t2);
  EXPECT_FALSE(on_a->TryAcquire());  // two in all, across every instance
  EXPECT_FALSE(on_b->TryAcquire());
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_FALSE(on_b->TryAcquire());

  t1.Success();
  t2.Success();
  EXPECT_EQ(on_a->state(), State::kHalfOpen);  // the store decides
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(a->Shared("search").state, State::kClosed);
  EXPECT_EQ(on_a->state(), State::kClosed);
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_EQ(on_b->state(), State::kClosed);
  EXPECT_TRUE(on_b->TryAcquire());
}

}  // namespace
}  // namespace redis
}  // namespace circuit
