// File: tests/redis/shared_process_test.cc
// Instances as separate processes (tests/redis/shared_instance.cc) sharing
// one breaker through a real redis-server: failures spread across them open
// every one, the shared HALF_OPEN's trials are bounded across all of them,
// and their trials close every one.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/redis/redis_server.h"

extern char** environ;

namespace {

using ::circuit::testing::RedisServer;

struct Child {
  pid_t pid = -1;
  std::string out;
};

Child Spawn(const std::vector<std::string>& args, const std::string& out) {
  Child child;
  child.out = out;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (posix_spawn(&child.pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
    child.pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  return child;
}

TEST(SharedProcessTest, ThreeProcessesOpenTogetherProbeWithinOneBoundAndCloseTogether) {
  signal(SIGPIPE, SIG_IGN);
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  // 4 calls, 2 failed, in each: no window alone reaches minimum_calls (12);
  // the shared one does once all three have pushed, at 50 % failed.
  std::vector<Child> children;
  for (int i = 0; i < 3; ++i) {
    children.push_back(Spawn({"tests/redis/shared_instance",
                              absl::StrCat("--socket=", (*server)->unix_socket()),
                              "--name=orders", "--successes=2", "--failures=2"},
                             absl::StrCat(dir, "/instance", i, ".out")));
    ASSERT_GT(children.back().pid, 0);
  }
  int trials = 0;
  for (const Child& child : children) {
    int status = 0;
    ASSERT_EQ(waitpid(child.pid, &status, 0), child.pid);
    std::ifstream in(child.out);
    const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
    for (absl::string_view field : absl::StrSplit(out, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
      int n = 0;
      if (absl::ConsumePrefix(&field, "trials=") && absl::SimpleAtoi(field, &n)) trials += n;
    }
  }
  // half_open_trial_calls = 3 in all, across the three processes: the three
  // trials that closed it.
  EXPECT_EQ(trials, 3);
}

}  // namespace
