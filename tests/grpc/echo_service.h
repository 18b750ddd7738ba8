// File: tests/grpc/echo_service.h
// `echo::testing::EchoServices` implements tests/grpc/echo.proto's Echo and
// Control: an Echo whose behaviour Control sets (answer, fail with a code,
// hang until the client gives up, ask for a retry pushback) and whose
// received calls Control counts. The tests run it in a child process
// (echo_server.cc, started by EchoServerProcess); the benchmark in its own.
//
// Example:
//   echo::testing::EchoServices services;
//   ::grpc::ServerBuilder builder;
//   int port = 0;
//   builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
//   services.Register(&builder);
//   std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
//
// Thread safety: gRPC calls the services from its threads at once; the
// behaviour and the count are atomics.
#ifndef CIRCUIT_TESTS_GRPC_ECHO_SERVICE_H_
#define CIRCUIT_TESTS_GRPC_ECHO_SERVICE_H_

#include <grpcpp/server_builder.h>

#include <memory>

namespace echo {
namespace testing {

class EchoServices {
 public:
  EchoServices();
  ~EchoServices();
  EchoServices(const EchoServices&) = delete;
  EchoServices& operator=(const EchoServices&) = delete;

  // Registers Echo and Control with `builder`; the services must outlive
  // the server built.
  void Register(::grpc::ServerBuilder* builder);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace testing
}  // namespace echo

#endif  // CIRCUIT_TESTS_GRPC_ECHO_SERVICE_H_
