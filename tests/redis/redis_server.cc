// File: tests/redis/redis_server.cc
// RedisServer: starting redis-server as a child process (fork, then execv of
// the path found on PATH), waiting for it to answer, and stopping it by PID.
#include "tests/redis/redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace circuit {
namespace testing {
namespace {

// How often Launch() and Stop() look at the child again. 5 ms: a server
// starts in 10-30 ms here, so the wait costs a fraction of that.
constexpr absl::Duration kPollInterval = absl::Milliseconds(5);

// How long one readiness probe may take to connect and get its answers.
constexpr absl::Duration kProbeTimeout = absl::Milliseconds(200);

// How much of the log an error carries.
constexpr long kLogTailBytes = 2048;

// The "Address already in use" that redis-server logs when it cannot bind.
constexpr absl::string_view kAddressInUse = "Address already in use";

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// `name` if it holds a '/', else the first executable PATH entry of that name.
absl::StatusOr<std::string> FindOnPath(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) == 0) return name;
    return absl::NotFoundError(absl::StrCat(name, " is not executable"));
  }
  const char* path = getenv("PATH");
  const std::string dirs = path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(dirs, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat(name, " is not on PATH (", dirs,
                   "); it comes from Debian's redis-server package, which ./bazelw installs"));
}

// A new directory "<parent>/redis.XXXXXX".
absl::StatusOr<std::string> MakeTempDir(const std::string& parent) {
  std::string pattern = absl::StrCat(parent, "/redis.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp(", pattern, "): ", ErrnoText(errno)));
  }
  return pattern;
}

// A TCP port on 127.0.0.1 that was free a moment ago: the kernel's pick for
// a bind to port 0. Another process may take it before redis-server binds
// it; Start() then tries another.
absl::StatusOr<int> FindFreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket(): ", ErrnoText(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int error = errno;
    close(fd);
    return absl::InternalError(
        absl::StrCat("finding a free port on 127.0.0.1: ", ErrnoText(error)));
  }
  close(fd);
  return ntohs(address.sin_port);
}

// "exited with status 1", "was killed by signal 9".
std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("was killed by signal ", WTERMSIG(status));
  return absl::StrCat("ended with wait status ", status);
}

// Reaps `pid` if it exits within `timeout`; true if it did.
bool ReapWithin(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t reaped = waitpid(pid, &status, WNOHANG);
    if (reaped == pid || (reaped < 0 && errno == ECHILD)) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(kPollInterval);
  }
}

// SIGKILL, then a blocking waitpid(): a SIGKILLed process always exits.
void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// The byte size of the file at `path`, or 0 when it does not exist yet.
long FileSize(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 ? static_cast<long>(info.st_size) : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start() { return Start(Options()); }

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(Options options) {
  if (options.port_attempts < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RedisServer::Options.port_attempts must be >= 1, got ", options.port_attempts));
  }
  if (options.startup_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("RedisServer::Options.startup_timeout must be > 0, got ",
                     absl::FormatDuration(options.startup_timeout)));
  }
  if (options.stop_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("RedisServer::Options.stop_timeout must be >= 0, got ",
                     absl::FormatDuration(options.stop_timeout)));
  }
  absl::StatusOr<std::string> binary = FindOnPath("redis-server");
  if (!binary.ok()) return binary.status();

  const char* test_tmpdir = getenv("TEST_TMPDIR");
  const std::string parent = test_tmpdir != nullptr && *test_tmpdir != '\0' ? test_tmpdir : "/tmp";
  absl::StatusOr<std::string> dir = MakeTempDir(parent);
  if (!dir.ok()) return dir.status();

  // sun_path holds 108 bytes with the NUL, and Bazel's $TEST_TMPDIR can be
  // longer than that on its own.
  std::string socket_dir;
  std::string unix_socket;
  if (options.transport == Options::Transport::kUnixSocket) {
    unix_socket = absl::StrCat(*dir, "/redis.sock");
    if (unix_socket.size() >= sizeof(sockaddr_un::sun_path)) {
      absl::StatusOr<std::string> short_dir = MakeTempDir("/tmp");
      if (!short_dir.ok()) {
        std::error_code ignored;
        std::filesystem::remove_all(*dir, ignored);
        return short_dir.status();
      }
      socket_dir = *short_dir;
      unix_socket = absl::StrCat(socket_dir, "/redis.sock");
    }
  }

  // From here on the destructor removes the directories.
  auto server = absl::WrapUnique(new RedisServer(options, *std::move(binary), *dir, socket_dir));
  if (options.transport == Options::Transport::kUnixSocket) {
    server->unix_socket_ = unix_socket;
    absl::Status launched = server->Launch();
    if (!launched.ok()) return launched;
    return server;
  }
  absl::Status launched;
  for (int attempt = 0; attempt < options.port_attempts; ++attempt) {
    absl::StatusOr<int> port = FindFreeLoopbackPort();
    if (!port.ok()) return port.status();
    server->port_ = *port;
    launched = server->Launch();
    if (launched.ok()) return server;
    if (!absl::IsUnavailable(launched)) return launched;
  }
  return absl::UnavailableError(absl::StrCat(
      "RedisServer::Start(): every one of ", options.port_attempts,
      " free ports was taken before redis-server bound it; last: ", launched.message()));
}

RedisServer::RedisServer(Options options, std::string binary, std::string dir,
                         std::string socket_dir)
    : options_(options),
      binary_(std::move(binary)),
      dir_(std::move(dir)),
      socket_dir_(std::move(socket_dir)),
      log_path_(absl::StrCat(dir_, "/redis.log")) {}

RedisServer::~RedisServer() {
  Stop().IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  if (!socket_dir_.empty()) std::filesystem::remove_all(socket_dir_, ignored);
}

std::string RedisServer::address() const {
  return unix_socket_.empty() ? absl::StrCat("127.0.0.1:", port_)
                              : absl::StrCat("unix:", unix_socket_);
}

absl::Status RedisServer::Launch() {
  // Everything the child needs is built before fork(): between fork() and
  // execv() it calls only async-signal-safe functions.
  // clang-format off
  std::vector<std::string> args = {
      binary_,
      "--daemonize", "no",     // stays our child: its PID is ours to stop
      "--save", "",            // no RDB snapshot, at shutdown either
      "--appendonly", "no",    // no AOF
      "--dir", dir_,
      "--logfile", log_path_,
  };
  // clang-format on
  if (unix_socket_.empty()) {
    args.insert(args.end(), {"--port", absl::StrCat(port_), "--bind", "127.0.0.1"});
  } else {
    args.insert(args.end(),
                {"--port", "0", "--unixsocket", unix_socket_, "--unixsocketperm", "700"});
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const long log_offset = FileSize(log_path_);
  // Whatever the server prints before its log is open (a bad option, say)
  // goes to the same file.
  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("open(", log_path_, "): ", ErrnoText(errno)));
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    const int error = errno;
    close(log_fd);
    return absl::InternalError(absl::StrCat("open(/dev/null): ", ErrnoText(error)));
  }

  const pid_t parent = getpid();
  const pid_t child = fork();
  if (child == 0) {
    // Dies with the thread that started it: a crashed test leaves no server.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl()
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    // Other connections the test holds (to another server, say) must not be
    // kept open by this one.
    if (close_range(3, ~0U, 0) != 0) {  // Linux < 5.9
      for (int fd = 3; fd < 1024; ++fd) close(fd);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  const int fork_error = errno;
  close(log_fd);
  close(null_fd);
  if (child < 0) return absl::InternalError(absl::StrCat("fork(): ", ErrnoText(fork_error)));
  pid_ = child;
  paused_ = false;

  const absl::Time deadline = absl::Now() + options_.startup_timeout;
  while (true) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string log = LogTail(log_offset);
      const std::string message =
          absl::StrCat(binary_, " on ", address(), " ", DescribeExit(status),
                       " before answering PING; its log (", log_path_, ") ends:\n", log);
      if (absl::StrContains(log, kAddressInUse)) return absl::UnavailableError(message);
      return absl::InternalError(message);
    }
    if (AnswersAsItself()) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      KillAndReap(pid_);
      pid_ = -1;
      return absl::DeadlineExceededError(
          absl::StrCat(binary_, " on ", address(), " did not answer PING within ",
                       absl::FormatDuration(options_.startup_timeout), " and was killed; its log (",
                       log_path_, ") ends:\n", LogTail(log_offset)));
    }
    absl::SleepFor(kPollInterval);
  }
}

bool RedisServer::AnswersAsItself() const {
  absl::StatusOr<RedisConnection> connection = Connect(kProbeTimeout);
  if (!connection.ok()) return false;
  std::unique_ptr<redisReply, decltype(&freeReplyObject)> pong(
      static_cast<redisReply*>(redisCommand(connection->get(), "PING")), &freeReplyObject);
  if (pong == nullptr || pong->type != REDIS_REPLY_STATUS ||
      absl::string_view(pong->str) != "PONG") {
    return false;
  }
  std::unique_ptr<redisReply, decltype(&freeReplyObject)> info(
      static_cast<redisReply*>(redisCommand(connection->get(), "INFO server")), &freeReplyObject);
  if (info == nullptr || info->type != REDIS_REPLY_STRING) return false;
  for (absl::string_view line : absl::StrSplit(absl::string_view(info->str, info->len), "\r\n")) {
    int process_id = 0;
    if (absl::ConsumePrefix(&line, "process_id:") && absl::SimpleAtoi(line, &process_id)) {
      return process_id == pid_;
    }
  }
  return false;
}

std::string RedisServer::LogTail(long offset) const {
  std::ifstream log(log_path_, std::ios::binary);
  if (!log) return "(no log)";
  log.seekg(0, std::ios::end);
  const long size = static_cast<long>(log.tellg());
  const long from = std::max(offset, size - kLogTailBytes);
  if (from >= size) return "(empty)";
  log.seekg(from);
  return std::string(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
}

absl::Status RedisServer::Stop() {
  if (pid_ < 0) return absl::OkStatus();
  kill(pid_, SIGTERM);
  // A paused server acts on the SIGTERM only once it runs again.
  kill(pid_, SIGCONT);
  if (!ReapWithin(pid_, options_.stop_timeout)) KillAndReap(pid_);
  pid_ = -1;
  paused_ = false;
  return absl::OkStatus();
}

absl::Status RedisServer::Kill() {
  if (pid_ < 0) return absl::OkStatus();
  KillAndReap(pid_);
  pid_ = -1;
  paused_ = false;
  return absl::OkStatus();
}

absl::Status RedisServer::Pause() {
  if (pid_ < 0)
    return absl::FailedPreconditionError("RedisServer::Pause(): the server is not running");
  if (paused_) return absl::OkStatus();
  if (kill(pid_, SIGSTOP) != 0) {
    return absl::InternalError(absl::StrCat("kill(", pid_, ", SIGSTOP): ", ErrnoText(errno)));
  }
  // WUNTRACED reports the stop: on return the server runs no more.
  int status = 0;
  pid_t reaped;
  while ((reaped = waitpid(pid_, &status, WUNTRACED)) < 0 && errno == EINTR) {
  }
  if (reaped != pid_ || !WIFSTOPPED(status)) {
    if (reaped == pid_) pid_ = -1;  // it died instead
    return absl::InternalError(
        absl::StrCat("RedisServer::Pause(): the server did not stop but ",
                     reaped == pid_ ? DescribeExit(status) : ErrnoText(errno)));
  }
  paused_ = true;
  return absl::OkStatus();
}

absl::Status RedisServer::Resume() {
  if (pid_ < 0)
    return absl::FailedPreconditionError("RedisServer::Resume(): the server is not running");
  if (!paused_) return absl::OkStatus();
  if (kill(pid_, SIGCONT) != 0) {
    return absl::InternalError(absl::StrCat("kill(", pid_, ", SIGCONT): ", ErrnoText(errno)));
  }
  paused_ = false;
  return absl::OkStatus();
}

absl::Status RedisServer::Restart() {
  absl::Status stopped = Stop();
  if (!stopped.ok()) return stopped;
  return Launch();
}

absl::StatusOr<RedisConnection> RedisServer::Connect(absl::Duration timeout) const {
  const timeval tv = absl::ToTimeval(timeout);
  RedisConnection connection(unix_socket_.empty()
                                 ? redisConnectWithTimeout("127.0.0.1", port_, tv)
                                 : redisConnectUnixWithTimeout(unix_socket_.c_str(), tv));
  if (connection == nullptr)
    return absl::ResourceExhaustedError("hiredis could not allocate a context");
  if (connection->err != 0) {
    return absl::UnavailableError(
        absl::StrCat("connecting to redis-server at ", address(), ": ", connection->errstr));
  }
  if (redisSetTimeout(connection.get(), tv) != REDIS_OK) {
    return absl::InternalError(
        absl::StrCat("redisSetTimeout() on ", address(), ": ", connection->errstr));
  }
  return connection;
}

std::string RunCommand(redisContext* redis, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(redisCommandArgv(
      redis, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (reply == nullptr) return absl::StrCat("(failed) ", redis->errstr);
  std::string text;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      text = absl::StrCat("(error) ", absl::string_view(reply->str, reply->len));
      break;
    case REDIS_REPLY_INTEGER:
      text = absl::StrCat(reply->integer);
      break;
    case REDIS_REPLY_NIL:
      text = "(nil)";
      break;
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < reply->elements; ++i) {
        const redisReply* e = reply->element[i];
        if (i > 0) text += "\n";
        if (e->type == REDIS_REPLY_INTEGER) {
          absl::StrAppend(&text, e->integer);
        } else if (e->str != nullptr) {
          text.append(e->str, e->len);
        }
      }
      break;
  }
  freeReplyObject(reply);
  return text;
}

}  // namespace testing
}  // namespace circuit
