// File: bench/redis_scale.cc
// The distributed mode's scale run (circuit/redis/shared.h): many instances,
// each its own Coordinator (own connection, own sync thread), some of them in
// separate processes, sharing the same breakers through one local
// redis-server. It answers two questions with figures from this machine:
//   1. What does the sync cost Redis? Commands per second and Redis CPU
//      (INFO deltas; and, since the machine may be shared, how long Redis's
//      thread waited for a CPU, from /proc/<pid>/schedstat) under a steady
//      trickle of successful calls, and what the coordinators see (rounds,
//      failed rounds, round trips).
//   2. How long does a shared OPEN take to reach every instance? One
//      instance at a time fails enough calls to trip a breaker's shared
//      window; every other instance's listener stamps the moment its local
//      breaker follows into OPEN (cause SHARED), and the latency is that
//      moment minus the shared OPEN's `opened_at` (Redis TIME, the same
//      machine clock as absl::Now()).
//
//   ./bazelw run -c opt //bench:redis_scale                        (64 x 100, 100 ms)
//   ./bazelw run -c opt //bench:redis_scale -- --sync_interval=1s
//   ./bazelw run -c opt //bench:redis_scale -- --quiet_push_interval=0
// docs/distributed_scale.md has the figures and how to read them. Exit
// status: 0 when every trip reached every instance, 2 when one did not
// (the summary says which, and what the tripping instance's breaker did),
// 1 on an error.
//
// Processes: the parent starts redis-server (Unix socket, no persistence),
// then re-executes itself (/proc/self/exe --child) for the other processes
// before it makes any thread, and runs its own share of the instances.
// Every process follows one timeline, fixed by the start time the parent
// sends once everyone is connected: the instances' rounds staggered over the
// interval, warm-up, steady load (measured), then the trips, spaced out,
// then a settle period. Children write their results
// to the parent through a pipe, as text lines; the parent aggregates,
// prints a summary and a markdown table (--markdown_out for a file too),
// reaps every child and stops the server by its PID.
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/events.h"
#include "circuit/redis/shared.h"
#include "circuit/sharing.h"
#include "circuit/state.h"
#include "tests/redis/redis_server.h"

ABSL_FLAG(int, instances, 64, "instances in all: each its own Coordinator and connection");
ABSL_FLAG(int, processes, 4, "processes the instances are split across (this one included)");
ABSL_FLAG(int, breakers, 100, "breakers each instance shares, named dep-0 .. dep-<n-1>");
ABSL_FLAG(absl::Duration, sync_interval, absl::Milliseconds(100), "RedisOptions::sync_interval");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "load before the measurement starts");
ABSL_FLAG(absl::Duration, load, absl::Seconds(10), "the measured steady-load phase");
ABSL_FLAG(double, calls_per_breaker_per_second, 10,
          "successful calls per breaker per instance per second (the trickle)");
ABSL_FLAG(int, caller_threads, 1, "threads per process making the trickle of calls");
ABSL_FLAG(int, trips, 20, "breakers tripped, one after another (dep-0 .. dep-<trips-1>)");
ABSL_FLAG(absl::Duration, trip_spacing, absl::ZeroDuration(),
          "time between two trips; 0: max(500ms, 2.5 x sync_interval)");
ABSL_FLAG(int, trip_failures, 40, "failures the tripping instance records at once");
ABSL_FLAG(absl::Duration, open_duration, absl::Minutes(2),
          "the breakers' open period: longer than the run, so a tripped breaker stays OPEN");
ABSL_FLAG(absl::Duration, quiet_push_interval, absl::InfiniteDuration(),
          "RedisOptions::quiet_push_interval: how long successes alone wait to be pushed; "
          "inf: leave the library's default; 0: push at every sync");
ABSL_FLAG(bool, spread_phases, true,
          "stagger the instances' sync rounds evenly over the interval, as in a fleet "
          "started at different times; false: all in lockstep, as when all start at once");
ABSL_FLAG(std::string, markdown_out, "", "also write the markdown table to this file");
// Set by the parent for the processes it starts.
ABSL_FLAG(bool, child, false, "internal: run as one of the parent's processes");
ABSL_FLAG(std::string, redis_socket, "", "internal: the server's Unix socket");
ABSL_FLAG(int, process_index, 0, "internal: this process's index (1 .. processes-1)");

namespace {

using circuit::Breaker;
using circuit::BreakerConfig;
using circuit::BreakerListener;
using circuit::Permit;
using circuit::Sharing;
using circuit::SharingEvent;
using circuit::State;
using circuit::Subscription;
using circuit::TransitionCause;
using circuit::testing::RedisConnection;
using circuit::testing::RedisServer;
using circuit::testing::RunCommand;
using circuit::TransitionEvent;
using circuit::redis::Coordinator;
using circuit::redis::RedisOptions;
using circuit::redis::SharedState;
using circuit::redis::SyncStats;

std::string ErrnoText(int error) { return std::strerror(error); }

int64_t NowNanos() { return absl::GetCurrentTimeNanos(); }

// ---- The plan: what every process computes alike from the same flags -------

struct Plan {
  int instances = 0;
  int processes = 0;
  int breakers = 0;
  absl::Duration sync_interval;
  absl::Duration warmup;
  absl::Duration load;
  double rate = 0;
  int caller_threads = 0;
  int trips = 0;
  absl::Duration trip_spacing;
  int trip_failures = 0;
  absl::Duration open_duration;
  bool spread_phases = true;
  absl::Duration quiet_push_interval;  // inf: the library's default

  // Process p runs instances [FirstOf(p), FirstOf(p + 1)).
  int FirstOf(int process) const { return process * instances / processes; }
  int ProcessOf(int instance) const {
    for (int p = 0; p < processes; ++p) {
      if (instance < FirstOf(p + 1)) return p;
    }
    return processes - 1;
  }
  // Spread over the instances, so every process trips some.
  int TripInstance(int k) const { return static_cast<int>(int64_t{k} * instances / trips); }
  // Offsets from the start time.
  absl::Duration MeasureStart() const { return warmup; }
  absl::Duration MeasureEnd() const { return warmup + load; }
  absl::Duration TripAt(int k) const { return MeasureEnd() + trip_spacing * (k + 1); }
  // Enough for the last trip to reach everyone: a few intervals, plus the
  // round timeout (2 x command_timeout) in case a round was slow.
  absl::Duration End() const {
    return TripAt(trips - 1) +
           std::max(absl::Seconds(2), 4 * sync_interval + 4 * absl::Milliseconds(200));
  }
};

absl::StatusOr<Plan> PlanFromFlags() {
  Plan p;
  p.instances = absl::GetFlag(FLAGS_instances);
  p.processes = absl::GetFlag(FLAGS_processes);
  p.breakers = absl::GetFlag(FLAGS_breakers);
  p.sync_interval = absl::GetFlag(FLAGS_sync_interval);
  p.warmup = absl::GetFlag(FLAGS_warmup);
  p.load = absl::GetFlag(FLAGS_load);
  p.rate = absl::GetFlag(FLAGS_calls_per_breaker_per_second);
  p.caller_threads = absl::GetFlag(FLAGS_caller_threads);
  p.trips = absl::GetFlag(FLAGS_trips);
  p.trip_spacing = absl::GetFlag(FLAGS_trip_spacing);
  if (p.trip_spacing == absl::ZeroDuration()) {
    p.trip_spacing = std::max(absl::Milliseconds(500), p.sync_interval * 2.5);
  }
  p.trip_failures = absl::GetFlag(FLAGS_trip_failures);
  p.open_duration = absl::GetFlag(FLAGS_open_duration);
  p.spread_phases = absl::GetFlag(FLAGS_spread_phases);
  p.quiet_push_interval = absl::GetFlag(FLAGS_quiet_push_interval);
  if (p.processes < 1 || p.instances < p.processes) {
    return absl::InvalidArgumentError("need 1 <= --processes <= --instances");
  }
  if (p.breakers < 1 || p.trips < 1 || p.trips > p.breakers || p.trips > p.instances) {
    return absl::InvalidArgumentError("need 1 <= --trips <= min(--breakers, --instances)");
  }
  if (p.instances < 2) return absl::InvalidArgumentError("need --instances >= 2");
  if (p.rate < 0 || p.caller_threads < 1) {
    return absl::InvalidArgumentError("need --calls_per_breaker_per_second >= 0, --caller_threads >= 1");
  }
  // The shared window trips at 50 % of >= 20 calls: the failures alone must
  // fill it, whatever successes share their push.
  if (p.trip_failures < 20) return absl::InvalidArgumentError("need --trip_failures >= 20");
  if (p.warmup < absl::ZeroDuration() || p.load <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("need --warmup >= 0, --load > 0");
  }
  return p;
}

BreakerConfig ConfigOf(const Plan& plan, int b) {
  BreakerConfig config;
  config.name = absl::StrCat("dep-", b);
  config.failure_rate_threshold = 50;
  config.window_size = 20;
  config.minimum_calls = 20;
  config.open_duration = plan.open_duration;
  config.max_open_duration = std::max(config.max_open_duration, plan.open_duration);
  return config;
}

// ---- redis-server, started and stopped by PID ------------------------------

// What INFO (and schedstat) says, of the fields this tool reads.
struct RedisInfo {
  absl::Time at;
  double commands = 0;        // total_commands_processed
  double cpu_seconds = 0;     // used_cpu_sys + used_cpu_user
  double evalsha_calls = 0;   // cmdstat_evalsha calls
  double evalsha_usec = 0;    // cmdstat_evalsha usec (time spent in it)
  double clients = 0;         // connected_clients
  double used_memory = 0;     // bytes
  // The server's main thread from /proc/<pid>/schedstat: time on a CPU
  // and time runnable but waiting for one (on a shared 2-core machine the
  // second says whether Redis is starved rather than saturated).
  double run_seconds = 0;
  double runqueue_wait_seconds = 0;
  // Every command's calls (commandstats), those run inside scripts
  // included: the push script runs HSET twice, the read script never, so
  // HSET / 2 counts the pushes.
  std::map<std::string, double> calls;
};

absl::StatusOr<RedisInfo> ReadInfo(const RedisServer& server, redisContext* redis) {
  const std::string text = RunCommand(redis, {"INFO", "all"});
  if (absl::StartsWith(text, "(error)") || absl::StartsWith(text, "(failed)")) {
    return absl::UnavailableError(absl::StrCat("INFO: ", text));
  }
  RedisInfo info;
  info.at = absl::Now();
  if (FILE* f = std::fopen(absl::StrCat("/proc/", server.pid(), "/schedstat").c_str(), "r")) {
    unsigned long long run = 0, wait = 0;
    if (std::fscanf(f, "%llu %llu", &run, &wait) == 2) {
      info.run_seconds = run / 1e9;
      info.runqueue_wait_seconds = wait / 1e9;
    }
    std::fclose(f);
  }
  for (absl::string_view line : absl::StrSplit(text, "\r\n")) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view key = line.substr(0, colon);
    const absl::string_view value = line.substr(colon + 1);
    double v = 0;
    if (key == "total_commands_processed" && absl::SimpleAtod(value, &v)) info.commands = v;
    if ((key == "used_cpu_sys" || key == "used_cpu_user") && absl::SimpleAtod(value, &v)) {
      info.cpu_seconds += v;
    }
    if (key == "connected_clients" && absl::SimpleAtod(value, &v)) info.clients = v;
    if (key == "used_memory" && absl::SimpleAtod(value, &v)) info.used_memory = v;
    if (absl::StartsWith(key, "cmdstat_")) {
      // calls=N,usec=N,usec_per_call=...,rejected_calls=...,failed_calls=...
      const std::string command(key.substr(8));
      for (absl::string_view field : absl::StrSplit(value, ',')) {
        std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(field, '=');
        if (kv.first == "calls" && absl::SimpleAtod(kv.second, &v)) info.calls[command] = v;
        if (command == "evalsha" && kv.first == "calls") info.evalsha_calls = v;
        if (command == "evalsha" && kv.first == "usec") (void)absl::SimpleAtod(kv.second, &info.evalsha_usec);
      }
    }
  }
  return info;
}

// ---- The instances of one process ------------------------------------------

// One breaker of one instance: stamps the first time it follows the shared
// state into OPEN, and counts what else happens to it.
class OpenStamp : public BreakerListener {
 public:
  explicit OpenStamp(const Coordinator* coordinator) : coordinator_(coordinator) {}

  void OnTransition(const TransitionEvent& e) override {
    const int64_t now = NowNanos();
    transitions_.fetch_add(1, std::memory_order_relaxed);
    if (e.to == State::kOpen && e.cause == TransitionCause::kShared) {
      int64_t none = 0;
      if (shared_open_ns_.compare_exchange_strong(none, now, std::memory_order_relaxed)) {
        // We are on the sync thread, in the round that brought the OPEN,
        // after its pipeline: last_round_trip is that round's, the part of
        // the latency spent waiting for Redis's replies.
        round_trip_ns_.store(absl::ToInt64Nanoseconds(coordinator_->Stats().last_round_trip),
                             std::memory_order_relaxed);
      }
    } else if (e.to == State::kOpen) {
      // Opened alone (it was degraded): not what a shared breaker should do.
      other_opens_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void OnSharing(const SharingEvent& e) override {
    if (e.from == Sharing::kShared && e.to == Sharing::kDegraded) {
      degraded_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  int64_t shared_open_ns() const { return shared_open_ns_.load(std::memory_order_relaxed); }
  int64_t round_trip_ns() const { return round_trip_ns_.load(std::memory_order_relaxed); }
  int transitions() const { return transitions_.load(std::memory_order_relaxed); }
  int other_opens() const { return other_opens_.load(std::memory_order_relaxed); }
  int degraded() const { return degraded_.load(std::memory_order_relaxed); }

 private:
  const Coordinator* const coordinator_;
  std::atomic<int64_t> shared_open_ns_{0};
  std::atomic<int64_t> round_trip_ns_{0};
  std::atomic<int> transitions_{0};
  std::atomic<int> other_opens_{0};
  std::atomic<int> degraded_{0};
};

struct Instance {
  int index = 0;
  std::unique_ptr<Coordinator> coordinator;
  std::vector<std::shared_ptr<Breaker>> breakers;
  std::vector<std::shared_ptr<OpenStamp>> stamps;
  std::vector<Subscription> subscriptions;
  SyncStats after_setup;  // the setup's own rounds: every Share() asks for one
  SyncStats at_measure_start;
  SyncStats at_measure_end;
};

// The 1-minute load average: the machine is shared, and a busy neighbour
// stretches round trips and propagation (not Redis's own CPU time).
double LoadAverage() {
  double load = NAN;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = NAN;
    std::fclose(f);
  }
  return load;
}

int64_t CpuNanos() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto ns = [](const timeval& t) { return int64_t{t.tv_sec} * 1000000000 + int64_t{t.tv_usec} * 1000; };
  return ns(usage.ru_utime) + ns(usage.ru_stime);
}

// What only the parent does at the measurement's edges (INFO snapshots).
struct Hooks {
  std::function<void()> measure_start;
  std::function<void()> measure_end;
};

// Runs this process's instances through the timeline and returns its
// results as text lines (the format the parent parses: see Parse()).
// `start` is called once every instance is connected and synced; it
// returns the start time every process shares.
absl::StatusOr<std::string> RunProcess(const Plan& plan, int process, const std::string& socket,
                                       const std::function<absl::StatusOr<absl::Time>()>& start,
                                       const Hooks& hooks) {
  const absl::Time setup_start = absl::Now();
  std::vector<Instance> instances(plan.FirstOf(process + 1) - plan.FirstOf(process));
  for (size_t i = 0; i < instances.size(); ++i) {
    Instance& in = instances[i];
    in.index = plan.FirstOf(process) + static_cast<int>(i);
    RedisOptions options;
    options.unix_socket = socket;
    options.sync_interval = plan.sync_interval;
    options.instance_id = absl::StrCat("instance-", in.index);
    if (plan.quiet_push_interval != absl::InfiniteDuration()) {
      options.quiet_push_interval = plan.quiet_push_interval;
    }
    absl::StatusOr<std::unique_ptr<Coordinator>> c = Coordinator::Create(options);
    if (!c.ok()) return c.status();
    in.coordinator = std::move(c).value();
    for (int b = 0; b < plan.breakers; ++b) {
      absl::StatusOr<std::shared_ptr<Breaker>> breaker = in.coordinator->Share(ConfigOf(plan, b));
      if (!breaker.ok()) return breaker.status();
      auto stamp = std::make_shared<OpenStamp>(in.coordinator.get());
      in.subscriptions.push_back((*breaker)->Subscribe(stamp));
      in.breakers.push_back(std::move(breaker).value());
      in.stamps.push_back(std::move(stamp));
    }
  }
  // Every breaker known to the store and following it before the clock
  // starts. Every instance shares its breakers at once, and each Share()
  // asks for a round at once: the burst can time rounds out (a failed round
  // reconnects after a backoff), so a round that fails is tried again.
  for (Instance& in : instances) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    absl::Status synced;
    do {
      synced = in.coordinator->SyncNow();
      if (synced.ok() && in.coordinator->degraded()) synced = absl::UnavailableError("degraded");
      if (!synced.ok()) absl::SleepFor(absl::Milliseconds(50));
    } while (!synced.ok() && absl::Now() < deadline);
    if (!synced.ok()) {
      return absl::UnavailableError(absl::StrCat("instance ", in.index, " did not sync: ",
                                                 synced.ToString()));
    }
  }
  for (Instance& in : instances) in.after_setup = in.coordinator->Stats();
  const double setup_seconds = absl::ToDoubleSeconds(absl::Now() - setup_start);

  absl::StatusOr<absl::Time> t0 = start();
  if (!t0.ok()) return t0.status();
  const absl::Time end = *t0 + plan.End();
  if (plan.spread_phases) {
    // A round runs one interval after the previous one ends, with no
    // jitter: instances that start together stay in lockstep, which makes
    // Redis's load bursty and the propagation unrealistically short for
    // the instances whose rounds follow the tripping one's. A fleet starts
    // at random times; stagger the rounds evenly instead (SyncNow() runs a
    // round now, and the next ones follow it by the interval).
    for (Instance& in : instances) {
      absl::SleepFor(*t0 + plan.sync_interval * in.index / plan.instances - absl::Now());
      (void)in.coordinator->SyncNow();
    }
  }

  // The trickle: each caller thread owns some instances and, every tick,
  // brings each of their breakers up to rate x elapsed successful calls.
  std::vector<std::thread> callers;
  for (int t = 0; t < plan.caller_threads; ++t) {
    callers.emplace_back([&, t] {
      const absl::Duration tick = absl::Milliseconds(20);
      uint64_t done = 0;
      absl::Time next = *t0;
      while (next < end) {
        absl::SleepFor(next - absl::Now());
        const uint64_t due = static_cast<uint64_t>(plan.rate * absl::ToDoubleSeconds(next - *t0));
        for (; done < due; ++done) {
          for (size_t i = t; i < instances.size(); i += plan.caller_threads) {
            for (const std::shared_ptr<Breaker>& b : instances[i].breakers) {
              if (Permit permit = b->TryAcquire()) permit.Success();
            }
          }
        }
        next += tick;
      }
    });
  }

  // The timeline's events, in time order, on this thread.
  std::string out = absl::StrCat("SETUP ", absl::StrFormat("%.3f", setup_seconds), "\n");
  struct Event {
    absl::Time at;
    std::function<void()> run;
  };
  std::vector<Event> events;
  int64_t cpu_at_start = 0;
  events.push_back({*t0 + plan.MeasureStart(), [&] {
                      if (hooks.measure_start) hooks.measure_start();
                      cpu_at_start = CpuNanos();
                      for (Instance& in : instances) in.at_measure_start = in.coordinator->Stats();
                    }});
  // The last round's round trip, sampled: the round-trip distribution under load.
  for (absl::Duration d = plan.MeasureStart() + absl::Milliseconds(250); d < plan.MeasureEnd();
       d += absl::Milliseconds(250)) {
    events.push_back({*t0 + d, [&] {
                        for (Instance& in : instances) {
                          const SyncStats s = in.coordinator->Stats();
                          absl::StrAppend(&out, "RTT ", absl::ToInt64Nanoseconds(s.last_round_trip),
                                          "\n");
                        }
                      }});
  }
  events.push_back({*t0 + plan.MeasureEnd(), [&] {
                      if (hooks.measure_end) hooks.measure_end();
                      absl::StrAppend(&out, "CPU ", CpuNanos() - cpu_at_start, "\n");
                      for (Instance& in : instances) in.at_measure_end = in.coordinator->Stats();
                    }});
  std::vector<int64_t> trip_done_ns(plan.trips, 0);
  for (int k = 0; k < plan.trips; ++k) {
    const int who = plan.TripInstance(k);
    if (plan.ProcessOf(who) != process) continue;
    events.push_back({*t0 + plan.TripAt(k), [&, k, who] {
                        Instance& in = instances[who - plan.FirstOf(process)];
                        Breaker& b = *in.breakers[k];
                        // Degraded, the breaker decides alone: it may open on
                        // part of the failures and reject the rest.
                        const Sharing sharing = b.Snapshot().sharing;
                        int admitted = 0;
                        for (int f = 0; f < plan.trip_failures; ++f) {
                          if (Permit permit = b.TryAcquire()) {
                            permit.Failure();
                            ++admitted;
                          }
                        }
                        trip_done_ns[k] = NowNanos();
                        absl::StrAppend(&out, "TRIP ", k, " ", who, " ", trip_done_ns[k], " ",
                                        admitted, " ", circuit::SharingName(sharing), "\n");
                      }});
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.at < b.at; });
  for (Event& e : events) {
    absl::SleepFor(e.at - absl::Now());
    e.run();
  }
  absl::SleepFor(end - absl::Now());
  for (std::thread& t : callers) t.join();

  // Results. Every other instance's latency for each trip, from the shared
  // OPEN's opened_at (as this instance's coordinator last heard it).
  for (int k = 0; k < plan.trips; ++k) {
    const std::string name = absl::StrCat("dep-", k);
    for (Instance& in : instances) {
      const SharedState shared = in.coordinator->Shared(name);
      const int64_t stamped = in.stamps[k]->shared_open_ns();
      const int64_t opened = absl::ToUnixNanos(shared.opened_at);
      if (in.index == plan.TripInstance(k)) {
        // The tripping instance: its own push made the shared OPEN.
        absl::StrAppend(&out, "OPENED ", k, " ", opened, " ", stamped, " ",
                        circuit::StateName(in.breakers[k]->state()), " ",
                        in.stamps[k]->other_opens(), "\n");
        continue;
      }
      if (stamped == 0 || !shared.known || shared.state != State::kOpen) {
        absl::StrAppend(&out, "MISS ", k, " ", in.index, " known=", shared.known,
                        " state=", circuit::StateName(shared.state),
                        " generation=", shared.generation, " window=", shared.window_calls, "/",
                        shared.window_failures, "\n");
        continue;
      }
      absl::StrAppend(&out, "LAT ", k, " ", in.index, " ", stamped - opened, " ", opened, " ",
                      in.stamps[k]->round_trip_ns(), "\n");
    }
  }
  for (Instance& in : instances) {
    const SyncStats s = in.coordinator->Stats();
    absl::StrAppend(&out, "ISTAT ", in.index, " ", in.at_measure_end.rounds - in.at_measure_start.rounds,
                    " ", in.at_measure_end.failed_rounds - in.at_measure_start.failed_rounds, " ",
                    in.at_measure_end.commands - in.at_measure_start.commands, " ", s.rounds, " ",
                    s.failed_rounds, " ", s.connects, " ", s.repairs, " ",
                    in.after_setup.failed_rounds, " ", in.after_setup.connects, "\n");
    if (s.failed_rounds > in.after_setup.failed_rounds) {
      absl::StrAppend(&out, "ODD instance ", in.index, ": ",
                      s.failed_rounds - in.after_setup.failed_rounds,
                      " failed rounds after the setup; the last error: ", s.last_error.ToString(),
                      "\n");
    } else if (s.failed_rounds > 0) {
      absl::StrAppend(&out, "SETUPERR ", s.last_error.ToString(), "\n");
    }
    for (int b = 0; b < plan.breakers; ++b) {
      const OpenStamp& st = *in.stamps[b];
      const bool tripped = b < plan.trips;
      if (st.degraded() > 0) {
        absl::StrAppend(&out, "DEGRADED ", in.index, " ", b, " ", st.degraded(), "\n");
      }
      if (st.other_opens() > 0 || (!tripped && st.transitions() > 0) ||
          (tripped && st.transitions() != 1)) {
        absl::StrAppend(&out, "ODD instance ", in.index, " dep-", b, ": ", st.transitions(),
                        " transitions, ", st.other_opens(), " opened alone\n");
      }
    }
  }
  // The coordinators stop (their sync threads join) before we return.
  instances.clear();
  absl::StrAppend(&out, "DONE\n");
  return out;
}

// ---- Children: started with fork() + execv(/proc/self/exe), before threads -

class Child {
 public:
  static absl::StatusOr<std::unique_ptr<Child>> Spawn(std::vector<std::string> args) {
    int to_child[2];
    int from_child[2];
    // O_CLOEXEC: no child inherits another's pipes (a pipe whose write end
    // stays open somewhere never reports EOF).
    if (pipe2(to_child, O_CLOEXEC) != 0) return absl::InternalError(ErrnoText(errno));
    if (pipe2(from_child, O_CLOEXEC) != 0) {
      close(to_child[0]);
      close(to_child[1]);
      return absl::InternalError(ErrnoText(errno));
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      // dup2() clears O_CLOEXEC on the copies: stdin and stdout survive exec.
      if (dup2(to_child[0], 0) < 0 || dup2(from_child[1], 1) < 0) _exit(127);
      execv("/proc/self/exe", argv.data());
      _exit(127);
    }
    const int fork_error = errno;
    close(to_child[0]);
    close(from_child[1]);
    if (pid < 0) {
      close(to_child[1]);
      close(from_child[0]);
      return absl::InternalError(absl::StrCat("fork: ", ErrnoText(fork_error)));
    }
    return std::unique_ptr<Child>(new Child(pid, to_child[1], from_child[0]));
  }

  // Kills an unreaped child: no child outlives a failed run.
  ~Child() {
    if (write_fd_ >= 0) close(write_fd_);
    if (read_fd_ >= 0) close(read_fd_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  // The next line (without '\n'), waiting at most until `deadline`.
  absl::StatusOr<std::string> ReadLine(absl::Time deadline) {
    for (;;) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (wait_ms <= 0) return absl::DeadlineExceededError(absl::StrCat("child ", pid_, ": no answer"));
      struct pollfd p = {read_fd_, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(std::min<int64_t>(wait_ms, 1000)));
      if (ready < 0 && errno != EINTR) return absl::InternalError(ErrnoText(errno));
      if (ready <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(read_fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return absl::UnavailableError(absl::StrCat("child ", pid_, " closed its output"));
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  absl::Status WriteLine(const std::string& line) {
    const std::string text = line + "\n";
    if (write(write_fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      return absl::UnavailableError(absl::StrCat("child ", pid_, ": ", ErrnoText(errno)));
    }
    return absl::OkStatus();
  }

  // Waits for the child's exit: OK for status 0.
  absl::Status Reap(absl::Time deadline) {
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat("child ", pid_, " did not exit"));
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    const pid_t pid = pid_;
    pid_ = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("child ", pid, " ended with status ", status));
  }

  pid_t pid() const { return pid_; }

 private:
  Child(pid_t pid, int write_fd, int read_fd) : pid_(pid), write_fd_(write_fd), read_fd_(read_fd) {}
  pid_t pid_;
  int write_fd_;
  int read_fd_;
  std::string buffer_;
};

int RunChild(const Plan& plan) {
  const int process = absl::GetFlag(FLAGS_process_index);
  auto start = [&]() -> absl::StatusOr<absl::Time> {
    std::printf("READY\n");
    std::fflush(stdout);
    char line[128];
    if (std::fgets(line, sizeof line, stdin) == nullptr) {
      return absl::CancelledError("the parent went away");
    }
    int64_t ns = 0;
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&text, "START ") || !absl::SimpleAtoi(text, &ns)) {
      return absl::InternalError(absl::StrCat("unexpected from the parent: ", line));
    }
    return absl::FromUnixNanos(ns);
  };
  absl::StatusOr<std::string> results =
      RunProcess(plan, process, absl::GetFlag(FLAGS_redis_socket), start, Hooks());
  if (!results.ok()) {
    std::fprintf(stderr, "redis_scale child %d: %s\n", process, results.status().ToString().c_str());
    std::printf("ERROR %s\n", results.status().ToString().c_str());
    return 1;
  }
  std::fwrite(results->data(), 1, results->size(), stdout);
  std::fflush(stdout);
  return 0;
}

// ---- The parent: aggregation and the report --------------------------------

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
  rank = std::max<size_t>(rank, 1);
  return v[std::min(rank, v.size()) - 1];
}

struct Totals {
  std::vector<double> latency_ms;    // every other instance, every trip
  std::vector<double> push_delay_ms; // tripping instance: failures -> opened_at
  std::vector<double> rtt_ms;        // sampled last_round_trip
  std::vector<double> delivering_rtt_ms;  // the round trip of the round that brought the OPEN
  std::map<int, int64_t> trip_done_ns;
  std::map<int, std::vector<int64_t>> opened_ns;  // every instance's opened_at, per trip
  double client_cpu_s = 0;
  uint64_t rounds = 0, failed_rounds = 0, commands = 0;  // in the measured phase
  uint64_t failed_rounds_total = 0, connects = 0, repairs = 0;
  uint64_t setup_failed_rounds = 0, setup_connects = 0;  // while every instance shared its breakers
  double setup_seconds = 0;  // the slowest process's
  std::string setup_error;   // one of the setup's failed rounds' errors
  int instances_reported = 0;
  int misses = 0;
  std::map<int, int> missed;                 // per trip: instances that never followed
  std::map<int, std::string> miss_example;   // per trip: one MISS line
  std::map<int, std::string> trip_note;      // per trip: what the tripping instance did
  std::map<int, std::string> trip_end_note;  // per trip: how its breaker ended
  int instances_failing = 0;                 // instances with failed rounds after the setup
  std::string failing_example;
  int odd_breakers = 0;                      // breaker-instances with unexpected transitions
  int degraded_events = 0;
  std::vector<std::string> odd;
};

absl::Status Parse(const std::string& results, Totals* t) {
  bool done = false;
  for (absl::string_view line : absl::StrSplit(results, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    auto num = [&](size_t i) -> int64_t {
      int64_t v = 0;
      if (i >= f.size() || !absl::SimpleAtoi(f[i], &v)) v = 0;
      return v;
    };
    const absl::string_view kind = f[0];
    if (kind == "LAT") {
      t->latency_ms.push_back(num(3) / 1e6);
      t->delivering_rtt_ms.push_back(num(5) / 1e6);
      t->opened_ns[static_cast<int>(num(1))].push_back(num(4));
    } else if (kind == "OPENED") {
      // opened_at is 0 when the store never opened (a lost trip).
      if (num(2) != 0) t->opened_ns[static_cast<int>(num(1))].push_back(num(2));
      t->trip_end_note[static_cast<int>(num(1))] =
          absl::StrCat("; it opened alone ", num(5), " time(s) and is ", f.size() > 4 ? f[4] : "?",
                       " at the end");
    } else if (kind == "TRIP") {
      t->trip_done_ns[static_cast<int>(num(1))] = num(3);
      const int k = static_cast<int>(num(1));
      t->trip_note[k] = absl::StrCat("tripping instance ", num(2), " recorded ", num(4), " of ",
                                     absl::GetFlag(FLAGS_trip_failures), " failures, its breaker ",
                                     f.size() > 5 ? f[5] : "?", " when they began");
    } else if (kind == "MISS") {
      ++t->misses;
      const int k = static_cast<int>(num(1));
      if (t->missed[k]++ == 0) t->miss_example[k] = std::string(line);
    } else if (kind == "RTT") {
      if (num(1) > 0) t->rtt_ms.push_back(num(1) / 1e6);
    } else if (kind == "CPU") {
      t->client_cpu_s += num(1) / 1e9;
    } else if (kind == "ISTAT") {
      ++t->instances_reported;
      t->rounds += num(2);
      t->failed_rounds += num(3);
      t->commands += num(4);
      t->failed_rounds_total += num(6);
      t->connects += num(7);
      t->repairs += num(8);
      t->setup_failed_rounds += num(9);
      t->setup_connects += num(10);
    } else if (kind == "SETUP") {
      double v = 0;
      if (absl::SimpleAtod(f[1], &v)) t->setup_seconds = std::max(t->setup_seconds, v);
    } else if (kind == "SETUPERR") {
      t->setup_error = std::string(line.substr(9));
    } else if (kind == "DEGRADED") {
      t->degraded_events += static_cast<int>(num(3));
    } else if (kind == "ODD") {
      if (absl::StrContains(line, "failed rounds after the setup")) {
        ++t->instances_failing;
        t->failing_example = std::string(line.substr(4));
      } else if (absl::StrContains(line, " transitions, ")) {
        ++t->odd_breakers;
      } else {
        t->odd.push_back(std::string(line.substr(4)));
      }
    } else if (kind == "ERROR") {
      return absl::InternalError(std::string(line));
    } else if (kind == "DONE") {
      done = true;
    }
  }
  if (!done) return absl::InternalError("a process's results ended early");
  return absl::OkStatus();
}

int RunParent(const Plan& plan, const std::vector<std::string>& passed) {
  // 1. The server, then the children: forks, all of them, before any thread.
  // The tests' fixture (tests/redis/redis_server.h): a Unix socket of its
  // own, no persistence, killed with this process whatever way it goes.
  absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
  if (!redis.ok()) {
    std::fprintf(stderr, "redis_scale: %s\n", redis.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<RedisConnection> admin = (*redis)->Connect(absl::Seconds(2));
  if (!admin.ok()) {
    std::fprintf(stderr, "redis_scale: %s\n", admin.status().ToString().c_str());
    return 1;
  }
  std::vector<std::unique_ptr<Child>> children;
  for (int p = 1; p < plan.processes; ++p) {
    std::vector<std::string> args = {"redis_scale"};
    args.insert(args.end(), passed.begin(), passed.end());
    args.push_back("--child");
    args.push_back(absl::StrCat("--redis_socket=", (*redis)->unix_socket()));
    args.push_back(absl::StrCat("--process_index=", p));
    absl::StatusOr<std::unique_ptr<Child>> child = Child::Spawn(std::move(args));
    if (!child.ok()) {
      std::fprintf(stderr, "redis_scale: %s\n", child.status().ToString().c_str());
      return 1;
    }
    children.push_back(std::move(child).value());
  }

  // 2. Everyone connected: the start time, half a second out.
  auto start = [&]() -> absl::StatusOr<absl::Time> {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    for (auto& c : children) {
      absl::StatusOr<std::string> line = c->ReadLine(deadline);
      if (!line.ok()) return line.status();
      if (*line != "READY") return absl::InternalError(absl::StrCat("child says: ", *line));
    }
    const absl::Time t0 = absl::Now() + absl::Milliseconds(500);
    for (auto& c : children) {
      if (absl::Status s = c->WriteLine(absl::StrCat("START ", absl::ToUnixNanos(t0))); !s.ok()) {
        return s;
      }
    }
    return t0;
  };
  absl::StatusOr<RedisInfo> info_start, info_end;
  double load_start = NAN, load_end = NAN;
  Hooks hooks;
  hooks.measure_start = [&] {
    info_start = ReadInfo(**redis, admin->get());
    load_start = LoadAverage();
  };
  hooks.measure_end = [&] {
    info_end = ReadInfo(**redis, admin->get());
    load_end = LoadAverage();
  };
  absl::StatusOr<std::string> own = RunProcess(plan, 0, (*redis)->unix_socket(), start, hooks);
  if (!own.ok()) {
    std::fprintf(stderr, "redis_scale: %s\n", own.status().ToString().c_str());
    return 1;
  }

  // 3. Everyone's results, every child reaped, the server stopped.
  Totals totals;
  absl::Status parsed = Parse(*own, &totals);
  for (auto& c : children) {
    std::string text;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    for (;;) {
      absl::StatusOr<std::string> line = c->ReadLine(deadline);
      if (!line.ok()) {
        if (parsed.ok()) parsed = line.status();
        break;
      }
      absl::StrAppend(&text, *line, "\n");
      if (*line == "DONE" || absl::StartsWith(*line, "ERROR")) break;
    }
    if (absl::Status s = Parse(text, &totals); !s.ok() && parsed.ok()) parsed = s;
    if (absl::Status s = c->Reap(absl::Now() + absl::Seconds(10)); !s.ok() && parsed.ok()) parsed = s;
  }
  children.clear();
  const pid_t redis_pid = (*redis)->pid();
  redis->reset();
  if (!parsed.ok()) {
    std::fprintf(stderr, "redis_scale: %s\n", parsed.ToString().c_str());
    return 1;
  }
  if (!info_start.ok() || !info_end.ok()) {
    std::fprintf(stderr, "redis_scale: INFO failed: %s %s\n", info_start.status().ToString().c_str(),
                 info_end.status().ToString().c_str());
    return 1;
  }

  // 4. The figures.
  const double secs = absl::ToDoubleSeconds(info_end->at - info_start->at);
  const double commands_per_s = (info_end->commands - info_start->commands) / secs;
  const double evalsha_per_s = (info_end->evalsha_calls - info_start->evalsha_calls) / secs;
  const double redis_cpu_pct = 100 * (info_end->cpu_seconds - info_start->cpu_seconds) / secs;
  const double redis_main_run_pct = 100 * (info_end->run_seconds - info_start->run_seconds) / secs;
  const double redis_wait_pct =
      100 * (info_end->runqueue_wait_seconds - info_start->runqueue_wait_seconds) / secs;
  const double evalsha_delta = info_end->evalsha_calls - info_start->evalsha_calls;
  const double usec_per_evalsha =
      evalsha_delta > 0 ? (info_end->evalsha_usec - info_start->evalsha_usec) / evalsha_delta : NAN;
  const double client_cpu_pct = 100 * totals.client_cpu_s / secs;
  auto calls_delta = [&](const std::string& command) {
    auto a = info_start->calls.find(command);
    auto b = info_end->calls.find(command);
    return (b == info_end->calls.end() ? 0 : b->second) - (a == info_start->calls.end() ? 0 : a->second);
  };
  const double push_share = evalsha_delta > 0 ? calls_delta("hset") / 2 / evalsha_delta : NAN;
  std::string breakdown;
  for (const auto& [command, n] : info_end->calls) {
    const double d = calls_delta(command);
    if (d / secs >= 1) absl::StrAppendFormat(&breakdown, " %s %.0f", command, d / secs);
  }
  const double rounds_per_instance_s = totals.rounds / secs / plan.instances;
  // Trip by trip: did every process see the same opened_at? And how long
  // did the tripping instance's own push take to open the shared state?
  int opened_disagreements = 0;
  for (const auto& [k, opened] : totals.opened_ns) {
    for (int64_t o : opened) {
      if (o != opened.front()) ++opened_disagreements;
    }
    auto done = totals.trip_done_ns.find(k);
    if (done != totals.trip_done_ns.end() && !opened.empty()) {
      totals.push_delay_ms.push_back((opened.front() - done->second) / 1e6);
    }
  }
  const size_t expected_latencies = static_cast<size_t>(plan.trips) * (plan.instances - 1);
  const absl::Duration quiet_push = plan.quiet_push_interval != absl::InfiniteDuration()
                                        ? plan.quiet_push_interval
                                        : RedisOptions().quiet_push_interval;
  // The latencies' shape, in buckets of a quarter interval: uniform over
  // about one interval is what staggered rounds give; a tail past it is
  // rounds slower than the interval.
  const double bucket_ms = absl::ToDoubleMilliseconds(plan.sync_interval) / 4;
  std::map<int, int> histogram;
  for (double ms : totals.latency_ms) ++histogram[static_cast<int>(std::floor(ms / bucket_ms))];
  std::string shape;
  for (const auto& [b, n] : histogram) {
    absl::StrAppendFormat(&shape, "    %6.0f - %6.0f ms %5d %s\n", b * bucket_ms, (b + 1) * bucket_ms, n,
                          std::string(static_cast<size_t>(std::ceil(60.0 * n / totals.latency_ms.size())), '#'));
  }

  std::printf("\nredis_scale: %d instances (%d processes) x %d breakers, sync_interval %s (%s), "
              "trickle %.3g calls/s per breaker per instance\n",
              plan.instances, plan.processes, plan.breakers,
              absl::FormatDuration(plan.sync_interval).c_str(),
              plan.spread_phases ? "rounds staggered" : "rounds in lockstep", plan.rate);
  std::printf("quiet_push_interval %s; load average %.2f at the start of the measurement, %.2f at "
              "its end (%ld CPUs)\n",
              absl::FormatDuration(quiet_push).c_str(), load_start, load_end, sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("steady load, measured over %.1f s:\n", secs);
  std::printf("  Redis commands/s           %10.0f  (total_commands_processed; counts the\n"
              "                                         commands scripts run inside EVALSHA too)\n",
              commands_per_s);
  std::printf("  Redis EVALSHA/s            %10.0f  (the coordinators sent %.0f/s)\n", evalsha_per_s,
              totals.commands / secs);
  std::printf("  Redis usec per EVALSHA     %10.1f  (pushes: %.0f %% of them; the rest read)\n",
              usec_per_evalsha, 100 * push_share);
  std::printf("  Redis commands/s by name  %s\n", breakdown.c_str());
  std::printf("  Redis CPU                  %9.1f%%  of one core (used_cpu_sys + used_cpu_user)\n",
              redis_cpu_pct);
  std::printf("  Redis main thread          %9.1f%%  of the time on a CPU, %.1f%% runnable but waiting "
              "for one (schedstat)\n",
              redis_main_run_pct, redis_wait_pct);
  std::printf("  Redis clients, memory      %10.0f  %.1f MiB\n", info_end->clients,
              info_end->used_memory / (1 << 20));
  std::printf("  rounds/s per instance      %10.2f  (1 / (interval + round) would be %.2f at the p50 round)\n",
              rounds_per_instance_s,
              1.0 / (absl::ToDoubleSeconds(plan.sync_interval) + Percentile(totals.rtt_ms, 50) / 1e3));
  std::printf("  round trip (last_round_trip, sampled %zu x) p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              totals.rtt_ms.size(), Percentile(totals.rtt_ms, 50), Percentile(totals.rtt_ms, 99),
              Percentile(totals.rtt_ms, 100));
  std::printf("  failed rounds              %10llu  (after the setup: %llu; connects %llu, repairs %llu)\n",
              static_cast<unsigned long long>(totals.failed_rounds),
              static_cast<unsigned long long>(totals.failed_rounds_total - totals.setup_failed_rounds),
              static_cast<unsigned long long>(totals.connects),
              static_cast<unsigned long long>(totals.repairs));
  std::printf("setup (every instance shares its %d breakers at once, then syncs): %.1f s, "
              "%llu failed rounds, %llu connects for %d instances%s%s\n",
              plan.breakers, totals.setup_seconds,
              static_cast<unsigned long long>(totals.setup_failed_rounds),
              static_cast<unsigned long long>(totals.setup_connects), plan.instances,
              totals.setup_error.empty() ? "" : "; e.g. ", totals.setup_error.c_str());
  std::printf("  client CPU (all %d processes) %7.1f%%  of one core\n", plan.processes, client_cpu_pct);
  std::printf("propagation of a shared OPEN, %d trips (spaced %s), to every other instance:\n",
              plan.trips, absl::FormatDuration(plan.trip_spacing).c_str());
  std::printf("  latency (listener stamp - opened_at) p50 %.1f ms, p99 %.1f ms, max %.1f ms, "
              "min %.1f ms, n = %zu of %zu\n",
              Percentile(totals.latency_ms, 50), Percentile(totals.latency_ms, 99),
              Percentile(totals.latency_ms, 100), Percentile(totals.latency_ms, 0),
              totals.latency_ms.size(), expected_latencies);
  std::printf("  of which the round trip of the round that brought it: p50 %.1f ms, p99 %.1f ms, "
              "max %.1f ms\n",
              Percentile(totals.delivering_rtt_ms, 50), Percentile(totals.delivering_rtt_ms, 99),
              Percentile(totals.delivering_rtt_ms, 100));
  std::printf("  latency histogram:\n%s", shape.c_str());
  std::printf("  tripping instance: failures recorded -> opened_at p50 %.1f ms, max %.1f ms\n",
              Percentile(totals.push_delay_ms, 50), Percentile(totals.push_delay_ms, 100));
  std::printf("  missed (never followed into OPEN): %d; opened_at disagreements: %d; "
              "shared -> degraded events: %d\n",
              totals.misses, opened_disagreements, totals.degraded_events);
  for (const auto& [k, n] : totals.missed) {
    std::printf("  LOST trip %d: %d instances never followed into OPEN; %s%s; e.g. %s\n", k, n,
                totals.trip_note[k].c_str(), totals.trip_end_note[k].c_str(),
                totals.miss_example[k].c_str());
  }
  if (totals.instances_failing > 0) {
    std::printf("  %d instances had failed rounds after the setup; e.g. %s\n", totals.instances_failing,
                totals.failing_example.c_str());
  }
  if (totals.odd_breakers > 0) {
    std::printf("  %d breakers (of %d x %d) made transitions other than the one shared OPEN expected\n",
                totals.odd_breakers, plan.instances, plan.breakers);
  }
  for (size_t i = 0; i < totals.odd.size() && i < 20; ++i) {
    std::printf("  ODD: %s\n", totals.odd[i].c_str());
  }
  if (totals.odd.size() > 20) std::printf("  ODD: ... %zu more\n", totals.odd.size() - 20);

  std::string md = absl::StrFormat(
      "| Figure | Value |\n"
      "|---|---|\n"
      "| Instances x breakers | %d (%d processes) x %d |\n"
      "| sync_interval | %s (%s) |\n"
      "| quiet_push_interval | %s |\n"
      "| Trickle | %.3g successful calls/s per breaker per instance (%.0f calls/s in all) |\n"
      "| Redis commands/s (total_commands_processed, incl. inside scripts) | %.0f |\n"
      "| Redis EVALSHA/s | %.0f |\n"
      "| Redis time per EVALSHA (commandstats) | %.1f us |\n"
      "| EVALSHA that pushed counts (the rest only read) | %.0f %% |\n"
      "| Redis CPU (sys + user, one core = 100 %%) | %.1f %% |\n"
      "| Redis main thread: on a CPU / runnable but waiting for one | %.1f %% / %.1f %% of the time |\n"
      "| Client CPU, all processes (one core = 100 %%) | %.1f %% |\n"
      "| Sync rounds per instance per second | %.2f |\n"
      "| Round trip (pipeline of %d EVALSHA), p50 / p99 / max | %.2f / %.2f / %.2f ms |\n"
      "| Failed rounds (measured phase / after the setup) | %llu / %llu |\n"
      "| Setup: every instance shares its breakers at once | %.1f s, %llu failed rounds (timeouts), %llu connects for %d instances |\n"
      "| Shared OPEN -> every other instance OPEN, p50 | %.1f ms |\n"
      "| Shared OPEN -> every other instance OPEN, p99 | %.1f ms |\n"
      "| Shared OPEN -> every other instance OPEN, max | %.1f ms |\n"
      "| Round trip of the round that brought the OPEN, p50 / p99 | %.1f / %.1f ms |\n"
      "| Propagation samples (trips x other instances) | %zu of %zu (%d trips) |\n"
      "| Tripping instance: failures -> shared OPEN, p50 / max | %.1f / %.1f ms |\n"
      "| Machine load average (1 min) during the measurement | %.2f -> %.2f (%ld CPUs) |\n",
      plan.instances, plan.processes, plan.breakers, absl::FormatDuration(plan.sync_interval),
      plan.spread_phases ? "rounds staggered over it" : "rounds in lockstep",
      absl::FormatDuration(quiet_push), plan.rate, plan.rate * plan.instances * plan.breakers, commands_per_s, evalsha_per_s,
      usec_per_evalsha, 100 * push_share, redis_cpu_pct, redis_main_run_pct, redis_wait_pct, client_cpu_pct, rounds_per_instance_s, plan.breakers,
      Percentile(totals.rtt_ms, 50), Percentile(totals.rtt_ms, 99), Percentile(totals.rtt_ms, 100),
      static_cast<unsigned long long>(totals.failed_rounds),
      static_cast<unsigned long long>(totals.failed_rounds_total - totals.setup_failed_rounds),
      totals.setup_seconds, static_cast<unsigned long long>(totals.setup_failed_rounds),
      static_cast<unsigned long long>(totals.setup_connects), plan.instances,
      Percentile(totals.latency_ms, 50),
      Percentile(totals.latency_ms, 99), Percentile(totals.latency_ms, 100),
      Percentile(totals.delivering_rtt_ms, 50), Percentile(totals.delivering_rtt_ms, 99),
      totals.latency_ms.size(),
      expected_latencies, plan.trips, Percentile(totals.push_delay_ms, 50),
      Percentile(totals.push_delay_ms, 100), load_start, load_end, sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("\n%s", md.c_str());
  if (const std::string path = absl::GetFlag(FLAGS_markdown_out); !path.empty()) {
    if (FILE* f = std::fopen(path.c_str(), "w")) {
      std::fwrite(md.data(), 1, md.size(), f);
      std::fclose(f);
    } else {
      std::fprintf(stderr, "redis_scale: %s: %s\n", path.c_str(), ErrnoText(errno).c_str());
      return 1;
    }
  }
  // The server was stopped and reaped above; say so, for whoever checks.
  std::printf("\nredis-server (pid %d) stopped; %d child processes reaped.\n", redis_pid,
              plan.processes - 1);
  const bool clean = totals.misses == 0 && totals.latency_ms.size() == expected_latencies &&
                     opened_disagreements == 0;
  return clean ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  // The children get the parent's flags as they were given.
  std::vector<std::string> passed(argv + 1, argv + argc);
  absl::ParseCommandLine(argc, argv);
  // hiredis writes with write(2): a write to a dead peer must not kill us.
  signal(SIGPIPE, SIG_IGN);
  absl::StatusOr<Plan> plan = PlanFromFlags();
  if (!plan.ok()) {
    std::fprintf(stderr, "redis_scale: %s\n", plan.status().ToString().c_str());
    return 1;
  }
  if (absl::GetFlag(FLAGS_child)) return RunChild(*plan);
  return RunParent(*plan, passed);
}
