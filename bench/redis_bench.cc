// File: bench/redis_bench.cc
// The distributed mode's costs (circuit/redis/shared.h), against a real
// redis-server this binary starts on a Unix socket of its own:
//   BM_Redis_Closed_Local        TryAcquire() + Success() on a breaker alone
//   BM_Redis_Closed_Shared       the same on a breaker shared through Redis,
//                                its coordinator syncing every 100 ms the
//                                whole time: the call path must cost the
//                                same (bench/make_report.py's target: within
//                                10 %), since it never touches Redis
//   BM_Redis_RawEvalsha/N        N EVALSHAs of a script that returns 1, in
//                                one pipelined round trip on a hiredis
//                                connection: the floor a sync round stands on
//   BM_Redis_SyncPush/N          one sync round (Coordinator::SyncNow()) of
//                                N breakers, each with a call to push
//   BM_Redis_SyncRead/N          the same with nothing to push (the read
//                                script)
// Run: ./bazelw run --config=bench //bench:redis_bench
#include <hiredis/hiredis.h>
#include <signal.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "circuit/circuit.h"
#include "circuit/redis/shared.h"
#include "tests/redis/redis_server.h"

namespace {

using circuit::testing::RedisServer;

// One server for the whole run, stopped at exit by its destructor.
RedisServer& Server() {
  static RedisServer* const server = [] {
    signal(SIGPIPE, SIG_IGN);
    absl::StatusOr<std::unique_ptr<RedisServer>> started = RedisServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "redis_bench: %s\n", started.status().ToString().c_str());
      std::exit(1);
    }
    return started->release();
  }();
  return *server;
}

circuit::BreakerConfig Config(const std::string& name) {
  circuit::BreakerConfig config;
  config.name = name;
  config.failure_rate_threshold = 50;
  config.window_size = 100;
  config.minimum_calls = 100;
  return config;
}

circuit::redis::RedisOptions Options(absl::Duration sync_interval, bool push_every_round) {
  circuit::redis::RedisOptions options;
  options.unix_socket = Server().unix_socket();
  options.sync_interval = sync_interval;
  if (push_every_round) options.quiet_push_interval = absl::ZeroDuration();
  return options;
}

void RunClosed(benchmark::State& state, circuit::Breaker* breaker) {
  breaker->TryAcquire().Success();  // registers the thread
  for (auto _ : state) {
    circuit::Permit permit = breaker->TryAcquire();
    if (ABSL_PREDICT_TRUE(permit)) permit.Success();
  }
  if (breaker->state() != circuit::State::kClosed) state.SkipWithError("left CLOSED");
  state.SetItemsProcessed(state.iterations());
}

void BM_Redis_Closed_Local(benchmark::State& state) {
  static circuit::Breaker* const breaker =
      circuit::Breaker::Create(Config("local")).value().release();
  RunClosed(state, breaker);
}
BENCHMARK(BM_Redis_Closed_Local)->Threads(1)->Threads(2)->UseRealTime();

void BM_Redis_Closed_Shared(benchmark::State& state) {
  static circuit::redis::Coordinator* const coordinator =
      circuit::redis::Coordinator::Create(Options(absl::Milliseconds(100), false))
          .value()
          .release();
  static circuit::Breaker* const breaker = [] {
    std::shared_ptr<circuit::Breaker> shared = coordinator->Share(Config("shared")).value();
    if (!coordinator->SyncNow().ok()) std::fprintf(stderr, "redis_bench: no sync\n");
    return new std::shared_ptr<circuit::Breaker>(shared);
  }()->get();
  if (state.thread_index() == 0 &&
      breaker->Snapshot().sharing != circuit::Sharing::kShared) {
    state.SkipWithError("the breaker is not shared");
  }
  RunClosed(state, breaker);
}
BENCHMARK(BM_Redis_Closed_Shared)->Threads(1)->Threads(2)->UseRealTime();

void BM_Redis_RawEvalsha(benchmark::State& state) {
  const timeval timeout = {1, 0};
  redisContext* redis = redisConnectUnixWithTimeout(Server().unix_socket().c_str(), timeout);
  if (redis == nullptr || redis->err != 0) {
    state.SkipWithError("cannot connect");
    if (redis != nullptr) redisFree(redis);
    return;
  }
  auto* loaded = static_cast<redisReply*>(redisCommand(redis, "SCRIPT LOAD %s", "return 1"));
  const std::string sha(loaded->str, loaded->len);
  freeReplyObject(loaded);
  const int64_t n = state.range(0);
  for (auto _ : state) {
    for (int64_t i = 0; i < n; ++i) redisAppendCommand(redis, "EVALSHA %s 0", sha.c_str());
    for (int64_t i = 0; i < n; ++i) {
      void* reply = nullptr;
      if (redisGetReply(redis, &reply) != REDIS_OK) {
        state.SkipWithError("EVALSHA failed");
        break;
      }
      freeReplyObject(reply);
    }
  }
  redisFree(redis);
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Redis_RawEvalsha)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();

// A coordinator that syncs only when asked, sharing `n` breakers.
struct SyncFixture {
  std::unique_ptr<circuit::redis::Coordinator> coordinator;
  std::vector<std::shared_ptr<circuit::Breaker>> breakers;

  // `push`: every round pushes what each breaker recorded (successes
  // alone are not held back for the quiet push).
  SyncFixture(int64_t n, const std::string& tag, bool push)
      : coordinator(circuit::redis::Coordinator::Create(Options(absl::Hours(1), push)).value()) {
    for (int64_t i = 0; i < n; ++i) {
      breakers.push_back(coordinator->Share(Config(absl::StrCat(tag, "-", n, "-", i))).value());
    }
    coordinator->SyncNow().IgnoreError();
  }
};

void RunSync(benchmark::State& state, bool push) {
  SyncFixture fixture(state.range(0), push ? "push" : "read", push);
  for (auto _ : state) {
    if (push) {
      for (const auto& b : fixture.breakers) b->TryAcquire().Success();
    }
    if (!fixture.coordinator->SyncNow().ok()) {
      state.SkipWithError("the sync failed");
      break;
    }
  }
  const circuit::redis::SyncStats stats = fixture.coordinator->Stats();
  state.counters["round_trip_us"] = absl::ToDoubleMicroseconds(stats.last_round_trip);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Redis_SyncPush(benchmark::State& state) { RunSync(state, /*push=*/true); }
BENCHMARK(BM_Redis_SyncPush)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();

void BM_Redis_SyncRead(benchmark::State& state) { RunSync(state, /*push=*/false); }
BENCHMARK(BM_Redis_SyncRead)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
