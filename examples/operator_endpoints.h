// File: examples/operator_endpoints.h
// What the example services serve an operator, and how they listen:
// GET /metrics (the registry's breakers in Prometheus's text format,
// through circuit::prometheus::Collector) and GET /healthz (the registry's
// health as JSON: 200 when healthy, 503 when degraded); binding to a
// chosen or a free port; and the port file scripts and tests wait for.
//
//   httplib::Server server;
//   examples::ServeMetricsAndHealth(server, registry);
//   const int port = examples::Bind(server, "127.0.0.1", 0);   // -1: failed
//   std::thread http([&server] { server.listen_after_bind(); });
//   examples::WritePortFile(port_file, port);
#ifndef CIRCUIT_EXAMPLES_OPERATOR_ENDPOINTS_H_
#define CIRCUIT_EXAMPLES_OPERATOR_ENDPOINTS_H_

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "circuit/prometheus/collector.h"
#include "circuit/registry.h"
#include "httplib.h"
#include "prometheus/text_serializer.h"

namespace examples {

// GET /metrics and GET /healthz for `registry`, which must outlive
// `server`'s handlers.
inline void ServeMetricsAndHealth(httplib::Server& server, circuit::Registry& registry) {
  auto collector = std::make_shared<circuit::prometheus::Collector>(registry);
  server.Get("/metrics", [collector](const httplib::Request&, httplib::Response& response) {
    response.set_content(prometheus::TextSerializer().Serialize(collector->Collect()),
                         "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", [&registry](const httplib::Request&, httplib::Response& response) {
    const circuit::HealthSummary health = registry.Health();
    response.status = health.healthy ? 200 : 503;
    response.set_content(health.ToJson(), "application/json");
  });
}

// Binds `server` to address:port, or to a free port when `port` is 0.
// The port bound, or -1.
inline int Bind(httplib::Server& server, const std::string& address, int port) {
  if (port == 0) return server.bind_to_any_port(address);
  return server.bind_to_port(address, port) ? port : -1;
}

// Writes `port` to `file` (nothing if `file` is empty) under a temporary
// name, then renames it: a reader never sees half.
inline void WritePortFile(const std::string& file, int port) {
  if (file.empty()) return;
  const std::string partial = file + ".partial";
  std::ofstream(partial) << port << "\n";
  std::rename(partial.c_str(), file.c_str());
}

}  // namespace examples

#endif  // CIRCUIT_EXAMPLES_OPERATOR_ENDPOINTS_H_
