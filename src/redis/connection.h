// File: src/redis/connection.h
// A synchronous Redis connection over hiredis, with every call bounded by a
// timeout and every reply copied into a plain value (Reply) whose shape the
// caller checks: nothing a server answers reaches the caller as a hiredis
// type or as a pointer to trust.
//
//   absl::StatusOr<Connection> redis = Connection::Open(options);
//   std::vector<Command> commands = {{"SCRIPT", "LOAD", source}};
//   absl::StatusOr<std::vector<Reply>> replies = redis->Pipeline(commands);
//
// Any I/O error, timeout or protocol error breaks the connection for good
// (broken()): a reply that came late must never be taken for the next
// command's, so the caller opens a new one.
//
// One thread uses a Connection at a time. SIGPIPE: a write to a socket
// whose server died raises it; Pipeline() blocks it on the calling thread
// for the write and consumes any it raised, so the process is never killed.
#ifndef CIRCUIT_SRC_REDIS_CONNECTION_H_
#define CIRCUIT_SRC_REDIS_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct redisContext;

namespace circuit {
namespace redis {
struct RedisOptions;

namespace internal {

// A reply, copied out of hiredis. Arrays nest at most kMaxReplyDepth deep
// (deeper is a protocol error: no reply of ours nests).
struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::kError; }
};
inline constexpr int kMaxReplyDepth = 4;

using Command = std::vector<std::string>;

class Connection {
 public:
  // Connects (within options.connect_timeout), sets the command timeout,
  // then AUTH and SELECT as the options ask. Unavailable when nothing
  // answers; PermissionDenied when AUTH is refused.
  static absl::StatusOr<Connection> Open(const RedisOptions& options);

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // Connection::Pipeline()
  // Sends every command in one write, then reads one reply per command, each
  // within the command timeout and all within `deadline`. A Redis error
  // reply (e.g. NOSCRIPT) is a Reply of kError, not a failed call. Errors:
  // Unavailable (I/O: the server closed or reset the connection),
  // DeadlineExceeded (a reply did not come in time), Internal (a protocol
  // error); each breaks the connection.
  absl::StatusOr<std::vector<Reply>> Pipeline(const std::vector<Command>& commands,
                                              absl::Time deadline);

  bool broken() const { return context_ == nullptr; }

 private:
  explicit Connection(redisContext* context) : context_(context) {}
  absl::Status Broken(absl::Status status);

  redisContext* context_;
};

}  // namespace internal
}  // namespace redis
}  // namespace circuit

#endif  // CIRCUIT_SRC_REDIS_CONNECTION_H_
