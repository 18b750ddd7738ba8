// File: tests/redis/redis_server.h
// `circuit::testing::RedisServer` is a test fixture: a real redis-server
// (Debian's redis-server, found on PATH) that belongs to one test. It listens
// on a Unix socket or on a free loopback TCP port of its own, never on the
// system's Redis, keeps nothing on disk (`--save ""`, `--appendonly no`), and
// its Kill(), Pause() and Restart() inject the faults a real deployment sees:
// a crash, a hang, a restart that has forgotten every key and every loaded
// script. Tests of code that talks to Redis use it instead of a mock.
//
// Example:
//   absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status();
//   absl::StatusOr<RedisConnection> redis = (*server)->Connect();
//   ASSERT_TRUE(redis.ok()) << redis.status();
//   auto* reply = static_cast<redisReply*>(redisCommand(redis->get(), "PING"));
//   ...                       // reply->str == "PONG"; freeReplyObject(reply)
//   ASSERT_TRUE((*server)->Kill().ok());     // its next command fails
//   ASSERT_TRUE((*server)->Restart().ok());  // empty, on the same socket
//
// Lifecycle (running = the PID is alive and answers PING):
//   operation     from running                    from stopped
//   Start()       -                               a new server, running
//   Stop()        SIGTERM; SIGKILL after          nothing
//                 stop_timeout -> stopped
//   Kill()        SIGKILL -> stopped              nothing
//   Pause()       SIGSTOP: still running, but     FailedPrecondition
//                 answers nothing
//   Resume()      SIGCONT: answers again          FailedPrecondition
//   Restart()     Stop(), then start on the same  start on the same
//                 socket or port -> running       socket or port -> running
//   ~RedisServer  Stop(), then removes its directories
// Stop() and Kill() reap the PID before they return.
//
// No server outlives its test: the destructor stops it, and the server runs
// with PR_SET_PDEATHSIG = SIGKILL, so a test that crashes or aborts (an
// assertion under AddressSanitizer, a Bazel timeout) takes its servers with
// it. Linux sends that signal when the *thread* that started the server
// exits, so start a server from a thread that outlives it (a test's main
// thread does). A crashed test does leave its directories behind: Bazel
// removes $TEST_TMPDIR, but not a socket's directory under /tmp.
//
// SIGPIPE: hiredis 0.14 sends with write(2), so a command on a connection
// whose server died raises SIGPIPE (at once on a Unix socket), which kills
// the process unless it is ignored. The fixture leaves signal dispositions
// alone: a test that kills a server ignores SIGPIPE itself, and so must any
// code that uses hiredis against a server that may die.
//
// Thread safety: a RedisServer is used by one thread at a time. Each
// connection from Connect() is independent of the server object and of the
// other connections, and is used by one thread at a time, as hiredis needs.
#ifndef CIRCUIT_TESTS_REDIS_REDIS_SERVER_H_
#define CIRCUIT_TESTS_REDIS_REDIS_SERVER_H_

#include <hiredis/hiredis.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace circuit {
namespace testing {

// Frees a hiredis context (closing its socket) with redisFree().
struct RedisContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};

// A connected hiredis context that owns its socket.
using RedisConnection = std::unique_ptr<redisContext, RedisContextDeleter>;

// RunCommand()
// Sends one command (its arguments as they are, no format string) and
// returns the reply as text, for tests: a string or status as it is, an
// integer in decimal, "(nil)", "(error) <message>", an array as its
// elements' texts joined by "\n", or "(failed) <errstr>" when the
// connection failed.
std::string RunCommand(redisContext* redis, const std::vector<std::string>& args);

class RedisServer {
 public:
  struct Options {
    enum class Transport {
      // A socket file in the server's own directory, with TCP off.
      kUnixSocket,
      // 127.0.0.1 on a port the kernel reported free, with no Unix socket.
      kLoopbackTcp,
    };

    // Where the server listens. Default: kUnixSocket, which needs no port
    // and cannot collide with another process.
    Transport transport = Transport::kUnixSocket;

    // How long Start() and Restart() wait for the server to answer PING
    // before they kill it and fail. Default: 10 s; a server answers in tens
    // of milliseconds, so this only bounds a broken start.
    absl::Duration startup_timeout = absl::Seconds(10);

    // How long Stop() waits for the server to exit after SIGTERM before it
    // sends SIGKILL. Default: 5 s. With nothing to save, redis-server exits
    // in milliseconds.
    absl::Duration stop_timeout = absl::Seconds(5);

    // kLoopbackTcp only: ports Start() tries. Between finding a port free
    // and redis-server binding it, another process may take it; Start() then
    // picks another. Default: 5. Must be >= 1.
    int port_attempts = 5;
  };

  // RedisServer::Start()
  //
  // Starts a redis-server and returns once it answers PING as itself (its
  // INFO reports this PID, so a stranger on the same port is never taken for
  // it). Its directory (data, log, socket) is made with mkdtemp() under
  // $TEST_TMPDIR, or under /tmp when that is unset; a socket path longer than
  // sockaddr_un allows (108 bytes) moves to a directory of its own under
  // /tmp. Under Bazel it always does: $TEST_TMPDIR is about 150 bytes.
  //
  // Errors: NotFound when redis-server is not on PATH; InvalidArgument for a
  // bad option (naming the field); Unavailable when every port attempt was
  // taken; Internal when the server exits before answering, and
  // DeadlineExceeded when it does not answer within startup_timeout (both
  // with the end of the server's log).
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start();
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(Options options);

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Stops the server (Stop()) and removes the directories Start() made.
  ~RedisServer();

  // RedisServer::Stop()
  //
  // SIGTERM (and SIGCONT, in case it is paused); SIGKILL if it has not
  // exited within stop_timeout. Returns once the PID is reaped, so
  // kill(old_pid, 0) then fails with ESRCH. Does nothing when stopped.
  // A Unix socket's file is removed by the server on its way out.
  // Takes up to 100 ms: redis-server acts on SIGTERM in its cron, which
  // runs 10 times a second (hz 10); Kill() is immediate.
  absl::Status Stop();

  // RedisServer::Kill()
  //
  // SIGKILL, as a crash: clients see their connection reset, and a Unix
  // socket's file stays behind. Returns once the PID is reaped. Does nothing
  // when stopped.
  absl::Status Kill();

  // RedisServer::Pause()
  //
  // SIGSTOP, as a hang: connections stay open and commands get no answer
  // until Resume(), so they fail after the client's timeout. Returns once
  // the server is stopped. FailedPrecondition when it is not running.
  absl::Status Pause();

  // RedisServer::Resume()
  //
  // SIGCONT after Pause(); the server answers what it was sent meanwhile.
  // Does nothing when not paused; FailedPrecondition when not running.
  absl::Status Resume();

  // RedisServer::Restart()
  //
  // Stop() if running, then starts a new process on the same socket or port,
  // and returns once it answers PING, as Start() does. Nothing carries over:
  // no key, no script (EVALSHA of an old SHA gets NOSCRIPT). Unavailable
  // when another process took the port meanwhile, with the server's log.
  absl::Status Restart();

  // RedisServer::Connect()
  //
  // A new hiredis connection to the server. `timeout` bounds the connect
  // and, through redisSetTimeout(), every later read and write, so a command
  // to a dead or paused server fails within it (ctx->err == REDIS_ERR_IO)
  // instead of blocking. Unavailable when nothing answers at the address
  // (e.g. after Stop() or Kill()).
  absl::StatusOr<RedisConnection> Connect(absl::Duration timeout = absl::Seconds(1)) const;

  // The server's PID while running (paused included), -1 once stopped.
  pid_t pid() const { return pid_; }

  // The Unix socket's path; empty for kLoopbackTcp. Unchanged by Restart().
  const std::string& unix_socket() const { return unix_socket_; }

  // The TCP port on 127.0.0.1; 0 for kUnixSocket. Unchanged by Restart().
  int port() const { return port_; }

  // "unix:<path>" or "127.0.0.1:<port>", for messages.
  std::string address() const;

  // ---------------------------------------------------------------------
  // End of the public interface.
 private:
  RedisServer(Options options, std::string binary, std::string dir, std::string socket_dir);

  // Runs redis-server on port_ or unix_socket_ and waits for its PING.
  // Unavailable when the address was in use; the process is reaped on
  // every error.
  absl::Status Launch();

  // True when the server at the address answers PING and reports pid_.
  bool AnswersAsItself() const;

  // The server's log from byte `offset` on, at most its last 2 KiB.
  std::string LogTail(long offset) const;

  const Options options_;
  const std::string binary_;      // redis-server's absolute path
  const std::string dir_;         // --dir: the log, and the socket if short
  const std::string socket_dir_;  // the socket's, when not dir_; or empty
  const std::string log_path_;    // --logfile; also its stdout and stderr
  std::string unix_socket_;       // empty for kLoopbackTcp
  int port_ = 0;                  // 0 for kUnixSocket
  pid_t pid_ = -1;                // -1 when stopped
  bool paused_ = false;           // between Pause() and Resume()
};

}  // namespace testing
}  // namespace circuit

#endif  // CIRCUIT_TESTS_REDIS_REDIS_SERVER_H_
