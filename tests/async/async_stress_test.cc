// CallAsync() under load: submitter threads start many async calls through
// one breaker while a small worker pool of the test's own completes them in
// random order (some failing, some ignored, released or dropped, some
// shared between two workers that race to complete them), and a driver
// thread moves a FakeClock through outages and recoveries, so that calls
// are completed late (slow), after their breaker moved on (stale), and as
// half-open trials. Once the calls stop, every count must be exact, no
// trial slot may be held, and the breaker must still recover to CLOSED.
// Counts stay moderate so that the suite also runs under TSAN.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/async.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

constexpr int kSubmitters = 4;
constexpr int kWorkers = 3;
constexpr int kCallsPerSubmitter = 20'000;

struct StartFailed : std::runtime_error {
  StartFailed() : std::runtime_error("could not start the operation") {}
};

// What the test itself counted, to compare with Metrics().
struct Tally {
  std::atomic<uint64_t> admitted{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> successes{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> ignored{0};
  std::atomic<uint64_t> released{0};
};

// One operation in flight: a Completion, or one of two copies of a
// SharedCompletion, with the operation count before which it is not done.
struct Operation {
  Completion unique;
  SharedCompletion shared;
  bool is_shared = false;
  uint64_t due_ops = 0;
};

// The operations in flight, handed out in random order. (The test's own
// plumbing takes a lock; the breaker's path does not.)
class OperationPool {
 public:
  void Push(Operation op) {
    std::lock_guard<std::mutex> lock(mu_);
    ops_.push_back(std::move(op));
  }

  // Takes a due operation (every one is due once `all_due`), looking from
  // a random place on, so that operations finish in random order.
  bool TryTake(std::mt19937_64& rng, uint64_t ops_now, bool all_due, Operation* out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ops_.empty()) return false;
    const size_t start = static_cast<size_t>(rng() % ops_.size());
    for (size_t k = 0; k < ops_.size(); ++k) {
      const size_t i = (start + k) % ops_.size();
      if (!all_due && ops_[i].due_ops > ops_now) continue;
      std::swap(ops_[i], ops_.back());
      *out = std::move(ops_.back());
      ops_.pop_back();
      return true;
    }
    return false;
  }

  // True if an operation is due and not yet taken.
  bool AnyDue(uint64_t ops_now) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::any_of(ops_.begin(), ops_.end(),
                       [&](const Operation& op) { return op.due_ops <= ops_now; });
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return ops_.size();
  }

 private:
  std::mutex mu_;
  std::vector<Operation> ops_;
};

class AsyncLoad {
 public:
  explicit AsyncLoad(BreakerConfig config) : config_(std::move(config)) {
    config_.clock = &clock_;
    auto breaker = Breaker::Create(config_);
    EXPECT_TRUE(breaker.ok()) << breaker.status();
    breaker_ = std::move(breaker).value();
  }

  void Run() {
    std::thread driver([this] { Drive(); });
    std::vector<std::thread> workers;
    for (int id = 0; id < kWorkers; ++id) workers.emplace_back([this, id] { Work(id); });
    std::vector<std::thread> submitters;
    for (int id = 0; id < kSubmitters; ++id) submitters.emplace_back([this, id] { Submit(id); });
    for (std::thread& submitter : submitters) submitter.join();
    submitted_.store(true, std::memory_order_release);
    for (std::thread& worker : workers) worker.join();
    done_.store(true, std::memory_order_release);
    driver.join();
    EXPECT_EQ(pool_.size(), 0u);
  }

  Breaker& breaker() { return *breaker_; }
  FakeClock& clock() { return clock_; }
  const BreakerConfig& config() const { return config_; }
  const Tally& tally() const { return tally_; }
  uint64_t outages() const { return outages_.load(); }
  uint64_t steps() const { return steps_.load(); }
  uint64_t shared_races() const { return shared_races_.load(); }

 private:
  // Moves the clock 1-20 ms every kOpsPerStep calls started (submitters
  // wait when more than kMaxLagOps ahead), alternating healthy spells with
  // outages of random length. Before each step the workers must have taken
  // every operation that is due, so that how late an operation completes,
  // in fake time, depends on its due count and not on how the threads are
  // scheduled. Time stops once every call has started.
  void Drive() {
    std::mt19937_64 rng(2024);
    int steps_left = 0;
    while (!done_.load(std::memory_order_acquire)) {
      const uint64_t next_step = next_step_.load(std::memory_order_relaxed);
      const uint64_t ops_now = ops_.load(std::memory_order_relaxed);
      if (ops_now < next_step || pool_.AnyDue(ops_now)) {
        std::this_thread::yield();
        continue;
      }
      next_step_.store(next_step + kOpsPerStep, std::memory_order_relaxed);
      if (steps_left-- <= 0) {
        const bool outage = !outage_.load(std::memory_order_relaxed);
        outage_.store(outage, std::memory_order_relaxed);
        if (outage) outages_.fetch_add(1, std::memory_order_relaxed);
        steps_left = outage ? 10 + static_cast<int>(rng() % 50) : 30 + static_cast<int>(rng() % 90);
      }
      clock_.Advance(absl::Milliseconds(1 + static_cast<int>(rng() % 20)));
      steps_.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::yield();
    }
  }

  absl::Status OutcomeNow(std::mt19937_64& rng) const {
    const bool outage = outage_.load(std::memory_order_relaxed);
    const uint64_t roll = rng() % 100;
    return (outage ? roll < 85 : roll < 3) ? absl::UnavailableError("down") : absl::OkStatus();
  }

  void Count(const absl::Status& outcome) {
    (outcome.ok() ? tally_.successes : tally_.failures).fetch_add(1, std::memory_order_relaxed);
  }

  void Submit(int id) {
    std::mt19937_64 rng(7919u * static_cast<unsigned>(id + 1));
    for (int call = 0; call < kCallsPerSubmitter; ++call) {
      while (ops_.load(std::memory_order_relaxed) >
                 next_step_.load(std::memory_order_relaxed) + kMaxLagOps ||
             pool_.size() > kMaxInFlight) {
        std::this_thread::yield();  // let the driver and the workers catch up
      }
      const uint64_t ops_now = ops_.fetch_add(1, std::memory_order_relaxed) + 1;
      const uint64_t fate = rng() % 100;
      // Most operations finish soon; a few take hundreds of calls' time.
      const uint64_t due = ops_now + (rng() % 10 < 8 ? rng() % 30 : rng() % 300);
      bool ran = false;
      try {
        const absl::Status started = CallAsync(*breaker_, [&](Completion done) {
          ran = true;
          if (fate < 2) throw StartFailed();  // before handing it over
          if (fate < 5) return;               // dropped: released on return
          if (fate < 10) {                    // completed at once, in start
            const absl::Status outcome = OutcomeNow(rng);
            EXPECT_TRUE(done(outcome));
            Count(outcome);
            return;
          }
          Operation op;
          op.due_ops = due;
          if (fate < 20) {  // two workers will race for it
            op.is_shared = true;
            op.shared = std::move(done).Share();
            Operation copy;
            copy.is_shared = true;
            copy.shared = op.shared;
            copy.due_ops = due + rng() % 20;
            pool_.Push(std::move(copy));
          } else {
            op.unique = std::move(done);
          }
          pool_.Push(std::move(op));
        });
        if (started.ok()) {
          EXPECT_TRUE(ran);
          tally_.admitted.fetch_add(1, std::memory_order_relaxed);
          if (fate >= 2 && fate < 5) tally_.released.fetch_add(1, std::memory_order_relaxed);
        } else {
          EXPECT_FALSE(ran) << "start ran for a rejected call";
          EXPECT_TRUE(IsRejection(started)) << started;
          tally_.rejected.fetch_add(1, std::memory_order_relaxed);
        }
      } catch (const StartFailed&) {
        EXPECT_TRUE(ran);
        tally_.admitted.fetch_add(1, std::memory_order_relaxed);
        tally_.failures.fetch_add(1, std::memory_order_relaxed);  // every exception fails
      }
    }
  }

  void Work(int id) {
    std::mt19937_64 rng(104729u * static_cast<unsigned>(id + 1));
    for (;;) {
      const bool all_due = submitted_.load(std::memory_order_acquire);
      Operation op;
      if (!pool_.TryTake(rng, ops_.load(std::memory_order_relaxed), all_due, &op)) {
        if (all_due && pool_.size() == 0) return;
        std::this_thread::yield();
        continue;
      }
      if (op.is_shared) {
        Resolve(op.shared, rng);
      } else {
        ResolveUnique(std::move(op.unique), rng);
      }
    }
  }

  // A Completion: every resolution must win.
  void ResolveUnique(Completion done, std::mt19937_64& rng) {
    const uint64_t how = rng() % 100;
    if (how < 5) {
      Completion dropped = std::move(done);  // destroyed uncalled
      tally_.released.fetch_add(1, std::memory_order_relaxed);
    } else if (how < 10) {
      EXPECT_TRUE(done.Release());
      tally_.released.fetch_add(1, std::memory_order_relaxed);
    } else if (how < 15) {
      EXPECT_TRUE(done.Ignore());
      tally_.ignored.fetch_add(1, std::memory_order_relaxed);
    } else {
      const absl::Status outcome = OutcomeNow(rng);
      EXPECT_TRUE(done(outcome));
      Count(outcome);
    }
    EXPECT_FALSE(done(absl::OkStatus())) << "completed twice";
  }

  // One copy of a SharedCompletion: only the first resolution counts.
  void Resolve(const SharedCompletion& done, std::mt19937_64& rng) {
    const uint64_t how = rng() % 100;
    if (how < 5) {
      if (done.Release()) tally_.released.fetch_add(1, std::memory_order_relaxed);
    } else if (how < 10) {
      if (done.Ignore()) tally_.ignored.fetch_add(1, std::memory_order_relaxed);
    } else {
      const absl::Status outcome = OutcomeNow(rng);
      if (done(outcome)) {
        Count(outcome);
      } else {
        shared_races_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  BreakerConfig config_;
  FakeClock clock_;
  std::unique_ptr<Breaker> breaker_;
  OperationPool pool_;
  std::atomic<bool> submitted_{false};
  std::atomic<bool> done_{false};
  std::atomic<bool> outage_{false};
  std::atomic<uint64_t> outages_{0};
  std::atomic<uint64_t> shared_races_{0};
  static constexpr uint64_t kOpsPerStep = 20;
  static constexpr uint64_t kMaxLagOps = 400;
  static constexpr size_t kMaxInFlight = 1'000;
  std::atomic<uint64_t> ops_{0};
  std::atomic<uint64_t> next_step_{kOpsPerStep};
  std::atomic<uint64_t> steps_{0};
  Tally tally_;
};

BreakerConfig LoadConfig() {
  BreakerConfig config;
  config.name = "async";
  config.consecutive_failures_to_open = 5;
  config.failure_rate_threshold = 50;
  config.window_size = 50;
  config.minimum_calls = 20;
  config.slow_call_rate_threshold = 90;
  config.slow_call_duration = absl::Milliseconds(50);
  config.slow_call_clock = SlowCallClock::kPrecise;
  config.open_duration = absl::Milliseconds(200);
  config.open_backoff_multiplier = 2;
  config.max_open_duration = absl::Seconds(1);
  config.open_jitter = 0.1;
  config.half_open_trial_calls = 4;
  config.half_open_max_concurrent = 2;
  config.half_open_max_duration = absl::Seconds(1);
  config.stripes = 4;  // fewer than the threads: the per-CPU blocks are used too
  return config;
}

void ExpectExactCountsAndRecovery(AsyncLoad& load) {
  Breaker& breaker = load.breaker();
  const Tally& tally = load.tally();
  const BreakerMetrics m = breaker.Metrics();
  std::printf(
      "clock steps %llu, outages %llu, opened %llu, to closed %llu, permitted %llu, rejected "
      "%llu, successes %llu, failures %llu, ignored %llu, released %llu, slow %llu, stale %llu, "
      "shared races lost %llu, final state %s\n",
      static_cast<unsigned long long>(load.steps()),
      static_cast<unsigned long long>(load.outages()), static_cast<unsigned long long>(m.opened),
      static_cast<unsigned long long>(
          m.transitions[static_cast<int>(State::kHalfOpen)][static_cast<int>(State::kClosed)]),
      static_cast<unsigned long long>(m.permitted), static_cast<unsigned long long>(m.rejected),
      static_cast<unsigned long long>(m.successes), static_cast<unsigned long long>(m.failures),
      static_cast<unsigned long long>(m.ignored), static_cast<unsigned long long>(m.released),
      static_cast<unsigned long long>(m.slow), static_cast<unsigned long long>(m.stale),
      static_cast<unsigned long long>(load.shared_races()),
      std::string(StateName(m.state)).c_str());

  // The load did exercise the breaker: outages, trips, rejections, trials
  // that closed it, late and stale completions, shared copies racing.
  EXPECT_GT(load.steps(), 100u) << "the clock hardly moved";
  EXPECT_GT(load.outages(), 1u);
  EXPECT_GT(m.opened, 1u) << "the breaker never opened";
  EXPECT_GT(m.rejected, 0u);
  EXPECT_GT(m.transitions[static_cast<int>(State::kHalfOpen)][static_cast<int>(State::kClosed)],
            0u)
      << "no recovery during the load";
  EXPECT_GT(m.slow, 0u) << "no call completed late";
  EXPECT_GT(m.stale, 0u) << "no call completed after its generation";
  EXPECT_GT(load.shared_races(), 0u);

  // Once the calls have stopped, every count is exact and nothing is held.
  EXPECT_EQ(m.permitted, m.successes + m.failures + m.ignored + m.released)
      << "permitted " << m.permitted << " successes " << m.successes << " failures "
      << m.failures << " ignored " << m.ignored << " released " << m.released;
  EXPECT_EQ(m.permitted, tally.admitted.load());
  EXPECT_EQ(m.rejected, tally.rejected.load());
  EXPECT_EQ(m.successes, tally.successes.load());
  EXPECT_EQ(m.failures, tally.failures.load());
  EXPECT_EQ(m.ignored, tally.ignored.load());
  EXPECT_EQ(m.released, tally.released.load());
  EXPECT_EQ(m.permitted + m.rejected, uint64_t{kSubmitters} * kCallsPerSubmitter);
  EXPECT_LE(m.slow, m.successes + m.failures);
  EXPECT_EQ(breaker.Snapshot().trials_in_flight, 0u) << "a trial slot leaked";

  // Not stuck: past the longest open duration, successful async trials
  // close it. (Judged after the load, a trial period may reopen it once
  // more; then the clock must move on again.)
  int reopenings = 0;
  for (int attempt = 0; attempt < 4 * load.config().half_open_trial_calls &&
                        breaker.state() != State::kClosed;
       ++attempt) {
    if (breaker.state() == State::kOpen) {
      ASSERT_LE(++reopenings, 2) << "the breaker keeps reopening on successful trials";
      load.clock().Advance(load.config().max_open_duration * 2);
    }
    const absl::Status started =
        CallAsync(breaker, [](Completion done) { EXPECT_TRUE(done(absl::OkStatus())); });
    ASSERT_TRUE(started.ok()) << "rejected after the load stopped: " << started;
  }
  EXPECT_EQ(breaker.state(), State::kClosed) << StateName(breaker.state());
  EXPECT_EQ(breaker.Snapshot().trials_in_flight, 0u);
}

TEST(AsyncStressTest, AsyncCallsCompletedInRandomOrderAcrossThreadsKeepEveryCountExact) {
  AsyncLoad load(LoadConfig());
  load.Run();
  ExpectExactCountsAndRecovery(load);
}

TEST(AsyncStressTest, AsyncCallsThroughATimeWindowBreakerKeepEveryCountExact) {
  BreakerConfig config = LoadConfig();
  config.window_type = WindowType::kTimeBased;
  config.window_duration = absl::Milliseconds(500);
  config.window_buckets = 10;
  AsyncLoad load(config);
  load.Run();
  ExpectExactCountsAndRecovery(load);
}

}  // namespace
}  // namespace circuit
