// Breaker::Call() with a fallback: the fallback runs at most once per call,
// and what it throws reaches the caller, never mistaken for the call's own
// exception (and never swallowed by a second run of the fallback).
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

using ::testing::HasSubstr;

struct FallbackError : std::runtime_error {
  FallbackError() : std::runtime_error("the fallback failed") {}
};

class CallTest : public testing::Test {
 protected:
  CallTest() {
    BreakerConfig config;
    config.clock = &clock_;
    breaker_ = Breaker::Create(config).value();
  }
  FakeClock clock_;
  std::unique_ptr<Breaker> breaker_;
};

TEST_F(CallTest, AFallbackThatThrowsAfterAFailingStatusRunsOnceAndItsExceptionReachesTheCaller) {
  int runs = 0;
  EXPECT_THROW(breaker_->Call([] { return absl::UnavailableError("down"); },
                              [&](const absl::Status&) -> absl::Status {
                                ++runs;
                                throw FallbackError();
                              }),
               FallbackError);
  EXPECT_EQ(runs, 1);
  const BreakerMetrics m = breaker_->Metrics();
  EXPECT_EQ(m.failures, 1u) << "the call failed once; the fallback's exception is not an outcome";
  EXPECT_EQ(m.permitted, 1u);
}

TEST_F(CallTest, AFallbackThatThrowsAfterAFailingResultRunsOnceAndItsExceptionReachesTheCaller) {
  int runs = 0;
  EXPECT_THROW(breaker_->Call([](int x) -> absl::StatusOr<int> {
                                if (x > 0) return absl::InternalError("bad");
                                return x;
                              },
                              [&](const absl::Status& why, int) -> absl::StatusOr<int> {
                                ++runs;
                                EXPECT_THAT(std::string(why.message()), HasSubstr("bad"));
                                throw FallbackError();
                              },
                              7),
               FallbackError);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(breaker_->Metrics().failures, 1u);
}

TEST_F(CallTest, AFallbackThatThrowsOnceIsNotRunAgainToSwallowItsException) {
  // Before the fix the fallback ran inside the call's try: its exception was
  // classified as the call's, and the fallback ran again with "the call
  // threw"; when that second run succeeded, the caller got a value.
  int runs = 0;
  auto fallback = [&](const absl::Status&) -> absl::StatusOr<std::string> {
    if (++runs == 1) throw FallbackError();
    return std::string("from the second run");
  };
  absl::StatusOr<std::string> result;
  EXPECT_THROW(result = breaker_->Call(
                   []() -> absl::StatusOr<std::string> { return absl::UnavailableError("down"); },
                   fallback),
               FallbackError);
  EXPECT_EQ(runs, 1);
}

TEST_F(CallTest, AFallbackThatThrowsAfterTheCallThrewRunsOnceAndItsExceptionReachesTheCaller) {
  int runs = 0;
  EXPECT_THROW(breaker_->Call([]() -> int { throw std::runtime_error("call"); },
                              [&](const absl::Status& why) -> int {
                                ++runs;
                                EXPECT_THAT(std::string(why.message()), HasSubstr("call"));
                                throw FallbackError();
                              }),
               FallbackError);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(breaker_->Metrics().failures, 1u);
}

TEST_F(CallTest, AFallbackThatThrowsOnRejectionRunsOnceAndItsExceptionReachesTheCaller) {
  breaker_->ForceOpen();
  int runs = 0;
  EXPECT_THROW(breaker_->Call([] { return absl::OkStatus(); },
                              [&](const absl::Status& why) -> absl::Status {
                                ++runs;
                                EXPECT_EQ(why.code(), absl::StatusCode::kUnavailable);
                                throw FallbackError();
                              }),
               FallbackError);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(breaker_->Metrics().permitted, 0u);
}

TEST_F(CallTest, AFallbackThatThrowsLeavesNoPermitOutstanding) {
  for (int i = 0; i < 10; ++i) {
    try {
      const absl::Status status =
          breaker_->Call([] { return absl::UnavailableError("down"); },
                         [](const absl::Status&) -> absl::Status { throw FallbackError(); });
      ADD_FAILURE() << "the fallback's exception did not reach the caller: " << status;
    } catch (const FallbackError&) {
    }
  }
  const BreakerMetrics m = breaker_->Metrics();
  EXPECT_EQ(m.permitted, m.successes + m.failures + m.ignored + m.released);
  EXPECT_EQ(breaker_->state(), State::kOpen);  // 5 failures in a row opened it
}

}  // namespace
}  // namespace circuit
