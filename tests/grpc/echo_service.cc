// File: tests/grpc/echo_service.cc
// Echo and Control (echo_service.h): each Echo call is counted, then
// answered as the last Control.Set() asked.
#include "tests/grpc/echo_service.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "tests/grpc/echo.grpc.pb.h"

namespace echo {
namespace testing {
namespace {

// How long a hanging call waits for its client to give up before it ends
// anyway: far past any test's deadline, short of Bazel's test timeout.
constexpr auto kMaxHang = std::chrono::seconds(30);

// The behaviour Control.Set() chose; read by every Echo call.
struct Behaviour {
  std::atomic<int> code{0};
  std::atomic<bool> hang{false};
  std::atomic<int64_t> pushback_ms{0};
  std::atomic<int64_t> delay_ms{0};
  std::atomic<int64_t> received{0};
};

// Counts the call, then hangs or fails as set; OK means "answer".
::grpc::Status Behave(Behaviour& behaviour, ::grpc::ServerContext* context) {
  behaviour.received.fetch_add(1);
  if (behaviour.hang.load()) {
    const auto give_up = std::chrono::steady_clock::now() + kMaxHang;
    while (!context->IsCancelled() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return ::grpc::Status(::grpc::StatusCode::DEADLINE_EXCEEDED, "hung");
  }
  const int64_t delay = behaviour.delay_ms.load();
  if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  const int code = behaviour.code.load();
  if (code == 0) return ::grpc::Status::OK;
  const int64_t pushback = behaviour.pushback_ms.load();
  if (pushback > 0) context->AddTrailingMetadata("grpc-retry-pushback-ms", std::to_string(pushback));
  return ::grpc::Status(static_cast<::grpc::StatusCode>(code), "injected by Control.Set()");
}

bool SawBreakerMetadata(const ::grpc::ServerContext* context) {
  return context->client_metadata().count("circuit-breaker") > 0;
}

class EchoImpl final : public Echo::Service {
 public:
  explicit EchoImpl(Behaviour& behaviour) : behaviour_(behaviour) {}

  ::grpc::Status Say(::grpc::ServerContext* context, const SayRequest* request,
                     SayReply* reply) override {
    ::grpc::Status status = Behave(behaviour_, context);
    if (!status.ok()) return status;
    reply->set_text(request->text());
    reply->set_saw_breaker_metadata(SawBreakerMetadata(context));
    return status;
  }

  ::grpc::Status Count(::grpc::ServerContext* context, const CountRequest* request,
                       ::grpc::ServerWriter<SayReply>* writer) override {
    ::grpc::Status status = Behave(behaviour_, context);
    if (!status.ok()) return status;
    for (int i = 0; i < request->n(); ++i) {
      SayReply reply;
      reply.set_text(std::to_string(i));
      if (!writer->Write(reply)) break;
    }
    return status;
  }

  ::grpc::Status Chat(::grpc::ServerContext* context,
                      ::grpc::ServerReaderWriter<SayReply, SayRequest>* stream) override {
    ::grpc::Status status = Behave(behaviour_, context);
    if (!status.ok()) return status;
    SayRequest request;
    while (stream->Read(&request)) {
      SayReply reply;
      reply.set_text(request.text());
      if (!stream->Write(reply)) break;
    }
    return status;
  }

 private:
  Behaviour& behaviour_;
};

class ControlImpl final : public Control::Service {
 public:
  explicit ControlImpl(Behaviour& behaviour) : behaviour_(behaviour) {}

  ::grpc::Status Set(::grpc::ServerContext*, const echo::Behaviour* request,
                     Calls* reply) override {
    behaviour_.code.store(request->code());
    behaviour_.hang.store(request->hang());
    behaviour_.pushback_ms.store(request->pushback_ms());
    behaviour_.delay_ms.store(request->delay_ms());
    reply->set_received(behaviour_.received.load());
    return ::grpc::Status::OK;
  }

  ::grpc::Status Received(::grpc::ServerContext*, const Empty*, Calls* reply) override {
    reply->set_received(behaviour_.received.load());
    return ::grpc::Status::OK;
  }

 private:
  Behaviour& behaviour_;
};

}  // namespace

struct EchoServices::Impl {
  Behaviour behaviour;
  EchoImpl echo{behaviour};
  ControlImpl control{behaviour};
};

EchoServices::EchoServices() : impl_(new Impl) {}
EchoServices::~EchoServices() = default;

void EchoServices::Register(::grpc::ServerBuilder* builder) {
  builder->RegisterService(&impl_->echo);
  builder->RegisterService(&impl_->control);
}

}  // namespace testing
}  // namespace echo
