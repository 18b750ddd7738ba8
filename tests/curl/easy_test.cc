// File: tests/curl/easy_test.cc
// Perform() against a real HTTP server on loopback (TestHttpServer): each
// test makes the server fail, hang, refuse or throttle, and checks what
// the breaker did, and that a rejected transfer sent nothing (the server
// counts what it received).
#include "circuit/curl/easy.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/clock.h"
#include "circuit/config.h"
#include "circuit/curl/classify.h"
#include "circuit/curl/result.h"
#include "circuit/events.h"
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

// Real time: short enough for a test, long enough that a sanitized build
// does not outrun it between two lines.
constexpr absl::Duration kOpenDuration = absl::Milliseconds(200);
// Every request that is not meant to time out completes well within this.
constexpr absl::Duration kTimeout = absl::Seconds(5);

const ExactClock kExactClock;

// Opens on 3 failures in a row, for kOpenDuration; one trial decides.
// Timed by kExactClock (tests/curl/exact_clock.h says why).
BreakerConfig Config(int failures_to_open = 3) {
  BreakerConfig config;
  config.name = "http";
  config.consecutive_failures_to_open = failures_to_open;
  config.open_duration = kOpenDuration;
  config.clock = &kExactClock;
  return config;
}

std::unique_ptr<Breaker> MakeBreaker(int failures_to_open = 3) {
  return Breaker::Create(Config(failures_to_open)).value();
}

TestHttpServer::Behaviour Status(int status) {
  TestHttpServer::Behaviour behaviour;
  behaviour.status = status;
  return behaviour;
}

TestHttpServer::Behaviour Throttle(int status, std::string retry_after) {
  TestHttpServer::Behaviour behaviour;
  behaviour.status = status;
  behaviour.retry_after = std::move(retry_after);
  return behaviour;
}

TestHttpServer::Behaviour Hang(absl::Duration hang) {
  TestHttpServer::Behaviour behaviour;
  behaviour.hang = hang;
  return behaviour;
}

// The transitions a breaker made, copied out of their events.
class TransitionLog : public BreakerListener {
 public:
  struct Entry {
    State from;
    State to;
    TransitionCause cause;
    double value;
  };
  void OnTransition(const TransitionEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back({event.from, event.to, event.cause, event.value});
  }
  std::vector<Entry> entries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

class EasyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestHttpServer>> server = TestHttpServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // One request through `breaker`, on a fresh handle.
  Result Get(Breaker& breaker, absl::Duration timeout = kTimeout,
             const Classifier& classifier = Classifier()) {
    EasyHandle easy = NewEasy(server_->Url(), timeout);
    return Perform(breaker, easy.get(), classifier);
  }

  long Received() {
    absl::StatusOr<long> received = server_->Received();
    EXPECT_TRUE(received.ok()) << received.status();
    return received.value_or(-1);
  }

  // Fails `n` requests with 500s, which opens a MakeBreaker() breaker.
  void OpenWithServerErrors(Breaker& breaker, int n = 3) {
    ASSERT_TRUE(server_->Answer(Status(500)).ok());
    for (int i = 0; i < n; ++i) {
      const Result result = Get(breaker);
      ASSERT_EQ(result.verdict, Verdict::kFailure) << i;
    }
    ASSERT_EQ(breaker.state(), State::kOpen);
  }

  std::unique_ptr<TestHttpServer> server_;
};

TEST_F(EasyTest, HealthyServerAnswersAndTheBreakerStaysClosed) {
  auto breaker = MakeBreaker();
  for (int i = 0; i < 5; ++i) {
    const Result result = Get(*breaker);
    EXPECT_EQ(result.verdict, Verdict::kSuccess);
    EXPECT_TRUE(result.status.ok()) << result.status;
    EXPECT_EQ(result.code, CURLE_OK);
    EXPECT_EQ(result.http_status, 200);
    EXPECT_GT(result.took, absl::ZeroDuration());
    EXPECT_FALSE(result.rejected());
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().successes, 5u);
  EXPECT_EQ(Received(), 5);
}

TEST_F(EasyTest, ServerErrorsOpenTheBreakerAndRejectionsSendNothing) {
  auto breaker = MakeBreaker();
  ASSERT_TRUE(server_->Answer(Status(500)).ok());
  for (int i = 0; i < 3; ++i) {
    const Result result = Get(*breaker);
    EXPECT_EQ(result.verdict, Verdict::kFailure);
    EXPECT_EQ(result.http_status, 500);
    EXPECT_TRUE(result.status.ok()) << "the server answered: " << result.status;
  }
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Snapshot().last_trip.cause, TripCause::kConsecutiveFailures);
  ASSERT_EQ(Received(), 3);

  for (int i = 0; i < 10; ++i) {
    const Result result = Get(*breaker);
    EXPECT_TRUE(result.rejected());
    EXPECT_EQ(result.verdict, Verdict::kRejected);
    EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(IsRejection(result.status)) << result.status;
    EXPECT_TRUE(absl::StrContains(result.status.message(), "http")) << result.status;
    EXPECT_EQ(result.code, CURLE_OK);
    EXPECT_EQ(result.http_status, 0);
    EXPECT_EQ(result.took, absl::ZeroDuration());
    EXPECT_GT(result.retry_after, absl::ZeroDuration());
    EXPECT_LE(result.retry_after, kOpenDuration);
    EXPECT_EQ(RejectionRetryAfter(result.status), result.retry_after);
  }
  EXPECT_EQ(Received(), 3) << "a rejected transfer reached the server";
  EXPECT_EQ(breaker->Metrics().rejected, 10u);
}

TEST_F(EasyTest, AfterTheOpenDurationASuccessfulProbeCloses) {
  auto breaker = MakeBreaker();
  OpenWithServerErrors(*breaker);
  ASSERT_TRUE(server_->Answer(Status(200)).ok());
  EXPECT_TRUE(Get(*breaker).rejected());
  absl::SleepFor(kOpenDuration + absl::Milliseconds(50));

  const Result probe = Get(*breaker);
  EXPECT_EQ(probe.verdict, Verdict::kSuccess);
  EXPECT_EQ(probe.http_status, 200);
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(Received(), 4);  // three failures and the probe
  EXPECT_EQ(Get(*breaker).verdict, Verdict::kSuccess);
}

TEST_F(EasyTest, AFailedProbeReopens) {
  auto breaker = MakeBreaker();
  OpenWithServerErrors(*breaker);
  absl::SleepFor(kOpenDuration + absl::Milliseconds(50));

  const Result probe = Get(*breaker);
  EXPECT_EQ(probe.verdict, Verdict::kFailure);
  EXPECT_EQ(probe.http_status, 500);
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Snapshot().last_trip.cause, TripCause::kTrialFailures);
  EXPECT_TRUE(Get(*breaker).rejected());
  EXPECT_EQ(Received(), 4);  // three failures and the one probe
}

TEST_F(EasyTest, WithTheSystemClockAProbeGoesThroughWithinSixteenCalls) {
  // The default clock: a thread judges by the clock on one rejection in
  // kRejectionsPerClockRead (16), so up to 15 calls after the open
  // duration may still be refused
  // (tests/curl/exact_clock.h); none of them may reach the server.
  BreakerConfig config = Config();
  config.clock = nullptr;
  auto breaker = Breaker::Create(config).value();
  OpenWithServerErrors(*breaker);
  ASSERT_TRUE(server_->Answer(Status(200)).ok());
  EXPECT_TRUE(Get(*breaker).rejected());
  absl::SleepFor(kOpenDuration + absl::Milliseconds(50));

  int refused = 0;
  Result probe = Get(*breaker);
  constexpr int kPerRead = static_cast<int>(internal::kRejectionsPerClockRead);
  while (probe.rejected() && refused < kPerRead) {
    ++refused;
    probe = Get(*breaker);
  }
  EXPECT_LT(refused, kPerRead);
  EXPECT_EQ(probe.verdict, Verdict::kSuccess);
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(Received(), 4) << "three failures and the probe, none of the " << refused
                           << " refused after the open duration";
}

TEST_F(EasyTest, AHangPastTheTimeoutIsAFailureAndTheServiceRecovers) {
  auto breaker = MakeBreaker();
  const absl::Duration timeout = absl::Milliseconds(200);
  ASSERT_TRUE(server_->Answer(Hang(absl::Seconds(3))).ok());
  for (int i = 0; i < 3; ++i) {
    const Result result = Get(*breaker, timeout);
    EXPECT_EQ(result.verdict, Verdict::kFailure);
    EXPECT_EQ(result.code, CURLE_OPERATION_TIMEDOUT);
    EXPECT_EQ(result.status.code(), absl::StatusCode::kDeadlineExceeded) << result.status;
    EXPECT_EQ(result.http_status, 0);
    // libcurl's own measure: at least the timeout, and not the hang.
    EXPECT_GE(result.took, timeout - absl::Milliseconds(5));
    EXPECT_LT(result.took, absl::Seconds(3));
  }
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_TRUE(Get(*breaker, timeout).rejected());
  EXPECT_EQ(Received(), 3);

  ASSERT_TRUE(server_->Answer(Status(200)).ok());
  absl::SleepFor(kOpenDuration + absl::Milliseconds(50));
  EXPECT_EQ(Get(*breaker, timeout).verdict, Verdict::kSuccess);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST_F(EasyTest, ARefusedConnectionIsAFailure) {
  auto breaker = MakeBreaker();
  ASSERT_EQ(Get(*breaker).verdict, Verdict::kSuccess);
  server_->Stop();
  for (int i = 0; i < 3; ++i) {
    const Result result = Get(*breaker);
    EXPECT_EQ(result.verdict, Verdict::kFailure);
    EXPECT_EQ(result.code, CURLE_COULDNT_CONNECT);
    EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable) << result.status;
    EXPECT_FALSE(IsRejection(result.status));
  }
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_TRUE(Get(*breaker).rejected());
}

TEST_F(EasyTest, ClientErrorsNeverTrip) {
  auto breaker = MakeBreaker();
  for (int status : {404, 400, 401, 403, 409}) {
    ASSERT_TRUE(server_->Answer(Status(status)).ok());
    for (int i = 0; i < 5; ++i) {
      const Result result = Get(*breaker);
      EXPECT_EQ(result.verdict, Verdict::kSuccess) << status;
      EXPECT_EQ(result.http_status, status);
    }
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().failures, 0u);
  EXPECT_EQ(Received(), 25);
}

TEST_F(EasyTest, FailOnErrorIsClassifiedByTheHttpStatus) {
  // CURLOPT_FAILONERROR ends a >= 400 answer with CURLE_HTTP_RETURNED_ERROR:
  // still the server's answer, judged by its status.
  auto breaker = MakeBreaker(/*failures_to_open=*/1);
  ASSERT_TRUE(server_->Answer(Status(404)).ok());
  EasyHandle easy = NewEasy(server_->Url(), kTimeout);
  curl_easy_setopt(easy.get(), CURLOPT_FAILONERROR, 1L);
  Result result = Perform(*breaker, easy.get());
  EXPECT_EQ(result.code, CURLE_HTTP_RETURNED_ERROR);
  EXPECT_EQ(result.http_status, 404);
  EXPECT_EQ(result.verdict, Verdict::kSuccess);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(breaker->state(), State::kClosed);

  ASSERT_TRUE(server_->Answer(Status(502)).ok());
  result = Perform(*breaker, easy.get());
  EXPECT_EQ(result.code, CURLE_HTTP_RETURNED_ERROR);
  EXPECT_EQ(result.verdict, Verdict::kFailure);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST_F(EasyTest, TooManyRequestsWithRetryAfterOpensForThatLong) {
  // Neither the failure count (100) nor the open duration (30 s) decides:
  // the server's Retry-After does.
  BreakerConfig config;
  config.name = "throttled";
  config.consecutive_failures_to_open = 100;
  config.open_duration = absl::Seconds(30);
  config.clock = &kExactClock;
  auto breaker = Breaker::Create(config).value();
  auto log = std::make_shared<TransitionLog>();
  Subscription subscription = breaker->Subscribe(log);

  ASSERT_TRUE(server_->Answer(Throttle(429, "1")).ok());
  const absl::Time sent = absl::Now();
  const Result throttled = Get(*breaker);
  EXPECT_EQ(throttled.http_status, 429);
  EXPECT_EQ(throttled.verdict, Verdict::kRetryAfter);
  EXPECT_EQ(throttled.retry_after, absl::Seconds(1));
  EXPECT_EQ(breaker->state(), State::kOpen);
  const BreakerSnapshot snapshot = breaker->Snapshot();
  EXPECT_EQ(snapshot.last_trip.cause, TripCause::kRetryAfter);
  EXPECT_EQ(snapshot.last_trip.value, 1);
  EXPECT_EQ(snapshot.open_period, absl::Seconds(1));
  const std::vector<TransitionLog::Entry> transitions = log->entries();
  ASSERT_EQ(transitions.size(), 1u);
  EXPECT_EQ(transitions[0].from, State::kClosed);
  EXPECT_EQ(transitions[0].to, State::kOpen);
  EXPECT_EQ(transitions[0].cause, TransitionCause::kRetryAfter);

  const Result rejected = Get(*breaker);
  ASSERT_TRUE(rejected.rejected());
  EXPECT_GT(rejected.retry_after, absl::ZeroDuration());
  EXPECT_LE(rejected.retry_after, absl::Seconds(1));
  EXPECT_EQ(RejectionRetryAfter(rejected.status), rejected.retry_after);
  EXPECT_EQ(Received(), 1);

  // A second after the 429 (not 30 s), a probe goes through.
  ASSERT_TRUE(server_->Answer(Status(200)).ok());
  absl::SleepFor(sent + absl::Seconds(1) + absl::Milliseconds(50) - absl::Now());
  const Result probe = Get(*breaker);
  EXPECT_EQ(probe.verdict, Verdict::kSuccess);
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(Received(), 2);
}

TEST_F(EasyTest, ServiceUnavailableWithAnHttpDateOpensUntilThatDate) {
  auto breaker = MakeBreaker(/*failures_to_open=*/100);
  // HTTP-dates have whole seconds: 3 s ahead is 2 to 3 s away.
  const std::string date = absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT",
                                            absl::Now() + absl::Seconds(3), absl::UTCTimeZone());
  ASSERT_TRUE(server_->Answer(Throttle(503, date)).ok());
  const Result throttled = Get(*breaker);
  EXPECT_EQ(throttled.http_status, 503);
  EXPECT_EQ(throttled.verdict, Verdict::kRetryAfter) << date;
  EXPECT_GT(throttled.retry_after, absl::Seconds(1));
  EXPECT_LE(throttled.retry_after, absl::Seconds(3));
  EXPECT_EQ(breaker->state(), State::kOpen);
  const BreakerSnapshot snapshot = breaker->Snapshot();
  EXPECT_EQ(snapshot.last_trip.cause, TripCause::kRetryAfter);
  EXPECT_GT(snapshot.open_remaining, absl::Seconds(1));
  EXPECT_LE(snapshot.open_remaining, absl::Seconds(3));

  const Result rejected = Get(*breaker);
  ASSERT_TRUE(rejected.rejected());
  EXPECT_GT(rejected.retry_after, absl::Seconds(1));
  EXPECT_LE(rejected.retry_after, absl::Seconds(3));
  EXPECT_EQ(Received(), 1);
}

TEST_F(EasyTest, GarbageRetryAfterIsAPlainFailure) {
  auto breaker = MakeBreaker();
  ASSERT_TRUE(server_->Answer(Throttle(429, "soon")).ok());
  const Result first = Get(*breaker);
  EXPECT_EQ(first.http_status, 429);
  EXPECT_EQ(first.verdict, Verdict::kFailure);
  EXPECT_EQ(first.retry_after, absl::ZeroDuration());
  EXPECT_EQ(breaker->state(), State::kClosed) << "one failure of three opened it";
  EXPECT_EQ(breaker->Snapshot().last_trip.cause, TripCause::kNone);

  Get(*breaker);
  Get(*breaker);
  EXPECT_EQ(breaker->state(), State::kOpen);
  const BreakerSnapshot snapshot = breaker->Snapshot();
  EXPECT_EQ(snapshot.last_trip.cause, TripCause::kConsecutiveFailures);
  EXPECT_EQ(snapshot.open_period, kOpenDuration);
}

TEST_F(EasyTest, ThrottlingWithoutUsableRetryAfterIsAPlainFailure) {
  auto breaker = MakeBreaker(/*failures_to_open=*/100);
  for (const TestHttpServer::Behaviour& behaviour :
       {Status(429), Status(503), Throttle(503, "0"),
        Throttle(503, "Sun, 06 Nov 1994 08:49:37 GMT")}) {
    ASSERT_TRUE(server_->Answer(behaviour).ok());
    const Result result = Get(*breaker);
    EXPECT_EQ(result.verdict, Verdict::kFailure)
        << behaviour.status << " " << behaviour.retry_after.value_or("(none)");
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().failures, 4u);
}

TEST_F(EasyTest, RetryAfterOutsideThrottlingStatusesIsNotHonoured) {
  auto breaker = MakeBreaker(/*failures_to_open=*/100);
  ASSERT_TRUE(server_->Answer(Throttle(200, "5")).ok());
  EXPECT_EQ(Get(*breaker).verdict, Verdict::kSuccess);
  ASSERT_TRUE(server_->Answer(Throttle(500, "5")).ok());
  EXPECT_EQ(Get(*breaker).verdict, Verdict::kFailure);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST_F(EasyTest, AClassifierDecidesWhatCounts) {
  auto breaker = MakeBreaker(/*failures_to_open=*/2);
  Classifier classifier;
  classifier.classify_status = [](long status) {
    if (status == 404) return Verdict::kFailure;
    if (status == 500) return Verdict::kIgnored;
    return DefaultStatusVerdict(status);
  };
  ASSERT_TRUE(server_->Answer(Status(500)).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Get(*breaker, kTimeout, classifier).verdict, Verdict::kIgnored);
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  ASSERT_TRUE(server_->Answer(Status(404)).ok());
  EXPECT_EQ(Get(*breaker, kTimeout, classifier).verdict, Verdict::kFailure);
  EXPECT_EQ(Get(*breaker, kTimeout, classifier).verdict, Verdict::kFailure);
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().ignored, 3u);
}

TEST_F(EasyTest, AMalformedUrlIsTheCallersAndIgnored) {
  auto breaker = MakeBreaker(/*failures_to_open=*/1);
  EasyHandle easy = NewEasy("htp:/nowhere", kTimeout);
  const Result result = Perform(*breaker, easy.get());
  EXPECT_EQ(result.verdict, Verdict::kIgnored);
  EXPECT_NE(result.code, CURLE_OK);
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().ignored, 1u);
}

TEST_F(EasyTest, TheMeasuredDurationJudgesSlowCalls) {
  BreakerConfig config;
  config.name = "slow";
  config.consecutive_failures_to_open = 100;
  // Slow calls are counted once a slow-call rate is set; this one (every
  // call, over 100) never trips here.
  config.slow_call_rate_threshold = 100;
  config.minimum_calls = 100;
  config.slow_call_duration = absl::Milliseconds(100);
  config.slow_call_clock = SlowCallClock::kCaller;  // only `took` can say slow
  auto breaker = Breaker::Create(config).value();
  ASSERT_TRUE(server_->Answer(Hang(absl::Milliseconds(150))).ok());
  const Result slow = Get(*breaker);
  EXPECT_EQ(slow.verdict, Verdict::kSuccess);
  EXPECT_GE(slow.took, absl::Milliseconds(150));
  ASSERT_TRUE(server_->Answer(Status(200)).ok());
  EXPECT_EQ(Get(*breaker).verdict, Verdict::kSuccess);
  EXPECT_EQ(breaker->Metrics().slow, 1u);
}

TEST_F(EasyTest, ThreadsSharingABreakerSendExactlyThePermittedCalls) {
  // Four threads, one breaker, a failing server: the breaker opens at some
  // point in the race, and every request the server saw is a permit the
  // breaker issued; every other call was refused without a request.
  auto breaker = MakeBreaker();
  ASSERT_TRUE(server_->Answer(Status(500)).ok());
  constexpr int kThreads = 4;
  constexpr int kCallsEach = 10;
  const std::string url = server_->Url();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&breaker, &url] {
      EasyHandle easy = NewEasy(url, kTimeout);  // one handle per thread
      for (int i = 0; i < kCallsEach; ++i) Perform(*breaker, easy.get());
    });
  }
  for (std::thread& thread : threads) thread.join();

  const BreakerMetrics metrics = breaker->Metrics();
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(metrics.permitted + metrics.rejected, uint64_t{kThreads * kCallsEach});
  EXPECT_EQ(metrics.failures, metrics.permitted);
  EXPECT_GE(metrics.permitted, 3u);
  EXPECT_GT(metrics.rejected, 0u);
  EXPECT_EQ(Received(), static_cast<long>(metrics.permitted));
}

TEST_F(EasyTest, AForcedOpenBreakerRejectsWithAnInfiniteWait) {
  auto breaker = MakeBreaker();
  breaker->ForceOpen();
  const Result result = Get(*breaker);
  EXPECT_TRUE(result.rejected());
  EXPECT_EQ(result.retry_after, absl::InfiniteDuration());
  EXPECT_EQ(Received(), 0);
}

}  // namespace
}  // namespace curl
}  // namespace circuit
