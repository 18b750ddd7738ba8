// File: circuit/redis/shared.h
// The distributed mode: a `circuit::redis::Coordinator` shares breakers'
// windows and states across the instances of a service through Redis, so
// that a dependency one instance sees failing is cut off by all of them,
// without a network round trip on the call path.
//
// Example:
//   circuit::redis::RedisOptions options;
//   options.address = "redis.internal:6379";       // or unix_socket = "/run/redis.sock"
//   auto coordinator = circuit::redis::Coordinator::Create(options).value();
//
//   circuit::BreakerConfig config;
//   config.name = "payments";                      // the shared key: same on every instance
//   config.failure_rate_threshold = 50;
//   std::shared_ptr<circuit::Breaker> payments = coordinator->Share(config).value();
//
//   // The call path is the local breaker's, unchanged: no Redis on it.
//   absl::StatusOr<Receipt> receipt = payments->Call([&] { return Charge(order); });
//
// The model (docs/distributed.md has the whole of it):
// - Each instance calls its own local Breaker, which records every outcome
//   into its own window as any breaker does.
// - A background thread per coordinator syncs every `sync_interval`: one
//   pipelined round trip for all its breakers. For each it pushes the counts
//   gathered since the last push (lifetime counts: the store adds the
//   difference, so a push that is retried, or answered after its timeout,
//   never counts twice, and counts gathered while Redis was away are pushed
//   when it returns) and pulls the shared state. A Lua script, run with
//   EVALSHA, merges the counts into the shared window and decides the
//   shared state atomically in Redis, on Redis's clock (TIME).
// - The shared state decides (Sharing::kShared): a shared OPEN opens every
//   instance within one sync interval, for the shared open period; a shared
//   HALF_OPEN lends trial slots to the instances that have calls waiting,
//   half_open_trial_calls in all across every instance; the shared verdict
//   on the trials of every instance closes or reopens them all. The local
//   breaker never trips alone while it is shared.
// - When Redis is down, slow or answers garbage, each breaker goes on
//   deciding alone from its own window (Sharing::kDegraded: in its
//   snapshot, to listeners, in Registry::Health() and in the Prometheus
//   export), callers never wait for Redis, and the counts it records are
//   pushed once Redis is back; then it follows the shared state again.
// - Every instance must share a breaker under the same name and config:
//   the store judges the shared window by the config of the instance that
//   pushes.
//
// Redis load: one EVALSHA per breaker per sync interval per instance
// (EVALSHA of a read-only script when there is nothing to push), in one
// pipelined round trip per instance per interval. Keys (under `prefix`,
// with the breaker's name as a Redis Cluster hash tag, so that one
// breaker's keys live in one slot) expire when no instance has synced them
// for `key_ttl`.
//
// Thread safety: every member is thread-safe. The coordinator's sync thread
// is the only one that talks to Redis; Share(), Unshare() and SyncNow()
// hand it their work and wait (SyncNow() at most for one round, whose every
// Redis call is bounded by the timeouts).
#ifndef CIRCUIT_REDIS_SHARED_H_
#define CIRCUIT_REDIS_SHARED_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/sharing.h"
#include "circuit/snapshot.h"
#include "circuit/state.h"

namespace circuit {
namespace redis {

struct RedisOptions {
  // Where Redis listens: "host:port" (a name or an IPv4 address; port 6379
  // if omitted), unless `unix_socket` is set, which is used instead.
  std::string address = "127.0.0.1:6379";
  std::string unix_socket;

  // AUTH with `password` (and `username`, Redis 6 ACLs) when set; SELECT
  // `database` when not 0.
  std::string username;
  std::string password;
  int database = 0;

  // Keys are "<prefix>{<breaker name>}:<suffix>". Not empty.
  std::string prefix = "circuit:";

  // Bounds every Redis call: a connect, and each reply of a round's
  // pipeline (and the whole round's replies, together, by twice this).
  // Short by default: the sync runs apart from the call path, but a
  // breaker is degraded only once a call has failed.
  absl::Duration connect_timeout = absl::Milliseconds(200);
  absl::Duration command_timeout = absl::Milliseconds(200);

  // How often the sync runs (each wait jittered by +-10 %, so that
  // instances started together do not sync in lockstep): a shared OPEN
  // reaches every instance within about this. >= 1 ms.
  absl::Duration sync_interval = absl::Milliseconds(100);

  // A breaker whose calls since its last push all succeeded (no failure, no
  // slow call, no trial, no call waiting) pushes them at most this often
  // instead of every sync: in steady health, most of the load a push puts
  // on Redis buys nothing. Failures are pushed at the next sync, carrying
  // the successes held back with them; meanwhile the shared window lacks
  // up to this much of a healthy instance's successes, so its rates read
  // high by their share. 0: push every sync. Default 1 s.
  absl::Duration quiet_push_interval = absl::Seconds(1);

  // After a failed connect, the next attempt waits this long (doubled on
  // each failure, up to 16x). Meanwhile the breakers decide alone.
  absl::Duration reconnect_backoff = absl::Milliseconds(100);

  // A shared HALF_OPEN whose trials have not decided within this reopens
  // (an instance that took trial slots and died must not wedge the others),
  // unless the config's half_open_max_duration is set, which is used
  // instead. > 0.
  absl::Duration half_open_limit = absl::Seconds(30);

  // Keys no instance has synced for this long expire. >= 1 s, and longer
  // than the time window and the open periods of the breakers shared.
  absl::Duration key_ttl = absl::Minutes(10);

  // This instance's name in the shared store (its counts and trial slots
  // are kept under it). Empty: a random one, new for each coordinator.
  std::string instance_id;
};

// ValidateRedisOptions()
// OK, or InvalidArgumentError naming the field: "RedisOptions.<field>: ...".
absl::Status ValidateRedisOptions(const RedisOptions& options);

// What the shared store said about one breaker at the last sync.
struct SharedState {
  bool known = false;             // a sync has answered for it
  State state = State::kClosed;   // CLOSED, OPEN or HALF_OPEN
  uint64_t generation = 0;        // the shared generation (restarts with the keys)
  absl::Duration open_remaining;  // OPEN: until trials may start
  absl::Time opened_at;           // when it last opened, by Redis's clock
  TripReason last_trip;           // why it last opened (the shared window's cause)
  uint64_t window_calls = 0;      // the shared window (every instance's calls)
  uint64_t window_failures = 0;
  uint64_t window_slow = 0;
  uint32_t consecutive_failures = 0;
  uint32_t trial_successes = 0;   // HALF_OPEN: every instance's trials so far
  uint32_t trial_failures = 0;
  uint32_t trial_slots_granted = 0;  // HALF_OPEN: lent, to every instance
  uint32_t trial_slots_lent_here = 0;  // HALF_OPEN: lent to this instance
  absl::Time synced_at;           // when this instance last heard of it
};

// The coordinator's own counters.
struct SyncStats {
  uint64_t rounds = 0;           // sync rounds run
  uint64_t failed_rounds = 0;    // rounds that lost the connection or timed out
  uint64_t connects = 0;         // connections made
  uint64_t commands = 0;         // EVALSHA (push and read) sent
  uint64_t script_loads = 0;     // SCRIPT LOAD sent (at connect, after NOSCRIPT)
  uint64_t repairs = 0;          // keys of the wrong type or with garbage, reset
  bool connected = false;
  absl::Duration last_round_trip;  // the last round's pipeline, send to last reply
  absl::Status last_error;         // why the last failed round failed
};

class Coordinator {
 public:
  // Coordinator::Create()
  // Validates `options` and starts the sync thread. Does not wait for Redis:
  // a coordinator whose Redis is down works (its breakers are degraded) and
  // connects when Redis comes up.
  static absl::StatusOr<std::unique_ptr<Coordinator>> Create(RedisOptions options);

  // Stops the sync thread (waiting at most for one Redis call) and lets go
  // of every breaker (Unshare()): they go on working, alone.
  ~Coordinator();

  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Coordinator::Share(config)
  // Creates a breaker from `config` (validated: ValidateConfig()) and shares
  // it under config.name. Errors: InvalidArgumentError for an invalid
  // config or an empty name, or when `key_ttl` is shorter than the config's
  // longest open period (max_open_duration with backoff, else
  // open_duration), its time window or its HALF_OPEN limit (the shared
  // state would expire while it holds); AlreadyExistsError when this
  // coordinator shares a breaker of that name.
  absl::StatusOr<std::shared_ptr<Breaker>> Share(BreakerConfig config);

  // Coordinator::Share(breaker)
  // Shares an existing breaker (e.g. from a Registry) under its name. It is
  // degraded until the first sync answers, then follows the shared state.
  // An operator's state (FORCED_OPEN, DISABLED, METRICS_ONLY) is never
  // overridden by the shared one. Errors: as above; InvalidArgumentError
  // for a null breaker; FailedPreconditionError for a breaker another
  // coordinator shares (one at a time).
  absl::Status Share(std::shared_ptr<Breaker> breaker);

  // Lets go of the breaker named `name` (false if not shared here): it
  // decides alone from then on (Sharing::kLocal).
  bool Unshare(absl::string_view name);

  // The breakers shared, by name.
  std::vector<std::shared_ptr<Breaker>> Breakers() const;

  // Coordinator::SyncNow()
  // Runs a sync round now on the sync thread and waits for it: OK when
  // Redis answered for every breaker, else the round's error (the breakers
  // concerned are then degraded). Bounded by the timeouts.
  absl::Status SyncNow();

  // What the store said about `name` at the last sync (known == false if
  // never, or if not shared here).
  SharedState Shared(absl::string_view name) const;

  // True while any breaker shared here is degraded.
  bool degraded() const;

  SyncStats Stats() const;
  const RedisOptions& options() const;

  // This instance's id in the store (RedisOptions::instance_id, or the
  // random one drawn).
  const std::string& instance_id() const;

 private:
  class Impl;
  explicit Coordinator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace redis
}  // namespace circuit

#endif  // CIRCUIT_REDIS_SHARED_H_
