// Tests of the trace format (tools/sim/trace.h): every accepted spelling,
// every rejected line with its line number, annotations, and a round trip.
#include "tools/sim/trace.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace sim {
namespace {

using ::testing::HasSubstr;

// What a TraceReader read from a text: every call, or the first error.
struct Read {
  absl::Status status;
  std::vector<TraceCall> calls;
  std::optional<int64_t> start;
  std::vector<Period> outages;
  int64_t lines = 0;
};

Read ReadAll(const std::string& text) {
  Read read;
  std::FILE* file = fmemopen(const_cast<char*>(text.data()), text.size(), "r");
  TraceReader reader(file, "calls.csv");
  TraceCall call;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&call);
    if (!more.ok()) {
      read.status = more.status();
      break;
    }
    if (!*more) break;
    read.calls.push_back(call);
  }
  std::fclose(file);
  read.start = reader.start_annotation();
  read.outages = reader.outage_annotations();
  read.lines = reader.line_number();
  return read;
}

TEST(TraceTest, ParsesSecondsOutcomesAndLatencies) {
  absl::StatusOr<TraceCall> call = ParseTraceLine("12.5,success,35");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->start_nanos, 12'500'000'000);
  EXPECT_EQ(call->outcome, TraceOutcome::kSuccess);
  EXPECT_EQ(call->latency_nanos, 35'000'000);

  call = ParseTraceLine(" 1700000000.123456789 , TIMEOUT , 1.5s ");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->start_nanos, 1'700'000'000'123'456'789);
  EXPECT_EQ(call->outcome, TraceOutcome::kFailure);
  EXPECT_EQ(call->latency_nanos, 1'500'000'000);

  call = ParseTraceLine("0,ignored,0.000001");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->outcome, TraceOutcome::kIgnored);
  EXPECT_EQ(call->latency_nanos, 1);  // a nanosecond, in milliseconds
}

TEST(TraceTest, AFailureMayCarryTheWaitItAskedFor) {
  absl::StatusOr<TraceCall> call = ParseTraceLine("3,failure,1.5,30s");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->retry_after_nanos, 30'000'000'000);
  call = ParseTraceLine("3,failure,1.5,250");  // milliseconds, as latencies
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->retry_after_nanos, 250'000'000);
  call = ParseTraceLine("3,failure,1.5,");  // empty: none
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->retry_after_nanos, 0);
  EXPECT_THAT(ParseTraceLine("3,success,1.5,30s").status().message(),
              HasSubstr("a retry_after on a call that did not fail"));
  EXPECT_THAT(ParseTraceLine("3,failure,1.5,soon").status().message(),
              HasSubstr("retry_after: 'soon'"));
  const TraceCall with{7, TraceOutcome::kFailure, 5, 20'000'000'000};
  absl::StatusOr<TraceCall> back = ParseTraceLine(FormatTraceLine(with));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->retry_after_nanos, with.retry_after_nanos);
}

TEST(TraceTest, ParsesRfc3339Timestamps) {
  absl::StatusOr<int64_t> t = ParseTimestamp("1970-01-01T00:00:01.25Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, 1'250'000'000);
  EXPECT_FALSE(ParseTimestamp("1960-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2026-13-01T00:00:00Z").ok());
}

TEST(TraceTest, EveryOutcomeWordAndNoOther) {
  for (const char* word : {"success", "ok", "OK", "Success"}) {
    EXPECT_EQ(*ParseOutcome(word), TraceOutcome::kSuccess) << word;
  }
  for (const char* word : {"failure", "error", "fail", "timeout", "ERROR"}) {
    EXPECT_EQ(*ParseOutcome(word), TraceOutcome::kFailure) << word;
  }
  EXPECT_EQ(*ParseOutcome("ignored"), TraceOutcome::kIgnored);
  absl::StatusOr<TraceOutcome> bad = ParseOutcome("200");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("bad outcome '200'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("success, ok, failure"));
}

TEST(TraceTest, RejectsMalformedFieldsNamingThem) {
  struct Case {
    const char* line;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"12.5,success", "2 fields: expected timestamp,outcome,latency"},
           {"12.5", "1 field"},
           {"12.5,failure,3,4,5", "more than 4 fields"},
           {"-1,success,3", "bad timestamp '-1'"},
           {"1e3,success,3", "bad timestamp '1e3'"},
           {"12.5.1,success,3", "bad timestamp"},
           {"99999999999999,success,3", "bad timestamp"},  // past int64_t
           {"4611686018.427387905,success,3", "after the year 2116"},
           {"2200-01-01T00:00:00Z,success,3", "after 2116"},
           {"12.5,success,31536000001", "longer than 365 days"},
           {"12.5,success,366d", "bad latency"},
           {"12.5,success,8800h", "longer than 365 days"},
           {"12.5,maybe,3", "bad outcome 'maybe'"},
           {"12.5,success,-3", "bad latency '-3'"},
           {"12.5,success,fast", "bad latency 'fast'"},
           {"12.5,success,", "bad latency ''"},
           {"12.5,success,inf", "bad latency"},
       }) {
    absl::StatusOr<TraceCall> call = ParseTraceLine(c.line);
    ASSERT_FALSE(call.ok()) << c.line;
    EXPECT_EQ(call.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(call.status().message(), HasSubstr(c.message)) << c.line;
  }
}

TEST(TraceTest, FormatReadsBackExactly) {
  const TraceCall calls[] = {
      {0, TraceOutcome::kSuccess, 0},
      {1'700'000'000'123'456'789, TraceOutcome::kFailure, 12'345'678'901},
      {5, TraceOutcome::kIgnored, 999'999},
  };
  for (const TraceCall& call : calls) {
    const std::string line = FormatTraceLine(call);
    absl::StatusOr<TraceCall> back = ParseTraceLine(line);
    ASSERT_TRUE(back.ok()) << line << ": " << back.status();
    EXPECT_EQ(back->start_nanos, call.start_nanos) << line;
    EXPECT_EQ(back->outcome, call.outcome) << line;
    EXPECT_EQ(back->latency_nanos, call.latency_nanos) << line;
  }
  EXPECT_EQ(FormatSeconds(12'500'000'000), "12.5");
  EXPECT_EQ(FormatSeconds(3'000'000'000), "3");
  EXPECT_EQ(FormatSeconds(412'000), "0.000412");
}

TEST(TraceTest, ReaderSkipsHeaderCommentsBlanksAndCrlf) {
  Read read = ReadAll(
      "# a comment\n"
      "# start 10\n"
      "# outage 11 12.5\n"
      "timestamp,outcome,latency_ms\r\n"
      "\n"
      "10.5,success,1\r\n"
      "   \n"
      "11,failure,2ms\n"
      "# outage 20 30\n"
      "11,ok,3");  // no final newline
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_EQ(read.calls.size(), 3u);
  EXPECT_EQ(read.calls[0].start_nanos, 10'500'000'000);
  EXPECT_EQ(read.calls[1].latency_nanos, 2'000'000);
  EXPECT_EQ(read.calls[2].start_nanos, 11'000'000'000);  // equal timestamps are sorted
  EXPECT_EQ(read.start, 10'000'000'000);
  ASSERT_EQ(read.outages.size(), 2u);
  EXPECT_EQ(read.outages[0].start_nanos, 11'000'000'000);
  EXPECT_EQ(read.outages[0].end_nanos, 12'500'000'000);
  EXPECT_EQ(read.lines, 10);
}

TEST(TraceTest, ReaderErrorsNameTheLine) {
  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"1,ok,1\n2,ok,1\n1.5,ok,1\n",
            "calls.csv:3: the timestamp 1.5 is before the previous line's 2: a trace is sorted"},
           {"1,ok,1\n\n2,nope,1\n", "calls.csv:3: bad outcome 'nope'"},
           {"timestamp,outcome,latency\ntimestamp,outcome,latency\n", "calls.csv:2: "},
           {"1,ok,1\n# start 0\n", "calls.csv:2: '# start' must come before the first call"},
           {"# start 5\n1,ok,1\n", "calls.csv:2: a call before the '# start'"},
           {"# outage 5 4\n", "calls.csv:1: an outage must end after it starts"},
           {"# outage 5\n", "calls.csv:1: expected '# outage START END'"},
           {"# start soon\n", "calls.csv:1: bad timestamp 'soon'"},
           {"1,ok,1\n" + std::string(5000, '1') + "\n", "calls.csv:2: a line longer than 4096"},
           {"\x01\x02,ok,1\n", "calls.csv:1: bad timestamp '\\x01\\x02'"},
       }) {
    Read read = ReadAll(c.text);
    ASSERT_FALSE(read.status.ok()) << c.text;
    EXPECT_THAT(read.status.message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(TraceTest, ReaderStaysFailedAfterAnError) {
  const std::string text = "1,ok,1\nbad\n2,ok,1\n";
  std::FILE* file = fmemopen(const_cast<char*>(text.data()), text.size(), "r");
  TraceReader reader(file, "t");
  TraceCall call;
  EXPECT_TRUE(*reader.Next(&call));
  EXPECT_FALSE(reader.Next(&call).ok());
  EXPECT_FALSE(reader.Next(&call).ok());  // not the next line
  std::fclose(file);
}

TEST(TraceTest, ReaderCrossesBufferBoundaries) {
  // More than the 1 MiB buffer, so lines straddle refills.
  std::string text;
  const int n = 80'000;
  for (int i = 0; i < n; ++i) {
    text += FormatTraceLine(TraceCall{int64_t{i} * 1000, TraceOutcome::kSuccess, i}) + "\n";
  }
  ASSERT_GT(text.size(), size_t{1} << 21);
  Read read = ReadAll(text);
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_EQ(read.calls.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(read.calls[i].start_nanos, int64_t{i} * 1000);
    ASSERT_EQ(read.calls[i].latency_nanos, i);
  }
}

}  // namespace
}  // namespace sim
}  // namespace circuit
