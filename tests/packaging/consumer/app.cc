// A consumer of an installed circuit: opens a breaker on three failures and
// checks that the next call is rejected. Built by tests/packaging/run.sh
// through CMake's find_package(circuit), through pkg-config, and through a
// Bazel workspace that depends on @circuit.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "circuit/circuit.h"

int main() {
  circuit::BreakerConfig config;
  config.name = "consumer";
  config.consecutive_failures_to_open = 3;
  absl::StatusOr<std::unique_ptr<circuit::Breaker>> breaker = circuit::Breaker::Create(config);
  if (!breaker.ok()) {
    std::fprintf(stderr, "Create: %s\n", breaker.status().ToString().c_str());
    return 1;
  }
  for (int i = 0; i < 3; ++i) {
    const absl::Status status =
        (*breaker)->Call([] { return absl::UnavailableError("dependency down"); });
    if (status.ok()) return 1;
  }
  const absl::Status rejected = (*breaker)->Call([] { return absl::OkStatus(); });
  if ((*breaker)->state() != circuit::State::kOpen || rejected.ok()) {
    std::fprintf(stderr, "expected OPEN and a rejection, got %s / %s\n",
                 std::string(circuit::StateName((*breaker)->state())).c_str(),
                 rejected.ToString().c_str());
    return 1;
  }
  std::printf("circuit consumer: OPEN after 3 failures, rejected: %s\n",
              rejected.ToString().c_str());
  return 0;
}
