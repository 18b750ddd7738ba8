// A consumer of an installed circuit::redis, with no Redis to talk to: the
// options are validated, a coordinator on a Unix socket that does not exist
// is created anyway, and the breaker it shares serves calls (the call path
// is local) while degraded. Built by tests/packaging/run.sh through
// find_package(circuit COMPONENTS redis); linking it proves the installed
// package brings hiredis along.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/redis/shared.h"
#include "circuit/sharing.h"

int main() {
  int failures = 0;
  auto fail = [&failures](const std::string& what) {
    std::fprintf(stderr, "redis consumer: %s\n", what.c_str());
    ++failures;
  };

  circuit::redis::RedisOptions bad;
  bad.prefix.clear();
  if (circuit::redis::ValidateRedisOptions(bad).code() != absl::StatusCode::kInvalidArgument) {
    fail("ValidateRedisOptions accepted an empty prefix");
  }

  circuit::redis::RedisOptions options;
  options.unix_socket = "/nonexistent/circuit-packaging/redis.sock";
  const absl::Status valid = circuit::redis::ValidateRedisOptions(options);
  if (!valid.ok()) fail("ValidateRedisOptions: " + valid.ToString());

  absl::StatusOr<std::unique_ptr<circuit::redis::Coordinator>> coordinator =
      circuit::redis::Coordinator::Create(options);
  if (!coordinator.ok()) {
    fail("Coordinator::Create: " + coordinator.status().ToString());
    return 1;
  }
  circuit::BreakerConfig config;
  config.name = "consumer";
  absl::StatusOr<std::shared_ptr<circuit::Breaker>> breaker = (*coordinator)->Share(config);
  if (!breaker.ok()) {
    fail("Share: " + breaker.status().ToString());
    return 1;
  }

  for (int i = 0; i < 5; ++i) {
    const absl::Status status = (*breaker)->Call([] { return absl::OkStatus(); });
    if (!status.ok()) fail("call " + std::to_string(i) + " with Redis down: " + status.ToString());
  }
  const absl::Status sync = (*coordinator)->SyncNow();
  if (sync.ok()) fail("SyncNow succeeded with no Redis");
  const circuit::Sharing sharing = (*breaker)->Snapshot().sharing;
  if (sharing != circuit::Sharing::kDegraded) {
    fail("sharing is " + std::string(circuit::SharingName(sharing)) + ", expected DEGRADED");
  }
  if (failures != 0) return 1;
  std::printf("redis consumer: calls served while DEGRADED, SyncNow: %s\n",
              sync.ToString().c_str());
  return 0;
}
