// File: examples/service.cc
// A small service that calls three simulated dependencies through breakers
// of one circuit::Registry and serves what an operator looks at:
//   GET /metrics  the breakers in Prometheus's text format (prometheus-cpp,
//                 through circuit::prometheus::Collector);
//   GET /healthz  the registry's health as JSON: 200 when every breaker is
//                 closed, 503 (degraded) otherwise;
//   POST /breakers/force_open?name=N, /breakers/reset?name=N  the
//                 operator's levers.
// The dependencies: "inventory" is healthy (a few milliseconds a call),
// "recommendations" flaps (down for 2 s of every 5), "payments" is down.
// With --scenario=healthy all three are healthy.
//
//   ./bazelw run //examples:service -- --port=9464
//   curl -s localhost:9464/healthz; curl -s localhost:9464/metrics
//
// --port=0 lets the kernel choose a free port; --port_file=F writes the
// port chosen to F once the server listens (for scripts and tests). Runs
// until SIGINT or SIGTERM, or for --run_for_seconds.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/circuit.h"
#include "circuit/registry.h"
#include "examples/operator_endpoints.h"
#include "httplib.h"

ABSL_FLAG(std::string, address, "127.0.0.1", "address to listen on");
ABSL_FLAG(int, port, 9464, "port to listen on (0: any free port)");
ABSL_FLAG(std::string, port_file, "", "if set, the port listened on is written here");
ABSL_FLAG(std::string, scenario, "mixed",
          "mixed (healthy inventory, flapping recommendations, payments down) or healthy");
ABSL_FLAG(int, run_for_seconds, 0, "stop after this many seconds (0: run until a signal)");

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

// A simulated dependency: answers after `latency`, failing while down.
class Dependency {
 public:
  enum class Health { kHealthy, kFlapping, kDown };
  Dependency(std::string name, Health health, absl::Duration latency)
      : name_(std::move(name)), health_(health), latency_(latency), start_(absl::Now()) {}

  absl::Status Call() const {
    absl::SleepFor(latency_);
    switch (health_) {
      case Health::kHealthy:
        return absl::OkStatus();
      case Health::kDown:
        return absl::UnavailableError(absl::StrCat(name_, ": connection refused"));
      case Health::kFlapping: {
        const int64_t phase = absl::ToInt64Milliseconds(absl::Now() - start_) % 5000;
        if (phase >= 3000) return absl::DeadlineExceededError(absl::StrCat(name_, ": timed out"));
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }

  const std::string& name() const { return name_; }

 private:
  const std::string name_;
  const Health health_;
  const absl::Duration latency_;
  const absl::Time start_;
};

circuit::BreakerConfig Defaults() {
  circuit::BreakerConfig config;
  config.failure_rate_threshold = 50;  // open at half the calls failing ...
  config.window_size = 20;             // ... of the last 20
  config.minimum_calls = 10;
  config.open_duration = absl::Seconds(1);
  config.open_backoff_multiplier = 2;
  config.max_open_duration = absl::Seconds(8);
  config.half_open_trial_calls = 3;
  config.record_call_durations = true;  // circuit_breaker_call_duration_seconds
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string scenario = absl::GetFlag(FLAGS_scenario);
  if (scenario != "mixed" && scenario != "healthy") {
    std::fprintf(stderr, "--scenario: \"%s\" is neither \"mixed\" nor \"healthy\"\n",
                 scenario.c_str());
    return 2;
  }
  const int port_flag = absl::GetFlag(FLAGS_port);
  if (port_flag < 0 || port_flag > 65535) {
    std::fprintf(stderr, "--port: %d is not a port (0..65535)\n", port_flag);
    return 2;
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);

  // The breakers: one registry, a default config, a per-name override.
  circuit::Registry registry(Defaults());
  circuit::BreakerConfig payments = Defaults();
  payments.consecutive_failures_to_open = 5;  // payments also opens on 5 in a row
  if (absl::Status s = registry.SetOverride("payments", payments); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }

  const bool healthy = scenario == "healthy";
  using Health = Dependency::Health;
  const std::vector<Dependency> dependencies = {
      {"inventory", Health::kHealthy, absl::Milliseconds(2)},
      {"recommendations", healthy ? Health::kHealthy : Health::kFlapping, absl::Milliseconds(5)},
      {"payments", healthy ? Health::kHealthy : Health::kDown, absl::Milliseconds(3)},
  };

  // A caller per dependency, calling through its breaker (looked up once,
  // kept beside the client) until the service stops.
  std::vector<std::thread> callers;
  for (const Dependency& dependency : dependencies) {
    std::shared_ptr<circuit::Breaker> breaker = registry.GetOrCreate(dependency.name()).value();
    callers.emplace_back([&dependency, breaker] {
      while (!g_stop.load()) {
        const absl::Status status = breaker->Call([&] { return dependency.Call(); });
        // A rejection costs nothing: wait a little before the next request.
        if (!status.ok()) absl::SleepFor(absl::Milliseconds(5));
      }
    });
  }

  // The operator's endpoints.
  httplib::Server server;
  examples::ServeMetricsAndHealth(server, registry);

  // The operator's levers: POST /breakers/force_open?name=payments, and
  // /breakers/reset?name=... (404 for a name the registry does not hold).
  server.Post(R"(/breakers/(force_open|reset))",
              [&registry](const httplib::Request& request, httplib::Response& response) {
                const std::string name = request.get_param_value("name");
                const bool force = request.matches[1] == "force_open";
                const bool found = force ? registry.ForceOpen(name) : registry.Reset(name);
                response.status = found ? 200 : 404;
                response.set_content(found ? "ok\n" : "no such breaker\n", "text/plain");
              });

  const std::string address = absl::GetFlag(FLAGS_address);
  const int port = examples::Bind(server, address, port_flag);
  if (port < 0) {
    std::fprintf(stderr, "cannot listen on %s:%d\n", address.c_str(), port_flag);
    g_stop = true;
    for (std::thread& t : callers) t.join();
    return 1;
  }
  std::thread http([&server] { server.listen_after_bind(); });
  examples::WritePortFile(absl::GetFlag(FLAGS_port_file), port);
  std::printf("serving http://%s:%d/metrics and /healthz (%s)\n", address.c_str(), port,
              scenario.c_str());
  std::fflush(stdout);

  const int run_for = absl::GetFlag(FLAGS_run_for_seconds);
  const absl::Time deadline =
      run_for > 0 ? absl::Now() + absl::Seconds(run_for) : absl::InfiniteFuture();
  while (!g_stop.load() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  g_stop = true;
  server.stop();
  http.join();
  for (std::thread& t : callers) t.join();
  std::printf("stopped\n");
  return 0;
}
