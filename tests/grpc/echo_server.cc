// File: tests/grpc/echo_server.cc
// The Echo and Control services (echo_service.h) as a process of their
// own, for EchoServerProcess: listens on 127.0.0.1, on the port the kernel
// picks, writes that port to the file named by its one argument (written
// whole, then renamed into place, so a reader never sees half of it), and
// serves until it is killed.
//
//   echo_server /path/to/port_file
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "tests/grpc/echo_service.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PORT_FILE\n", argv[0]);
    return 2;
  }
  const std::string port_file = argv[1];
  echo::testing::EchoServices services;
  ::grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
  services.Register(&builder);
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "echo_server: could not listen on 127.0.0.1\n");
    return 1;
  }
  const std::string partial = port_file + ".partial";
  {
    std::ofstream out(partial);
    out << port << "\n";
    if (!out.flush()) {
      std::fprintf(stderr, "echo_server: could not write %s\n", partial.c_str());
      return 1;
    }
  }
  if (std::rename(partial.c_str(), port_file.c_str()) != 0) {
    std::perror("echo_server: rename");
    return 1;
  }
  server->Wait();
  return 0;
}
