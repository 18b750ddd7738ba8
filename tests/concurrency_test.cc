// circuit::Breaker under concurrent load: more threads than cores hammer one
// breaker while a driver thread moves a FakeClock through outages and
// recoveries. Checks what breaker.h promises to be exact under concurrency:
// half-open trial accounting, transitions, and (once the calls stop) the
// lifetime counters. Iteration counts stay moderate so that the suite also
// runs under TSAN.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

constexpr int kWorkers = 8;  // more than the machine's cores
constexpr int kOpsPerWorker = 20'000;

// A reusable barrier for a fixed number of threads (spins with yield).
class SpinBarrier {
 public:
  explicit SpinBarrier(int parties) : parties_(parties) {}

  void Wait() {
    const int phase = phase_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == parties_) {
      arrived_.store(0, std::memory_order_relaxed);
      phase_.fetch_add(1, std::memory_order_acq_rel);
      return;
    }
    while (phase_.load(std::memory_order_acquire) == phase) std::this_thread::yield();
  }

 private:
  const int parties_;
  std::atomic<int> arrived_{0};
  std::atomic<int> phase_{0};
};

// Trial permits held right now, per generation: a holder enters after
// TryAcquire() returned its trial and leaves before resolving it, so within
// one generation the holders are a subset of the trials the breaker counts
// in flight. (Trials of an older generation may legitimately still be held
// after a reopening; they are counted under their own generation.)
class TrialGauge {
 public:
  TrialGauge() : holders_(kSlots) {}

  void Enter(uint32_t generation) {
    const int now = holders_[generation % kSlots].fetch_add(1, std::memory_order_acq_rel) + 1;
    int seen = max_.load(std::memory_order_relaxed);
    while (now > seen && !max_.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
    admitted_.fetch_add(1, std::memory_order_relaxed);
  }
  void Leave(uint32_t generation) {
    holders_[generation % kSlots].fetch_sub(1, std::memory_order_acq_rel);
  }

  int max_in_flight() const { return max_.load(); }
  uint64_t admitted() const { return admitted_.load(); }

 private:
  static constexpr uint32_t kSlots = 1u << 16;
  std::vector<std::atomic<int>> holders_;
  std::atomic<int> max_{0};
  std::atomic<uint64_t> admitted_{0};
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

struct Held {
  Permit permit;
  bool trial = false;
  uint32_t generation = 0;
};

// The shared state of one hammer run.
class Hammer {
 public:
  explicit Hammer(BreakerConfig config) : config_(std::move(config)) {
    config_.clock = &clock_;
    auto breaker = Breaker::Create(config_);
    EXPECT_TRUE(breaker.ok()) << breaker.status();
    breaker_ = std::move(breaker).value();
  }

  void Run() {
    SpinBarrier start(kWorkers + 1);
    std::thread driver([&] {
      start.Wait();
      Drive();
    });
    std::vector<std::thread> workers;
    for (int id = 0; id < kWorkers; ++id) {
      workers.emplace_back([this, id, &start] {
        start.Wait();
        Work(id);
      });
    }
    for (std::thread& worker : workers) worker.join();
    done_.store(true, std::memory_order_release);
    driver.join();
    // Permits handed over and never picked up: resolve them now.
    std::deque<Held> leftovers;
    {
      std::lock_guard<std::mutex> lock(exchange_mu_);
      leftovers.swap(exchange_);
    }
    std::mt19937_64 rng(12345);
    for (Held& held : leftovers) Resolve(held, rng);
  }

  Breaker& breaker() { return *breaker_; }
  FakeClock& clock() { return clock_; }
  const BreakerConfig& config() const { return config_; }
  const TrialGauge& gauge() const { return gauge_; }
  const Tally& tally() const { return tally_; }
  uint64_t outages() const { return outages_.load(); }
  uint64_t steps() const { return steps_.load(); }

 private:
  // Moves the clock a few ms every kOpsPerStep operations, so that fake time
  // tracks the work done however fast the threads run (workers wait when
  // they get more than kMaxLagOps ahead of the driver), and alternates
  // healthy spells with outages of random length.
  void Drive() {
    std::mt19937_64 rng(2024);
    int steps_left = 0;
    BreakerMetrics last;
    while (!done_.load(std::memory_order_acquire)) {
      const uint64_t next_step = next_step_.load(std::memory_order_relaxed);
      if (ops_.load(std::memory_order_relaxed) < next_step) {
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
      if (rng() % 64 == 0) {
        // A concurrent reader: snapshots may lag, but the lifetime counters
        // never go backwards.
        const BreakerMetrics m = breaker_->Metrics();
        EXPECT_GE(m.permitted, last.permitted);
        EXPECT_GE(m.rejected, last.rejected);
        EXPECT_GE(m.successes, last.successes);
        EXPECT_GE(m.failures, last.failures);
        EXPECT_GE(m.opened, last.opened);
        last = m;
      }
      std::this_thread::yield();
    }
  }

  void Work(int id) {
    std::mt19937_64 rng(7919u * static_cast<unsigned>(id + 1));
    std::vector<Held> held;
    for (int op = 0; op < kOpsPerWorker; ++op) {
      while (ops_.load(std::memory_order_relaxed) >
             next_step_.load(std::memory_order_relaxed) + kMaxLagOps) {
        std::this_thread::yield();  // let the driver catch up
      }
      ops_.fetch_add(1, std::memory_order_relaxed);
      Permit permit = breaker_->TryAcquire();
      if (!permit) {
        EXPECT_TRUE(permit.rejected());
        tally_.rejected.fetch_add(1, std::memory_order_relaxed);
      } else {
        tally_.admitted.fetch_add(1, std::memory_order_relaxed);
        Held h;
        h.trial = permit.is_trial();
        h.generation = permit.generation();
        h.permit = std::move(permit);
        if (h.trial) {
          gauge_.Enter(h.generation);
          // Hold the trial a moment, so that others race for the slots.
          for (int spin = static_cast<int>(rng() % 4); spin > 0; --spin) std::this_thread::yield();
        }
        const uint64_t fate = rng() % 16;
        if (fate == 0 && held.size() < 3) {
          held.push_back(std::move(h));  // resolved by this thread later
        } else if (fate == 1) {
          std::lock_guard<std::mutex> lock(exchange_mu_);
          exchange_.push_back(std::move(h));  // resolved by another thread
        } else {
          Resolve(h, rng);
        }
      }
      if (!held.empty() && rng() % 4 == 0) {
        const size_t i = static_cast<size_t>(rng() % held.size());
        Resolve(held[i], rng);
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
      }
      if (rng() % 8 == 0) {
        Held other;
        bool got = false;
        {
          std::lock_guard<std::mutex> lock(exchange_mu_);
          if (!exchange_.empty()) {
            other = std::move(exchange_.front());
            exchange_.pop_front();
            got = true;
          }
        }
        if (got) Resolve(other, rng);
      }
    }
    for (Held& h : held) Resolve(h, rng);
  }

  // Resolves `h` as a success, failure, ignore, release or drop.
  void Resolve(Held& h, std::mt19937_64& rng) {
    if (h.trial) gauge_.Leave(h.generation);
    const bool outage = outage_.load(std::memory_order_relaxed);
    const uint64_t roll = rng() % 100;
    const bool failing = outage ? roll < 85 : roll < 3;
    const uint64_t how = rng() % 100;
    if (how < 5) {
      EXPECT_TRUE(h.permit.Release());
      tally_.released.fetch_add(1, std::memory_order_relaxed);
    } else if (how < 10) {
      Permit dropped = std::move(h.permit);  // destroyed unresolved
      tally_.released.fetch_add(1, std::memory_order_relaxed);
    } else if (how < 15) {
      EXPECT_TRUE(h.permit.Ignore());
      tally_.ignored.fetch_add(1, std::memory_order_relaxed);
    } else if (failing) {
      EXPECT_TRUE(h.permit.Failure());
      tally_.failures.fetch_add(1, std::memory_order_relaxed);
    } else {
      EXPECT_TRUE(h.permit.Success());
      tally_.successes.fetch_add(1, std::memory_order_relaxed);
    }
    EXPECT_FALSE(h.permit) << "a resolved permit is still admitted";
  }

  BreakerConfig config_;
  FakeClock clock_;
  std::unique_ptr<Breaker> breaker_;
  std::atomic<bool> done_{false};
  std::atomic<bool> outage_{false};
  std::atomic<uint64_t> outages_{0};
  static constexpr uint64_t kOpsPerStep = 20;
  static constexpr uint64_t kMaxLagOps = 400;
  std::atomic<uint64_t> ops_{0};
  std::atomic<uint64_t> next_step_{kOpsPerStep};
  std::atomic<uint64_t> steps_{0};
  TrialGauge gauge_;
  Tally tally_;
  std::mutex exchange_mu_;
  std::deque<Held> exchange_;
};

BreakerConfig HammerConfig() {
  BreakerConfig config;
  config.name = "hammered";
  config.consecutive_failures_to_open = 5;
  config.failure_rate_threshold = 50;
  config.window_size = 50;
  config.minimum_calls = 20;
  config.slow_call_rate_threshold = 90;
  config.slow_call_duration = absl::Milliseconds(30);
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

void ExpectExactMetricsAndRecovery(Hammer& hammer) {
  Breaker& breaker = hammer.breaker();
  const Tally& tally = hammer.tally();
  const BreakerMetrics m = breaker.Metrics();
  std::printf(
      "clock steps %llu, outages %llu, opened %llu, trials %llu (max %d at once), permitted "
      "%llu, rejected %llu, successes %llu, failures %llu, ignored %llu, released %llu, slow "
      "%llu, stale %llu, final state %s\n",
      static_cast<unsigned long long>(hammer.steps()),
      static_cast<unsigned long long>(hammer.outages()), static_cast<unsigned long long>(m.opened),
      static_cast<unsigned long long>(hammer.gauge().admitted()), hammer.gauge().max_in_flight(),
      static_cast<unsigned long long>(m.permitted), static_cast<unsigned long long>(m.rejected),
      static_cast<unsigned long long>(m.successes), static_cast<unsigned long long>(m.failures),
      static_cast<unsigned long long>(m.ignored), static_cast<unsigned long long>(m.released),
      static_cast<unsigned long long>(m.slow), static_cast<unsigned long long>(m.stale),
      std::string(StateName(m.state)).c_str());

  // The load did exercise the breaker.
  EXPECT_GT(hammer.steps(), 100u) << "the clock hardly moved";
  EXPECT_GT(hammer.outages(), 1u);
  EXPECT_GT(m.opened, 0u) << "the breaker never opened";
  EXPECT_GT(m.rejected, 0u);
  EXPECT_GT(hammer.gauge().admitted(), 0u) << "no trial was ever admitted";

  // Half-open accounting is exact.
  EXPECT_LE(hammer.gauge().max_in_flight(), hammer.config().half_open_max_concurrent);
  EXPECT_GE(hammer.gauge().max_in_flight(), 1);

  // Once the calls have stopped, every counter is exact.
  EXPECT_EQ(m.permitted, m.successes + m.failures + m.ignored + m.released)
      << "permitted " << m.permitted << " successes " << m.successes << " failures "
      << m.failures << " ignored " << m.ignored << " released " << m.released;
  EXPECT_EQ(m.permitted, tally.admitted.load());
  EXPECT_EQ(m.rejected, tally.rejected.load());
  EXPECT_EQ(m.successes, tally.successes.load());
  EXPECT_EQ(m.failures, tally.failures.load());
  EXPECT_EQ(m.ignored, tally.ignored.load());
  EXPECT_EQ(m.released, tally.released.load());
  EXPECT_EQ(m.permitted + m.rejected, uint64_t{kWorkers} * kOpsPerWorker);
  EXPECT_LE(m.stale, m.successes + m.failures);
  EXPECT_LE(m.slow, m.successes + m.failures);

  // Not stuck: past the longest open duration, succeeding trials close it.
  // (Judged by rate, trials that failed before the load stopped may reopen
  // it once more; then it is OPEN again and the clock must move on.)
  int reopenings = 0;
  for (int attempt = 0; attempt < 4 * hammer.config().half_open_trial_calls &&
                        breaker.state() != State::kClosed;
       ++attempt) {
    if (breaker.state() == State::kOpen) {
      ASSERT_LE(++reopenings, 2) << "the breaker keeps reopening on successful trials";
      hammer.clock().Advance(hammer.config().max_open_duration * 2);
    }
    Permit permit = breaker.TryAcquire();
    ASSERT_TRUE(permit) << "rejected after the load stopped, in state "
                        << StateName(breaker.state());
    EXPECT_TRUE(permit.Success());
  }
  EXPECT_EQ(breaker.state(), State::kClosed) << StateName(breaker.state());
  Permit after = breaker.TryAcquire();
  EXPECT_TRUE(after);
  EXPECT_FALSE(after.is_trial());
}

TEST(ConcurrencyTest, HammeringACountWindowBreakerThroughOutagesKeepsEveryCountExact) {
  Hammer hammer(HammerConfig());
  hammer.Run();
  ExpectExactMetricsAndRecovery(hammer);
}

TEST(ConcurrencyTest, HammeringATimeWindowBreakerThroughOutagesKeepsEveryCountExact) {
  BreakerConfig config = HammerConfig();
  config.window_type = WindowType::kTimeBased;
  config.window_duration = absl::Milliseconds(500);
  config.window_buckets = 10;
  Hammer hammer(config);
  hammer.Run();
  ExpectExactMetricsAndRecovery(hammer);
}

TEST(ConcurrencyTest, HammeringWithJudgeByRateTrialsKeepsEveryCountExact) {
  BreakerConfig config = HammerConfig();
  config.half_open_judge_by_rate = true;
  config.half_open_trial_calls = 6;
  config.half_open_max_concurrent = 3;
  Hammer hammer(config);
  hammer.Run();
  ExpectExactMetricsAndRecovery(hammer);
}

TEST(ConcurrencyTest, ExactlyMaxConcurrentTrialsWinTheRaceAfterTheOpenDuration) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 3;
  auto breaker = Breaker::Create(config).value();

  constexpr int kRounds = 200;
  SpinBarrier barrier(kWorkers + 1);
  std::atomic<int> trials{0};
  std::atomic<int> rejected{0};
  std::atomic<int> others{0};
  std::vector<std::thread> workers;
  for (int id = 0; id < kWorkers; ++id) {
    workers.emplace_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        barrier.Wait();  // the breaker is OPEN and its open duration has passed
        Permit permit = breaker->TryAcquire();
        if (permit.is_trial()) {
          trials.fetch_add(1);
        } else if (permit.rejected()) {
          rejected.fetch_add(1);
        } else {
          others.fetch_add(1);
        }
        barrier.Wait();  // everyone has tried
        barrier.Wait();  // the main thread has checked
        if (permit) {
          EXPECT_TRUE(permit.Success());
        }
        barrier.Wait();  // every trial is resolved
      }
    });
  }
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < 5; ++i) {
      Permit permit = breaker->TryAcquire();
      ASSERT_TRUE(permit);
      permit.Failure();
    }
    ASSERT_EQ(breaker->state(), State::kOpen);
    const uint32_t open_generation = breaker->generation();
    clock.Advance(absl::Seconds(30));
    trials = 0;
    rejected = 0;
    others = 0;
    barrier.Wait();
    barrier.Wait();
    EXPECT_EQ(trials.load(), 3) << "round " << round;
    EXPECT_EQ(rejected.load(), kWorkers - 3) << "round " << round;
    EXPECT_EQ(others.load(), 0) << "round " << round;
    EXPECT_EQ(breaker->state(), State::kHalfOpen);
    EXPECT_EQ(breaker->generation(), open_generation + 1)
        << "more than one caller moved OPEN to HALF_OPEN";
    barrier.Wait();
    barrier.Wait();
    EXPECT_EQ(breaker->state(), State::kClosed) << "round " << round;
    EXPECT_EQ(breaker->generation(), open_generation + 2);
  }
  for (std::thread& worker : workers) worker.join();
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.opened, uint64_t{kRounds});
  EXPECT_EQ(m.permitted, m.successes + m.failures + m.ignored + m.released);
}

// Each round: every worker holds a permit acquired in CLOSED, then all fail
// at once. The run of consecutive failures is exact, so a threshold of
// kWorkers always opens and kWorkers + 1 never does.
void RaceFailures(int threshold, bool expect_open) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = threshold;
  auto breaker = Breaker::Create(config).value();

  constexpr int kRounds = 200;
  SpinBarrier barrier(kWorkers + 1);
  std::vector<std::thread> workers;
  for (int id = 0; id < kWorkers; ++id) {
    workers.emplace_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        barrier.Wait();  // the breaker is CLOSED, fresh
        Permit permit = breaker->TryAcquire();
        EXPECT_TRUE(permit);
        barrier.Wait();  // everyone holds a permit
        EXPECT_TRUE(permit.Failure());
        barrier.Wait();  // every failure is in
        barrier.Wait();  // the main thread has checked and reset
      }
    });
  }
  uint64_t opened = 0;
  for (int round = 0; round < kRounds; ++round) {
    const uint32_t generation = breaker->generation();
    barrier.Wait();
    barrier.Wait();
    barrier.Wait();
    if (expect_open) {
      EXPECT_EQ(breaker->state(), State::kOpen) << "round " << round;
      EXPECT_EQ(breaker->generation(), generation + 1) << "opened more than once";
      ++opened;
    } else {
      EXPECT_EQ(breaker->state(), State::kClosed) << "round " << round;
      EXPECT_EQ(breaker->generation(), generation);
    }
    EXPECT_EQ(breaker->Metrics().opened, opened);
    breaker->Reset();
    barrier.Wait();
  }
  for (std::thread& worker : workers) worker.join();
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.failures, uint64_t{kWorkers} * kRounds);
  EXPECT_EQ(m.permitted, m.failures);
}

TEST(ConcurrencyTest, ConcurrentFailuresAsManyAsTheThresholdOpenTheBreakerExactlyOnce) {
  RaceFailures(kWorkers, /*expect_open=*/true);
}

TEST(ConcurrencyTest, ConcurrentFailuresOneShortOfTheThresholdNeverOpenTheBreaker) {
  RaceFailures(kWorkers + 1, /*expect_open=*/false);
}

// Each round: every worker fails kStormFailures calls as fast as it can, so
// that a folder of the rate window serves the others for many rounds. The
// window then holds nothing but failures, at least minimum_calls of them:
// the breaker must be OPEN by the time the next call arrives, whatever the
// folder's round cap left owed (tests/history/fold_cap_test.cc replays
// that interleaving exactly; this is the same storm, unscripted).
TEST(ConcurrencyTest, AStormOfFailuresThatFillsTheWindowOpensItBeforeTheNextCall) {
  constexpr int kStormFailures = 32;
  constexpr int kRounds = 300;
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 100;
  config.window_size = kWorkers * kStormFailures;
  config.minimum_calls = kWorkers * kStormFailures;
  auto breaker = Breaker::Create(config).value();
  SpinBarrier barrier(kWorkers + 1);
  std::vector<std::thread> workers;
  for (int id = 0; id < kWorkers; ++id) {
    workers.emplace_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        barrier.Wait();  // CLOSED, an empty window
        for (int i = 0; i < kStormFailures; ++i) {
          Permit permit = breaker->TryAcquire();
          if (permit) permit.Failure();
        }
        barrier.Wait();  // the storm is over
        barrier.Wait();  // the main thread has checked and reset
      }
    });
  }
  for (int round = 0; round < kRounds; ++round) {
    barrier.Wait();
    barrier.Wait();
    const BreakerMetrics m = breaker->Metrics();
    Permit next = breaker->TryAcquire();
    EXPECT_FALSE(next) << "round " << round << ": CLOSED after a storm of failures ("
                       << m.failures << " failures, " << m.permitted << " permits so far)";
    breaker->Reset();
    barrier.Wait();
  }
  for (std::thread& worker : workers) worker.join();
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, m.successes + m.failures + m.ignored + m.released);
}

TEST(ConcurrencyTest, ConcurrentSuccessesAreCountedExactly) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.stripes = 2;  // most threads count into the per-CPU blocks
  config.failure_rate_threshold = 50;
  auto breaker = Breaker::Create(config).value();
  std::vector<std::thread> workers;
  for (int id = 0; id < kWorkers; ++id) {
    workers.emplace_back([&] {
      for (int op = 0; op < kOpsPerWorker; ++op) {
        Permit permit = breaker->TryAcquire();
        ASSERT_TRUE(permit);
        permit.Success();
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, uint64_t{kWorkers} * kOpsPerWorker);
  EXPECT_EQ(m.successes, uint64_t{kWorkers} * kOpsPerWorker);
  EXPECT_EQ(m.failures + m.ignored + m.released + m.rejected + m.stale, 0u);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

}  // namespace
}  // namespace circuit
