// File: src/redis/coordinator.cc
// circuit::redis::Coordinator (circuit/redis/shared.h): the sync thread,
// its rounds (one pipelined round trip for every breaker shared here) and
// how a breaker follows what the store answered.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/internal/shared_control.h"
#include "circuit/redis/shared.h"
#include "redis/connection.h"
#include "redis/scripts.h"

namespace circuit {
namespace redis {

using ::circuit::internal::LocalCounts;
using ::circuit::internal::SharedControl;
using internal::BreakerKeys;
using internal::Command;
using internal::Connection;
using internal::Reply;
using internal::ScriptReply;

absl::Status ValidateRedisOptions(const RedisOptions& o) {
  auto bad = [](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("RedisOptions.", field, ": ", why));
  };
  if (o.unix_socket.empty()) {
    if (o.address.empty()) return bad("address", "empty (set it, or unix_socket)");
    const size_t colon = o.address.rfind(':');
    if (colon == 0) return bad("address", absl::StrCat("\"", o.address, "\" has no host"));
    if (colon != std::string::npos) {
      int port = 0;
      if (!absl::SimpleAtoi(absl::string_view(o.address).substr(colon + 1), &port) || port < 1 ||
          port > 65535) {
        return bad("address", absl::StrCat("\"", o.address, "\": the port must be 1..65535"));
      }
    }
  } else if (o.unix_socket.size() >= 108) {
    return bad("unix_socket", "longer than a socket path may be (107 bytes)");
  }
  if (o.database < 0) return bad("database", "must be >= 0");
  if (!o.username.empty() && o.password.empty()) {
    return bad("username", "needs a password");
  }
  if (o.prefix.empty()) return bad("prefix", "must not be empty");
  if (o.connect_timeout < absl::Milliseconds(1)) return bad("connect_timeout", "must be >= 1 ms");
  if (o.command_timeout < absl::Milliseconds(1)) return bad("command_timeout", "must be >= 1 ms");
  if (o.sync_interval < absl::Milliseconds(1)) return bad("sync_interval", "must be >= 1 ms");
  if (o.quiet_push_interval < absl::ZeroDuration()) {
    return bad("quiet_push_interval", "must be >= 0");
  }
  if (o.reconnect_backoff < absl::ZeroDuration()) return bad("reconnect_backoff", "must be >= 0");
  if (o.half_open_limit <= absl::ZeroDuration()) return bad("half_open_limit", "must be > 0");
  if (o.key_ttl < absl::Seconds(1)) return bad("key_ttl", "must be >= 1 s");
  for (const unsigned char c : o.instance_id) {
    if (c < 0x21 || c == 0x7f) return bad("instance_id", "only printable characters, no space");
  }
  return absl::OkStatus();
}

namespace {

// One breaker shared here. The sync thread alone touches everything but
// `last`, which Shared() reads under the coordinator's mutex.
struct Tracked {
  std::shared_ptr<Breaker> breaker;
  BreakerKeys keys;
  LocalCounts acked;          // lifetime counts as of the last push the store took
  uint64_t seen_rejected = 0; // rejections as of the last sync: calls waiting
  bool pushed = false;        // the store has taken a push since sharing
  bool force_push = false;    // the read script found the state unreadable
  // Not (or no longer) this coordinator's: rounds skip it. True until
  // Share() has claimed the breaker, and again once Unshare()d.
  std::atomic<bool> unshared{true};
  absl::Time quiet_push_due;  // when successes alone are pushed next
  absl::Time ttl_refresh_due; // when the push sets the keys' TTLs again
  // Following: the shared generation last followed, and the local
  // HALF_OPEN generation that follows the shared HALF_OPEN `trial_shared`.
  std::optional<uint64_t> followed;
  uint32_t half_open_local = 0;
  int64_t trial_shared = -1;
  // Written by the sync thread under the coordinator's mutex, read by others
  // under it (Shared()); the sync thread, its only writer, reads it freely.
  SharedState last;
};

std::string RandomId() {
  std::random_device device;
  std::mt19937_64 random((uint64_t{device()} << 32) ^ device() ^
                         static_cast<uint64_t>(absl::GetCurrentTimeNanos()));
  return absl::StrFormat("%016x", random());
}

// Keys expire key_ttl after the last push; an OPEN period, a time window
// or a HALF_OPEN limit longer than that could be forgotten while it lasts
// (an OPEN breaker's rejections push nothing).
absl::Status FitsKeyTtl(const BreakerConfig& config, const RedisOptions& options) {
  const absl::Duration longest_open = config.open_backoff_multiplier > 1
                                          ? config.max_open_duration
                                          : config.open_duration;
  const absl::Duration half_open = config.half_open_max_duration > absl::ZeroDuration()
                                       ? config.half_open_max_duration
                                       : options.half_open_limit;
  const std::pair<absl::string_view, absl::Duration> spans[] = {
      {"the longest open period", longest_open},
      {"the time window", config.window_type == WindowType::kTimeBased
                              ? config.window_duration
                              : absl::ZeroDuration()},
      {"the HALF_OPEN limit", half_open},
  };
  for (const auto& [what, span] : spans) {
    if (span > options.key_ttl) {
      return absl::InvalidArgumentError(absl::StrCat(
          "RedisOptions.key_ttl: ", absl::FormatDuration(options.key_ttl), " is shorter than ",
          what, " of breaker '", config.name, "' (", absl::FormatDuration(span),
          "): the shared state would expire while it holds"));
    }
  }
  return absl::OkStatus();
}

bool IsNoScript(const Reply& reply) {
  return reply.is_error() && absl::StartsWith(reply.str, "NOSCRIPT");
}

}  // namespace

class Coordinator::Impl {
 public:
  explicit Impl(RedisOptions options)
      : options_(std::move(options)), epoch_(RandomId()) {
    if (options_.instance_id.empty()) options_.instance_id = RandomId();
    thread_ = std::thread([this] { Run(); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    for (const auto& [name, t] : tracked_) {
      if (!t->unshared.load()) {
        SharedControl::SetSharing(*t->breaker, Sharing::kLocal, absl::OkStatus());
      }
    }
  }

  absl::Status Share(std::shared_ptr<Breaker> breaker) {
    if (breaker == nullptr) return absl::InvalidArgumentError("Coordinator::Share: a null breaker");
    const std::string name(breaker->name());
    if (name.empty()) return absl::InvalidArgumentError("Coordinator::Share: a breaker needs a name");
    if (absl::Status fits = FitsKeyTtl(breaker->config(), options_); !fits.ok()) return fits;
    auto t = std::make_shared<Tracked>();
    t->keys = internal::KeysOf(options_.prefix, name, options_.instance_id);
    t->acked = SharedControl::Read(*breaker);
    t->seen_rejected = t->acked.rejected;
    t->breaker = std::move(breaker);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!tracked_.emplace(name, t).second) {
        return absl::AlreadyExistsError(
            absl::StrCat("Coordinator::Share: a breaker named '", name, "' is shared here already"));
      }
    }
    // Outside the mutex: Claim() tells the breaker's listeners, which may
    // call back into the coordinator. Rounds skip the entry until then.
    if (!SharedControl::Claim(*t->breaker)) {
      std::lock_guard<std::mutex> lock(mu_);
      tracked_.erase(name);
      return absl::FailedPreconditionError(absl::StrCat(
          "Coordinator::Share: breaker '", name, "' is shared already (by another coordinator)"));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      t->unshared.store(false);
      ++requested_;  // sync it at once; do not wait
    }
    cv_.notify_all();
    return absl::OkStatus();
  }

  bool Unshare(absl::string_view name) {
    std::shared_ptr<Tracked> t;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = tracked_.find(name);
      if (it == tracked_.end()) return false;
      t = it->second;
      tracked_.erase(it);
    }
    // A round in progress skips it from here on (it checks the flag before
    // each step). From another thread, wait for that round to end, so the
    // caller sees the breaker alone when this returns; from the sync thread
    // (a listener called by the round) the flag is enough.
    t->unshared.store(true);
    std::unique_lock<std::mutex> round(round_mu_, std::defer_lock);
    if (std::this_thread::get_id() != thread_.get_id()) round.lock();
    SharedControl::SetSharing(*t->breaker, Sharing::kLocal, absl::OkStatus());
    return true;
  }

  std::vector<std::shared_ptr<Breaker>> Breakers() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<Breaker>> out;
    for (const auto& [name, t] : tracked_) {
      if (!t->unshared.load()) out.push_back(t->breaker);
    }
    return out;
  }

  absl::Status SyncNow() {
    if (std::this_thread::get_id() == thread_.get_id()) {
      // A listener called by a round: waiting for the next would wait forever.
      return absl::FailedPreconditionError(
          "Coordinator::SyncNow: called from the sync thread (a listener); the next round "
          "runs after this one");
    }
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t ticket = ++requested_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return completed_ >= ticket || stop_; });
    if (completed_ < ticket) return absl::CancelledError("Coordinator: stopping");
    return last_round_;
  }

  SharedState Shared(absl::string_view name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tracked_.find(name);
    return it == tracked_.end() ? SharedState() : it->second->last;
  }

  bool degraded() const {
    for (const std::shared_ptr<Breaker>& b : Breakers()) {
      if (SharedControl::sharing(*b) == Sharing::kDegraded) return true;
    }
    return false;
  }

  SyncStats Stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  const RedisOptions& options() const { return options_; }

 private:
  void Run();
  absl::Status Round();
  absl::Status Connect();
  absl::Status LoadScripts();
  // Sends one command per breaker; `replies` gets each one's parsed reply or
  // error. Fails (the connection is gone) only on I/O.
  absl::Status Exchange(const std::vector<std::shared_ptr<Tracked>>& batch,
                        std::vector<bool>* pushed, std::vector<LocalCounts>* counts,
                        std::vector<absl::StatusOr<ScriptReply>>* replies, bool* noscript);
  Command CommandFor(Tracked& t, const LocalCounts& now, bool* push);
  void Follow(Tracked& t, const SharedState& shared);
  void Degrade(const std::vector<std::shared_ptr<Tracked>>& batch, const absl::Status& why);

  RedisOptions options_;
  const std::string epoch_;

  // Guards tracked_, the round requests and the stats.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Tracked>, std::less<>> tracked_;
  bool stop_ = false;
  uint64_t requested_ = 0;
  uint64_t completed_ = 0;
  absl::Status last_round_;
  SyncStats stats_;

  // Held by the sync thread for a round (Unshare() waits on it).
  std::mutex round_mu_;
  // The sync thread's own.
  std::optional<Connection> connection_;
  std::string push_sha_;
  std::string read_sha_;
  absl::Time next_connect_ = absl::InfinitePast();
  std::minstd_rand jitter_{static_cast<uint32_t>(absl::GetCurrentTimeNanos())};
  absl::Duration backoff_;
  std::thread thread_;
};

void Coordinator::Impl::Run() {
  absl::Time next = absl::Now();
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // A round at the interval, or at once when asked (Share(), SyncNow()).
    cv_.wait_until(lock, absl::ToChronoTime(next),
                   [&] { return stop_ || requested_ != completed_; });
    if (stop_) return;
    const uint64_t serving = requested_;
    lock.unlock();
    absl::Status status;
    {
      std::lock_guard<std::mutex> round(round_mu_);
      status = Round();
    }
    // Jittered by +-10 %: instances started together (a deploy) would
    // otherwise sync in lockstep, their rounds queueing at Redis together.
    next = absl::Now() + options_.sync_interval * std::uniform_real_distribution<double>(
                                                      0.9, 1.1)(jitter_);
    lock.lock();
    ++stats_.rounds;
    if (!status.ok()) {
      ++stats_.failed_rounds;
      stats_.last_error = status;
    }
    stats_.connected = connection_.has_value();
    last_round_ = status;
    completed_ = serving;
    cv_.notify_all();
  }
}

absl::Status Coordinator::Impl::Connect() {
  if (connection_.has_value()) return absl::OkStatus();
  if (absl::Now() < next_connect_) {
    return absl::UnavailableError("Redis: waiting to reconnect after a failed attempt");
  }
  absl::StatusOr<Connection> made = Connection::Open(options_);
  if (made.ok()) {
    connection_.emplace(std::move(made).value());
    absl::Status loaded = LoadScripts();
    if (loaded.ok()) {
      backoff_ = absl::ZeroDuration();
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.connects;
      return absl::OkStatus();
    }
    connection_.reset();
    made = loaded;
  }
  backoff_ = backoff_ == absl::ZeroDuration()
                 ? options_.reconnect_backoff
                 : std::min(backoff_ * 2, options_.reconnect_backoff * 16);
  next_connect_ = absl::Now() + backoff_;
  return made.status();
}

absl::Status Coordinator::Impl::LoadScripts() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.script_loads += 2;
  }
  absl::StatusOr<std::vector<Reply>> replies = connection_->Pipeline(
      {{"SCRIPT", "LOAD", internal::PushScript()}, {"SCRIPT", "LOAD", internal::ReadScript()}},
      absl::Now() + 2 * options_.command_timeout);
  if (!replies.ok()) return replies.status();
  for (const Reply& r : *replies) {
    if (r.type != Reply::Type::kString || r.str.size() != 40) {
      return absl::InternalError(absl::StrCat(
          "Redis: SCRIPT LOAD answered ", r.is_error() ? r.str : "something not a SHA-1"));
    }
  }
  push_sha_ = (*replies)[0].str;
  read_sha_ = (*replies)[1].str;
  return absl::OkStatus();
}

Command Coordinator::Impl::CommandFor(Tracked& t, const LocalCounts& now, bool* push) {
  const BreakerConfig& config = t.breaker->config();
  const bool demand = now.rejected > t.seen_rejected;
  // The local HALF_OPEN that follows the shared one, still current.
  const bool following_trials = now.state == State::kHalfOpen &&
                                now.generation == t.half_open_local && t.trial_shared >= 0;
  internal::Push p;
  p.epoch = epoch_;
  p.now = now;
  p.acked = t.acked;
  p.batch_had_success = now.calls - t.acked.calls > now.failures - t.acked.failures;
  uint32_t wanted = 0;
  // While OPEN, calls ask for trial slots only once the shared open period
  // is over (before, the store would refuse them: no push for nothing).
  const bool due = now.state == State::kHalfOpen ||
                   (now.state == State::kOpen &&
                    absl::Now() >= t.last.synced_at + t.last.open_remaining);
  if (demand && due) {
    // Trial slots for calls that are waiting, up to what this instance may
    // run at once, less the slots it holds unused.
    const uint32_t used = now.trials_in_flight + now.trial_successes + now.trial_failures;
    const uint32_t lent = following_trials ? SharedControl::Lent(*t.breaker, now.generation) : 0;
    const uint32_t unused = lent > used ? lent - used : 0;
    const uint32_t concurrent = static_cast<uint32_t>(config.half_open_max_concurrent);
    wanted = unused >= concurrent ? 0 : concurrent - unused;
  }
  p.slots_wanted = wanted;
  p.trial_generation = following_trials ? t.trial_shared : -1;
  const absl::Time clock = absl::Now();
  // Successes alone wait for the quiet push (RedisOptions::quiet_push_interval).
  const bool news = now.failures != t.acked.failures || now.slow != t.acked.slow ||
                    (now.calls != t.acked.calls && clock >= t.quiet_push_due);
  *push = !t.pushed || t.force_push || news || wanted > 0 ||
          (following_trials && (now.trial_successes != t.acked.trial_successes ||
                                now.trial_failures != t.acked.trial_failures ||
                                now.trial_slow != t.acked.trial_slow ||
                                t.acked.generation != now.generation));
  if (!*push) return internal::ReadCommand(read_sha_, t.keys, epoch_);
  t.quiet_push_due = clock + options_.quiet_push_interval;
  p.refresh_ttl = clock >= t.ttl_refresh_due;
  if (p.refresh_ttl) t.ttl_refresh_due = clock + options_.key_ttl / 4;
  return internal::PushCommand(push_sha_, t.keys, p, config, options_);
}

absl::Status Coordinator::Impl::Exchange(const std::vector<std::shared_ptr<Tracked>>& batch,
                                         std::vector<bool>* pushed,
                                         std::vector<LocalCounts>* counts,
                                         std::vector<absl::StatusOr<ScriptReply>>* replies,
                                         bool* noscript) {
  std::vector<Command> commands;
  commands.reserve(batch.size());
  pushed->assign(batch.size(), false);
  counts->assign(batch.size(), LocalCounts());
  for (size_t i = 0; i < batch.size(); ++i) {
    (*counts)[i] = SharedControl::Read(*batch[i]->breaker);
    bool push = false;
    commands.push_back(CommandFor(*batch[i], (*counts)[i], &push));
    (*pushed)[i] = push;
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<Reply>> answered =
      connection_->Pipeline(commands, start + 2 * options_.command_timeout);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.commands += commands.size();
    if (answered.ok()) stats_.last_round_trip = absl::Now() - start;
  }
  if (!answered.ok()) {
    connection_.reset();
    return answered.status();
  }
  replies->clear();
  *noscript = false;
  for (const Reply& reply : *answered) {
    if (IsNoScript(reply)) *noscript = true;
    replies->push_back(internal::ParseScriptReply(reply));
  }
  return absl::OkStatus();
}

absl::Status Coordinator::Impl::Round() {
  std::vector<std::shared_ptr<Tracked>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, t] : tracked_) {
      if (!t->unshared.load()) batch.push_back(t);
    }
  }
  if (absl::Status connected = Connect(); !connected.ok()) {
    Degrade(batch, connected);
    return connected;
  }
  if (batch.empty()) return absl::OkStatus();
  std::vector<bool> pushed;
  std::vector<LocalCounts> counts;
  std::vector<absl::StatusOr<ScriptReply>> replies;
  bool noscript = false;
  absl::Status status = Exchange(batch, &pushed, &counts, &replies, &noscript);
  if (status.ok() && noscript) {
    // Redis lost its scripts (a restart, SCRIPT FLUSH): load them again and
    // run the round again. A push is idempotent, so one that did run is
    // harmless to repeat.
    status = LoadScripts();
    if (status.ok()) status = Exchange(batch, &pushed, &counts, &replies, &noscript);
    if (!status.ok()) connection_.reset();
  }
  if (!status.ok()) {
    Degrade(batch, status);
    return status;
  }
  absl::Status first_error;
  uint64_t repairs = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    Tracked& t = *batch[i];
    if (!replies[i].ok()) {
      if (first_error.ok()) first_error = replies[i].status();
      Degrade({batch[i]}, replies[i].status());
      continue;
    }
    ScriptReply& reply = *replies[i];
    if (!reply.valid) {
      // The state hash is unreadable: the next round pushes, which resets it.
      t.force_push = true;
      Degrade({batch[i]}, absl::DataLossError("Redis: the shared state is unreadable"));
      if (first_error.ok()) first_error = absl::DataLossError("Redis: a shared state is unreadable");
      continue;
    }
    if (pushed[i]) {
      t.acked = counts[i];
      t.pushed = true;
      t.force_push = false;
    }
    t.seen_rejected = counts[i].rejected;
    if (reply.repaired) ++repairs;
    reply.state.synced_at = absl::Now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      t.last = reply.state;
    }
    if (t.unshared.load()) continue;
    SharedControl::SetSharing(*t.breaker, Sharing::kShared, absl::OkStatus());
    // A listener of that change may have unshared it.
    if (!t.unshared.load()) Follow(t, reply.state);
  }
  if (repairs > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.repairs += repairs;
  }
  return first_error;
}

void Coordinator::Impl::Follow(Tracked& t, const SharedState& shared) {
  Breaker& b = *t.breaker;
  const LocalCounts local = SharedControl::Read(b);
  const bool new_generation = !t.followed.has_value() || *t.followed != shared.generation;
  const int64_t open_nanos = absl::ToInt64Nanoseconds(shared.open_remaining);
  uint32_t gen = local.generation;
  switch (shared.state) {
    case State::kClosed:
      SharedControl::Follow(b, State::kClosed, 0, 0, 0, &gen);
      break;
    case State::kOpen:
      if (local.state == State::kOpen && new_generation) {
        // Reopened since we last looked: a new period, from the store.
        SharedControl::Reopen(b, local.generation, open_nanos, shared.last_trip.value,
                              shared.last_trip.threshold);
      } else {
        SharedControl::Follow(b, State::kOpen, open_nanos, shared.last_trip.value,
                              shared.last_trip.threshold, &gen);
      }
      break;
    case State::kHalfOpen: {
      const bool ours = local.state == State::kHalfOpen && local.generation == t.half_open_local &&
                        t.trial_shared == static_cast<int64_t>(shared.generation);
      if (!ours) {
        // Another HALF_OPEN (the breaker's own, or the store's previous one):
        // through OPEN, with no wait, into a HALF_OPEN that follows this one.
        if (local.state == State::kHalfOpen) {
          SharedControl::Follow(b, State::kOpen, 0, 0, 0, &gen);
        }
        if (!SharedControl::Follow(b, State::kHalfOpen, 0, 0, 0, &gen)) break;
        t.half_open_local = gen;
        t.trial_shared = static_cast<int64_t>(shared.generation);
      }
      if (shared.trial_slots_lent_here > 0) {
        SharedControl::Lend(b, t.half_open_local, shared.trial_slots_lent_here);
      }
      break;
    }
    default:
      break;
  }
  t.followed = shared.generation;
}

void Coordinator::Impl::Degrade(const std::vector<std::shared_ptr<Tracked>>& batch,
                                const absl::Status& why) {
  for (const std::shared_ptr<Tracked>& t : batch) {
    if (t->unshared.load()) continue;
    SharedControl::SetSharing(*t->breaker, Sharing::kDegraded, why);
    // Whatever the store says next is news: follow it afresh.
    t->followed.reset();
    t->trial_shared = -1;
  }
}

// ---- Coordinator -------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(RedisOptions options) {
  if (absl::Status valid = ValidateRedisOptions(options); !valid.ok()) return valid;
  return std::unique_ptr<Coordinator>(
      new Coordinator(std::make_unique<Impl>(std::move(options))));
}

Coordinator::Coordinator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Coordinator::~Coordinator() = default;

absl::StatusOr<std::shared_ptr<Breaker>> Coordinator::Share(BreakerConfig config) {
  absl::StatusOr<std::unique_ptr<Breaker>> made = Breaker::Create(std::move(config));
  if (!made.ok()) return made.status();
  std::shared_ptr<Breaker> breaker = std::move(made).value();
  if (absl::Status shared = impl_->Share(breaker); !shared.ok()) return shared;
  return breaker;
}

absl::Status Coordinator::Share(std::shared_ptr<Breaker> breaker) {
  return impl_->Share(std::move(breaker));
}
bool Coordinator::Unshare(absl::string_view name) { return impl_->Unshare(name); }
std::vector<std::shared_ptr<Breaker>> Coordinator::Breakers() const { return impl_->Breakers(); }
absl::Status Coordinator::SyncNow() { return impl_->SyncNow(); }
SharedState Coordinator::Shared(absl::string_view name) const { return impl_->Shared(name); }
bool Coordinator::degraded() const { return impl_->degraded(); }
SyncStats Coordinator::Stats() const { return impl_->Stats(); }
const RedisOptions& Coordinator::options() const { return impl_->options(); }
const std::string& Coordinator::instance_id() const { return impl_->options().instance_id; }

}  // namespace redis
}  // namespace circuit
