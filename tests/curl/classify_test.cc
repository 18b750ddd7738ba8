// File: tests/curl/classify_test.cc
// The default classification of finished transfers and TransferStatus(),
// with no network: what counts against the dependency, and what is the
// caller's.
#include "circuit/curl/classify.h"

#include <curl/curl.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "circuit/curl/result.h"
#include "gtest/gtest.h"

namespace circuit {
namespace curl {
namespace {

TEST(ClassifyTest, ServerErrorsAreFailuresAndThrottlingHonoursRetryAfter) {
  EXPECT_EQ(DefaultStatusVerdict(500), Verdict::kFailure);
  EXPECT_EQ(DefaultStatusVerdict(502), Verdict::kFailure);
  EXPECT_EQ(DefaultStatusVerdict(504), Verdict::kFailure);
  EXPECT_EQ(DefaultStatusVerdict(599), Verdict::kFailure);
  EXPECT_EQ(DefaultStatusVerdict(503), Verdict::kRetryAfter);
  EXPECT_EQ(DefaultStatusVerdict(429), Verdict::kRetryAfter);
}

TEST(ClassifyTest, AnswersOtherThanServerErrorsAreSuccesses) {
  for (long status : {100L, 200L, 204L, 301L, 304L, 400L, 401L, 403L, 404L, 409L, 422L, 499L}) {
    EXPECT_EQ(DefaultStatusVerdict(status), Verdict::kSuccess) << status;
  }
}

TEST(ClassifyTest, NetworkAndServerCodesAreFailures) {
  for (CURLcode code : {CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST,
                        CURLE_COULDNT_RESOLVE_PROXY, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
                        CURLE_GOT_NOTHING, CURLE_SSL_CONNECT_ERROR, CURLE_PARTIAL_FILE,
                        CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_PEER_FAILED_VERIFICATION}) {
    EXPECT_EQ(DefaultCodeVerdict(code), Verdict::kFailure) << curl_easy_strerror(code);
  }
}

TEST(ClassifyTest, CodesTheCallerCausesAreIgnored) {
  for (CURLcode code : {CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_WRITE_ERROR,
                        CURLE_READ_ERROR, CURLE_ABORTED_BY_CALLBACK, CURLE_BAD_FUNCTION_ARGUMENT,
                        CURLE_OUT_OF_MEMORY, CURLE_SSL_CERTPROBLEM, CURLE_LOGIN_DENIED}) {
    EXPECT_EQ(DefaultCodeVerdict(code), Verdict::kIgnored) << curl_easy_strerror(code);
  }
  EXPECT_EQ(DefaultCodeVerdict(CURLE_OK), Verdict::kSuccess);
}

TEST(ClassifyTest, AnUnknownCodeIsAFailure) {
  EXPECT_EQ(DefaultCodeVerdict(static_cast<CURLcode>(CURL_LAST + 7)), Verdict::kFailure);
}

TEST(ClassifyTest, VerdictsHaveNames) {
  EXPECT_EQ(VerdictName(Verdict::kSuccess), "SUCCESS");
  EXPECT_EQ(VerdictName(Verdict::kFailure), "FAILURE");
  EXPECT_EQ(VerdictName(Verdict::kRetryAfter), "RETRY_AFTER");
  EXPECT_EQ(VerdictName(Verdict::kIgnored), "IGNORED");
  EXPECT_EQ(VerdictName(Verdict::kRejected), "REJECTED");
  EXPECT_EQ(VerdictName(static_cast<Verdict>(99)), "UNKNOWN");
}

TEST(TransferStatusTest, MapsCodesToCanonicalStatuses) {
  EXPECT_TRUE(TransferStatus(CURLE_OK).ok());
  EXPECT_TRUE(TransferStatus(CURLE_HTTP_RETURNED_ERROR).ok());
  EXPECT_EQ(TransferStatus(CURLE_OPERATION_TIMEDOUT).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(TransferStatus(CURLE_COULDNT_CONNECT).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(TransferStatus(CURLE_GOT_NOTHING).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(TransferStatus(CURLE_ABORTED_BY_CALLBACK).code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(TransferStatus(CURLE_URL_MALFORMAT).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TransferStatus(CURLE_FTP_ACCEPT_FAILED).code(), absl::StatusCode::kUnknown);
  const absl::Status refused = TransferStatus(CURLE_COULDNT_CONNECT);
  EXPECT_TRUE(absl::StrContains(refused.message(), curl_easy_strerror(CURLE_COULDNT_CONNECT)))
      << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "CURLcode 7")) << refused;
}

}  // namespace
}  // namespace curl
}  // namespace circuit
