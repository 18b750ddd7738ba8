// File: src/redis/connection.cc
// Connection (src/redis/connection.h): hiredis's blocking API, with its
// socket timeout bounding each read, and replies copied into Reply.
#include "redis/connection.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "circuit/redis/shared.h"

namespace circuit {
namespace redis {
namespace internal {
namespace {

timeval TimevalOf(absl::Duration d) {
  if (d < absl::Milliseconds(1)) d = absl::Milliseconds(1);
  return absl::ToTimeval(d);
}

// Blocks SIGPIPE on this thread while alive; on the way out consumes one
// that a write raised meanwhile (pending on this thread), so unblocking
// cannot deliver it.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe, &old_) == 0 && !sigismember(&old_, SIGPIPE);
  }
  ~SigpipeBlock() {
    if (!blocked_) return;  // blocked already by the caller: leave it be
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigset_t pending;
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
      const timespec zero = {0, 0};
      const int saved = errno;
      while (sigtimedwait(&pipe, nullptr, &zero) < 0 && errno == EINTR) {
      }
      errno = saved;
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t old_;
  bool blocked_ = false;
};

// Copies a hiredis reply; false for a shape no server of ours sends.
bool Copy(const redisReply* in, int depth, Reply* out) {
  if (in == nullptr || depth > kMaxReplyDepth) return false;
  switch (in->type) {
    case REDIS_REPLY_NIL:
      out->type = Reply::Type::kNil;
      return true;
    case REDIS_REPLY_INTEGER:
      out->type = Reply::Type::kInteger;
      out->integer = in->integer;
      return true;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out->type = in->type == REDIS_REPLY_STRING   ? Reply::Type::kString
                  : in->type == REDIS_REPLY_STATUS ? Reply::Type::kStatus
                                                   : Reply::Type::kError;
      if (in->str == nullptr && in->len != 0) return false;
      out->str.assign(in->str == nullptr ? "" : in->str, in->len);
      return true;
    case REDIS_REPLY_ARRAY:
      out->type = Reply::Type::kArray;
      if (in->elements > 0 && in->element == nullptr) return false;
      out->elements.resize(in->elements);
      for (size_t i = 0; i < in->elements; ++i) {
        if (!Copy(in->element[i], depth + 1, &out->elements[i])) return false;
      }
      return true;
    default:
      return false;
  }
}

absl::Status ContextError(const redisContext* context, absl::string_view doing) {
  const std::string what = absl::StrCat("Redis ", doing, ": ", context->errstr);
  switch (context->err) {
    case REDIS_ERR_IO:
      if (context->errstr[0] != '\0' &&
          (absl::string_view(context->errstr).find("Resource temporarily unavailable") !=
               absl::string_view::npos ||
           absl::string_view(context->errstr).find("timed out") != absl::string_view::npos)) {
        return absl::DeadlineExceededError(what);
      }
      return absl::UnavailableError(what);
    case REDIS_ERR_EOF:
      return absl::UnavailableError(what);
    case REDIS_ERR_PROTOCOL:
      return absl::InternalError(what);
    default:
      return absl::UnavailableError(what);
  }
}

// Queues one command, its arguments as they are (no format string), in the
// context's output buffer; the first read sends it.
bool Append(redisContext* context, const Command& command) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& arg : command) {
    argv.push_back(arg.data());
    lens.push_back(arg.size());
  }
  return redisAppendCommandArgv(context, static_cast<int>(argv.size()), argv.data(),
                                lens.data()) == REDIS_OK;
}

// One command, synchronously, for the handshake.
absl::StatusOr<Reply> Run(redisContext* context, const Command& command) {
  SigpipeBlock no_sigpipe;
  void* raw = nullptr;
  if (!Append(context, command) || redisGetReply(context, &raw) != REDIS_OK || raw == nullptr) {
    return ContextError(context, absl::StrCat("command ", command[0]));
  }
  Reply reply;
  const bool ok = Copy(static_cast<redisReply*>(raw), 0, &reply);
  freeReplyObject(raw);
  if (!ok) return absl::InternalError(absl::StrCat("Redis ", command[0], ": a malformed reply"));
  return reply;
}

}  // namespace

absl::StatusOr<Connection> Connection::Open(const RedisOptions& options) {
  const timeval connect_timeout = TimevalOf(options.connect_timeout);
  redisContext* context;
  std::string where;
  if (!options.unix_socket.empty()) {
    where = absl::StrCat("unix:", options.unix_socket);
    context = redisConnectUnixWithTimeout(options.unix_socket.c_str(), connect_timeout);
  } else {
    absl::string_view address = options.address;
    std::string host(address);
    int port = 6379;
    const size_t colon = address.rfind(':');
    if (colon != absl::string_view::npos) {
      host = std::string(address.substr(0, colon));
      if (!absl::SimpleAtoi(address.substr(colon + 1), &port)) port = -1;
    }
    where = std::string(address);
    context = redisConnectWithTimeout(host.c_str(), port, connect_timeout);
  }
  if (context == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("Redis ", where, ": cannot allocate"));
  }
  Connection connection(context);
  if (context->err != 0) {
    return absl::UnavailableError(absl::StrCat("Redis ", where, ": connect: ", context->errstr));
  }
  if (redisSetTimeout(context, TimevalOf(options.command_timeout)) != REDIS_OK) {
    return absl::UnavailableError(
        absl::StrCat("Redis ", where, ": setting the timeout: ", context->errstr));
  }
  if (!options.password.empty()) {
    Command auth = {"AUTH"};
    if (!options.username.empty()) auth.push_back(options.username);
    auth.push_back(options.password);
    absl::StatusOr<Reply> reply = Run(context, auth);
    if (!reply.ok()) return reply.status();
    if (reply->is_error()) {
      return absl::PermissionDeniedError(absl::StrCat("Redis ", where, ": AUTH: ", reply->str));
    }
  }
  if (options.database != 0) {
    absl::StatusOr<Reply> reply = Run(context, {"SELECT", absl::StrCat(options.database)});
    if (!reply.ok()) return reply.status();
    if (reply->is_error()) {
      return absl::InvalidArgumentError(absl::StrCat("Redis ", where, ": SELECT ",
                                                     options.database, ": ", reply->str));
    }
  }
  return connection;
}

Connection::Connection(Connection&& other) noexcept : context_(other.context_) {
  other.context_ = nullptr;
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (context_ != nullptr) redisFree(context_);
    context_ = other.context_;
    other.context_ = nullptr;
  }
  return *this;
}

Connection::~Connection() {
  if (context_ != nullptr) redisFree(context_);
}

absl::Status Connection::Broken(absl::Status status) {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
  return status;
}

absl::StatusOr<std::vector<Reply>> Connection::Pipeline(const std::vector<Command>& commands,
                                                        absl::Time deadline) {
  if (context_ == nullptr) return absl::FailedPreconditionError("Redis: the connection is broken");
  SigpipeBlock no_sigpipe;
  for (const Command& command : commands) {
    if (!Append(context_, command)) return Broken(ContextError(context_, "pipeline"));
  }
  std::vector<Reply> replies(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    // The first read flushes the whole pipeline.
    if (absl::Now() > deadline) {
      return Broken(absl::DeadlineExceededError(absl::StrCat(
          "Redis: ", commands.size() - i, " of ", commands.size(), " replies not in time")));
    }
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      return Broken(ContextError(context_, "reading a reply"));
    }
    const bool ok = Copy(static_cast<redisReply*>(raw), 0, &replies[i]);
    freeReplyObject(raw);
    if (!ok) return Broken(absl::InternalError("Redis: a malformed reply"));
  }
  return replies;
}

}  // namespace internal
}  // namespace redis
}  // namespace circuit
