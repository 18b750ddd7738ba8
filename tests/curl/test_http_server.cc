// File: tests/curl/test_http_server.cc
// The dependency the curl integration's tests call: a real HTTP server on
// 127.0.0.1 (cpp-httplib), on a port the kernel picks, whose behaviour the
// test sets over HTTP and which counts the requests it was sent, so that a
// test can tell a rejection (nothing sent) from a failure.
//
//   test_http_server --port_file=PATH
//     Binds 127.0.0.1:0, writes the port to PATH (renamed into place, so a
//     reader never sees half a number), then serves until killed.
//
//   POST /control?status=N&retry_after=V&hang_ms=M
//     From now on every other request waits M ms (default 0), then answers
//     N (default 200) with "Retry-After: V" when V is given (verbatim:
//     delta-seconds, an HTTP-date or garbage). Not counted.
//   GET /count
//     The number of other requests received so far, in decimal. Not counted.
//   anything else (GET or POST)
//     Counted on arrival, then answered as /control said.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "httplib.h"

namespace {

struct Behaviour {
  int status = 200;
  bool has_retry_after = false;
  std::string retry_after;
  int hang_ms = 0;
};

std::mutex mu;
Behaviour behaviour;  // guarded by mu
std::atomic<long> received{0};

void Answer(const httplib::Request&, httplib::Response& response) {
  received.fetch_add(1);
  Behaviour now;
  {
    std::lock_guard<std::mutex> lock(mu);
    now = behaviour;
  }
  if (now.hang_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(now.hang_ms));
  response.status = now.status;
  if (now.has_retry_after) response.set_header("Retry-After", now.retry_after);
  response.set_content("status " + std::to_string(now.status) + "\n", "text/plain");
}

}  // namespace

int main(int argc, char** argv) {
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--port_file=", 12) == 0) port_file = argv[i] + 12;
  }
  if (port_file.empty()) {
    std::fprintf(stderr, "usage: %s --port_file=PATH\n", argv[0]);
    return 2;
  }

  httplib::Server server;
  // Room for every hanging request and idle kept-alive connection a test
  // holds (httplib's default pool has 8 threads), and idle connections let
  // go after a second rather than five.
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_keep_alive_timeout(1);

  server.Post("/control", [](const httplib::Request& request, httplib::Response& response) {
    Behaviour next;
    if (request.has_param("status")) {
      next.status = std::atoi(request.get_param_value("status").c_str());
    }
    if (request.has_param("retry_after")) {
      next.has_retry_after = true;
      next.retry_after = request.get_param_value("retry_after");
    }
    if (request.has_param("hang_ms")) {
      next.hang_ms = std::atoi(request.get_param_value("hang_ms").c_str());
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      behaviour = next;
    }
    response.set_content("ok\n", "text/plain");
  });
  server.Get("/count", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(std::to_string(received.load()), "text/plain");
  });
  server.Get(".*", Answer);
  server.Post(".*", Answer);

  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::fprintf(stderr, "test_http_server: cannot bind 127.0.0.1\n");
    return 1;
  }
  const std::string partial = port_file + ".partial";
  std::FILE* out = std::fopen(partial.c_str(), "w");
  if (out == nullptr || std::fprintf(out, "%d\n", port) < 0 || std::fclose(out) != 0 ||
      std::rename(partial.c_str(), port_file.c_str()) != 0) {
    std::fprintf(stderr, "test_http_server: cannot write %s\n", port_file.c_str());
    return 1;
  }
  return server.listen_after_bind() ? 0 : 1;
}
