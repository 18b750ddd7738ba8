// A consumer of an installed circuit::grpc, with no server to talk to: a
// channel to a closed loopback port through the interceptor, whose breaker
// an operator forced open, ends a call at once with UNAVAILABLE and the
// retry-after trailer, without connecting. Built by tests/packaging/run.sh
// through find_package(circuit COMPONENTS grpc); linking it proves the
// installed package brings gRPC along. Uses gRPC's generic stub, so no
// protoc step.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "circuit/breaker.h"
#include "circuit/grpc/interceptor.h"

int main() {
  circuit::BreakerConfig config;
  config.name = "consumer";
  std::unique_ptr<circuit::Breaker> breaker = circuit::Breaker::Create(config).value();
  breaker->ForceOpen();

  circuit::grpc::BreakerInterceptorOptions options;
  options.breaker = breaker.get();
  std::vector<std::unique_ptr<::grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(circuit::grpc::BreakerInterceptorFactory::Create(options).value());
  // Port 1 on loopback: nothing listens.
  std::shared_ptr<::grpc::Channel> channel = ::grpc::experimental::CreateCustomChannelWithInterceptors(
      "127.0.0.1:1", ::grpc::InsecureChannelCredentials(), ::grpc::ChannelArguments(),
      std::move(factories));
  ::grpc::GenericStub stub(channel);

  ::grpc::ClientContext context;
  ::grpc::ByteBuffer request;
  ::grpc::ByteBuffer reply;
  ::grpc::Status status;
  bool done = false;
  std::mutex mu;
  std::condition_variable cv;
  stub.UnaryCall(&context, "/consumer.Service/Call", ::grpc::StubOptions(), &request, &reply,
                 [&](::grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_one();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });

  const std::optional<absl::Duration> wait = circuit::grpc::RejectionRetryAfter(context);
  if (status.error_code() != ::grpc::StatusCode::UNAVAILABLE || !wait.has_value() ||
      *wait != absl::InfiniteDuration()) {
    std::fprintf(stderr, "grpc consumer: the forced-open breaker let the call through: %d %s\n",
                 static_cast<int>(status.error_code()), status.error_message().c_str());
    return 1;
  }
  std::printf("grpc consumer: rejected without a connection: %s\n",
              status.error_message().c_str());
  return 0;
}
