// File: tests/grpc/interceptor_test.cc
// circuit::grpc::BreakerInterceptorFactory against a real gRPC server: each
// test starts echo_server (a child process on a loopback port), steers its
// Echo through Control (fail, hang, delay, ask for a pushback, recover) and
// reads how many Echo calls it received, so that "rejected without a
// network call" is the server's own count staying put. Durations are real
// and short (an open period of 200 ms); no assertion is about speed.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/clock.h"
#include "circuit/config.h"
#include "circuit/grpc/interceptor.h"
#include "circuit/registry.h"
#include "circuit/state.h"
#include "gtest/gtest.h"
#include "tests/grpc/echo.grpc.pb.h"
#include "tests/grpc/echo_server_process.h"

namespace circuit {
namespace grpc {
namespace {

using ::echo::Control;
using ::echo::Echo;
using ::echo::testing::EchoServerProcess;
using ::grpc::StatusCode;

constexpr absl::Duration kOpenDuration = absl::Milliseconds(200);
// Past the open period, with room for a loaded machine's timer slack.
constexpr absl::Duration kPastOpenDuration = absl::Milliseconds(300);
// A call's deadline: generous, so that only the hang tests meet theirs.
constexpr absl::Duration kCallDeadline = absl::Seconds(10);

// The steady clock, read afresh on every call. With the system clock a
// thread judges by the clock on one rejection in kRejectionsPerClockRead
// (circuit/clock.h), so the first calls after the open period could still
// be rejected: right for a breaker, but these tests count calls and check
// the trailer's value exactly. Real time all the same.
class SteadyClock final : public Clock {
 public:
  int64_t NowNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

const Clock* TestClock() {
  static const SteadyClock* const clock = new SteadyClock;
  return clock;
}

// Opens after 3 failures in a row, for 200 ms, and closes on one trial.
BreakerConfig TestConfig(const std::string& name) {
  BreakerConfig config;
  config.name = name;
  config.clock = TestClock();
  config.consecutive_failures_to_open = 3;
  config.open_duration = kOpenDuration;
  return config;
}

void SetDeadline(::grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

class InterceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EchoServerProcess>> server = EchoServerProcess::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    // Control's own channel has no interceptor.
    control_ = Control::NewStub(
        ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
    breaker_ = Breaker::Create(TestConfig("echo")).value();
  }

  // A stub whose channel carries the interceptor made from `options`, or,
  // by default, one guarding every call with breaker_.
  std::unique_ptr<Echo::Stub> GuardedStub(std::optional<BreakerInterceptorOptions> options = {}) {
    if (!options) {
      options.emplace();
      options->breaker = breaker_.get();
    }
    absl::StatusOr<std::unique_ptr<BreakerInterceptorFactory>> factory =
        BreakerInterceptorFactory::Create(*std::move(options));
    EXPECT_TRUE(factory.ok()) << factory.status();
    std::vector<std::unique_ptr<::grpc::experimental::ClientInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(*std::move(factory));
    return Echo::NewStub(::grpc::experimental::CreateCustomChannelWithInterceptors(
        server_->address(), ::grpc::InsecureChannelCredentials(), ::grpc::ChannelArguments(),
        std::move(interceptors)));
  }

  // How Echo answers from now on.
  void SetBehaviour(StatusCode code, bool hang = false, int64_t pushback_ms = 0,
                    int64_t delay_ms = 0) {
    echo::Behaviour behaviour;
    behaviour.set_code(static_cast<int>(code));
    behaviour.set_hang(hang);
    behaviour.set_pushback_ms(pushback_ms);
    behaviour.set_delay_ms(delay_ms);
    ::grpc::ClientContext context;
    SetDeadline(&context, kCallDeadline);
    echo::Calls calls;
    ASSERT_TRUE(control_->Set(&context, behaviour, &calls).ok());
  }

  // The Echo calls the server has received so far.
  int64_t Received() {
    ::grpc::ClientContext context;
    SetDeadline(&context, kCallDeadline);
    echo::Calls calls;
    const ::grpc::Status status = control_->Received(&context, echo::Empty(), &calls);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return calls.received();
  }

  // One unary Say() through `stub`, in `context` (a fresh one if null).
  static ::grpc::Status Say(Echo::Stub& stub, ::grpc::ClientContext* context = nullptr,
                            echo::SayReply* reply = nullptr) {
    ::grpc::ClientContext own;
    if (context == nullptr) context = &own;
    if (context->deadline() == std::chrono::system_clock::time_point::max()) {
      SetDeadline(context, kCallDeadline);
    }
    echo::SayRequest request;
    request.set_text("hello");
    echo::SayReply own_reply;
    return stub.Say(context, request, reply != nullptr ? reply : &own_reply);
  }

  // Opens breaker_ through `stub`: three failures the server returns.
  void OpenThrough(Echo::Stub& stub) {
    SetBehaviour(StatusCode::UNAVAILABLE);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(Say(stub).error_code(), StatusCode::UNAVAILABLE);
    ASSERT_EQ(breaker_->state(), State::kOpen);
  }

  // Asserts the call in `context` was rejected by the breaker: the status
  // and the trailer, with a wait no longer than `at_most`.
  static void ExpectRejected(const ::grpc::Status& status, const ::grpc::ClientContext& context,
                             absl::Duration at_most = kOpenDuration) {
    EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE);
    std::optional<absl::Duration> wait = RejectionRetryAfter(context);
    ASSERT_TRUE(wait.has_value()) << "no " << kRetryAfterMetadataKey << " trailer";
    EXPECT_GT(*wait, absl::ZeroDuration());
    EXPECT_LE(*wait, at_most);
  }

  std::unique_ptr<EchoServerProcess> server_;
  std::unique_ptr<Control::Stub> control_;
  std::unique_ptr<Breaker> breaker_;
};

TEST(BreakerInterceptorFactoryTest, CreateRejectsOptionsThatChooseNoBreakerOrTwo) {
  BreakerInterceptorOptions neither;
  EXPECT_TRUE(absl::IsInvalidArgument(BreakerInterceptorFactory::Create(neither).status()));
  std::unique_ptr<Breaker> breaker = Breaker::Create(TestConfig("b")).value();
  Registry registry;
  BreakerInterceptorOptions both;
  both.breaker = breaker.get();
  both.registry = &registry;
  EXPECT_TRUE(absl::IsInvalidArgument(BreakerInterceptorFactory::Create(both).status()));
  BreakerInterceptorOptions upper;
  upper.registry = &registry;
  upper.breaker_metadata_key = "Circuit-Breaker";
  EXPECT_TRUE(absl::IsInvalidArgument(BreakerInterceptorFactory::Create(upper).status()));
  BreakerInterceptorOptions ok_code;
  ok_code.breaker = breaker.get();
  ok_code.failure_codes = {StatusCode::OK};
  EXPECT_TRUE(absl::IsInvalidArgument(BreakerInterceptorFactory::Create(ok_code).status()));
}

TEST_F(InterceptorTest, HealthyCallsPassAndCountAsSuccesses) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  for (int i = 0; i < 5; ++i) {
    echo::SayReply reply;
    ASSERT_TRUE(Say(*stub, nullptr, &reply).ok());
    EXPECT_EQ(reply.text(), "hello");
  }
  const BreakerMetrics metrics = breaker_->Metrics();
  EXPECT_EQ(metrics.successes, 5u);
  EXPECT_EQ(metrics.failures, 0u);
  EXPECT_EQ(Received(), 5);
}

TEST_F(InterceptorTest, OpenBreakerRejectsWithoutReachingTheServer) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  OpenThrough(*stub);
  const int64_t received = Received();
  EXPECT_EQ(received, 3);
  for (int i = 0; i < 5; ++i) {
    ::grpc::ClientContext context;
    const ::grpc::Status status = Say(*stub, &context);
    ExpectRejected(status, context);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "echo")) << status.error_message();
  }
  EXPECT_EQ(Received(), received);
  EXPECT_EQ(breaker_->Metrics().rejected, 5u);
}

TEST_F(InterceptorTest, ServerFailuresAreNotRejections) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  SetBehaviour(StatusCode::UNAVAILABLE);
  ::grpc::ClientContext context;
  EXPECT_EQ(Say(*stub, &context).error_code(), StatusCode::UNAVAILABLE);
  EXPECT_FALSE(RejectionRetryAfter(context).has_value());
}

TEST_F(InterceptorTest, TrialAfterOpenDurationClosesOnSuccess) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  OpenThrough(*stub);
  SetBehaviour(StatusCode::OK);  // the server recovers
  absl::SleepFor(kPastOpenDuration);
  const int64_t received = Received();
  ASSERT_TRUE(Say(*stub).ok());
  EXPECT_EQ(Received(), received + 1);
  EXPECT_EQ(breaker_->state(), State::kClosed);
  EXPECT_TRUE(Say(*stub).ok());
}

TEST_F(InterceptorTest, TrialAfterOpenDurationReopensOnFailure) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  OpenThrough(*stub);
  absl::SleepFor(kPastOpenDuration);
  const int64_t received = Received();
  ::grpc::ClientContext trial;
  EXPECT_EQ(Say(*stub, &trial).error_code(), StatusCode::UNAVAILABLE);
  EXPECT_FALSE(RejectionRetryAfter(trial).has_value());  // the server's answer
  EXPECT_EQ(Received(), received + 1);
  EXPECT_EQ(breaker_->state(), State::kOpen);
  ::grpc::ClientContext rejected;
  ExpectRejected(Say(*stub, &rejected), rejected);
  EXPECT_EQ(Received(), received + 1);
}

TEST_F(InterceptorTest, HangPastTheDeadlineCountsAsFailure) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  SetBehaviour(StatusCode::OK, /*hang=*/true);
  for (int i = 0; i < 3; ++i) {
    ::grpc::ClientContext context;
    SetDeadline(&context, absl::Milliseconds(100));
    EXPECT_EQ(Say(*stub, &context).error_code(), StatusCode::DEADLINE_EXCEEDED);
  }
  EXPECT_EQ(breaker_->Metrics().failures, 3u);
  EXPECT_EQ(breaker_->state(), State::kOpen);
}

TEST_F(InterceptorTest, CallersFaultsDoNotTrip) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  for (StatusCode code : {StatusCode::INVALID_ARGUMENT, StatusCode::NOT_FOUND}) {
    SetBehaviour(code);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(Say(*stub).error_code(), code);
  }
  const BreakerMetrics metrics = breaker_->Metrics();
  EXPECT_EQ(metrics.failures, 0u);
  EXPECT_EQ(metrics.successes, 10u);
  EXPECT_EQ(breaker_->state(), State::kClosed);
}

TEST_F(InterceptorTest, FailureCodesAreConfigurable) {
  // By default INTERNAL is the dependency answering: no trip.
  std::unique_ptr<Echo::Stub> by_default = GuardedStub();
  SetBehaviour(StatusCode::INTERNAL);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Say(*by_default).error_code(), StatusCode::INTERNAL);
  EXPECT_EQ(breaker_->state(), State::kClosed);

  std::unique_ptr<Breaker> strict = Breaker::Create(TestConfig("strict")).value();
  BreakerInterceptorOptions options;
  options.breaker = strict.get();
  options.failure_codes = {StatusCode::INTERNAL};
  std::unique_ptr<Echo::Stub> stub = GuardedStub(options);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Say(*stub).error_code(), StatusCode::INTERNAL);
  EXPECT_EQ(strict->state(), State::kOpen);
}

TEST_F(InterceptorTest, MeasuresTheCallForSlowCallDetection) {
  BreakerConfig config = TestConfig("slow");
  config.slow_call_duration = absl::Milliseconds(50);
  config.slow_call_rate_threshold = 100;
  config.window_size = 2;
  config.minimum_calls = 2;
  std::unique_ptr<Breaker> slow = Breaker::Create(config).value();
  BreakerInterceptorOptions options;
  options.breaker = slow.get();
  std::unique_ptr<Echo::Stub> stub = GuardedStub(options);
  // The first call connects, which may itself take 50 ms (under a
  // sanitizer): the counters are lifetime ones, so count from after it.
  ASSERT_TRUE(Say(*stub).ok());
  slow->Reset();
  const uint64_t slow_before = slow->Metrics().slow;
  SetBehaviour(StatusCode::OK, false, 0, /*delay_ms=*/100);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Say(*stub).ok());
  EXPECT_EQ(slow->Metrics().slow - slow_before, 2u);
  EXPECT_EQ(slow->state(), State::kOpen);
}

TEST_F(InterceptorTest, ServerStreamingCallsAreGuarded) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  auto count = [&](::grpc::ClientContext* context, int* replies) {
    SetDeadline(context, kCallDeadline);
    echo::CountRequest request;
    request.set_n(3);
    std::unique_ptr<::grpc::ClientReader<echo::SayReply>> reader = stub->Count(context, request);
    echo::SayReply reply;
    *replies = 0;
    while (reader->Read(&reply)) ++*replies;
    return reader->Finish();
  };
  int replies = 0;
  {
    ::grpc::ClientContext context;
    ASSERT_TRUE(count(&context, &replies).ok());
    EXPECT_EQ(replies, 3);
    EXPECT_EQ(breaker_->Metrics().successes, 1u);
  }
  SetBehaviour(StatusCode::UNAVAILABLE);
  for (int i = 0; i < 3; ++i) {
    ::grpc::ClientContext context;
    EXPECT_EQ(count(&context, &replies).error_code(), StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(breaker_->state(), State::kOpen);
  const int64_t received = Received();
  ::grpc::ClientContext rejected;
  const ::grpc::Status status = count(&rejected, &replies);
  EXPECT_EQ(replies, 0);
  ExpectRejected(status, rejected);
  EXPECT_EQ(Received(), received);
}

TEST_F(InterceptorTest, BidiStreamIsRejectedWholeWhileOpen) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  {
    ::grpc::ClientContext context;
    SetDeadline(&context, kCallDeadline);
    auto stream = stub->Chat(&context);
    echo::SayRequest request;
    request.set_text("a");
    ASSERT_TRUE(stream->Write(request));
    echo::SayReply reply;
    ASSERT_TRUE(stream->Read(&reply));
    EXPECT_EQ(reply.text(), "a");
    ASSERT_TRUE(stream->WritesDone());
    EXPECT_FALSE(stream->Read(&reply));
    ASSERT_TRUE(stream->Finish().ok());
  }
  OpenThrough(*stub);
  const int64_t received = Received();
  ::grpc::ClientContext context;
  SetDeadline(&context, kCallDeadline);
  auto stream = stub->Chat(&context);
  echo::SayRequest request;
  request.set_text("b");
  EXPECT_FALSE(stream->Write(request));
  echo::SayReply reply;
  EXPECT_FALSE(stream->Read(&reply));
  stream->WritesDone();
  ExpectRejected(stream->Finish(), context);
  EXPECT_EQ(Received(), received);
}

// One unary call through the async stub, driven on `cq` to completion.
::grpc::Status AsyncSay(Echo::Stub& stub, ::grpc::ClientContext* context,
                        ::grpc::CompletionQueue* cq) {
  echo::SayRequest request;
  request.set_text("async");
  echo::SayReply reply;
  ::grpc::Status status;
  std::unique_ptr<::grpc::ClientAsyncResponseReader<echo::SayReply>> call =
      stub.AsyncSay(context, request, cq);
  int tag = 0;
  call->Finish(&reply, &status, &tag);
  void* got = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq->Next(&got, &ok));
  EXPECT_EQ(got, &tag);
  EXPECT_TRUE(ok);
  return status;
}

TEST_F(InterceptorTest, AsyncStubCallsAreGuarded) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  ::grpc::CompletionQueue cq;
  {
    ::grpc::ClientContext context;
    SetDeadline(&context, kCallDeadline);
    ASSERT_TRUE(AsyncSay(*stub, &context, &cq).ok());
    EXPECT_EQ(breaker_->Metrics().successes, 1u);
  }
  SetBehaviour(StatusCode::UNAVAILABLE);
  for (int i = 0; i < 3; ++i) {
    ::grpc::ClientContext context;
    SetDeadline(&context, kCallDeadline);
    EXPECT_EQ(AsyncSay(*stub, &context, &cq).error_code(), StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(breaker_->state(), State::kOpen);
  const int64_t received = Received();
  ::grpc::ClientContext rejected;
  SetDeadline(&rejected, kCallDeadline);
  ExpectRejected(AsyncSay(*stub, &rejected, &cq), rejected);
  EXPECT_EQ(Received(), received);
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
}

TEST_F(InterceptorTest, CancelledTrialHandsItsSlotBack) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  OpenThrough(*stub);
  SetBehaviour(StatusCode::OK, /*hang=*/true);
  absl::SleepFor(kPastOpenDuration);
  const int64_t received = Received();

  // The trial: an async call the server holds.
  ::grpc::CompletionQueue cq;
  ::grpc::ClientContext trial;
  SetDeadline(&trial, kCallDeadline);
  echo::SayRequest request;
  echo::SayReply reply;
  ::grpc::Status status;
  auto call = stub->AsyncSay(&trial, request, &cq);
  int tag = 0;
  call->Finish(&reply, &status, &tag);
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (Received() == received && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(2));
  ASSERT_EQ(Received(), received + 1) << "the trial never reached the server";
  EXPECT_EQ(breaker_->state(), State::kHalfOpen);
  {
    ::grpc::ClientContext second;  // the only trial slot is taken
    EXPECT_EQ(Say(*stub, &second).error_code(), StatusCode::UNAVAILABLE);
    EXPECT_EQ(RejectionRetryAfter(second), absl::ZeroDuration());
  }

  trial.TryCancel();
  void* got = nullptr;
  bool ok = false;
  ASSERT_TRUE(cq.Next(&got, &ok));
  EXPECT_EQ(status.error_code(), StatusCode::CANCELLED);
  EXPECT_EQ(breaker_->Metrics().released, 1u);
  EXPECT_EQ(breaker_->Metrics().failures, 3u);  // the cancel is no failure

  // The slot is free again: the next call is the trial, and closes.
  SetBehaviour(StatusCode::OK);
  ASSERT_TRUE(Say(*stub).ok());
  EXPECT_EQ(breaker_->state(), State::kClosed);
  cq.Shutdown();
  while (cq.Next(&got, &ok)) {
  }
}

TEST_F(InterceptorTest, RegistryGivesEachMethodItsOwnBreaker) {
  Registry registry(TestConfig("unused"));
  BreakerInterceptorOptions options;
  options.registry = &registry;  // key: KeyByMethod()
  std::unique_ptr<Echo::Stub> stub = GuardedStub(options);
  SetBehaviour(StatusCode::UNAVAILABLE);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Say(*stub).error_code(), StatusCode::UNAVAILABLE);
  std::shared_ptr<Breaker> say = registry.Find("/echo.Echo/Say");
  ASSERT_NE(say, nullptr);
  EXPECT_EQ(say->state(), State::kOpen);

  SetBehaviour(StatusCode::OK);
  ::grpc::ClientContext context;
  SetDeadline(&context, kCallDeadline);
  echo::CountRequest request;
  request.set_n(1);
  auto reader = stub->Count(&context, request);
  echo::SayReply reply;
  EXPECT_TRUE(reader->Read(&reply));
  EXPECT_TRUE(reader->Finish().ok());
  std::shared_ptr<Breaker> count = registry.Find("/echo.Echo/Count");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->state(), State::kClosed);
  EXPECT_EQ(count->Metrics().successes, 1u);
  EXPECT_EQ(say->state(), State::kOpen);
}

TEST_F(InterceptorTest, MetadataChoosesTheBreakerPerCallAndIsNotSent) {
  Registry registry(TestConfig("unused"));
  BreakerInterceptorOptions options;
  options.registry = &registry;
  options.target = "echo-server";
  options.key = KeyByTargetAndMethod();
  std::unique_ptr<Echo::Stub> stub = GuardedStub(options);

  ::grpc::ClientContext bulk;
  bulk.AddMetadata("circuit-breaker", "bulk");
  echo::SayReply reply;
  ASSERT_TRUE(Say(*stub, &bulk, &reply).ok());
  EXPECT_FALSE(reply.saw_breaker_metadata());
  ASSERT_NE(registry.Find("bulk"), nullptr);
  EXPECT_EQ(registry.Find("bulk")->Metrics().successes, 1u);
  EXPECT_EQ(registry.Find("echo-server/echo.Echo/Say"), nullptr);

  ASSERT_TRUE(Say(*stub).ok());  // no metadata: the key function's breaker
  ASSERT_NE(registry.Find("echo-server/echo.Echo/Say"), nullptr);
}

TEST_F(InterceptorTest, EmptyKeyLeavesTheCallUnguarded) {
  Registry registry(TestConfig("unused"));
  BreakerInterceptorOptions options;
  options.registry = &registry;
  options.key = [](const CallInfo&) { return std::string(); };
  std::unique_ptr<Echo::Stub> stub = GuardedStub(options);
  SetBehaviour(StatusCode::UNAVAILABLE);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Say(*stub).error_code(), StatusCode::UNAVAILABLE);
  EXPECT_TRUE(registry.Names().empty());
  EXPECT_EQ(Received(), 5);
}

TEST_F(InterceptorTest, RetryPushbackOpensForThatLong) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  SetBehaviour(StatusCode::RESOURCE_EXHAUSTED, false, /*pushback_ms=*/1500);
  EXPECT_EQ(Say(*stub).error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(breaker_->state(), State::kOpen);  // one failure: the server asked
  EXPECT_EQ(breaker_->Metrics().failures, 1u);
  ::grpc::ClientContext rejected;
  // Longer than the breaker's own 200 ms: the server's 1.5 s.
  ExpectRejected(Say(*stub, &rejected), rejected, absl::Milliseconds(1500));
  EXPECT_GT(*RejectionRetryAfter(rejected), kOpenDuration);
}

TEST_F(InterceptorTest, ForcedOpenRejectsWithNoRetryTime) {
  std::unique_ptr<Echo::Stub> stub = GuardedStub();
  breaker_->ForceOpen();
  ::grpc::ClientContext context;
  EXPECT_EQ(Say(*stub, &context).error_code(), StatusCode::UNAVAILABLE);
  EXPECT_EQ(RejectionRetryAfter(context), absl::InfiniteDuration());
  EXPECT_EQ(Received(), 0);
}

}  // namespace
}  // namespace grpc
}  // namespace circuit
