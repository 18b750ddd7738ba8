// File: tests/redis/redis_server_test.cc
// Tests for circuit::testing::RedisServer against Debian's redis-server:
// what the distributed breaker will rely on (SET/GET, a Lua script loaded
// once and run by SHA, TIME inside it, an error reply that leaves the
// connection usable) and the faults it must survive (a crash, a hang, a
// restart that forgets the scripts). Each TEST_P runs on a Unix socket and
// on loopback TCP.
#include "tests/redis/redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace {

using circuit::testing::RedisConnection;
using circuit::testing::RedisServer;
using Transport = RedisServer::Options::Transport;

// INCRBY, then the server's clock: the shape of the distributed breaker's
// scripts (a counter moved, stamped with Redis's time, in one round trip).
constexpr absl::string_view kIncrementAndStampScript = R"lua(
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local now = redis.call('TIME')
return {value, now[1], now[2]}
)lua";

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Sends one command with its arguments as they are (no format string).
// Null when the connection failed (redis->err says why).
Reply Command(redisContext* redis, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(redis, static_cast<int>(args.size()), argv.data(), lengths.data())));
}

std::string Text(const redisReply& reply) { return std::string(reply.str, reply.len); }

// False once the PID is gone (reaped and not reused).
bool ProcessExists(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

class RedisServerTest : public ::testing::TestWithParam<Transport> {
 protected:
  // A command on a connection to a killed server raises SIGPIPE (see
  // redis_server.h, "SIGPIPE"); the tests want the error instead.
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    RedisServer::Options options;
    options.transport = GetParam();
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A connection to server_, or null after recording a failure.
  RedisConnection Connect(absl::Duration timeout = absl::Seconds(1)) {
    absl::StatusOr<RedisConnection> connection = server_->Connect(timeout);
    if (!connection.ok()) {
      ADD_FAILURE() << connection.status();
      return nullptr;
    }
    return *std::move(connection);
  }

  // SCRIPT LOAD of kIncrementAndStampScript: its SHA1, or "" after a failure.
  static std::string LoadScript(redisContext* redis) {
    Reply sha = Command(redis, {"SCRIPT", "LOAD", std::string(kIncrementAndStampScript)});
    if (sha == nullptr || sha->type != REDIS_REPLY_STRING) {
      ADD_FAILURE() << "SCRIPT LOAD failed: " << (sha == nullptr ? redis->errstr : Text(*sha));
      return "";
    }
    return Text(*sha);
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_P(RedisServerTest, AnswersPingAsItsOwnProcess) {
  const pid_t pid = server_->pid();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(ProcessExists(pid));
  if (GetParam() == Transport::kUnixSocket) {
    EXPECT_TRUE(std::filesystem::exists(server_->unix_socket())) << server_->unix_socket();
    EXPECT_EQ(server_->port(), 0);
  } else {
    EXPECT_GT(server_->port(), 0);
    EXPECT_TRUE(server_->unix_socket().empty());
  }
  RedisConnection redis = Connect();
  ASSERT_NE(redis, nullptr);

  Reply pong = Command(redis.get(), {"PING"});
  ASSERT_NE(pong, nullptr) << redis->errstr;
  EXPECT_EQ(pong->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(Text(*pong), "PONG");

  // The fixture's server, not the system's: same PID, same port.
  Reply info = Command(redis.get(), {"INFO", "server"});
  ASSERT_NE(info, nullptr) << redis->errstr;
  ASSERT_EQ(info->type, REDIS_REPLY_STRING);
  EXPECT_TRUE(absl::StrContains(Text(*info), absl::StrCat("process_id:", pid, "\r\n")));
  EXPECT_TRUE(absl::StrContains(Text(*info), absl::StrCat("tcp_port:", server_->port(), "\r\n")));
}

TEST_P(RedisServerTest, SetThenGetReturnsTheValue) {
  RedisConnection redis = Connect();
  ASSERT_NE(redis, nullptr);

  Reply set = Command(redis.get(), {"SET", "breaker:payments", "open"});
  ASSERT_NE(set, nullptr) << redis->errstr;
  EXPECT_EQ(set->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(Text(*set), "OK");

  Reply get = Command(redis.get(), {"GET", "breaker:payments"});
  ASSERT_NE(get, nullptr) << redis->errstr;
  ASSERT_EQ(get->type, REDIS_REPLY_STRING);
  EXPECT_EQ(Text(*get), "open");

  Reply missing = Command(redis.get(), {"GET", "breaker:absent"});
  ASSERT_NE(missing, nullptr) << redis->errstr;
  EXPECT_EQ(missing->type, REDIS_REPLY_NIL);
}

TEST_P(RedisServerTest, LoadedScriptRunsByShaWithTheServersTime) {
  RedisConnection redis = Connect();
  ASSERT_NE(redis, nullptr);
  const std::string sha = LoadScript(redis.get());
  ASSERT_EQ(sha.size(), 40u) << sha;

  long long expected = 0;
  for (int increment : {5, 7}) {
    expected += increment;
    Reply result = Command(redis.get(), {"EVALSHA", sha, "1", "failures", absl::StrCat(increment)});
    ASSERT_NE(result, nullptr) << redis->errstr;
    ASSERT_EQ(result->type, REDIS_REPLY_ARRAY)
        << (result->type == REDIS_REPLY_ERROR ? Text(*result) : "");
    ASSERT_EQ(result->elements, 3u);
    ASSERT_EQ(result->element[0]->type, REDIS_REPLY_INTEGER);
    EXPECT_EQ(result->element[0]->integer, expected);

    // TIME is {seconds, microseconds}, as strings.
    ASSERT_EQ(result->element[1]->type, REDIS_REPLY_STRING);
    ASSERT_EQ(result->element[2]->type, REDIS_REPLY_STRING);
    int64_t seconds = 0;
    int64_t micros = -1;
    ASSERT_TRUE(absl::SimpleAtoi(Text(*result->element[1]), &seconds));
    ASSERT_TRUE(absl::SimpleAtoi(Text(*result->element[2]), &micros));
    EXPECT_NEAR(seconds, absl::ToUnixSeconds(absl::Now()), 60);
    EXPECT_GE(micros, 0);
    EXPECT_LT(micros, 1000000);
  }
}

TEST_P(RedisServerTest, CommandAfterKillFailsWithinTheTimeout) {
  constexpr absl::Duration kTimeout = absl::Milliseconds(500);
  RedisConnection redis = Connect(kTimeout);
  ASSERT_NE(redis, nullptr);
  ASSERT_NE(Command(redis.get(), {"PING"}), nullptr) << redis->errstr;

  const pid_t pid = server_->pid();
  ASSERT_TRUE(server_->Kill().ok());
  EXPECT_EQ(server_->pid(), -1);
  EXPECT_FALSE(ProcessExists(pid));

  const absl::Time start = absl::Now();
  Reply reply = Command(redis.get(), {"SET", "breaker:payments", "open"});
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(reply, nullptr);
  EXPECT_TRUE(redis->err == REDIS_ERR_IO || redis->err == REDIS_ERR_EOF)
      << redis->err << ": " << redis->errstr;
  EXPECT_LT(elapsed, kTimeout + absl::Seconds(1));

  absl::StatusOr<RedisConnection> again = server_->Connect(kTimeout);
  EXPECT_TRUE(absl::IsUnavailable(again.status())) << again.status();
}

TEST_P(RedisServerTest, CommandToPausedServerTimesOut) {
  constexpr absl::Duration kTimeout = absl::Milliseconds(200);
  RedisConnection redis = Connect(kTimeout);
  ASSERT_NE(redis, nullptr);
  ASSERT_NE(Command(redis.get(), {"PING"}), nullptr) << redis->errstr;

  ASSERT_TRUE(server_->Pause().ok());
  const absl::Time start = absl::Now();
  Reply reply = Command(redis.get(), {"PING"});
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(reply, nullptr);
  EXPECT_EQ(redis->err, REDIS_ERR_IO) << redis->errstr;
  // SO_RCVTIMEO, set by redisSetTimeout(), is what ended the wait.
  EXPECT_GE(elapsed, kTimeout - absl::Milliseconds(20));
  EXPECT_LT(elapsed, kTimeout + absl::Seconds(1));
  EXPECT_TRUE(ProcessExists(server_->pid()));

  // A context is unusable after an error; a new connection is answered.
  ASSERT_TRUE(server_->Resume().ok());
  RedisConnection fresh = Connect();
  ASSERT_NE(fresh, nullptr);
  Reply pong = Command(fresh.get(), {"PING"});
  ASSERT_NE(pong, nullptr) << fresh->errstr;
  EXPECT_EQ(Text(*pong), "PONG");
}

TEST_P(RedisServerTest, RestartAfterKillForgetsScriptsAndKeys) {
  const std::string address = server_->address();
  std::string sha;
  {
    RedisConnection redis = Connect();
    ASSERT_NE(redis, nullptr);
    sha = LoadScript(redis.get());
    ASSERT_FALSE(sha.empty());
    ASSERT_NE(Command(redis.get(), {"SET", "breaker:payments", "open"}), nullptr) << redis->errstr;
  }
  const pid_t old_pid = server_->pid();
  ASSERT_TRUE(server_->Kill().ok());
  absl::Status restarted = server_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_EQ(server_->address(), address);
  EXPECT_GT(server_->pid(), 0);
  EXPECT_NE(server_->pid(), old_pid);

  RedisConnection redis = Connect();
  ASSERT_NE(redis, nullptr);
  Reply stale = Command(redis.get(), {"EVALSHA", sha, "1", "failures", "1"});
  ASSERT_NE(stale, nullptr) << redis->errstr;
  ASSERT_EQ(stale->type, REDIS_REPLY_ERROR);
  EXPECT_TRUE(absl::StartsWith(Text(*stale), "NOSCRIPT")) << Text(*stale);
  EXPECT_EQ(redis->err, 0) << redis->errstr;

  Reply key = Command(redis.get(), {"GET", "breaker:payments"});
  ASSERT_NE(key, nullptr) << redis->errstr;
  EXPECT_EQ(key->type, REDIS_REPLY_NIL);

  // Loading it again gives the same SHA (SHA1 of the text), which runs.
  EXPECT_EQ(LoadScript(redis.get()), sha);
  Reply result = Command(redis.get(), {"EVALSHA", sha, "1", "failures", "1"});
  ASSERT_NE(result, nullptr) << redis->errstr;
  ASSERT_EQ(result->type, REDIS_REPLY_ARRAY)
      << (result->type == REDIS_REPLY_ERROR ? Text(*result) : "");
  ASSERT_EQ(result->elements, 3u);
  EXPECT_EQ(result->element[0]->integer, 1);
}

TEST_P(RedisServerTest, RestartWhileRunningStopsTheOldProcess) {
  const pid_t old_pid = server_->pid();
  absl::Status restarted = server_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_FALSE(ProcessExists(old_pid));
  EXPECT_TRUE(ProcessExists(server_->pid()));
  EXPECT_NE(server_->pid(), old_pid);

  RedisConnection redis = Connect();
  ASSERT_NE(redis, nullptr);
  Reply pong = Command(redis.get(), {"PING"});
  ASSERT_NE(pong, nullptr) << redis->errstr;
  EXPECT_EQ(Text(*pong), "PONG");
}

TEST_P(RedisServerTest, WrongTypeIsAnErrorReplyOnAHealthyConnection) {
  RedisConnection redis = Connect();
  ASSERT_NE(redis, nullptr);
  Reply pushed = Command(redis.get(), {"RPUSH", "failures", "a"});
  ASSERT_NE(pushed, nullptr) << redis->errstr;
  EXPECT_EQ(pushed->integer, 1);

  Reply get = Command(redis.get(), {"GET", "failures"});
  ASSERT_NE(get, nullptr) << redis->errstr;
  ASSERT_EQ(get->type, REDIS_REPLY_ERROR);
  EXPECT_TRUE(absl::StartsWith(Text(*get), "WRONGTYPE")) << Text(*get);
  EXPECT_EQ(redis->err, 0) << redis->errstr;

  // Inside a script too: the script's INCRBY fails, and EVALSHA with it.
  const std::string sha = LoadScript(redis.get());
  ASSERT_FALSE(sha.empty());
  Reply script = Command(redis.get(), {"EVALSHA", sha, "1", "failures", "1"});
  ASSERT_NE(script, nullptr) << redis->errstr;
  ASSERT_EQ(script->type, REDIS_REPLY_ERROR);
  EXPECT_TRUE(absl::StrContains(Text(*script), "WRONGTYPE")) << Text(*script);

  Reply pong = Command(redis.get(), {"PING"});
  ASSERT_NE(pong, nullptr) << redis->errstr;
  EXPECT_EQ(Text(*pong), "PONG");
}

TEST_P(RedisServerTest, StopReapsTheProcess) {
  const pid_t pid = server_->pid();
  ASSERT_TRUE(ProcessExists(pid));
  ASSERT_TRUE(server_->Stop().ok());
  EXPECT_EQ(server_->pid(), -1);
  errno = 0;
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  if (GetParam() == Transport::kUnixSocket) {
    EXPECT_FALSE(std::filesystem::exists(server_->unix_socket()));
  }

  absl::StatusOr<RedisConnection> redis = server_->Connect(absl::Milliseconds(200));
  EXPECT_TRUE(absl::IsUnavailable(redis.status())) << redis.status();
  EXPECT_TRUE(server_->Stop().ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(server_->Pause()));
}

TEST_P(RedisServerTest, DestructorStopsTheServerAndRemovesItsFiles) {
  const pid_t pid = server_->pid();
  ASSERT_TRUE(ProcessExists(pid));
  const std::filesystem::path socket_dir =
      std::filesystem::path(server_->unix_socket()).parent_path();
  server_.reset();
  EXPECT_FALSE(ProcessExists(pid));
  if (GetParam() == Transport::kUnixSocket) {
    EXPECT_FALSE(std::filesystem::exists(socket_dir)) << socket_dir;
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, RedisServerTest,
                         ::testing::Values(Transport::kUnixSocket, Transport::kLoopbackTcp),
                         [](const ::testing::TestParamInfo<Transport>& info) {
                           return info.param == Transport::kUnixSocket ? "UnixSocket"
                                                                       : "LoopbackTcp";
                         });

TEST(RedisServerTcpTest, RestartFailsWithTheLogWhenThePortWasTakenMeanwhile) {
  RedisServer::Options options;
  options.transport = Transport::kLoopbackTcp;
  absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_TRUE((*server)->Stop().ok());

  // Another process's listener on the port.
  const int squatter = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(squatter, 0);
  const int reuse = 1;
  setsockopt(squatter, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  ASSERT_EQ(bind(squatter, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
      << strerror(errno);
  ASSERT_EQ(listen(squatter, 1), 0);

  absl::Status taken = (*server)->Restart();
  EXPECT_TRUE(absl::IsUnavailable(taken)) << taken;
  EXPECT_TRUE(absl::StrContains(taken.message(), "Address already in use")) << taken;
  EXPECT_EQ((*server)->pid(), -1);

  close(squatter);
  absl::Status restarted = (*server)->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_EQ((*server)->port(), port);
}

TEST(RedisServersTest, TwoServersShareNothing) {
  RedisServer::Options tcp;
  tcp.transport = Transport::kLoopbackTcp;
  absl::StatusOr<std::unique_ptr<RedisServer>> first = RedisServer::Start();
  absl::StatusOr<std::unique_ptr<RedisServer>> second = RedisServer::Start(tcp);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE((*first)->pid(), (*second)->pid());

  absl::StatusOr<RedisConnection> a = (*first)->Connect();
  absl::StatusOr<RedisConnection> b = (*second)->Connect();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  Reply set = Command(a->get(), {"SET", "breaker:payments", "open"});
  ASSERT_NE(set, nullptr) << (*a)->errstr;
  Reply get = Command(b->get(), {"GET", "breaker:payments"});
  ASSERT_NE(get, nullptr) << (*b)->errstr;
  EXPECT_EQ(get->type, REDIS_REPLY_NIL);
}

TEST(RedisServerOptionsTest, ZeroPortAttemptsIsInvalid) {
  RedisServer::Options options;
  options.transport = Transport::kLoopbackTcp;
  options.port_attempts = 0;
  absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start(options);
  EXPECT_TRUE(absl::IsInvalidArgument(server.status())) << server.status();
  EXPECT_TRUE(absl::StrContains(server.status().message(), "port_attempts")) << server.status();
}

}  // namespace
