// File: examples/gateway.cc
// A small gateway that calls a flaky dependency over gRPC and over HTTP,
// each through a breaker of one circuit::Registry, and serves what an
// operator looks at:
//   GET /metrics  the breakers in Prometheus's text format
//                 (circuit::prometheus::Collector);
//   GET /healthz  the registry's health as JSON: 200 when every breaker is
//                 closed, 503 (degraded) otherwise.
//
//   ./bazelw run //examples:gateway
//   ./bazelw run //examples:gateway -- --port=9465 --run_for_seconds=30
//
// The calls:
//   gRPC  quote.Quotes/Get (examples/quote.proto) on a channel whose
//         interceptor is circuit::grpc::BreakerInterceptorFactory
//         (circuit/grpc/interceptor.h): the breaker "quotes-grpc";
//   HTTP  GET /quote with libcurl through circuit::curl::Perform()
//         (circuit/curl/easy.h): the breaker "quotes-http".
// Both with a 250 ms deadline, from three worker threads each.
//
// The dependency: both servers run in this process, on free loopback
// ports, and follow one script, in real time from the start:
//   0.0-1.5 s  healthy
//   1.5-2.4 s  failing     gRPC UNAVAILABLE, HTTP 503
//   2.4-3.4 s  throttling  gRPC RESOURCE_EXHAUSTED with the trailer
//                          grpc-retry-pushback-ms: 1000, HTTP 429 with
//                          Retry-After: 1 (the breaker opens for that 1 s)
//   3.4-4.6 s  hanging     each call held for 1 s, past the deadline
//   4.6 s-     healthy     the next trials succeed: both breakers close
// Every 250 ms a line counts each downstream's calls of the interval (ok,
// failed, rejected by the breaker) and gives its breaker's state; every
// transition is printed as it happens, with its cause, by a listener
// (circuit/events.h). At the end (--run_for_seconds, default 8): each
// breaker's calls sent and rejected against the calls its server
// received (a rejected call never reaches it), and the final states.
//
// --port=0 (the default) lets the kernel choose a free port; --port_file=F
// writes the port chosen to F once the server listens (for scripts and
// tests).
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/circuit.h"
#include "examples/console.h"
#include "circuit/curl/easy.h"
#include "circuit/grpc/interceptor.h"
#include "circuit/registry.h"
#include "examples/quote.grpc.pb.h"
#include "examples/operator_endpoints.h"
#include "httplib.h"

ABSL_FLAG(std::string, address, "127.0.0.1", "address to serve /metrics and /healthz on");
ABSL_FLAG(int, port, 0, "port to serve /metrics and /healthz on (0: any free port)");
ABSL_FLAG(std::string, port_file, "", "if set, the port listened on is written here");
ABSL_FLAG(int, run_for_seconds, 8, "stop after this many seconds (0: run until a signal)");

namespace {

using examples::Because;
using examples::Clock;
using examples::Console;
using examples::Name;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

// ---- The script ----------------------------------------------------------------

constexpr int kWorkersPerDownstream = 3;
constexpr absl::Duration kDeadline = absl::Milliseconds(250);  // every call's
constexpr absl::Duration kHang = absl::Seconds(1);             // a hanging call's hold
constexpr absl::Duration kTick = absl::Milliseconds(250);      // timeline period
constexpr int kThrottleSeconds = 1;                            // Retry-After, and gRPC's pushback

enum class Phase { kHealthy, kFailing, kThrottling, kHanging, kRecovered };

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kHealthy:
      return "healthy";
    case Phase::kFailing:
      return "failing";
    case Phase::kThrottling:
      return "throttling";
    case Phase::kHanging:
      return "hanging";
    case Phase::kRecovered:
      return "recovered";
  }
  return "?";
}

// What both servers do, as a function of the time since the start. Read by
// their handler threads; written by nobody after construction.
class Script {
 public:
  Script() : start_(Clock::now()) {}

  absl::Duration Elapsed() const { return absl::FromChrono(Clock::now() - start_); }
  Clock::time_point start() const { return start_; }

  static Phase At(absl::Duration t) {
    if (t < absl::Milliseconds(1500)) return Phase::kHealthy;
    if (t < absl::Milliseconds(2400)) return Phase::kFailing;
    if (t < absl::Milliseconds(3400)) return Phase::kThrottling;
    if (t < absl::Milliseconds(4600)) return Phase::kHanging;
    return Phase::kRecovered;
  }
  Phase Now() const { return At(Elapsed()); }

  // Holds a hanging call for kHang, or until `cancelled` says the client
  // gave up, or the process stops.
  template <typename Cancelled>
  static void Hang(Cancelled cancelled) {
    const absl::Time until = absl::Now() + kHang;
    while (absl::Now() < until && !cancelled() && !g_stop.load()) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

 private:
  const Clock::time_point start_;
};

int64_t CentsFor(const std::string& symbol) {
  return 1000 + 7 * static_cast<int64_t>(symbol.size());
}

// ---- The downstreams -------------------------------------------------------------

// quote.Quotes over gRPC, counting the calls it receives.
class QuotesService final : public quote::Quotes::Service {
 public:
  explicit QuotesService(const Script& script) : script_(script) {}

  ::grpc::Status Get(::grpc::ServerContext* context, const quote::QuoteRequest* request,
                     quote::QuoteReply* reply) override {
    received_.fetch_add(1);
    switch (script_.Now()) {
      case Phase::kFailing:
        return ::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "quotes: backend down");
      case Phase::kThrottling:
        context->AddTrailingMetadata("grpc-retry-pushback-ms",
                                     std::to_string(kThrottleSeconds * 1000));
        return ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED, "quotes: throttled");
      case Phase::kHanging:
        Script::Hang([context] { return context->IsCancelled(); });
        return ::grpc::Status(::grpc::StatusCode::DEADLINE_EXCEEDED, "quotes: hung");
      case Phase::kHealthy:
      case Phase::kRecovered:
        break;
    }
    reply->set_symbol(request->symbol());
    reply->set_cents(CentsFor(request->symbol()));
    return ::grpc::Status::OK;
  }

  int64_t received() const { return received_.load(); }

 private:
  const Script& script_;
  std::atomic<int64_t> received_{0};
};

// GET /quote?symbol=S over HTTP (cpp-httplib), counting the requests it
// receives.
class QuotesHttpServer {
 public:
  explicit QuotesHttpServer(const Script& script) : script_(script) {
    // Room for the hanging requests and each worker's kept-alive
    // connection (httplib's default pool has 8 threads); idle connections
    // let go after a second, so that stop() is quick.
    server_.new_task_queue = [] { return new httplib::ThreadPool(32); };
    server_.set_keep_alive_timeout(1);
    // Headers and body leave in two writes: without TCP_NODELAY, Nagle's
    // algorithm holds the second for the client's delayed ACK (40 ms).
    server_.set_tcp_nodelay(true);
    server_.Get("/quote", [this](const httplib::Request& request, httplib::Response& response) {
      Answer(request, response);
    });
  }

  // The port listened on, or -1.
  int Start() {
    const int port = server_.bind_to_any_port("127.0.0.1");
    if (port > 0) thread_ = std::thread([this] { server_.listen_after_bind(); });
    return port > 0 ? port : -1;
  }

  void Stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  int64_t received() const { return received_.load(); }

 private:
  void Answer(const httplib::Request& request, httplib::Response& response) {
    received_.fetch_add(1);
    switch (script_.Now()) {
      case Phase::kFailing:
        response.status = 503;
        response.set_content("backend down\n", "text/plain");
        return;
      case Phase::kThrottling:
        response.status = 429;
        response.set_header("Retry-After", std::to_string(kThrottleSeconds));
        response.set_content("slow down\n", "text/plain");
        return;
      case Phase::kHanging:
        Script::Hang([] { return false; });  // httplib 0.11 cannot tell
        response.status = 504;
        return;
      case Phase::kHealthy:
      case Phase::kRecovered:
        break;
    }
    const std::string symbol = request.get_param_value("symbol");
    response.set_content(
        absl::StrCat("{\"symbol\":\"", symbol, "\",\"cents\":", CentsFor(symbol), "}\n"),
        "application/json");
  }

  const Script& script_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<int64_t> received_{0};
};

// ---- What the timeline counts ------------------------------------------------------

// One downstream's calls, as its workers saw them: `interval_*` taken (and
// zeroed) by each timeline line, `total_*` for the summary. relaxed: each
// is a statistic on its own; join() orders the last ones before the
// summary reads them.
struct Tally {
  std::atomic<uint64_t> interval_ok{0}, interval_failed{0}, interval_rejected{0};
  std::atomic<uint64_t> total_ok{0}, total_failed{0}, total_rejected{0};

  void Ok() { Add(interval_ok, total_ok); }
  void Failed() { Add(interval_failed, total_failed); }
  void Rejected() { Add(interval_rejected, total_rejected); }

  static uint64_t Take(std::atomic<uint64_t>& counter) {
    return counter.exchange(0, std::memory_order_relaxed);
  }

 private:
  static void Add(std::atomic<uint64_t>& interval, std::atomic<uint64_t>& total) {
    interval.fetch_add(1, std::memory_order_relaxed);
    total.fetch_add(1, std::memory_order_relaxed);
  }
};

// ---- Printing ------------------------------------------------------------------------

// Every transition, on the thread that made it (a worker, a gRPC thread
// finishing a call, or the timeline's state()).
class PrintTransitions : public circuit::BreakerListener {
 public:
  explicit PrintTransitions(std::shared_ptr<Console> console) : console_(std::move(console)) {}

  void OnTransition(const circuit::TransitionEvent& e) override {
    console_->PrintLine(absl::StrFormat("%6d  ** %s %s -> %s: %s", console_->ElapsedMillis(),
                                        std::string(e.breaker), Name(e.from), Name(e.to),
                                        Because(e)));
  }

 private:
  const std::shared_ptr<Console> console_;
};

// ---- The calls ---------------------------------------------------------------------

// libcurl hands the body here; the gateway only needs the status.
size_t DiscardBody(char*, size_t size, size_t count, void*) { return size * count; }

circuit::BreakerConfig Defaults() {
  circuit::BreakerConfig config;
  config.failure_rate_threshold = 50;  // open at half the calls failing ...
  config.window_size = 20;             // ... of the last 20,
  config.minimum_calls = 10;           // judged from the 10th on
  config.open_duration = absl::Milliseconds(500);
  config.open_backoff_multiplier = 1.5;  // 500, 750, 1125, then 1500 ms while trials fail
  config.max_open_duration = absl::Milliseconds(1500);  // also caps a Retry-After
  config.half_open_trial_calls = 3;                     // 3 trials decide: all must succeed
  config.half_open_max_concurrent = 3;
  config.half_open_max_duration = absl::Seconds(2);  // a hung trial cannot wedge HALF_OPEN
  config.record_call_durations = true;               // circuit_breaker_call_duration_seconds
  return config;
}

// Waits 8 to 12 ms between a worker's calls, so that workers do not call in
// lockstep.
void Think(std::mt19937& random) {
  absl::SleepFor(absl::Microseconds(std::uniform_int_distribution<int>(8000, 12000)(random)));
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int port_flag = absl::GetFlag(FLAGS_port);
  if (port_flag < 0 || port_flag > 65535) {
    std::fprintf(stderr, "--port: %d is not a port (0..65535)\n", port_flag);
    return 2;
  }
  const int run_for = absl::GetFlag(FLAGS_run_for_seconds);
  if (run_for < 0) {
    std::fprintf(stderr, "--run_for_seconds: %d is negative\n", run_for);
    return 2;
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  // libcurl's global state is the application's: once, before any thread.
  if (const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT); init != CURLE_OK) {
    std::fprintf(stderr, "curl_global_init(): %s\n", curl_easy_strerror(init));
    return 1;
  }

  // ---- The breakers: one registry, created up front to listen to them ----
  // The registry outlives every channel, call and subscription below.
  circuit::Registry registry(Defaults());
  std::shared_ptr<circuit::Breaker> grpc_breaker = registry.GetOrCreate("quotes-grpc").value();
  std::shared_ptr<circuit::Breaker> http_breaker = registry.GetOrCreate("quotes-http").value();

  // ---- The downstreams, on free loopback ports ------------------------------
  const Script script;
  QuotesService quotes_service(script);
  ::grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &grpc_port);
  builder.RegisterService(&quotes_service);
  std::unique_ptr<::grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || grpc_port == 0) {
    std::fprintf(stderr, "cannot start the gRPC downstream on 127.0.0.1\n");
    return 1;
  }
  QuotesHttpServer http_server(script);
  const int http_port = http_server.Start();
  if (http_port < 0) {
    std::fprintf(stderr, "cannot start the HTTP downstream on 127.0.0.1\n");
    grpc_server->Shutdown();
    return 1;
  }

  // ---- The gRPC client: the breaker is the channel's interceptor ------------
  // The interceptor picks the registry's breaker by the channel's `target`,
  // given here as the dependency's name rather than its address (a free
  // port, new every run).
  circuit::grpc::BreakerInterceptorOptions interceptor_options;
  interceptor_options.registry = &registry;
  interceptor_options.key = circuit::grpc::KeyByTarget();
  interceptor_options.target = "quotes-grpc";
  absl::StatusOr<std::unique_ptr<circuit::grpc::BreakerInterceptorFactory>> factory =
      circuit::grpc::BreakerInterceptorFactory::Create(interceptor_options);
  if (!factory.ok()) {
    std::fprintf(stderr, "%s\n", factory.status().ToString().c_str());
    return 1;
  }
  std::vector<std::unique_ptr<::grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(*std::move(factory));
  std::shared_ptr<::grpc::Channel> channel =
      ::grpc::experimental::CreateCustomChannelWithInterceptors(
          absl::StrCat("127.0.0.1:", grpc_port), ::grpc::InsecureChannelCredentials(),
          ::grpc::ChannelArguments(), std::move(interceptors));
  std::unique_ptr<quote::Quotes::Stub> stub = quote::Quotes::NewStub(channel);

  // ---- The operator's endpoints ---------------------------------------------
  httplib::Server server;
  examples::ServeMetricsAndHealth(server, registry);
  const std::string address = absl::GetFlag(FLAGS_address);
  const int port = examples::Bind(server, address, port_flag);
  if (port < 0) {
    std::fprintf(stderr, "cannot listen on %s:%d\n", address.c_str(), port_flag);
    http_server.Stop();
    grpc_server->Shutdown();
    return 1;
  }
  std::thread http([&server] { server.listen_after_bind(); });
  examples::WritePortFile(absl::GetFlag(FLAGS_port_file), port);

  auto console = std::make_shared<Console>(script.start());
  console->PrintLine(absl::StrFormat(
      "serving http://%s:%d/metrics and /healthz; downstreams: gRPC 127.0.0.1:%d, HTTP "
      "127.0.0.1:%d; deadline %d ms",
      address, port, grpc_port, http_port, absl::ToInt64Milliseconds(kDeadline)));
  circuit::Subscription grpc_printing =
      grpc_breaker->Subscribe(std::make_shared<PrintTransitions>(console));
  circuit::Subscription http_printing =
      http_breaker->Subscribe(std::make_shared<PrintTransitions>(console));

  // ---- The workers ------------------------------------------------------------
  Tally grpc_tally;
  Tally http_tally;
  std::vector<std::thread> workers;
  for (int i = 0; i < kWorkersPerDownstream; ++i) {
    // gRPC: the interceptor asks the breaker; a rejected call ends at once
    // with UNAVAILABLE and RejectionRetryAfter() says it was the breaker.
    workers.emplace_back([&, seed = i] {
      std::mt19937 random(static_cast<uint32_t>(seed));
      quote::QuoteRequest request;
      request.set_symbol("ACME");
      while (!g_stop.load()) {
        ::grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + kDeadline));
        quote::QuoteReply reply;
        const ::grpc::Status status = stub->Get(&context, request, &reply);
        if (status.ok()) {
          grpc_tally.Ok();
        } else if (circuit::grpc::RejectionRetryAfter(context).has_value()) {
          grpc_tally.Rejected();  // never sent
        } else {
          grpc_tally.Failed();
        }
        Think(random);
      }
    });
    // HTTP: Perform() asks the breaker; a rejected transfer is never started.
    workers.emplace_back([&, seed = 100 + i] {
      std::mt19937 random(static_cast<uint32_t>(seed));
      CURL* easy = curl_easy_init();
      const std::string url = absl::StrCat("http://127.0.0.1:", http_port, "/quote?symbol=ACME");
      curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
      curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                       static_cast<long>(absl::ToInt64Milliseconds(kDeadline)));
      curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM, for threads
      curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, DiscardBody);
      while (!g_stop.load()) {
        const circuit::curl::Result result = circuit::curl::Perform(*http_breaker, easy);
        if (result.rejected()) {
          http_tally.Rejected();  // never sent
        } else if (result.status.ok() && result.http_status == 200) {
          http_tally.Ok();
        } else {
          http_tally.Failed();  // 503, 429, or curl's timeout
        }
        Think(random);
      }
      curl_easy_cleanup(easy);
    });
  }

  // ---- The timeline -----------------------------------------------------------
  console->PrintLine(absl::StrFormat("%6s  %-10s  %-16s %5s %5s %5s  %-16s %5s %5s %5s", "t (ms)",
                                     "downstream", "quotes-grpc", "ok", "fail", "rej",
                                     "quotes-http", "ok", "fail", "rej"));
  const absl::Duration run_for_duration =
      run_for > 0 ? absl::Seconds(run_for) : absl::InfiniteDuration();
  for (int tick = 1; !g_stop.load(); ++tick) {
    const absl::Duration due = kTick * tick;
    if (due > run_for_duration) break;
    std::this_thread::sleep_until(script.start() + absl::ToChronoNanoseconds(due));
    // Outside the console's lock: state() may make a due transition, whose
    // listener prints.
    const circuit::State grpc_state = grpc_breaker->state();
    const circuit::State http_state = http_breaker->state();
    console->PrintLine(absl::StrFormat(
        "%6d  %-10s  %-16s %5d %5d %5d  %-16s %5d %5d %5d", console->ElapsedMillis(),
        PhaseName(Script::At(due - absl::Milliseconds(1))), Name(grpc_state),
        Tally::Take(grpc_tally.interval_ok), Tally::Take(grpc_tally.interval_failed),
        Tally::Take(grpc_tally.interval_rejected), Name(http_state),
        Tally::Take(http_tally.interval_ok), Tally::Take(http_tally.interval_failed),
        Tally::Take(http_tally.interval_rejected)));
  }
  g_stop.store(true);
  for (std::thread& t : workers) t.join();
  grpc_printing.Cancel();
  http_printing.Cancel();

  // ---- The summary ---------------------------------------------------------------
  // A call the breaker rejected never reached its server: each server
  // received the calls its client sent, and none of the rejected ones.
  auto summarize = [](const char* name, const Tally& tally, int64_t received) {
    const uint64_t ok = tally.total_ok.load();
    const uint64_t failed = tally.total_failed.load();
    absl::PrintF(
        "%s: sent %d (ok %d, failed %d), rejected by the breaker %d; "
        "the server received %d\n",
        name, ok + failed, ok, failed, tally.total_rejected.load(), received);
  };
  summarize("quotes-grpc", grpc_tally, quotes_service.received());
  summarize("quotes-http", http_tally, http_server.received());
  absl::PrintF("final state quotes-grpc %s, quotes-http %s\n", Name(grpc_breaker->state()),
               Name(http_breaker->state()));
  std::fflush(stdout);

  server.stop();
  http.join();
  stub.reset();
  channel.reset();
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc_server.reset();
  http_server.Stop();
  curl_global_cleanup();
  return 0;
}
