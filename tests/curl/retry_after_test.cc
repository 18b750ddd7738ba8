// File: tests/curl/retry_after_test.cc
// ParseRetryAfter(): delta-seconds and the three HTTP-date forms, what is
// garbage, and the limits (a past date, a huge wait).
#include "circuit/curl/retry_after.h"

#include <optional>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace circuit {
namespace curl {
namespace {

// Thursday, 1 January 2026, 00:00:00 GMT.
absl::Time Now() {
  return absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0), absl::UTCTimeZone());
}

std::optional<absl::Duration> Parse(const char* value) { return ParseRetryAfter(value, Now()); }

TEST(RetryAfterTest, ReadsDeltaSeconds) {
  EXPECT_EQ(Parse("1"), absl::Seconds(1));
  EXPECT_EQ(Parse("120"), absl::Seconds(120));
  EXPECT_EQ(Parse("0"), absl::ZeroDuration());
  EXPECT_EQ(Parse("007"), absl::Seconds(7));
}

TEST(RetryAfterTest, IgnoresSurroundingSpacesAndTabs) {
  EXPECT_EQ(Parse("  30\t"), absl::Seconds(30));
  EXPECT_EQ(Parse("\tThu, 01 Jan 2026 00:00:30 GMT "), absl::Seconds(30));
}

TEST(RetryAfterTest, CapsAHugeWaitAtTheMaximumWithoutOverflow) {
  EXPECT_EQ(Parse("86400"), kMaxRetryAfter);
  EXPECT_EQ(Parse("86401"), kMaxRetryAfter);
  EXPECT_EQ(Parse("99999999999999999999999999999999"), kMaxRetryAfter);
  EXPECT_EQ(Parse("Fri, 01 Jan 2027 00:00:00 GMT"), kMaxRetryAfter);
}

TEST(RetryAfterTest, ReadsImfFixdate) {
  EXPECT_EQ(Parse("Thu, 01 Jan 2026 00:00:30 GMT"), absl::Seconds(30));
  EXPECT_EQ(Parse("Thu, 01 Jan 2026 01:02:03 GMT"), absl::Seconds(3723));
  EXPECT_EQ(Parse("Fri, 02 Jan 2026 00:00:00 GMT"), kMaxRetryAfter);  // a day: the cap itself
}

TEST(RetryAfterTest, ReadsRfc850Date) {
  EXPECT_EQ(Parse("Thursday, 01-Jan-26 00:01:00 GMT"), absl::Minutes(1));
}

TEST(RetryAfterTest, ReadsRfc850TwoDigitYearsMoreThanFiftyYearsAheadAsThePast) {
  // From 2026: "76" is 2076, 50 years ahead (a future date, capped); "77"
  // would be 51 years ahead, so it is 1977, long past.
  EXPECT_EQ(Parse("Wednesday, 01-Jan-76 00:00:00 GMT"), kMaxRetryAfter);
  EXPECT_EQ(Parse("Saturday, 01-Jan-77 00:00:00 GMT"), absl::ZeroDuration());
}

TEST(RetryAfterTest, ReadsAsctimeDate) {
  EXPECT_EQ(Parse("Thu Jan  1 00:00:05 2026"), absl::Seconds(5));
  EXPECT_EQ(Parse("Thu Jan 01 00:00:05 2026"), absl::Seconds(5));
  EXPECT_EQ(Parse("Sat Jan 10 00:00:00 2026"), kMaxRetryAfter);
}

TEST(RetryAfterTest, ADateAtOrBeforeNowIsAWaitOfZero) {
  EXPECT_EQ(Parse("Thu, 01 Jan 2026 00:00:00 GMT"), absl::ZeroDuration());
  EXPECT_EQ(Parse("Sun, 06 Nov 1994 08:49:37 GMT"), absl::ZeroDuration());
  EXPECT_EQ(Parse("Sunday, 06-Nov-94 08:49:37 GMT"), absl::ZeroDuration());
  EXPECT_EQ(Parse("Sun Nov  6 08:49:37 1994"), absl::ZeroDuration());
}

TEST(RetryAfterTest, AcceptsALeapSecond) {
  EXPECT_EQ(Parse("Thu, 01 Jan 2026 00:00:60 GMT"), absl::Seconds(59));
}

TEST(RetryAfterTest, RejectsGarbage) {
  for (const char* garbage : {
           "",
           "   ",
           "soon",
           "-1",
           "+5",
           "1.5",
           "5s",
           "1 2",
           "0x10",
           "Thu, 01 Jan 2026 00:00:30 UTC",       // not GMT
           "thu, 01 jan 2026 00:00:30 GMT",       // HTTP-date is case-sensitive
           "Thu, 1 Jan 2026 00:00:30 GMT",        // IMF-fixdate: two-digit day
           "Thu, 01 Jan 26 00:00:30 GMT",         // IMF-fixdate: four-digit year
           "Thu, 01 Jan 2026 00:00:30 GMT x",     // trailing text
           "Thu, 01 Jan 2026 0:00:30 GMT",        // one-digit hour
           "Thu, 01 Jan 2026 24:00:00 GMT",       // no hour 24
           "Thu, 01 Jan 2026 00:60:00 GMT",       // no minute 60
           "Thu, 00 Jan 2026 00:00:00 GMT",       // no day 0
           "Sat, 31 Feb 2026 00:00:00 GMT",       // no 31 February
           "Thu, 01 Jnu 2026 00:00:00 GMT",       // no such month
           "Thx, 01 Jan 2026 00:00:00 GMT",       // no such day
           "Thu 01 Jan 2026 00:00:00 GMT",        // the comma
           "Thu, 01-Jan-26 00:00:30 GMT",         // RFC 850 wants the long day name
           "Thursday, 01-Jan-2026 00:00:30 GMT",  // RFC 850: two-digit year
           "Thu Jan 1 00:00:05 2026",             // asctime: the day is padded
           "Thu Jan  1 00:00:05 26",              // asctime: four-digit year
       }) {
    EXPECT_EQ(Parse(garbage), std::nullopt) << "'" << garbage << "'";
  }
}

}  // namespace
}  // namespace curl
}  // namespace circuit
