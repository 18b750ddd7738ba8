// File: tests/curl/curl_test_main.cc
// main() for the curl integration's tests. libcurl's global state belongs
// to the application (circuit/curl/easy.h): like an application, the test
// binary initializes it once, before any test starts a thread, and cleans
// it up after the last.
#include <curl/curl.h>

#include <cstdio>

#include "gtest/gtest.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) {
    std::fprintf(stderr, "curl_global_init(): %s\n", curl_easy_strerror(init));
    return 1;
  }
  const int result = RUN_ALL_TESTS();
  curl_global_cleanup();
  return result;
}
