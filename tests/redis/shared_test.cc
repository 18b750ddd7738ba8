// File: tests/redis/shared_test.cc
// The distributed mode (circuit/redis/shared.h) against a real redis-server
// (tests/redis/redis_server.h): instances are separate Coordinators, each
// with its own connection, sharing breakers by name. Rounds are driven with
// SyncNow() (the background interval is an hour), so every step is
// deterministic but for Redis's clock, which the open periods are kept far
// from.
#include <signal.h>

#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
    options.quiet_push_interval = absl::ZeroDuration();  // every round pushes
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


TEST_F(SharedTest, AFailedTrialReopensEveryInstance) {
  auto a = NewInstance();
  auto b = NewInstance();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("stock")).value();
  std::shared_ptr<Breaker> on_b = b->Share(RateConfig("stock")).value();
  Outcomes(*on_b, 0, 10);
  ASSERT_TRUE(b->SyncNow().ok());
  ASSERT_TRUE(a->SyncNow().ok());
  ASSERT_EQ(on_a->state(), State::kOpen);
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_FALSE(on_a->TryAcquire());
  ASSERT_TRUE(a->SyncNow().ok());
  ASSERT_EQ(on_a->state(), State::kHalfOpen);
  Permit trial = on_a->TryAcquire();
  ASSERT_TRUE(trial);
  EXPECT_TRUE(trial.is_trial());
  trial.Failure();
  EXPECT_EQ(on_a->state(), State::kHalfOpen);  // counted; the store decides
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(a->Shared("stock").state, State::kOpen);
  EXPECT_EQ(a->Shared("stock").last_trip.cause, TripCause::kTrialFailures);
  EXPECT_EQ(on_a->state(), State::kOpen);
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_EQ(on_b->state(), State::kOpen);
}

TEST_F(SharedTest, SuccessesAloneWaitForTheQuietPushAndAFailureCarriesThem) {
  RedisOptions options = Options();
  options.quiet_push_interval = absl::Hours(1);
  auto a = Coordinator::Create(options).value();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("quiet")).value();
  ASSERT_TRUE(a->SyncNow().ok());  // the first round pushes, whatever it has
  const uint64_t commands = a->Stats().commands;
  Outcomes(*on_a, 5, 0);
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(a->Stats().commands, commands + 1);
  EXPECT_EQ(a->Shared("quiet").window_calls, 0u);  // read, not pushed
  Outcomes(*on_a, 0, 1);
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(a->Shared("quiet").window_calls, 6u);
  EXPECT_EQ(a->Shared("quiet").window_failures, 1u);
}

TEST_F(SharedTest, AnOperatorsStateIsNeverOverriddenByTheSharedOne) {
  auto a = NewInstance();
  auto b = NewInstance();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("ledger")).value();
  std::shared_ptr<Breaker> on_b = b->Share(RateConfig("ledger")).value();
  on_a->ForceOpen();
  Outcomes(*on_b, 0, 10);
  ASSERT_TRUE(b->SyncNow().ok());
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(on_a->state(), State::kForcedOpen);
  on_a->Disable();
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(on_a->state(), State::kDisabled);
  on_a->Reset();  // back to CLOSED: the shared OPEN applies again
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(on_a->state(), State::kOpen);
}

// Records what listeners hear about sharing.
class SharingLog : public BreakerListener {
 public:
  void OnSharing(const SharingEvent& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    events.push_back({e.from, e.to, e.reason});
  }
  struct Entry {
    Sharing from;
    Sharing to;
    absl::Status reason;
  };
  std::vector<Entry> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(events);
  }

 private:
  std::mutex mu_;
  std::vector<Entry> events;
};

TEST_F(SharedTest, WhenRedisDiesTheBreakerDecidesAloneLosesNoCountAndResyncsWhenItReturns) {
  auto a = NewInstance();
  BreakerConfig config = RateConfig("inventory");
  std::shared_ptr<Breaker> on_a = a->Share(config).value();
  auto log = std::make_shared<SharingLog>();
  Subscription subscription = on_a->Subscribe(log);
  ASSERT_TRUE(a->SyncNow().ok());
  Outcomes(*on_a, 3, 0);
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(a->Shared("inventory").window_calls, 3u);
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kShared);

  ASSERT_TRUE(server_->Kill().ok());
  const absl::Time start = absl::Now();
  const absl::Status lost = a->SyncNow();
  EXPECT_FALSE(lost.ok());
  // Bounded by the timeouts (200 ms each), with room for a loaded machine.
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kDegraded);
  EXPECT_TRUE(a->degraded());
  const std::vector<SharingLog::Entry> events = log->Take();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().from, Sharing::kShared);
  EXPECT_EQ(events.back().to, Sharing::kDegraded);
  EXPECT_FALSE(events.back().reason.ok());

  // Alone, the breaker still counts, and trips on its own window: 7 calls
  // more make 10, 5 of them failed.
  Outcomes(*on_a, 2, 5);
  EXPECT_EQ(on_a->state(), State::kOpen);
  EXPECT_EQ(on_a->Snapshot().last_trip.cause, TripCause::kFailureRate);
  EXPECT_FALSE(on_a->TryAcquire());
  EXPECT_FALSE(a->SyncNow().ok());

  // Back, empty (a restart forgets every key and script): the calls made
  // meanwhile are pushed, and the shared window judges them.
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kShared);
  EXPECT_FALSE(a->degraded());
  const std::vector<SharingLog::Entry> back = log->Take();
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(back.back().to, Sharing::kShared);
  // 7 calls, 5 failed, but fewer than minimum_calls: the shared window is
  // CLOSED and holds them, and the instance follows it.
  EXPECT_EQ(a->Shared("inventory").window_calls, 7u);
  EXPECT_EQ(a->Shared("inventory").window_failures, 5u);
  EXPECT_EQ(on_a->state(), State::kClosed);
}

TEST_F(SharedTest, AHungRedisCostsTheSyncItsTimeoutAndNeverACaller) {
  auto a = NewInstance();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("quotes")).value();
  ASSERT_TRUE(a->SyncNow().ok());
  ASSERT_TRUE(server_->Pause().ok());
  Outcomes(*on_a, 4, 0);  // the call path never waits for Redis
  const absl::Time start = absl::Now();
  const absl::Status hung = a->SyncNow();
  EXPECT_FALSE(hung.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kDegraded);
  ASSERT_TRUE(server_->Resume().ok());
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kShared);
  // The push the hang swallowed may have run after all: counted once.
  EXPECT_EQ(a->Shared("quotes").window_calls, 4u);
}

TEST_F(SharedTest, ScriptsFlushedFromRedisAreLoadedAgain) {
  auto a = NewInstance();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("mail")).value();
  ASSERT_TRUE(a->SyncNow().ok());
  const uint64_t loads = a->Stats().script_loads;
  RedisConnection admin = server_->Connect().value();
  ASSERT_EQ(testing::RunCommand(admin.get(), {"SCRIPT", "FLUSH"}), "OK");
  Outcomes(*on_a, 2, 1);
  ASSERT_TRUE(a->SyncNow().ok());  // NOSCRIPT, SCRIPT LOAD, again
  EXPECT_EQ(a->Stats().script_loads, loads + 2);
  EXPECT_EQ(a->Shared("mail").window_calls, 3u);
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kShared);
}

TEST_F(SharedTest, GarbageAtTheBreakersKeysIsRepairedNeverTrusted) {
  auto a = NewInstance();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("cart")).value();
  ASSERT_TRUE(a->SyncNow().ok());
  RedisConnection admin = server_->Connect().value();
  const std::string prefix = "circuit:{cart}:";

  // A value of the wrong type at each key, and then fields that are not
  // numbers, a state that does not exist, and a batch that does not parse.
  const std::vector<std::vector<std::string>> garbage = {
      {"SET", prefix + "s", "not a hash"},
      {"SET", prefix + "w", "not a list"},
      {"SET", prefix + "i:" + a->instance_id(), "not a hash"},
      {"HSET", prefix + "s", "st", "7"},
      {"HSET", prefix + "s", "wc", "lots"},
      {"HSET", prefix + "s", "g", "-3"},
      {"HSET", prefix + "s", "ou", "inf"},
      {"RPUSH", prefix + "w", "1,2,x"},
  };
  for (const std::vector<std::string>& command : garbage) {
    SCOPED_TRACE(absl::StrJoin(command, " "));
    testing::RunCommand(admin.get(), {"DEL", prefix + "s", prefix + "w"});
    testing::RunCommand(admin.get(), command);
    Outcomes(*on_a, 1, 0);  // something to push
    const uint64_t repairs = a->Stats().repairs;
    ASSERT_TRUE(a->SyncNow().ok());
    EXPECT_EQ(a->Stats().repairs, repairs + 1);
    EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kShared);
    EXPECT_EQ(a->Shared("cart").state, State::kClosed);
  }
  // The read script (nothing to push) finds garbage: degraded for a round,
  // then the push that follows repairs it.
  ASSERT_TRUE(a->SyncNow().ok());
  testing::RunCommand(admin.get(), {"DEL", prefix + "s"});
  testing::RunCommand(admin.get(), {"SET", prefix + "s", "garbage"});
  EXPECT_FALSE(a->SyncNow().ok());
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kDegraded);
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kShared);
  EXPECT_TRUE(on_a->TryAcquire());
}

TEST_F(SharedTest, EveryKeyExpiresWhenNoInstanceSyncsIt) {
  RedisOptions options = Options();
  options.key_ttl = absl::Seconds(30);
  auto a = Coordinator::Create(options).value();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("ttl")).value();
  Outcomes(*on_a, 3, 1);
  ASSERT_TRUE(a->SyncNow().ok());
  RedisConnection admin = server_->Connect().value();
  for (const std::string& key : std::vector<std::string>{"circuit:{ttl}:s", "circuit:{ttl}:w",
                                absl::StrCat("circuit:{ttl}:i:", a->instance_id())}) {
    int64_t ttl_ms = 0;
    ASSERT_TRUE(absl::SimpleAtoi(testing::RunCommand(admin.get(), {"PTTL", key}), &ttl_ms)) << key;
    EXPECT_GT(ttl_ms, 0) << key;
    EXPECT_LE(ttl_ms, 30'000) << key;
  }
}

TEST_F(SharedTest, ANameThatCouldBreakTheHashTagIsEscaped) {
  auto a = NewInstance();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("we{ir}d name%")).value();
  Outcomes(*on_a, 1, 0);
  ASSERT_TRUE(a->SyncNow().ok());
  RedisConnection admin = server_->Connect().value();
  EXPECT_EQ(testing::RunCommand(admin.get(), {"EXISTS", "circuit:{we%7Bir%7Dd%20name%25}:s"}),
            "1");
}

TEST_F(SharedTest, ABreakerIsSharedByOneCoordinatorAtATime) {
  auto a = NewInstance();
  auto b = NewInstance();
  std::shared_ptr<Breaker> breaker = Breaker::Create(RateConfig("one")).value();
  ASSERT_TRUE(a->Share(breaker).ok());
  EXPECT_EQ(b->Share(breaker).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(b->Breakers().empty());
  EXPECT_EQ(a->Share(nullptr).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(a->Unshare("one"));
  EXPECT_TRUE(b->Share(breaker).ok());  // free again
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_EQ(breaker->Snapshot().sharing, Sharing::kShared);
}

// A listener that calls back into the coordinator from the sync thread.
class CallsBack : public BreakerListener {
 public:
  explicit CallsBack(Coordinator* coordinator) : coordinator_(coordinator) {}
  void OnSharing(const SharingEvent& e) override {
    if (e.to != Sharing::kShared) return;
    sync_now = coordinator_->SyncNow();  // would wait for itself
    unshared = coordinator_->Unshare(e.breaker);
  }
  absl::Status sync_now;
  bool unshared = false;

 private:
  Coordinator* coordinator_;
};

TEST_F(SharedTest, AListenerMayCallBackIntoTheCoordinatorFromTheSyncThread) {
  auto a = NewInstance();
  std::shared_ptr<Breaker> breaker = Breaker::Create(RateConfig("callback")).value();
  auto listener = std::make_shared<CallsBack>(a.get());
  Subscription subscription = breaker->Subscribe(listener);
  ASSERT_TRUE(a->Share(breaker).ok());
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(listener->sync_now.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(listener->unshared);
  EXPECT_EQ(breaker->Snapshot().sharing, Sharing::kLocal);
  EXPECT_TRUE(a->Breakers().empty());
}

TEST_F(SharedTest, AKeyTtlShorterThanWhatTheSharedStateHoldsIsRefused) {
  RedisOptions options = Options();
  options.key_ttl = absl::Minutes(1);
  auto a = Coordinator::Create(options).value();
  BreakerConfig long_open = RateConfig("long-open");
  long_open.open_duration = absl::Minutes(2);
  absl::Status refused = a->Share(long_open).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("RedisOptions.key_ttl"));
  EXPECT_THAT(refused.message(), HasSubstr("longest open period"));
  BreakerConfig backoff = RateConfig("backoff");
  backoff.open_backoff_multiplier = 2;  // up to max_open_duration (10 min)
  EXPECT_THAT(a->Share(backoff).status().message(), HasSubstr("longest open period"));
  BreakerConfig window = RateConfig("window");
  window.window_type = WindowType::kTimeBased;
  window.window_duration = absl::Minutes(5);
  EXPECT_THAT(a->Share(window).status().message(), HasSubstr("time window"));
  EXPECT_TRUE(a->Breakers().empty());
  EXPECT_TRUE(a->Share(RateConfig("fits")).ok());
}

TEST_F(SharedTest, AuthAndDatabaseAreUsedAndAWrongPasswordDegrades) {
  RedisConnection admin = server_->Connect().value();
  ASSERT_EQ(testing::RunCommand(admin.get(), {"CONFIG", "SET", "requirepass", "s3cret"}), "OK");
  RedisOptions options = Options();
  options.password = "wrong";
  auto denied = Coordinator::Create(options).value();
  std::shared_ptr<Breaker> on_denied = denied->Share(RateConfig("auth")).value();
  const absl::Status refused = denied->SyncNow();
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
  EXPECT_EQ(on_denied->Snapshot().sharing, Sharing::kDegraded);

  options.password = "s3cret";
  options.database = 3;
  auto a = Coordinator::Create(options).value();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("auth")).value();
  Outcomes(*on_a, 1, 0);
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kShared);
  ASSERT_EQ(testing::RunCommand(admin.get(), {"SELECT", "3"}), "OK");
  EXPECT_EQ(testing::RunCommand(admin.get(), {"EXISTS", "circuit:{auth}:s"}), "1");
}

TEST_F(SharedTest, UnsharingHandsTheDecisionsBack) {
  auto a = NewInstance();
  std::shared_ptr<Breaker> on_a = a->Share(RateConfig("geo")).value();
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_EQ(a->Share(RateConfig("geo")).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(a->Unshare("geo"));
  EXPECT_FALSE(a->Unshare("geo"));
  EXPECT_EQ(on_a->Snapshot().sharing, Sharing::kLocal);
  Outcomes(*on_a, 5, 5);  // its own window trips it
  EXPECT_EQ(on_a->state(), State::kOpen);
  a.reset();  // destroying the coordinator lets go of every breaker too
}

// With SIGPIPE at its default (terminate), a server that dies under a
// coordinator must not take the process with it: the sync thread writes to
// its dead socket, and blocks and consumes the SIGPIPE that raises.
void SyncAcrossADeadServerWithSigpipeDefault() {
  signal(SIGPIPE, SIG_DFL);
  auto server = RedisServer::Start();
  if (!server.ok()) std::_Exit(3);
  RedisOptions options;
  options.unix_socket = (*server)->unix_socket();
  options.sync_interval = absl::Hours(1);
  options.reconnect_backoff = absl::ZeroDuration();
  auto coordinator = Coordinator::Create(options).value();
  std::shared_ptr<Breaker> breaker = coordinator->Share(RateConfig("pipe")).value();
  if (!coordinator->SyncNow().ok()) std::_Exit(4);
  if (!(*server)->Kill().ok()) std::_Exit(5);
  for (int i = 0; i < 3; ++i) {
    breaker->TryAcquire().Failure();
    if (coordinator->SyncNow().ok()) std::_Exit(6);
  }
  std::_Exit(breaker->Snapshot().sharing == Sharing::kDegraded ? 0 : 7);
}

TEST(SigpipeTest, ADeadServerNeverKillsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(SyncAcrossADeadServerWithSigpipeDefault(), ::testing::ExitedWithCode(0), "");
}

TEST(RedisOptionsTest, EachBadFieldIsNamed) {
  const std::vector<std::pair<std::string, std::function<void(RedisOptions&)>>> cases = {
      {"address", [](RedisOptions& o) { o.address = ""; }},
      {"address", [](RedisOptions& o) { o.address = "host:99999"; }},
      {"address", [](RedisOptions& o) { o.address = ":6379"; }},
      {"unix_socket", [](RedisOptions& o) { o.unix_socket = std::string(200, 'x'); }},
      {"database", [](RedisOptions& o) { o.database = -1; }},
      {"username", [](RedisOptions& o) { o.username = "u"; }},
      {"prefix", [](RedisOptions& o) { o.prefix = ""; }},
      {"connect_timeout", [](RedisOptions& o) { o.connect_timeout = absl::ZeroDuration(); }},
      {"command_timeout", [](RedisOptions& o) { o.command_timeout = absl::Microseconds(10); }},
      {"sync_interval", [](RedisOptions& o) { o.sync_interval = absl::ZeroDuration(); }},
      {"reconnect_backoff", [](RedisOptions& o) { o.reconnect_backoff = -absl::Seconds(1); }},
      {"half_open_limit", [](RedisOptions& o) { o.half_open_limit = absl::ZeroDuration(); }},
      {"key_ttl", [](RedisOptions& o) { o.key_ttl = absl::Milliseconds(10); }},
      {"instance_id", [](RedisOptions& o) { o.instance_id = "has space"; }},
  };
  EXPECT_TRUE(ValidateRedisOptions(RedisOptions()).ok());
  for (const auto& [field, change] : cases) {
    RedisOptions options;
    change(options);
    const absl::Status status = ValidateRedisOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(status.message(), HasSubstr("RedisOptions." + field)) << status;
    EXPECT_FALSE(Coordinator::Create(options).ok()) << field;
  }
}

TEST(CoordinatorTest, WithNoRedisAtAllEveryBreakerWorksAlone) {
  signal(SIGPIPE, SIG_IGN);
  RedisOptions options;
  options.unix_socket = "/nonexistent/redis.sock";
  options.sync_interval = absl::Milliseconds(5);
  auto coordinator = Coordinator::Create(options).value();
  BreakerConfig config = RateConfig("alone");
  std::shared_ptr<Breaker> breaker = coordinator->Share(config).value();
  EXPECT_FALSE(coordinator->SyncNow().ok());
  EXPECT_EQ(breaker->Snapshot().sharing, Sharing::kDegraded);
  for (int i = 0; i < 10; ++i) {
    Permit p = breaker->TryAcquire();
    ASSERT_TRUE(p);
    p.Failure();
  }
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_FALSE(coordinator->Stats().connected);
  EXPECT_GT(coordinator->Stats().failed_rounds, 0u);
}

}  // namespace
}  // namespace redis
}  // namespace circuit
