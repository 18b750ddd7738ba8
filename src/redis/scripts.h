// File: src/redis/scripts.h
// The shared breaker's logic in Redis: two Lua scripts, loaded with SCRIPT
// LOAD and run with EVALSHA, and the C++ on either side of them (the
// arguments a push sends, the reply both scripts return, checked field by
// field: nothing a reply holds is trusted).
//
// Keys of one breaker (one Redis Cluster slot: the name is the hash tag):
//   <prefix>{<name>}:s          hash: the shared state and the window's sums
//   <prefix>{<name>}:w          list: the window's batches, oldest first,
//                               "<redis time us>,<calls>,<failures>,<slow>"
//   <prefix>{<name>}:i:<inst>   hash: what the store last took from one
//                               instance (lifetime counts, its trials and
//                               the trial slots it was lent)
// A push sets the TTLs of the keys it creates, and every key's again when
// the instance asks (every quarter TTL): a key no instance syncs expires.
//
// The state hash's fields:
//   st   0 CLOSED, 1 OPEN, 2 HALF_OPEN     g    the shared generation
//   ou   OPEN until (Redis time, us)       oa   when it last opened (us)
//   ro   reopenings since last CLOSED      hu   HALF_OPEN until (us)
//   wc, wf, ws   the window's calls, failures, slow calls
//   run  the consecutive failures          hg   trial slots lent in all
//   ts, tf, tsl  trial successes, failures, slow trials (every instance)
//   cause, cv, ct   the last trip: TripCause, its value and threshold
// A key of the wrong type, a field that is not a number, or sums that
// cannot be (more failures than calls) are reset by the push script, which
// reports it (`repaired`): garbage in the store costs the shared window,
// never the process.
#ifndef CIRCUIT_SRC_REDIS_SCRIPTS_H_
#define CIRCUIT_SRC_REDIS_SCRIPTS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/config.h"
#include "circuit/internal/shared_control.h"
#include "circuit/redis/shared.h"
#include "redis/connection.h"

namespace circuit {
namespace redis {
namespace internal {

// The scripts' sources.
const std::string& PushScript();
const std::string& ReadScript();

// The keys of breaker `name` under `prefix`. The name is escaped so that it
// cannot end the hash tag early: '{', '}', '%' and bytes below 0x21 become
// %XX.
struct BreakerKeys {
  std::string state;
  std::string window;
  std::string instance;
};
BreakerKeys KeysOf(absl::string_view prefix, absl::string_view name,
                   absl::string_view instance_id);

// What an instance pushes for one breaker.
struct Push {
  std::string epoch;  // the instance's incarnation: a new one starts afresh
  ::circuit::internal::LocalCounts now;   // lifetime counts now
  ::circuit::internal::LocalCounts acked; // as of the last push the store took
  bool batch_had_success = false;  // a success since the last push
  int64_t trial_generation = -1;   // the shared generation local trials belong to
  uint32_t slots_wanted = 0;       // HALF_OPEN trial slots asked for
  bool refresh_ttl = false;        // set the keys' TTLs again
};

// EVALSHA <push sha> 3 <keys> <args>.
Command PushCommand(absl::string_view sha, const BreakerKeys& keys, const Push& push,
                    const BreakerConfig& config, const RedisOptions& options);
// EVALSHA <read sha> 2 <state key> <instance key> <epoch>.
Command ReadCommand(absl::string_view sha, const BreakerKeys& keys, absl::string_view epoch);

// Both scripts' reply, parsed. InternalError for any reply not of the
// script's shape (it names what was wrong); `valid` false when the read
// script found the state hash unreadable (the next push repairs it).
struct ScriptReply {
  bool valid = true;
  SharedState state;
  bool repaired = false;
  absl::Time now;  // Redis's clock
};
absl::StatusOr<ScriptReply> ParseScriptReply(const Reply& reply);

}  // namespace internal
}  // namespace redis
}  // namespace circuit

#endif  // CIRCUIT_SRC_REDIS_SCRIPTS_H_
