// File: bench/grpc_bench.cc
// What the gRPC interceptor (circuit/grpc/interceptor.h) adds to a unary
// call: the same Say() on loopback to an in-process server, through a
// channel without the interceptor and through channels with it (a fixed
// breaker; a registry's breaker per method), in one run. The server is
// tests/grpc's Echo, answering at once; each iteration is one blocking
// call, so ns/call is the round trip, and the difference between the
// cases is the interceptor's cost (its allocation, the breaker, two clock
// reads; plus a registry lookup for the last).
//
//   ./bazelw run --config=bench //bench:grpc_bench
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/grpc/interceptor.h"
#include "circuit/registry.h"
#include "tests/grpc/echo.grpc.pb.h"
#include "tests/grpc/echo_service.h"

namespace {

// The server and the three channels, made once for every case.
struct Loopback {
  Loopback() {
    ::grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
    services.Register(&builder);
    server = builder.BuildAndStart();
    const std::string address = "127.0.0.1:" + std::to_string(port);

    plain = echo::Echo::NewStub(
        ::grpc::CreateChannel(address, ::grpc::InsecureChannelCredentials()));

    circuit::BreakerConfig config;
    config.name = "echo";
    breaker = circuit::Breaker::Create(config).value();
    circuit::grpc::BreakerInterceptorOptions fixed;
    fixed.breaker = breaker.get();
    guarded = Stub(address, std::move(fixed));

    circuit::grpc::BreakerInterceptorOptions per_method;
    per_method.registry = &registry;
    by_registry = Stub(address, std::move(per_method));
  }

  ~Loopback() { server->Shutdown(); }

  static std::unique_ptr<echo::Echo::Stub> Stub(const std::string& address,
                                                circuit::grpc::BreakerInterceptorOptions options) {
    std::vector<std::unique_ptr<::grpc::experimental::ClientInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(circuit::grpc::BreakerInterceptorFactory::Create(std::move(options)).value());
    return echo::Echo::NewStub(::grpc::experimental::CreateCustomChannelWithInterceptors(
        address, ::grpc::InsecureChannelCredentials(), ::grpc::ChannelArguments(),
        std::move(interceptors)));
  }

  echo::testing::EchoServices services;
  int port = 0;
  std::unique_ptr<::grpc::Server> server;
  circuit::Registry registry;
  std::unique_ptr<circuit::Breaker> breaker;
  std::unique_ptr<echo::Echo::Stub> plain;
  std::unique_ptr<echo::Echo::Stub> guarded;
  std::unique_ptr<echo::Echo::Stub> by_registry;
};

Loopback& Shared() {
  static Loopback* const loopback = new Loopback;  // lives until exit
  return *loopback;
}

void RunUnary(benchmark::State& state, echo::Echo::Stub& stub) {
  echo::SayRequest request;
  request.set_text("hello");
  echo::SayReply reply;
  for (int i = 0; i < 100; ++i) {  // connect and warm up outside the timing
    ::grpc::ClientContext context;
    if (!stub.Say(&context, request, &reply).ok()) state.SkipWithError("warm-up call failed");
  }
  for (auto _ : state) {
    ::grpc::ClientContext context;
    const ::grpc::Status status = stub.Say(&context, request, &reply);
    if (!status.ok()) {
      state.SkipWithError(status.error_message().c_str());
      break;
    }
    benchmark::DoNotOptimize(reply);
  }
}

void BM_Grpc_UnaryPlain(benchmark::State& state) { RunUnary(state, *Shared().plain); }
void BM_Grpc_UnaryWithBreaker(benchmark::State& state) { RunUnary(state, *Shared().guarded); }
void BM_Grpc_UnaryWithRegistryPerMethod(benchmark::State& state) {
  RunUnary(state, *Shared().by_registry);
}

// Loopback round trips drift with the machine's load (a coefficient of
// variation of 15-25 % on a shared 2-vCPU machine): run them repeated and
// interleaved, and compare medians (bench/report.sh:
// --benchmark_repetitions=20 --benchmark_enable_random_interleaving=true).
BENCHMARK(BM_Grpc_UnaryPlain)->UseRealTime();
BENCHMARK(BM_Grpc_UnaryWithBreaker)->UseRealTime();
BENCHMARK(BM_Grpc_UnaryWithRegistryPerMethod)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
