// Breaker::Call() and CallWithClassifier(), every form: each result type
// (void, T, absl::Status, absl::StatusOr<T>, T move-only too) with and
// without a fallback and with and without arguments (a move-only one too),
// and how arguments reach fn and the fallback. And the fallback runs at most
// once per call, and what it throws reaches the caller, never mistaken for
// the call's own exception (and never swallowed by a second run of the
// fallback).
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
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

// ---- Every result type, without and with a fallback, without and with arguments ----

using IntPtr = std::unique_ptr<int>;

// Whether breaker.Call(fn, fallback, args...) is a valid expression.
template <typename, typename F, typename Fallback, typename... Args>
struct CanCallImpl : std::false_type {};
template <typename F, typename Fallback, typename... Args>
struct CanCallImpl<std::void_t<decltype(std::declval<Breaker&>().Call(
                       std::declval<F>(), std::declval<Fallback>(), std::declval<Args>()...))>,
                   F, Fallback, Args...> : std::true_type {};
template <typename F, typename Fallback, typename... Args>
constexpr bool kCanCall = CanCallImpl<void, F, Fallback, Args...>::value;

TEST_F(CallTest, AVoidCallableReturnsOkItsRejectionOrRethrows) {
  int ran = 0;
  auto nothing = [] {};
  static_assert(std::is_same_v<decltype(breaker_->Call(nothing)), absl::Status>);
  EXPECT_TRUE(breaker_->Call([&] { ++ran; }).ok());
  EXPECT_EQ(ran, 1);
  EXPECT_THROW((void)breaker_->Call([] { throw std::runtime_error("down"); }), std::runtime_error);
  EXPECT_EQ(breaker_->Metrics().successes, 1u);
  EXPECT_EQ(breaker_->Metrics().failures, 1u);
  breaker_->ForceOpen();
  const absl::Status rejected = breaker_->Call([&] { ++ran; });
  EXPECT_TRUE(IsRejection(rejected)) << rejected;
  EXPECT_EQ(ran, 1);
}

TEST_F(CallTest, AVoidCallableWithAVoidFallbackReturnsOkWhetherOrNotItFellBack) {
  int fell_back = 0;
  auto fallback = [&](const absl::Status&) { ++fell_back; };
  auto nothing = [] {};
  static_assert(std::is_same_v<decltype(breaker_->Call(nothing, fallback)), absl::Status>);
  EXPECT_TRUE(breaker_->Call([] {}, fallback).ok());
  EXPECT_EQ(fell_back, 0);
  EXPECT_TRUE(breaker_->Call([] { throw std::runtime_error("down"); }, fallback).ok());
  EXPECT_EQ(fell_back, 1);
  breaker_->ForceOpen();
  EXPECT_TRUE(breaker_->Call([] {}, fallback).ok());
  EXPECT_EQ(fell_back, 2);
  const BreakerMetrics m = breaker_->Metrics();
  EXPECT_EQ(m.successes, 1u);
  EXPECT_EQ(m.failures, 1u);
  EXPECT_EQ(m.rejected, 1u);
}

TEST_F(CallTest, AVoidCallableWithAStatusFallbackReturnsTheFallbacksStatus) {
  auto fallback = [](const absl::Status& why) { return absl::DataLossError(why.message()); };
  EXPECT_TRUE(breaker_->Call([] {}, fallback).ok());
  const absl::Status failed = breaker_->Call([] { throw std::runtime_error("down"); }, fallback);
  EXPECT_EQ(failed.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(failed.message()), HasSubstr("down"));
}

TEST_F(CallTest, AVoidCallableWithArgumentsAndAFallbackOfTheArgumentsAlone) {
  std::string log;
  auto fn = [&](const std::string& what, int times) {
    if (times < 0) throw std::runtime_error("negative");
    for (int i = 0; i < times; ++i) log += what;
  };
  auto fallback = [&](const std::string& what, int) { log += "(" + what + ")"; };
  EXPECT_TRUE(breaker_->Call(fn, fallback, std::string("a"), 2).ok());
  EXPECT_TRUE(breaker_->Call(fn, fallback, std::string("b"), -1).ok());
  breaker_->ForceOpen();
  EXPECT_TRUE(breaker_->Call(fn, fallback, std::string("c"), 1).ok());
  EXPECT_EQ(log, "aa(b)(c)");
}

TEST_F(CallTest, AValueCallableReturnsItsValueWithoutAndWithAFallback) {
  auto one = [] { return 1; };
  static_assert(std::is_same_v<decltype(breaker_->Call(one)), absl::StatusOr<int>>);
  auto zero = [](const absl::Status&) { return 0; };
  static_assert(std::is_same_v<decltype(breaker_->Call(one, zero)), absl::StatusOr<int>>);
  EXPECT_EQ(breaker_->Call([] { return 1; }).value(), 1);
  auto fallback = [](const absl::Status&) { return -1; };
  EXPECT_EQ(breaker_->Call([] { return 2; }, fallback).value(), 2);
  EXPECT_EQ(breaker_->Call([]() -> int { throw std::runtime_error("down"); }, fallback).value(), -1);
  // The fallback may return absl::StatusOr<T> too.
  const absl::StatusOr<int> from_status_or =
      breaker_->Call([]() -> int { throw std::runtime_error("down"); },
                     [](const absl::Status&) -> absl::StatusOr<int> {
                       return absl::NotFoundError("no cache");
                     });
  EXPECT_EQ(from_status_or.status().code(), absl::StatusCode::kNotFound);
  breaker_->ForceOpen();
  EXPECT_TRUE(IsRejection(breaker_->Call([] { return 3; }).status()));
  EXPECT_EQ(breaker_->Call([] { return 3; }, fallback).value(), -1);
}

TEST_F(CallTest, AValueCallableWithArguments) {
  auto add = [](int a, const int& b) {
    if (a < 0) throw std::invalid_argument("a < 0");
    return a + b;
  };
  auto fallback = [](const absl::Status&, int a, int b) { return a * b; };
  const int b = 10;
  EXPECT_EQ(breaker_->Call(add, fallback, 2, b).value(), 12);
  EXPECT_EQ(breaker_->Call(add, fallback, -2, b).value(), -20);
  breaker_->ForceOpen();
  EXPECT_EQ(breaker_->Call(add, fallback, 3, b).value(), 30);
}

TEST_F(CallTest, AMoveOnlyResultIsMovedOutWithoutAndWithAFallback) {
  auto make = [] { return std::make_unique<int>(1); };
  static_assert(std::is_same_v<decltype(breaker_->Call(make)), absl::StatusOr<IntPtr>>);
  absl::StatusOr<IntPtr> plain = breaker_->Call([] { return std::make_unique<int>(1); });
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(**plain, 1);
  auto fallback = [](const absl::Status&) { return std::make_unique<int>(-1); };
  absl::StatusOr<IntPtr> fell_back =
      breaker_->Call([]() -> IntPtr { throw std::runtime_error("down"); }, fallback);
  ASSERT_TRUE(fell_back.ok());
  EXPECT_EQ(**fell_back, -1);
  // A move-only result and a move-only argument.
  absl::StatusOr<IntPtr> passed_through =
      breaker_->Call([](IntPtr p) { return p; },
                     [](const absl::Status&, const IntPtr&) { return std::make_unique<int>(-1); },
                     std::make_unique<int>(5));
  ASSERT_TRUE(passed_through.ok());
  EXPECT_EQ(**passed_through, 5);
  breaker_->ForceOpen();
  absl::StatusOr<IntPtr> rejected = breaker_->Call([] { return std::make_unique<int>(1); });
  EXPECT_TRUE(IsRejection(rejected.status()));
  absl::StatusOr<IntPtr> rejected_fell_back =
      breaker_->Call([] { return std::make_unique<int>(1); }, fallback);
  ASSERT_TRUE(rejected_fell_back.ok());
  EXPECT_EQ(**rejected_fell_back, -1);
}

TEST_F(CallTest, AStatusCallableReturnsItsStatusOrTheFallbacks) {
  auto ok = [] { return absl::OkStatus(); };
  static_assert(std::is_same_v<decltype(breaker_->Call(ok)), absl::Status>);
  EXPECT_TRUE(breaker_->Call([] { return absl::OkStatus(); }).ok());
  EXPECT_EQ(breaker_->Call([] { return absl::InternalError("x"); }).code(),
            absl::StatusCode::kInternal);
  auto fallback = [](const absl::Status& why) {
    return absl::Status(absl::StatusCode::kAborted, why.message());
  };
  EXPECT_TRUE(breaker_->Call([] { return absl::OkStatus(); }, fallback).ok());
  const absl::Status failed = breaker_->Call([] { return absl::InternalError("x"); }, fallback);
  EXPECT_EQ(failed.code(), absl::StatusCode::kAborted);
  // A fallback that fails carries both errors.
  EXPECT_EQ(failed.message(), "fallback failed: x; the call had failed with: INTERNAL: x");
  EXPECT_EQ(FallbackFailureReason(failed), absl::InternalError("x"));
  // A void fallback handled the failure: OK.
  int handled = 0;
  EXPECT_TRUE(breaker_->Call([] { return absl::InternalError("x"); },
                             [&](const absl::Status&) { ++handled; })
                  .ok());
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(breaker_->Metrics().failures, 3u);
}

TEST_F(CallTest, AStatusCallableWithArguments) {
  auto check = [](int code) { return absl::Status(static_cast<absl::StatusCode>(code), "c"); };
  auto fallback = [](const absl::Status& why, int code) {
    EXPECT_EQ(why.code(), static_cast<absl::StatusCode>(code));
    return absl::OkStatus();
  };
  EXPECT_TRUE(breaker_->Call(check, fallback, 0).ok());
  EXPECT_TRUE(breaker_->Call(check, fallback, static_cast<int>(absl::StatusCode::kInternal)).ok());
  breaker_->ForceOpen();
  EXPECT_TRUE(breaker_->Call(check, [](int) { return absl::OkStatus(); }, 3).ok());
}

TEST_F(CallTest, AStatusOrCallableReturnsItsValueOrTheFallbacks) {
  auto lookup = [](int key) -> absl::StatusOr<std::string> {
    if (key < 0) return absl::NotFoundError("no such key");
    return std::to_string(key);
  };
  auto literal = [](int) { return "x"; };
  static_assert(std::is_same_v<decltype(breaker_->Call(lookup, literal, 1)),
                               absl::StatusOr<std::string>>);
  EXPECT_EQ(breaker_->Call([&] { return lookup(1); }).value(), "1");
  EXPECT_EQ(breaker_->Call([&] { return lookup(-1); }).status().code(),
            absl::StatusCode::kNotFound);
  // The fallback returns T, which converts.
  auto fallback = [](const absl::Status& why, int key) {
    return std::string(why.message()) + " " + std::to_string(key);
  };
  EXPECT_EQ(breaker_->Call(lookup, fallback, 2).value(), "2");
  EXPECT_EQ(breaker_->Call(lookup, fallback, -2).value(), "no such key -2");
  EXPECT_EQ(breaker_->Call([&] { return lookup(-3); }, [](const absl::Status&) {
                                                          return std::string("cached");
                                                        }).value(),
            "cached");
  breaker_->ForceOpen();
  EXPECT_THAT(breaker_->Call(lookup, fallback, 4).value(), HasSubstr("OPEN"));
}

TEST_F(CallTest, AStatusOrOfAMoveOnlyValueWithAMoveOnlyArgument) {
  auto take = [](IntPtr p) -> absl::StatusOr<IntPtr> {
    if (*p < 0) return absl::InvalidArgumentError("negative");
    return p;
  };
  auto fallback = [](const absl::Status&, const IntPtr& p) {
    return std::make_unique<int>(p ? -*p : 0);  // p was moved into `take`
  };
  absl::StatusOr<IntPtr> ok = breaker_->Call(take, fallback, std::make_unique<int>(4));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(**ok, 4);
  absl::StatusOr<IntPtr> failed = breaker_->Call(take, fallback, std::make_unique<int>(-4));
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(**failed, 0) << "the fallback after fn sees the argument fn consumed, moved-from";
  breaker_->ForceOpen();
  absl::StatusOr<IntPtr> rejected = breaker_->Call(take, fallback, std::make_unique<int>(6));
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(**rejected, -6) << "on a rejection fn never ran: the argument is intact";
}

// ---- How arguments reach fn and the fallback ----------------------------------------

TEST_F(CallTest, AMoveOnlyArgumentIsMovedIntoACallableThatTakesItByValue) {
  IntPtr p = std::make_unique<int>(7);
  const absl::StatusOr<int> result =
      breaker_->Call([](IntPtr q) { return *q; },
                     [](const absl::Status&, const IntPtr&) { return -1; }, std::move(p));
  EXPECT_EQ(result.value(), 7);
  EXPECT_EQ(p, nullptr);
}

TEST_F(CallTest, AMoveOnlyArgumentReachesAFallbackThatTakesItByValueOnARejection) {
  breaker_->ForceOpen();
  IntPtr p = std::make_unique<int>(7);
  IntPtr kept;
  const absl::Status status = breaker_->Call([](IntPtr) {},
                                             [&](IntPtr q) {
                                               kept = std::move(q);
                                               return absl::OkStatus();
                                             },
                                             std::move(p));
  EXPECT_TRUE(status.ok());
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(*kept, 7);
}

TEST_F(CallTest, ARvalueReferenceParameterThatIsNotMovedFromLeavesTheArgumentForTheFallback) {
  IntPtr p = std::make_unique<int>(8);
  const absl::StatusOr<int> result =
      breaker_->Call([](IntPtr&& q) -> int { throw std::runtime_error(std::to_string(*q)); },
                     [](const absl::Status&, const IntPtr& q) { return q ? *q : -1; },
                     std::move(p));
  EXPECT_EQ(result.value(), 8);
  EXPECT_NE(p, nullptr) << "nothing moved out of it";
}

TEST_F(CallTest, AnArgumentPassedAsAnLvalueIsTheCallersObjectInFnAndInTheFallback) {
  std::string arg = "x";
  const std::string* seen_by_fn = nullptr;
  const std::string* seen_by_fallback = nullptr;
  const absl::Status status = breaker_->Call(
      [&](const std::string& s) {
        seen_by_fn = &s;
        return absl::InternalError("fail");
      },
      [&](const absl::Status&, const std::string& s) {
        seen_by_fallback = &s;
        return absl::OkStatus();
      },
      arg);
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(seen_by_fn, &arg);
  EXPECT_EQ(seen_by_fallback, &arg);
}

TEST_F(CallTest, AMutableReferenceParameterChangesTheCallersObject) {
  int counter = 0;
  EXPECT_EQ(breaker_->Call([](int& n) { return ++n; }, [](const absl::Status&, int&) { return 0; },
                           counter)
                .value(),
            1);
  EXPECT_EQ(counter, 1);
}

TEST_F(CallTest, ACopyableArgumentTakenByValueIsCopiedSoTheFallbackStillSeesIt) {
  // fn takes the string by value: it accepts an lvalue, so it gets a copy
  // and the temporary is still whole when the fallback runs.
  std::string seen_by_fallback;
  const absl::StatusOr<int> result = breaker_->Call(
      [](std::string s) -> int {
        std::string taken = std::move(s);
        throw std::runtime_error(taken);
      },
      [&](const absl::Status&, const std::string& s) {
        seen_by_fallback = s;
        return 0;
      },
      std::string(100, 'a'));
  EXPECT_EQ(result.value(), 0);
  EXPECT_EQ(seen_by_fallback, std::string(100, 'a'));
}

TEST_F(CallTest, AMoveOnlyLvalueCannotBeHandedToACallableThatTakesItByValue) {
  // The caller keeps an lvalue: it is never moved from behind its back. The
  // call is not viable (no hard error inside the breaker).
  auto by_value = [](IntPtr) { return 0; };
  auto fallback = [](const absl::Status&, const IntPtr&) { return 0; };
  static_assert(!kCanCall<decltype(by_value)&, decltype(fallback)&, IntPtr&>);
  static_assert(kCanCall<decltype(by_value)&, decltype(fallback)&, IntPtr&&>);
  static_assert(kCanCall<decltype(by_value)&, decltype(fallback)&, IntPtr>);
}

// ---- CallWithClassifier -----------------------------------------------------------------

TEST_F(CallTest, CallWithClassifierCountsAClassifiedResultAsAFailureAndStillReturnsIt) {
  auto odd = [](int x) { return x % 2 != 0; };
  EXPECT_EQ(breaker_->CallWithClassifier([] { return 3; }, odd).value(), 3);
  EXPECT_EQ(breaker_->CallWithClassifier([] { return 4; }, odd).value(), 4);
  const BreakerMetrics m = breaker_->Metrics();
  EXPECT_EQ(m.failures, 1u);
  EXPECT_EQ(m.successes, 1u);
}

TEST_F(CallTest, CallWithClassifierWithAFallbackAndNoArguments) {
  auto odd = [](int x) { return x % 2 != 0; };
  std::string reason;
  auto fallback = [&](const absl::Status& why) {
    reason = std::string(why.message());
    return 0;
  };
  EXPECT_EQ(breaker_->CallWithClassifier([] { return 4; }, odd, fallback).value(), 4);
  EXPECT_TRUE(reason.empty());
  EXPECT_EQ(breaker_->CallWithClassifier([] { return 3; }, odd, fallback).value(), 0);
  EXPECT_EQ(reason, "result classified as a failure");
  breaker_->ForceOpen();
  EXPECT_EQ(breaker_->CallWithClassifier([] { return 4; }, odd, fallback).value(), 0);
  EXPECT_THAT(reason, HasSubstr("FORCED_OPEN"));
}

TEST_F(CallTest, CallWithClassifierWithAFallbackAndArguments) {
  auto half = [](int x) { return x / 2; };
  auto zero_is_failure = [](int x) { return x == 0; };
  auto fallback = [](const absl::Status&, int x) { return -x; };
  EXPECT_EQ(breaker_->CallWithClassifier(half, zero_is_failure, fallback, 8).value(), 4);
  EXPECT_EQ(breaker_->CallWithClassifier(half, zero_is_failure, fallback, 1).value(), -1);
  EXPECT_EQ(breaker_->Metrics().failures, 1u);
}

TEST_F(CallTest, CallWithClassifierOfAStatusAsksThePredicateOnlyAboutSuccesses) {
  int asked = 0;
  auto predicate = [&](const absl::Status&) {
    ++asked;
    return true;
  };
  auto fallback = [](const absl::Status& why) { return absl::AbortedError(why.message()); };
  EXPECT_EQ(breaker_->CallWithClassifier([] { return absl::OkStatus(); }, predicate, fallback)
                .code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(FallbackFailureReason(breaker_->CallWithClassifier(
                [] { return absl::InternalError("x"); }, predicate, fallback)),
            absl::InternalError("x"));
  EXPECT_EQ(asked, 1);
}

TEST_F(CallTest, CallWithClassifierOfAStatusOrOfAMoveOnlyValueWithAMoveOnlyArgument) {
  auto take = [](IntPtr p) -> absl::StatusOr<IntPtr> { return p; };
  auto null_is_failure = [](const absl::StatusOr<IntPtr>& r) { return *r == nullptr; };
  auto fallback = [](const absl::Status&, const IntPtr&) { return std::make_unique<int>(-1); };
  absl::StatusOr<IntPtr> ok =
      breaker_->CallWithClassifier(take, null_is_failure, fallback, std::make_unique<int>(2));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(**ok, 2);
  absl::StatusOr<IntPtr> null = breaker_->CallWithClassifier(take, null_is_failure, fallback,
                                                             IntPtr());
  ASSERT_TRUE(null.ok());
  EXPECT_EQ(**null, -1);
  EXPECT_EQ(breaker_->Metrics().failures, 1u);
}

TEST_F(CallTest, CallWithClassifierOfAMoveOnlyValueWithoutAFallback) {
  auto null_is_failure = [](const IntPtr& p) { return p == nullptr; };
  absl::StatusOr<IntPtr> null =
      breaker_->CallWithClassifier([] { return IntPtr(); }, null_is_failure);
  ASSERT_TRUE(null.ok());
  EXPECT_EQ(*null, nullptr);
  EXPECT_EQ(breaker_->Metrics().failures, 1u);
}

TEST_F(CallTest, CallWithClassifierTreatsAPredicateThatThrowsAsAFailure) {
  auto throws = [](int) -> bool { throw std::runtime_error("predicate"); };
  EXPECT_EQ(breaker_->CallWithClassifier([] { return 1; }, throws,
                                         [](const absl::Status&) { return 0; })
                .value(),
            0);
  EXPECT_EQ(breaker_->Metrics().failures, 1u);
}

TEST_F(CallTest, AFallbackThatReturnsAnErrorIsReportedWithBothErrors) {
  const absl::StatusOr<int> failed = breaker_->Call(
      [] { return absl::StatusOr<int>(absl::UnavailableError("primary down")); },
      [](const absl::Status&) -> absl::StatusOr<int> {
        absl::Status cache_miss = absl::NotFoundError("no cached quote");
        cache_miss.SetPayload("example.com/cache", absl::Cord("miss"));
        return cache_miss;
      });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(failed.status().message()),
              testing::AllOf(testing::HasSubstr("fallback failed: no cached quote"),
                             testing::HasSubstr("primary down")));
  EXPECT_EQ(failed.status().GetPayload("example.com/cache").value_or(absl::Cord()), "miss");
  const std::optional<absl::Status> reason = FallbackFailureReason(failed.status());
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(*reason, absl::UnavailableError("primary down"));

  // A rejection's reason comes back as a rejection.
  breaker_->ForceOpen();
  const absl::Status rejected = breaker_->Call(
      [] { return absl::OkStatus(); },
      [](const absl::Status&) { return absl::InternalError("no fallback either"); });
  EXPECT_EQ(rejected.code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(IsRejection(rejected)) << "the fallback's failure is not a rejection";
  const std::optional<absl::Status> rejection = FallbackFailureReason(rejected);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_TRUE(IsRejection(*rejection)) << *rejection;
  EXPECT_EQ(RejectionRetryAfter(*rejection), absl::InfiniteDuration());

  // Passing the reason on is not a failure of the fallback: unchanged.
  const absl::Status passed =
      breaker_->Call([] { return absl::OkStatus(); }, [](const absl::Status& why) { return why; });
  EXPECT_TRUE(IsRejection(passed));
  EXPECT_EQ(FallbackFailureReason(passed), std::nullopt);
  EXPECT_EQ(FallbackFailureReason(absl::NotFoundError("plain")), std::nullopt);
}

}  // namespace
}  // namespace circuit
