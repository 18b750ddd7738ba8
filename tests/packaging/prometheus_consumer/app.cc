// A consumer of an installed circuit::prometheus: one breaker in a
// registry, opened by three failures, exported as Prometheus text. Built by
// tests/packaging/run.sh through find_package(circuit COMPONENTS prometheus).
#include <cstdio>
#include <memory>
#include <string>

#include "circuit/prometheus/collector.h"
#include "circuit/registry.h"
#include "prometheus/text_serializer.h"

int main() {
  circuit::BreakerConfig defaults;
  defaults.consecutive_failures_to_open = 3;
  circuit::Registry registry(defaults);
  std::shared_ptr<circuit::Breaker> breaker = registry.GetOrCreate("consumer").value();
  for (int i = 0; i < 3; ++i) breaker->TryAcquire().Failure();

  auto collector = std::make_shared<circuit::prometheus::Collector>(registry);
  const std::string text = prometheus::TextSerializer().Serialize(collector->Collect());
  const std::string open = "circuit_breaker_state{breaker=\"consumer\",state=\"open\"} 1";
  if (text.find(open) == std::string::npos) {
    std::fprintf(stderr, "expected \"%s\" in:\n%s", open.c_str(), text.c_str());
    return 1;
  }
  std::printf("prometheus consumer: OK\n");
  return 0;
}
