// File: tests/redis/shared_instance.cc
// One instance of a service, as a process of its own, for
// shared_process_test.cc: it shares one breaker through Redis, records the
// outcomes it is told to, waits for the shared state to open its breaker,
// then calls until the shared state closes it, and prints what it saw:
//   opened_ms=<ms from start to OPEN> trials=<trial calls it made>
// Exits 0 when the breaker opened and then closed within --timeout_ms.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/circuit.h"
#include "circuit/redis/shared.h"

ABSL_FLAG(std::string, socket, "", "redis-server's Unix socket");
ABSL_FLAG(std::string, name, "shared", "the breaker's name");
ABSL_FLAG(int, successes, 0, "successful calls to record first");
ABSL_FLAG(int, failures, 0, "failed calls to record first");
ABSL_FLAG(int, timeout_ms, 20000, "how long to wait for each of OPEN and CLOSED");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  circuit::redis::RedisOptions options;
  options.unix_socket = absl::GetFlag(FLAGS_socket);
  options.sync_interval = absl::Milliseconds(20);
  auto coordinator = circuit::redis::Coordinator::Create(options);
  if (!coordinator.ok()) {
    std::fprintf(stderr, "%s\n", coordinator.status().ToString().c_str());
    return 2;
  }
  circuit::BreakerConfig config;
  config.name = absl::GetFlag(FLAGS_name);
  config.failure_rate_threshold = 50;
  config.window_size = 12;
  config.minimum_calls = 12;
  config.open_duration = absl::Milliseconds(500);
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 1;
  auto breaker = (*coordinator)->Share(config);
  if (!breaker.ok()) {
    std::fprintf(stderr, "%s\n", breaker.status().ToString().c_str());
    return 2;
  }
  circuit::Breaker& b = **breaker;
  const absl::Time start = absl::Now();
  // Shared first, so that these calls are the shared window's.
  while ((*breaker)->Snapshot().sharing != circuit::Sharing::kShared) {
    if (absl::Now() - start > absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms))) {
      std::fprintf(stderr, "never synced: %s\n",
                   (*coordinator)->Stats().last_error.ToString().c_str());
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  for (int i = 0; i < absl::GetFlag(FLAGS_successes); ++i) b.TryAcquire().Success();
  for (int i = 0; i < absl::GetFlag(FLAGS_failures); ++i) b.TryAcquire().Failure();

  const absl::Duration timeout = absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms));
  const absl::Time recorded = absl::Now();
  while (b.state() != circuit::State::kOpen) {
    if (absl::Now() - recorded > timeout) {
      std::fprintf(stderr, "never opened: %s\n",
                   std::string(circuit::StateName(b.state())).c_str());
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  const absl::Duration opened = absl::Now() - recorded;

  // Calls keep coming; the shared HALF_OPEN lends this instance a trial
  // slot now and then, and the trials of every instance close it.
  int trials = 0;
  const absl::Time open_seen = absl::Now();
  while (b.state() != circuit::State::kClosed) {
    if (absl::Now() - open_seen > timeout) {
      std::fprintf(stderr, "never closed: %s after %d trials\n",
                   std::string(circuit::StateName(b.state())).c_str(), trials);
      return 1;
    }
    if (circuit::Permit p = b.TryAcquire()) {
      if (p.is_trial()) ++trials;
      p.Success();
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  std::printf("opened_ms=%lld trials=%d\n",
              static_cast<long long>(absl::ToInt64Milliseconds(opened)), trials);
  return 0;
}
