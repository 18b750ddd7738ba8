// File: tests/curl/multi_test.cc
// MultiAdapter against a real HTTP server on loopback: concurrent transfers
// each recorded, Add() refusing without sending, Retry-After through the
// multi handle, and transfers abandoned mid-flight (a HALF_OPEN trial
// among them) giving their permits back.
#include "circuit/curl/multi.h"

#include <curl/curl.h>

#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/curl/classify.h"
#include "circuit/curl/result.h"
#include "circuit/permit.h"
#include "circuit/snapshot.h"
#include "circuit/state.h"
#include "gtest/gtest.h"
#include "tests/curl/exact_clock.h"
#include "tests/curl/http_server.h"

namespace circuit {
namespace curl {
namespace {

using ::circuit::testing::EasyHandle;
using ::circuit::testing::ExactClock;
using ::circuit::testing::NewEasy;
using ::circuit::testing::TestHttpServer;

constexpr absl::Duration kOpenDuration = absl::Milliseconds(200);
constexpr absl::Duration kTimeout = absl::Seconds(5);

const ExactClock kExactClock;

// Opens on 3 failures in a row, for kOpenDuration; one trial at a time
// decides. Timed by kExactClock (tests/curl/exact_clock.h says why).
std::unique_ptr<Breaker> MakeBreaker() {
  BreakerConfig config;
  config.name = "multi";
  config.consecutive_failures_to_open = 3;
  config.open_duration = kOpenDuration;
  config.clock = &kExactClock;
  return Breaker::Create(config).value();
}

TestHttpServer::Behaviour Answer(int status, absl::Duration hang = absl::ZeroDuration()) {
  TestHttpServer::Behaviour behaviour;
  behaviour.status = status;
  behaviour.hang = hang;
  return behaviour;
}

struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;

class MultiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestHttpServer>> server = TestHttpServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_NE(multi_, nullptr);
  }

  // Drives the multi handle for `how_long`, or until nothing is in flight
  // when `until_idle`; returns what completed meanwhile.
  std::vector<CompletedTransfer> Drive(MultiAdapter& adapter, absl::Duration how_long,
                                       bool until_idle = true) {
    std::vector<CompletedTransfer> completed;
    const absl::Time deadline = absl::Now() + how_long;
    while (absl::Now() < deadline && !(until_idle && adapter.in_flight() == 0)) {
      int running = 0;
      EXPECT_EQ(curl_multi_perform(multi_.get(), &running), CURLM_OK);
      for (CompletedTransfer& done : adapter.TakeCompleted()) completed.push_back(std::move(done));
      curl_multi_poll(multi_.get(), nullptr, 0, 10, nullptr);
    }
    return completed;
  }

  long Received() {
    absl::StatusOr<long> received = server_->Received();
    EXPECT_TRUE(received.ok()) << received.status();
    return received.value_or(-1);
  }

  std::unique_ptr<TestHttpServer> server_;
  // Declared before any adapter, so that it outlives them.
  MultiHandle multi_{curl_multi_init()};
};

TEST_F(MultiTest, ConcurrentTransfersAreEachRecorded) {
  auto breaker = MakeBreaker();
  // Each answer takes 300 ms: four in sequence would take 1.2 s.
  ASSERT_TRUE(server_->Answer(Answer(200, absl::Milliseconds(300))).ok());
  MultiAdapter adapter(multi_.get());
  std::vector<EasyHandle> handles;
  for (int i = 0; i < 4; ++i) {
    handles.push_back(NewEasy(server_->Url(), kTimeout));
    ASSERT_TRUE(adapter.Add(*breaker, handles.back().get()).ok());
  }
  EXPECT_EQ(adapter.in_flight(), 4u);
  const absl::Time start = absl::Now();
  const std::vector<CompletedTransfer> completed = Drive(adapter, absl::Seconds(10));
  const absl::Duration elapsed = absl::Now() - start;

  ASSERT_EQ(completed.size(), 4u);
  std::set<CURL*> seen;
  for (const CompletedTransfer& done : completed) {
    seen.insert(done.easy);
    EXPECT_EQ(done.result.verdict, Verdict::kSuccess);
    EXPECT_EQ(done.result.http_status, 200);
    EXPECT_GE(done.result.took, absl::Milliseconds(300));
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_LT(elapsed, absl::Milliseconds(1200)) << "the transfers did not overlap";
  EXPECT_EQ(adapter.in_flight(), 0u);
  EXPECT_EQ(breaker->Metrics().successes, 4u);
  EXPECT_EQ(Received(), 4);
}

TEST_F(MultiTest, ConcurrentFailuresOpenAndAddThenRefusesWithoutSending) {
  auto breaker = MakeBreaker();
  ASSERT_TRUE(server_->Answer(Answer(500)).ok());
  MultiAdapter adapter(multi_.get());
  std::vector<EasyHandle> handles;
  for (int i = 0; i < 3; ++i) {
    handles.push_back(NewEasy(server_->Url(), kTimeout));
    ASSERT_TRUE(adapter.Add(*breaker, handles.back().get()).ok());
  }
  const std::vector<CompletedTransfer> completed = Drive(adapter, absl::Seconds(10));
  ASSERT_EQ(completed.size(), 3u);
  for (const CompletedTransfer& done : completed) {
    EXPECT_EQ(done.result.verdict, Verdict::kFailure);
    EXPECT_EQ(done.result.http_status, 500);
  }
  EXPECT_EQ(breaker->state(), State::kOpen);

  EasyHandle refused = NewEasy(server_->Url(), kTimeout);
  const absl::Status added = adapter.Add(*breaker, refused.get());
  EXPECT_EQ(added.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRejection(added)) << added;
  const std::optional<absl::Duration> retry = RejectionRetryAfter(added);
  ASSERT_TRUE(retry.has_value());
  EXPECT_GT(*retry, absl::ZeroDuration());
  EXPECT_LE(*retry, kOpenDuration);
  EXPECT_EQ(adapter.in_flight(), 0u);
  EXPECT_TRUE(Drive(adapter, absl::Milliseconds(100), /*until_idle=*/false).empty());
  EXPECT_EQ(Received(), 3) << "a refused transfer reached the server";
  // Not in the multi handle: libcurl lets it run alone.
  EXPECT_EQ(curl_easy_perform(refused.get()), CURLE_OK);
}

TEST_F(MultiTest, RetryAfterThroughTheMultiHandleOpensForThatLong) {
  auto breaker = MakeBreaker();
  TestHttpServer::Behaviour throttle = Answer(429);
  throttle.retry_after = "2";
  ASSERT_TRUE(server_->Answer(throttle).ok());
  MultiAdapter adapter(multi_.get());
  EasyHandle easy = NewEasy(server_->Url(), kTimeout);
  ASSERT_TRUE(adapter.Add(*breaker, easy.get()).ok());
  const std::vector<CompletedTransfer> completed = Drive(adapter, absl::Seconds(10));
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0].easy, easy.get());
  EXPECT_EQ(completed[0].result.verdict, Verdict::kRetryAfter);
  EXPECT_EQ(completed[0].result.retry_after, absl::Seconds(2));
  EXPECT_EQ(breaker->state(), State::kOpen);
  const BreakerSnapshot snapshot = breaker->Snapshot();
  EXPECT_EQ(snapshot.last_trip.cause, TripCause::kRetryAfter);
  EXPECT_GT(snapshot.open_remaining, absl::Seconds(1));
  EXPECT_LE(snapshot.open_remaining, absl::Seconds(2));
}

TEST_F(MultiTest, AbandoningAHalfOpenTrialMidTransferFreesItsSlot) {
  auto breaker = MakeBreaker();
  ASSERT_TRUE(server_->Answer(Answer(500)).ok());
  for (int i = 0; i < 3; ++i) {
    Permit permit = breaker->TryAcquire();
    ASSERT_TRUE(permit);
    permit.Failure();
  }
  ASSERT_EQ(breaker->state(), State::kOpen);
  ASSERT_TRUE(server_->Answer(Answer(200, absl::Seconds(3))).ok());  // the trial hangs
  absl::SleepFor(kOpenDuration + absl::Milliseconds(50));

  MultiAdapter adapter(multi_.get());
  EasyHandle trial = NewEasy(server_->Url(), kTimeout);
  ASSERT_TRUE(adapter.Add(*breaker, trial.get()).ok());
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EasyHandle second = NewEasy(server_->Url(), kTimeout);
  const absl::Status refused = adapter.Add(*breaker, second.get());
  EXPECT_TRUE(IsRejection(refused)) << "the one trial slot is taken: " << refused;
  EXPECT_EQ(RejectionRetryAfter(refused), absl::ZeroDuration());

  // The trial's request reaches the server, which sits on it.
  EXPECT_TRUE(Drive(adapter, absl::Milliseconds(300), /*until_idle=*/false).empty());
  EXPECT_EQ(Received(), 1);
  ASSERT_TRUE(adapter.Remove(trial.get()).ok());
  EXPECT_EQ(adapter.in_flight(), 0u);
  EXPECT_EQ(breaker->Metrics().released, 1u);
  EXPECT_EQ(breaker->state(), State::kHalfOpen) << "a released trial decides nothing";

  // Not stuck: the slot is free at once, and a trial that succeeds closes.
  ASSERT_TRUE(server_->Answer(Answer(200)).ok());
  ASSERT_TRUE(adapter.Add(*breaker, second.get()).ok());
  const std::vector<CompletedTransfer> completed = Drive(adapter, absl::Seconds(10));
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0].easy, second.get());
  EXPECT_EQ(completed[0].result.verdict, Verdict::kSuccess);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST_F(MultiTest, DestroyingTheAdapterReleasesTransfersInFlight) {
  auto breaker = MakeBreaker();
  for (int i = 0; i < 3; ++i) {
    Permit permit = breaker->TryAcquire();
    ASSERT_TRUE(permit);
    permit.Failure();
  }
  ASSERT_TRUE(server_->Answer(Answer(200, absl::Seconds(3))).ok());
  absl::SleepFor(kOpenDuration + absl::Milliseconds(50));
  EasyHandle trial = NewEasy(server_->Url(), kTimeout);
  {
    MultiAdapter adapter(multi_.get());
    ASSERT_TRUE(adapter.Add(*breaker, trial.get()).ok());
    Drive(adapter, absl::Milliseconds(100), /*until_idle=*/false);
  }
  EXPECT_EQ(breaker->Metrics().released, 1u);
  // The handle left the multi handle with the adapter, and its slot is free.
  int running = -1;
  EXPECT_EQ(curl_multi_perform(multi_.get(), &running), CURLM_OK);
  EXPECT_EQ(running, 0);
  Permit next = breaker->TryAcquire();
  EXPECT_TRUE(next) << "the trial slot was not given back";
  EXPECT_TRUE(next.is_trial());
}

TEST_F(MultiTest, AHangPastTheTimeoutFailsThroughTheMultiHandle) {
  auto breaker = MakeBreaker();
  ASSERT_TRUE(server_->Answer(Answer(200, absl::Seconds(3))).ok());
  MultiAdapter adapter(multi_.get());
  std::vector<EasyHandle> handles;
  for (int i = 0; i < 3; ++i) {
    handles.push_back(NewEasy(server_->Url(), absl::Milliseconds(200)));
    ASSERT_TRUE(adapter.Add(*breaker, handles.back().get()).ok());
  }
  const std::vector<CompletedTransfer> completed = Drive(adapter, absl::Seconds(10));
  ASSERT_EQ(completed.size(), 3u);
  for (const CompletedTransfer& done : completed) {
    EXPECT_EQ(done.result.verdict, Verdict::kFailure);
    EXPECT_EQ(done.result.code, CURLE_OPERATION_TIMEDOUT);
    EXPECT_EQ(done.result.status.code(), absl::StatusCode::kDeadlineExceeded);
  }
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST_F(MultiTest, MisuseIsReportedWithoutTakingAPermit) {
  auto breaker = MakeBreaker();
  MultiAdapter adapter(multi_.get());
  EasyHandle easy = NewEasy(server_->Url(), kTimeout);
  EXPECT_EQ(adapter.Remove(easy.get()).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(adapter.Add(*breaker, easy.get()).ok());
  EXPECT_EQ(adapter.Add(*breaker, easy.get()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(breaker->Metrics().permitted, 1u);
  const std::vector<CompletedTransfer> completed = Drive(adapter, absl::Seconds(10));
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(adapter.Remove(easy.get()).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(breaker->Metrics().successes, 1u);
}

}  // namespace
}  // namespace curl
}  // namespace circuit
