// File: examples/demo.cc
// A guided tour of circuit: a breaker, a bulkhead and a fallback protecting
// calls to a flaky quote service, printed as a live timeline.
//
//   ./bazelw run //examples:demo
//
// Eight threads ask the service for quotes, each call going through
//   bulkhead (4 calls in flight) -> breaker -> the service,
// with a last-good-value cache (circuit::LastGoodCache) as the fallback for
// every call the bulkhead or the breaker refuses and every call that fails.
// The service, in real time (about 3.7 s in all):
//   0.0-0.6 s  healthy   answers in 0.5 ms;
//   0.6-1.1 s  outage    refuses connections: the failure rate opens the
//                        breaker, and its trials fail until the outage ends;
//   1.1-2.1 s  slow      answers, in 40 ms (the bulkhead fills and refuses
//                        the callers past 4), then from 1.6 s in 160 ms:
//                        the slow-call rate opens the breaker;
//   2.1 s-     healthy   the next trials succeed and the breaker closes.
// Every 150 ms a line shows the breaker's state, the failure and slow-call
// rates of its window (Breaker::Snapshot(); "-" until the window holds
// minimum_calls calls) and what happened to the calls of the interval; each
// transition is printed as it happens, with its cause, by a listener
// (circuit/events.h). The last line is "final state CLOSED".
//
// The margins, for a loaded machine: the longest open period is 300 ms
// (max_open_duration), so the breaker is HALF_OPEN again by 1.4 s, while
// calls still take 40 ms (under slow_call_duration, 100 ms); and after the
// last slow trial (started before 2.1 s, back by 2.3 s) it is HALF_OPEN
// again by 2.6 s at the latest, a second before the end.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "circuit/circuit.h"
#include "examples/console.h"

namespace {

using examples::Because;
using examples::Clock;
using examples::Console;
using examples::Name;

// ---- The script --------------------------------------------------------------

constexpr int kCallers = 8;
constexpr int kProducts = 16;  // quote keys: every one is cached in the first 0.6 s
// Between a thread's calls: 5 to 15 ms, drawn, so that the threads do not
// call in lockstep (which would fill the bulkhead even while the service is
// healthy).
constexpr int kMinThinkMicros = 5000;
constexpr int kMaxThinkMicros = 15000;
constexpr absl::Duration kTick = absl::Milliseconds(150);  // timeline period
constexpr absl::Duration kRunFor = absl::Milliseconds(3750);

enum class Phase { kHealthy, kOutage, kSlow, kRecovered };

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kHealthy:
    case Phase::kRecovered:
      return "healthy";
    case Phase::kOutage:
      return "outage";
    case Phase::kSlow:
      return "slow";
  }
  return "?";
}

Phase PhaseAt(absl::Duration t) {
  if (t < absl::Milliseconds(600)) return Phase::kHealthy;
  if (t < absl::Milliseconds(1100)) return Phase::kOutage;
  if (t < absl::Milliseconds(2100)) return Phase::kSlow;
  return Phase::kRecovered;
}

struct Quote {
  int product = 0;
  int64_t cents = 0;
};

// The dependency. Its behaviour is a function of the time a call starts.
class QuoteService {
 public:
  explicit QuoteService(Clock::time_point start) : start_(start) {}

  absl::StatusOr<Quote> GetQuote(int product) const {
    const absl::Duration t = absl::FromChrono(Clock::now() - start_);
    switch (PhaseAt(t)) {
      case Phase::kOutage:
        absl::SleepFor(absl::Milliseconds(1));
        return absl::UnavailableError("quotes: connection refused");
      case Phase::kSlow:
        absl::SleepFor(t < absl::Milliseconds(1600) ? absl::Milliseconds(40)
                                                    : absl::Milliseconds(160));
        break;
      case Phase::kHealthy:
      case Phase::kRecovered:
        absl::SleepFor(absl::Microseconds(500));
        break;
    }
    return Quote{product, 1000 + 7 * product};
  }

 private:
  const Clock::time_point start_;
};

// ---- What the timeline counts ------------------------------------------------

// Calls of the current interval, counted by the calling threads and taken
// (exchanged for 0) by the timeline. relaxed: each is a statistic on its
// own; the timeline needs no order between them.
struct Tally {
  std::atomic<uint64_t> succeeded{0};         // the service answered
  std::atomic<uint64_t> failed{0};            // the service returned an error
  std::atomic<uint64_t> breaker_rejected{0};  // the breaker refused (OPEN, HALF_OPEN full)
  std::atomic<uint64_t> bulkhead_rejected{0};
  std::atomic<uint64_t> served_by_fallback{0};  // a cached quote was returned instead
  std::atomic<uint64_t> fallback_missed{0};     // ... or none was cached

  static void Add(std::atomic<uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }
  static uint64_t Take(std::atomic<uint64_t>& counter) {
    return counter.exchange(0, std::memory_order_relaxed);
  }
};

// ---- Printing ------------------------------------------------------------------

// Every transition, as it happens, on the thread that made it (the breaker
// holds no lock while it calls listeners). Two threads' transitions may
// print out of order: the generation tells them apart.
class PrintTransitions : public circuit::BreakerListener {
 public:
  explicit PrintTransitions(std::shared_ptr<Console> console) : console_(std::move(console)) {}

  void OnTransition(const circuit::TransitionEvent& e) override {
    console_->PrintLine(absl::StrFormat("%6d  ** transition %s -> %s, generation %u: %s",
                                        console_->ElapsedMillis(), Name(e.from), Name(e.to),
                                        e.generation, Because(e)));
  }

 private:
  const std::shared_ptr<Console> console_;
};

std::string Percent(const std::optional<double>& rate) {
  return rate.has_value() ? absl::StrFormat("%.0f", *rate) : "-";
}

}  // namespace

int main() {
  // ---- The breaker -------------------------------------------------------------
  circuit::BreakerConfig config;
  config.name = "quotes";
  config.failure_rate_threshold = 50;    // open at 50 % failures ...
  config.slow_call_rate_threshold = 40;  // ... or 40 % slow calls ...
  config.slow_call_duration = absl::Milliseconds(100);
  config.window_size = 10;   // ... of the last 10 calls,
  config.minimum_calls = 5;  // judged from the 5th call on
  config.status_is_failure =
      circuit::FailOnCodes({absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded});
  config.open_duration = absl::Milliseconds(150);
  config.open_backoff_multiplier = 1.5;  // 150, 225, then 300 ms (the cap) while trials fail
  config.max_open_duration = absl::Milliseconds(300);
  config.open_jitter = 0.1;          // +-10 %, never past the cap
  config.half_open_trial_calls = 3;  // 3 trials decide: all must succeed
  config.half_open_max_concurrent = 3;
  config.half_open_max_duration = absl::Seconds(1);  // a hung trial cannot wedge HALF_OPEN
  absl::StatusOr<std::unique_ptr<circuit::Breaker>> created = circuit::Breaker::Create(config);
  if (!created.ok()) {
    std::fprintf(stderr, "bad breaker config: %s\n", created.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<circuit::Breaker> breaker = *std::move(created);

  // ---- The bulkhead: 4 calls in flight for 8 threads, refused at once ----------
  circuit::BulkheadConfig bulkhead_config;
  bulkhead_config.name = "quotes";
  bulkhead_config.max_concurrent = 4;
  absl::StatusOr<std::unique_ptr<circuit::Bulkhead>> made_bulkhead =
      circuit::Bulkhead::Create(bulkhead_config);
  if (!made_bulkhead.ok()) {
    std::fprintf(stderr, "bad bulkhead config: %s\n", made_bulkhead.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<circuit::Bulkhead> bulkhead = *std::move(made_bulkhead);

  // ---- The fallback: the last good quote per product, up to 10 s old -----------
  circuit::LastGoodCacheConfig cache_config;
  cache_config.max_entries = kProducts;
  cache_config.max_age = absl::Seconds(10);
  absl::StatusOr<std::unique_ptr<circuit::LastGoodCache<int, Quote>>> made_cache =
      circuit::LastGoodCache<int, Quote>::Create(cache_config);
  if (!made_cache.ok()) {
    std::fprintf(stderr, "bad cache config: %s\n", made_cache.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<circuit::LastGoodCache<int, Quote>> cache = *std::move(made_cache);

  const Clock::time_point start = Clock::now();
  const QuoteService service(start);
  Tally tally;
  auto console = std::make_shared<Console>(start);
  circuit::Subscription printing = breaker->Subscribe(std::make_shared<PrintTransitions>(console));

  // The call: the service's answer is remembered for its product...
  auto fetch = cache->Remembering([&](const int& product) {
    absl::StatusOr<Quote> quote = service.GetQuote(product);
    Tally::Add(quote.ok() ? tally.succeeded : tally.failed);
    return quote;
  });
  // ...and served when the call is refused or fails. The reason says who
  // refused: circuit::IsBulkheadRejection(), circuit::IsRejection() (the
  // breaker), or it is the service's own error.
  auto fallback = [&, cached = cache->Fallback()](const absl::Status& why,
                                                  const int& product) -> absl::StatusOr<Quote> {
    if (circuit::IsBulkheadRejection(why)) {
      Tally::Add(tally.bulkhead_rejected);
    } else if (circuit::IsRejection(why)) {
      Tally::Add(tally.breaker_rejected);
    }
    absl::StatusOr<Quote> quote = cached(why, product);
    Tally::Add(quote.ok() ? tally.served_by_fallback : tally.fallback_missed);
    return quote;
  };

  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, seed = i] {
      std::mt19937 random(static_cast<uint32_t>(seed));
      std::uniform_int_distribution<int> pick(0, kProducts - 1);
      std::uniform_int_distribution<int> think(kMinThinkMicros, kMaxThinkMicros);
      // relaxed: a flag; join() orders everything the thread did.
      while (!stop.load(std::memory_order_relaxed)) {
        absl::SleepFor(absl::Microseconds(think(random)));
        // Bulkhead first: a call it refuses never reaches the breaker.
        absl::StatusOr<Quote> quote = bulkhead->Call(*breaker, fetch, fallback, pick(random));
        (void)quote;  // a quote, fresh or cached, or why there is none
      }
    });
  }

  // ---- The timeline --------------------------------------------------------------
  console->PrintLine(absl::StrFormat("%6s  %-7s  %-9s  %5s  %5s  %5s  %6s  %7s  %8s  %8s  %8s",
                                     "t (ms)", "service", "breaker", "fail%", "slow%", "ok",
                                     "failed", "rej:brk", "rej:bulk", "fallback", "inflight"));
  uint64_t total_served_by_fallback = 0;
  for (int tick = 1;; ++tick) {
    const Clock::time_point due = start + absl::ToChronoNanoseconds(kTick * tick);
    if (absl::FromChrono(due - start) > kRunFor) break;
    std::this_thread::sleep_until(due);
    // Outside the console's lock: Snapshot() may make a due transition,
    // whose listener prints.
    const circuit::BreakerSnapshot snapshot = breaker->Snapshot();
    const uint32_t in_flight = bulkhead->Metrics().in_flight;
    const uint64_t bulkhead_rejected = Tally::Take(tally.bulkhead_rejected);
    const uint64_t served_by_fallback = Tally::Take(tally.served_by_fallback);
    total_served_by_fallback += served_by_fallback;
    const int64_t now = console->ElapsedMillis();
    console->PrintLine(absl::StrFormat(
        "%6d  %-7s  %-9s  %5s  %5s  %5d  %6d  %7d  %8d  %8d  %8d", now,
        PhaseName(PhaseAt(kTick * tick - absl::Milliseconds(1))), Name(snapshot.state),
        Percent(snapshot.failure_rate), Percent(snapshot.slow_call_rate),
        Tally::Take(tally.succeeded), Tally::Take(tally.failed),
        Tally::Take(tally.breaker_rejected), bulkhead_rejected, served_by_fallback, in_flight));
  }
  stop.store(true, std::memory_order_relaxed);
  for (std::thread& t : callers) t.join();
  printing.Cancel();
  total_served_by_fallback += Tally::Take(tally.served_by_fallback);

  // ---- The summary: lifetime counters ----------------------------------------------
  const circuit::BreakerMetrics m = breaker->Metrics();
  const circuit::BulkheadMetrics b = bulkhead->Metrics();
  std::string transitions;
  for (int from = 0; from < circuit::kNumStates; ++from) {
    for (int to = 0; to < circuit::kNumStates; ++to) {
      if (m.transitions[from][to] == 0) continue;
      absl::StrAppendFormat(&transitions, "%s%s->%s %d", transitions.empty() ? "" : ", ",
                            Name(static_cast<circuit::State>(from)),
                            Name(static_cast<circuit::State>(to)), m.transitions[from][to]);
    }
  }
  absl::PrintF(
      "\nbreaker:  %d permitted = %d successes + %d failures + %d ignored + %d released;"
      " %d slow; %d stale (admitted before a transition: not counted); %d rejected\n",
      m.permitted, m.successes, m.failures, m.ignored, m.released, m.slow, m.stale, m.rejected);
  absl::PrintF("          opened %d times; transitions %s\n", m.opened, transitions);
  absl::PrintF("bulkhead: %d rejected; at most %d of %d in flight\n", b.rejected, b.max_in_flight,
               b.max_concurrent);
  absl::PrintF("fallback: %d calls served a cached quote, %d found none\n",
               total_served_by_fallback, tally.fallback_missed.load());
  absl::PrintF("final state %s\n", Name(breaker->state()));
  return 0;
}
