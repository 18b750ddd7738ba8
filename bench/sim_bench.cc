// File: bench/sim_bench.cc
// circuit_sim's throughput (tools/sim): trace lines replayed a second on one
// core, parsing included, for one config and for three side by side. The
// trace is the "mixed" synthetic scenario (10 minutes at 200 calls/s:
// outages, slowness and flapping, so breakers open, probe and close), as
// its text, read with TraceReader from memory (fmemopen) as from a file.
// The target: 10 million lines a minute (166,667 a second) on one
// core; bench/report.sh checks it in docs/benchmarks.md.
#include <cstdio>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "circuit/config.h"
#include "tools/sim/generator.h"
#include "tools/sim/replay.h"
#include "tools/sim/trace.h"

namespace {

using circuit::BreakerConfig;
using circuit::sim::Replay;
using circuit::sim::TraceCall;
using circuit::sim::TraceReader;

const std::string& MixedTrace() {
  static const std::string* text = [] {
    auto* t = new std::string;
    char* buffer = nullptr;
    size_t size = 0;
    std::FILE* out = open_memstream(&buffer, &size);
    circuit::sim::Scenario scenario = circuit::sim::PresetScenario("mixed").value();
    if (!circuit::sim::WriteTrace(scenario, out).ok()) std::abort();
    std::fclose(out);
    t->assign(buffer, size);
    std::free(buffer);
    return t;
  }();
  return *text;
}

std::vector<BreakerConfig> Configs(int n) {
  std::vector<BreakerConfig> configs;
  BreakerConfig consecutive;  // the defaults: 5 in a row
  consecutive.name = "consecutive";
  configs.push_back(consecutive);
  BreakerConfig rate;
  rate.name = "rate";
  rate.failure_rate_threshold = 50;
  rate.window_type = circuit::WindowType::kTimeBased;
  rate.window_duration = absl::Seconds(10);
  rate.minimum_calls = 20;
  rate.open_duration = absl::Seconds(5);
  rate.half_open_trial_calls = 3;
  rate.half_open_max_concurrent = 3;
  configs.push_back(rate);
  BreakerConfig slow;
  slow.name = "slow";
  slow.failure_rate_threshold = 25;
  slow.slow_call_rate_threshold = 50;
  slow.slow_call_duration = absl::Milliseconds(500);
  slow.minimum_calls = 20;
  configs.push_back(slow);
  configs.resize(n);
  return configs;
}

// One iteration: the whole trace read and replayed.
void BM_Sim_Replay(benchmark::State& state) {
  const std::string& text = MixedTrace();
  const std::vector<BreakerConfig> configs = Configs(static_cast<int>(state.range(0)));
  int64_t lines = 0;
  for (auto _ : state) {
    std::FILE* file = fmemopen(const_cast<char*>(text.data()), text.size(), "r");
    TraceReader reader(file, "mixed");
    std::unique_ptr<Replay> replay;
    TraceCall call;
    while (*reader.Next(&call)) {
      if (replay == nullptr) {
        replay = Replay::Create(configs, circuit::sim::ReplayOptions(),
                                reader.start_annotation().value_or(call.start_nanos))
                     .value();
      }
      if (!replay->Feed(call).ok()) std::abort();
      ++lines;
    }
    benchmark::DoNotOptimize(replay->Finish(reader.outage_annotations()));
    std::fclose(file);
  }
  state.SetItemsProcessed(lines);  // items_per_second: lines a second of CPU time
}
BENCHMARK(BM_Sim_Replay)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

// Parsing alone, for the share of the replay it takes.
void BM_Sim_ParseOnly(benchmark::State& state) {
  const std::string& text = MixedTrace();
  int64_t lines = 0;
  for (auto _ : state) {
    std::FILE* file = fmemopen(const_cast<char*>(text.data()), text.size(), "r");
    TraceReader reader(file, "mixed");
    TraceCall call;
    while (*reader.Next(&call)) ++lines;
    std::fclose(file);
  }
  state.SetItemsProcessed(lines);
}
BENCHMARK(BM_Sim_ParseOnly)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
