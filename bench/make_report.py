#!/usr/bin/env python3
"""Turns breaker_bench's JSON into docs/benchmarks.md and docs/benchmarks.png.

Usage:
  make_report.py RESULTS.json [--md docs/benchmarks.md] [--png docs/benchmarks.png]
                 [--callgrind CALLGRIND.txt] [--command "how the JSON was made"]

RESULTS.json is Google Benchmark's --benchmark_format=json output, run with
--benchmark_repetitions=N --benchmark_report_aggregates_only=true, so that it
holds the median and cv aggregates of every case. Needs only the standard
library; the plot needs matplotlib (skipped with a note if it is missing).

Google Benchmark 1.7 reports a multi-threaded run's real_time as the mean
per-thread wall time divided by the iterations of all threads: the inverse
of the aggregate throughput. The wall time one thread spends per call is
real_time * threads, shown here as "ns/op per thread".
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
from collections import defaultdict

# Cases in the order the report lists them.
REFERENCES = [
    "BM_Ref_EmptyCall",
    "BM_Ref_RelaxedLoadShared",
    "BM_Ref_FetchAddShared",
    "BM_Ref_FetchAddPadded",
    "BM_Ref_CasLoopShared",
    "BM_Ref_MutexLockUnlock",
    "BM_Ref_SteadyClockNow",
    "BM_Ref_MonotonicCoarse",
    "BM_Ref_MonotonicCoarseDirect",
    "BM_Ref_Rdtsc",
]
BREAKERS = [
    "BM_MutexBreaker_Closed",
    "BM_Circuit_Closed_CountWindow",
    "BM_Circuit_Closed_UnderManualControl",
    "BM_Circuit_Closed_ProbeDeadlines",
    "BM_Circuit_Closed_SlowStart",
    "BM_Circuit_SlowStartRamp",
    "BM_Circuit_Closed_TransitionListener",
    "BM_Circuit_Closed_TimeWindow",
    "BM_Circuit_Closed_Throttling",
    "BM_Circuit_Throttled",
    "BM_Circuit_Closed_SlowCallDetection",
    "BM_Circuit_Closed_SlowCallCoarse",
    "BM_Circuit_Closed_SlowCallCallerMeasured",
    "BM_Circuit_Closed_CallDurations",
    "BM_Circuit_Closed_LatencyPercentile",
    "BM_Circuit_Closed_DefaultConfig",
    "BM_Circuit_Closed_PerCpu",
    "BM_Circuit_FailureBelowThreshold",
    "BM_Circuit_RejectedWhileOpen",
    "BM_Circuit_RejectedAfterRetryAfter",
    "BM_Circuit_CallWrapper",
    "BM_Circuit_RegistryLookupByName",
    "BM_MutexBulkhead_TakeAndGiveBack",
    "BM_Bulkhead_TakeAndGiveBack",
    "BM_Bulkhead_WithBreakerCall",
]

FETCH_ADD = "BM_Ref_FetchAddShared"
PADDED = "BM_Ref_FetchAddPadded"
MUTEX_BREAKER = "BM_MutexBreaker_Closed"
MUTEX_BULKHEAD = "BM_MutexBulkhead_TakeAndGiveBack"
BULKHEAD = "BM_Bulkhead_TakeAndGiveBack"
CLOSED_COUNT = "BM_Circuit_Closed_CountWindow"
CLOSED_TIME = "BM_Circuit_Closed_TimeWindow"
CLOSED_SLOW = "BM_Circuit_Closed_SlowCallDetection"
CLOSED_SLOW_COARSE = "BM_Circuit_Closed_SlowCallCoarse"
STEADY_CLOCK = "BM_Ref_SteadyClockNow"
REJECTED = "BM_Circuit_RejectedWhileOpen"
REJECTED_RETRY_AFTER = "BM_Circuit_RejectedAfterRetryAfter"
CLOSED_MANUAL = "BM_Circuit_Closed_UnderManualControl"
CLOSED_PROBE_DEADLINES = "BM_Circuit_Closed_ProbeDeadlines"
CLOSED_SLOW_START = "BM_Circuit_Closed_SlowStart"
CLOSED_THROTTLING = "BM_Circuit_Closed_Throttling"
CLOSED_CALL_DURATIONS = "BM_Circuit_Closed_CallDurations"
CLOSED_LATENCY = "BM_Circuit_Closed_LatencyPercentile"
RELAXED_LOAD = "BM_Ref_RelaxedLoadShared"
COARSE_CLOCK = "BM_Ref_MonotonicCoarse"
CLOSED_DEFAULT = "BM_Circuit_Closed_DefaultConfig"
CLOSED_LISTENER = "BM_Circuit_Closed_TransitionListener"
CLOSED_PER_CPU = "BM_Circuit_Closed_PerCpu"
PINNED_OWN = "BM_Circuit_Pinned/past_own:0/workers:1"
PINNED_PAST_1 = "BM_Circuit_Pinned/past_own:1/workers:1"
PINNED_PAST_2 = "BM_Circuit_Pinned/past_own:1/workers:2"
MANY_THREADS = (8, 32, 128)
# The model machine, and a registry's budget on it.
MODEL_CORES = 64
MODEL_THREADS = (16, 64, 256)
REGISTRY_BUDGET_MB = 80

TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class Result:
    """One case at one thread count: its median and cv aggregates."""

    def __init__(self, name, threads):
        self.name = name
        self.threads = threads
        self.median_real_ns = None  # wall time / iterations of all threads
        self.ops_per_s = None  # aggregate items per second
        self.cv_real = None  # coefficient of variation of real_time, fraction
        self.allocs_per_call = None
        self.cas_retries_per_call = None
        self.shared_writes_per_call = None
        self.ns_per_call_per_worker = None  # pinned cases
        self.repetitions = None
        self.error = None

    @property
    def ns_per_op_thread(self):
        """Wall time one thread spends per call."""
        if self.ops_per_s:
            return self.threads * 1e9 / self.ops_per_s
        if self.median_real_ns is not None:
            return self.median_real_ns * self.threads
        return None


def base_name(run_name):
    """The case's name: the function's, or for a case with named arguments
    (BM_Circuit_Pinned/past_own:1/workers:2) the function's with them."""
    parts = [p for p in run_name.split("/") if ":" in p and not p.startswith("threads:")]
    return "/".join([run_name.split("/")[0]] + parts)


def load(path):
    with open(path) as f:
        data = json.load(f)
    results = {}
    for b in data.get("benchmarks", []):
        run_name = b.get("run_name", b["name"])
        name = base_name(run_name)
        threads = int(b.get("threads", 1))
        r = results.setdefault((name, threads), Result(name, threads))
        if b.get("error_occurred"):
            r.error = b.get("error_message", "error")
            continue
        agg = b.get("aggregate_name")
        unit = TIME_UNIT_NS.get(b.get("time_unit", "ns"), 1.0)
        if agg == "median" or (agg is None and r.median_real_ns is None):
            r.median_real_ns = b["real_time"] * unit
            r.ops_per_s = b.get("items_per_second")
            r.allocs_per_call = b.get("allocs_per_call")
            r.cas_retries_per_call = b.get("cas_retries_per_call")
            r.shared_writes_per_call = b.get("shared_writes_per_call")
            per_worker = b.get("ns_per_call_per_worker")
            r.ns_per_call_per_worker = per_worker * 1e9 if per_worker is not None else None
            r.repetitions = b.get("repetitions")
        elif agg == "cv":
            r.cv_real = b["real_time"]  # a fraction (aggregate_unit "percentage")
    return data.get("context", {}), results


def fmt_ns(v):
    if v is None:
        return "n/a"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def fmt_rate(v):
    if v is None:
        return "n/a"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return "%.1f %s" % (v / div, suffix)
    return "%.0f" % v


def fmt_x(v):
    if v is None:
        return "n/a"
    if v >= 100:
        return "%.0fx" % v
    if v >= 10:
        return "%.1fx" % v
    return "%.2fx" % v


def machine_info():
    model = None
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        if m:
            model = m.group(1).strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    if not model:
        model = platform.processor() or "unknown"
    nproc = os.cpu_count()
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout)
    except (OSError, subprocess.CalledProcessError, ValueError):
        pass
    return model, nproc


def get(results, name, threads):
    r = results.get((name, threads))
    if r is None or r.error:
        return None
    return r


def scaling(results, name, threads):
    one, many = get(results, name, 1), get(results, name, threads)
    if not one or not many or not one.ops_per_s or not many.ops_per_s:
        return None
    return many.ops_per_s / one.ops_per_s


# What is known about a missed target, keyed by the start of its description.
MISS_REASONS = {
    "closed time-window, 1 thread <= 3x FetchAddShared": (
        "not explained yet. On 2026-12-01 this case ran at 24 ns (every thread count, every "
        "repetition, stddev 0.1 ns) in two full runs of bench/report.sh and one direct run, "
        "and at 7.6-8.6 ns in more than twenty runs of the same binary before and after, "
        "full suite or filtered, and in the same binary built before that day's changes. The "
        "clock references of the slow runs were normal (coarse read 2.1 ns), so the extra "
        "16 ns is inside the time window's path, in a state that comes and goes with time: "
        "to investigate (the window's bucket arithmetic on elapsed time is the first "
        "suspect)."),
    "closed count-window scaling 1->4 >= 0.9x the padded counter's": (
        "4 threads on this machine's 2 CPUs are oversubscribed 2x: the figure measures the "
        "scheduler's time slicing more than the breaker, and moves from run to run (six full "
        "runs on 2026-11-30 with this code: 94 %, 90 %, 82 %, 83 %, 90 %, 77 % of the padded "
        "counter's scaling; four more in the session that added the Prometheus export and "
        "the companions, which do not touch this path: 94 %, 99 %, 88 %, 84 %). Every "
        "thread here owns a stripe (own stripes default to twice "
        "the CPUs), no CAS is retried and no shared line is written (the columns above), and "
        "at 2 threads, where the CPUs are not shared, the case scales at 94-98 % of the "
        "padded counter. An A/B of the 4-thread case in one sitting, against the build "
        "before call events were added, shows no loss (1.63-1.70 ns against 2.19-2.35 ns "
        "aggregate, the older build having only 2 own stripes)."),
    "rejected while OPEN, 1 thread <= 2 ns": (
        "the loop iteration is: the inline state load, one call into TryAcquireNotClosed() "
        "(TryAcquire() inlines only its CLOSED path), the one byte that says whether "
        "rejections must be judged by the clock (an injected clock, call listeners, a "
        "retry), the caller's own stripe, the load and add of its rejection count, and the "
        "permit's fields; on one rejection in 16, a coarse clock read and the deadline "
        "(JudgeOpenInto()). Measured on 2026-12-01 with builds made for the purpose, run "
        "interleaved on one CPU: the shape's floor (the same loop never judging) is "
        "1.69-1.75 ns, and a judgment costs about 3.4 ns (a coarse read is most of it), "
        "so 0.42 ns a rejection at one in 8 and 0.21 ns at one in 16; laying the common "
        "rejection out as the fall-through saved 0.2-0.25 ns. One of this VM's two CPUs "
        "at times runs 1.5-1.8x slower than the other for minutes (a relaxed load 0.51 ns "
        "against 0.30 ns, taskset), so a run that lands there reads about 3.5 ns. "
        "History: 4.8 ns, 2.9 ns (the common rejection saves no register and calls "
        "nothing), 2.7 ns (it fills the caller's permit in place), 2.35 ns (the permit "
        "keeps the deadline, not the delay), on a host where a relaxed load took 0.23 ns; "
        "on this host (0.29 ns): 3.16 ns, 2.35-2.67 ns (the stripe's own count paces the "
        "clock reads instead of a thread-local countdown, whose decrement through the "
        "thread pointer costs 1.8 ns an iteration here), then the layout and one judgment "
        "in 16. Inlining the rejection into TryAcquire() was tried three ways and was "
        "slower each time (3.1-4.0 ns against 2.4-2.9 ns). The count is kept on purpose: "
        "operators need it."),
    "bulkhead take-and-give-back >= 3x the std::mutex bulkhead's throughput at 2 threads": (
        "a slot taken and given back is two atomic read-modify-writes of one line that both "
        "threads write (the limit is shared by nature): two transfers of a contended line, "
        "so its floor is 2 x BM_Ref_FetchAddShared at 2 threads (2 x 14 = 28 ns a thread "
        "here); the bulkhead takes 30-34 ns. The take's CAS guesses the word instead of "
        "loading it first, and the most in flight lives in the slot word, because a load "
        "and a separate peak word each cost one more transfer (the first version took 39 "
        "ns). The std::mutex bulkhead (four lock operations a take-and-give-back) varies "
        "from 75 to 122 ns a thread from run to run on this 2-CPU VM, as its threads hand "
        "the lock over or sleep on the futex, so the ratio reads 2.8x to 4.1x in the "
        "reports of this code (2026-11-30)."),
}


def throughput_ratio(out, results, name, baseline, threads, factor, desc):
    """Appends the target: `name` has at least `factor` x `baseline`'s throughput
    at `threads` threads."""
    a, b = get(results, name, threads), get(results, baseline, threads)
    if a and b and a.ops_per_s and b.ops_per_s:
        out.append((desc, a.ops_per_s >= factor * b.ops_per_s,
                    "%s/s vs %g x %s/s (%.1fx)" % (fmt_rate(a.ops_per_s), factor,
                                                  fmt_rate(b.ops_per_s),
                                                  a.ops_per_s / b.ops_per_s)))
    else:
        out.append((desc, None, "missing data"))


def targets(results, memory):
    """(description, passed or None, evidence) for each target."""
    out = []

    def ns(name, threads):
        r = get(results, name, threads)
        return r.ns_per_op_thread if r else None

    fa1 = ns(FETCH_ADD, 1)
    cc1 = ns(CLOSED_COUNT, 1)
    if fa1 and cc1:
        out.append(("closed count-window, 1 thread <= 2x FetchAddShared (1 thread)",
                    cc1 <= 2 * fa1,
                    "%s ns vs 2 x %s = %s ns (%.2fx)" % (fmt_ns(cc1), fmt_ns(fa1), fmt_ns(2 * fa1),
                                                         cc1 / fa1)))
    else:
        out.append(("closed count-window, 1 thread <= 2x FetchAddShared (1 thread)", None,
                    "missing data"))

    for t in (2, 4):
        s, p = scaling(results, CLOSED_COUNT, t), scaling(results, PADDED, t)
        desc = "closed count-window scaling 1->%d >= 0.9x the padded counter's" % t
        if s is not None and p is not None:
            out.append((desc, s >= 0.9 * p,
                        "%.2fx vs 0.9 x %.2fx = %.2fx (%.0f%% of padded)" % (s, p, 0.9 * p,
                                                                            100 * s / p)))
        else:
            out.append((desc, None, "missing data"))

    throughput_ratio(out, results, CLOSED_COUNT, MUTEX_BREAKER, 2, 10,
                     "closed count-window >= 10x the mutex breaker's throughput at 2 threads")
    throughput_ratio(out, results, BULKHEAD, MUTEX_BULKHEAD, 2, 3,
                     "bulkhead take-and-give-back >= 3x the std::mutex bulkhead's throughput "
                     "at 2 threads")

    allocs = [(r.name, r.threads, r.allocs_per_call) for r in results.values()
              if r.name.startswith("BM_Circuit_") and not r.error and r.allocs_per_call is not None]
    desc = "0 allocations per call (every circuit case, every thread count)"
    if allocs:
        worst = max(allocs, key=lambda a: a[2])
        out.append((desc, worst[2] == 0,
                    "max %.3g allocs/call (%s, %d threads) over %d runs" % (worst[2], worst[0],
                                                                         worst[1], len(allocs))))
    else:
        out.append((desc, None, "missing data"))

    ct1 = ns(CLOSED_TIME, 1)
    desc = "closed time-window, 1 thread <= 3x FetchAddShared (1 thread)"
    if fa1 and ct1:
        out.append((desc, ct1 <= 3 * fa1,
                    "%s ns vs 3 x %s = %s ns (%.2fx)" % (fmt_ns(ct1), fmt_ns(fa1), fmt_ns(3 * fa1),
                                                         ct1 / fa1)))
    else:
        out.append((desc, None, "missing data"))

    cas2 = get(results, CLOSED_COUNT, 2)
    desc = "CAS retries per call < 0.01, CLOSED count-window, 2 threads"
    if cas2 and cas2.cas_retries_per_call is not None:
        out.append((desc, cas2.cas_retries_per_call < 0.01,
                    "%.3g retries/call" % cas2.cas_retries_per_call))
    else:
        out.append((desc, None, "missing data"))

    sl1, st1 = ns(CLOSED_SLOW, 1), ns(STEADY_CLOCK, 1)
    desc = ("closed with slow-call detection, 1 thread <= closed count-window + 2 x "
            "steady_clock::now() (1 thread)")
    if sl1 and st1 and cc1:
        out.append((desc, sl1 <= cc1 + 2 * st1,
                    "%s ns vs %s + 2 x %s = %s ns" % (fmt_ns(sl1), fmt_ns(cc1), fmt_ns(st1),
                                                      fmt_ns(cc1 + 2 * st1))))
    else:
        out.append((desc, None, "missing data"))

    sc1 = ns(CLOSED_SLOW_COARSE, 1)
    desc = ("closed with slow-call detection, coarse clock (100 ms), 1 thread <= 3x closed "
            "count-window (1 thread)")
    if sc1 and cc1:
        out.append((desc, sc1 <= 3 * cc1,
                    "%s ns vs 3 x %s = %s ns (%.2fx)" % (fmt_ns(sc1), fmt_ns(cc1), fmt_ns(3 * cc1),
                                                         sc1 / cc1)))
    else:
        out.append((desc, None, "missing data"))

    rj1 = ns(REJECTED, 1)
    desc = "rejected while OPEN, 1 thread <= 2 ns"
    if rj1:
        out.append((desc, rj1 <= 2.0, "%s ns" % fmt_ns(rj1)))
    else:
        out.append((desc, None, "missing data"))

    s_rej = scaling(results, REJECTED, 2)
    p2 = scaling(results, PADDED, 2)
    desc = "rejected while OPEN scaling 1->2 >= 0.9x the padded counter's"
    if s_rej is not None and p2 is not None:
        out.append((desc, s_rej >= 0.9 * p2, "%.2fx vs 0.9 x %.2fx = %.2fx" % (s_rej, p2,
                                                                             0.9 * p2)))
    else:
        out.append((desc, None, "missing data"))

    rj1, ld1, cl1 = ns(REJECTED, 1), ns(RELAXED_LOAD, 1), ns(COARSE_CLOCK, 1)
    desc = "rejected while OPEN, 1 thread <= relaxed load + coarse clock (1 thread)"
    if rj1 and ld1 and cl1:
        out.append((desc, rj1 <= ld1 + cl1,
                    "%s ns vs %s + %s = %s ns (%.2fx)" % (fmt_ns(rj1), fmt_ns(ld1), fmt_ns(cl1),
                                                          fmt_ns(ld1 + cl1), rj1 / (ld1 + cl1))))
    else:
        out.append((desc, None, "missing data"))

    # A case at most `factor` times another's ns per call, at `t` threads.
    def at_most(desc, name, base, factor, t):
        a, b = ns(name, t), ns(base, t)
        if a and b:
            out.append((desc, a <= factor * b, "%s ns vs %s ns (%.2fx)" % (fmt_ns(a), fmt_ns(b),
                                                                        a / b)))
        else:
            out.append((desc, None, "missing data"))

    for t in (1, 2, 4):
        threads = "%d thread%s" % (t, "" if t == 1 else "s")
        at_most("rejected after a Retry-After (FailureRetryAfter()), %s <= 1.5x rejected while "
                "OPEN" % threads, REJECTED_RETRY_AFTER, REJECTED, 1.5, t)
    # Features that stay off the CLOSED path: within 1.5x of the plain case.
    for what, name, base in (
            ("closed count-window under a ManualControl", CLOSED_MANUAL, CLOSED_COUNT),
            ("closed count-window with per-probe deadlines", CLOSED_PROBE_DEADLINES, CLOSED_COUNT),
            ("closed count-window with slow start, past its ramp", CLOSED_SLOW_START, CLOSED_COUNT),
            ("closed time-window with adaptive throttling, healthy", CLOSED_THROTTLING,
             CLOSED_TIME)):
        for t in (1, 2, 4):
            threads = "%d thread%s" % (t, "" if t == 1 else "s")
            at_most("%s, %s <= 1.5x without" % (what, threads), name, base, 1.5, t)
    # The latency trip times every call, as the call-duration histogram
    # does: its plain case is that one (the same clock reads, the same
    # measured success path).
    for t in (1, 2, 4):
        threads = "%d thread%s" % (t, "" if t == 1 else "s")
        at_most("closed with a latency-percentile trip (coarse clock), %s <= 1.5x closed with the "
                "call-duration histogram" % threads, CLOSED_LATENCY, CLOSED_CALL_DURATIONS, 1.5, t)
    at_most("closed count-window with a transition listener, 1 thread <= 1.1x without",
            CLOSED_LISTENER, CLOSED_COUNT, 1.1, 1)

    own1, past1, past2 = (get(results, n, 1) for n in (PINNED_OWN, PINNED_PAST_1, PINNED_PAST_2))
    desc = "past the own stripes: 2 threads pinned to 2 CPUs >= 1.7x one alone (default config)"
    if past1 and past2 and past1.ops_per_s and past2.ops_per_s:
        ratio = past2.ops_per_s / past1.ops_per_s
        out.append((desc, ratio >= 1.7, "%s/s vs %s/s (%.2fx)" % (
            fmt_rate(past2.ops_per_s), fmt_rate(past1.ops_per_s), ratio)))
    else:
        out.append((desc, None, "missing data"))
    desc = "past the own stripes: a pinned thread's CLOSED success <= 2x an owning thread's"
    if own1 and past1 and own1.ns_per_call_per_worker and past1.ns_per_call_per_worker:
        a, b = past1.ns_per_call_per_worker, own1.ns_per_call_per_worker
        out.append((desc, a <= 2 * b, "%s ns vs 2 x %s = %s ns (%.2fx)" % (
            fmt_ns(a), fmt_ns(b), fmt_ns(2 * b), a / b)))
    else:
        out.append((desc, None, "missing data"))

    shared = [(r.name, r.threads, r.shared_writes_per_call) for r in results.values()
              if (r.name in (CLOSED_DEFAULT, PINNED_PAST_1, PINNED_PAST_2))
              and not r.error and r.shared_writes_per_call is not None]
    desc = ("0 increments per call into a line shared without regard to the CPU "
            "(default config, every thread count)")
    counts = sorted({t for (n, t, _) in shared if n == CLOSED_DEFAULT})
    if shared and all(t in counts for t in (1, 2) + MANY_THREADS):
        worst = max(shared, key=lambda a: a[2])
        out.append((desc, worst[2] == 0, "max %.3g per call over %d runs (threads %s, and the "
                    "pinned cases)" % (worst[2], len(shared), ", ".join(map(str, counts)))))
    else:
        out.append((desc, None, "missing data"))

    registry = memory.get("default_64cpu")
    desc = ("10,000 default breakers on %d CPUs <= %d MB (every breaker counted into from "
            "every CPU)" % (MODEL_CORES, REGISTRY_BUDGET_MB))
    if registry:
        total = registry * 10000 / 1e6
        out.append((desc, total <= REGISTRY_BUDGET_MB, "%.0f MB (%d B a breaker)" % (total,
                                                                                   registry)))
    else:
        out.append((desc, None, "missing data (bench/memory_report)"))
    return out


def throughput_model(results):
    """Lines of the many-core model: calls/s of one breaker's CLOSED success
    on MODEL_CORES cores under each stripe scheme, from this run's figures."""
    own = get(results, CLOSED_DEFAULT, 1)
    per_cpu = get(results, CLOSED_PER_CPU, 1)
    padded = get(results, PADDED, 1)
    shared2 = get(results, FETCH_ADD, 2)
    if not (own and per_cpu and padded and shared2 and shared2.ops_per_s):
        return ["(missing data for the model)"]
    c_own, c_cpu = own.ns_per_op_thread, per_cpu.ns_per_op_thread
    # A line written by several cores at once: what the shared fetch_add
    # gets in total at 2 threads here. Optimistic for 64 cores, where a
    # line bounces between more caches and farther (folly and the kernel
    # measure it falling further): the model's shared figures are a ceiling.
    line = shared2.ops_per_s
    writes = 2  # increments per CLOSED success (permitted, successes)

    def old_scheme(t):
        # 16 own stripes, then 4 overflow lines shared by every other running thread.
        running = min(t, MODEL_CORES)
        owners = min(running, 16)
        rest = running - owners
        return owners * 1e9 / c_own + min(rest * 1e9 / c_own, 4 * line / writes)

    def new_scheme(t):
        # min(2 x CPUs, 8) own stripes, every other running thread on its CPU's block.
        running = min(t, MODEL_CORES)
        owners = min(running, 8)
        return owners * 1e9 / c_own + (running - owners) * 1e9 / c_cpu

    def one_line(t):
        # Every thread on one shared line (a mutex breaker or a shared counter at best).
        return line / writes

    out = []
    w = out.append
    w("Per-call costs measured in this run (one thread, CLOSED success, default config):")
    w("")
    w("- own stripe: %s ns (Circuit_Closed_DefaultConfig)" % fmt_ns(c_own))
    w("- its CPU's block, restartable add: %s ns (Circuit_Closed_PerCpu)" % fmt_ns(c_cpu))
    w("- a line every thread writes: at most %s increments/s in total, whatever the number of "
      "threads (Ref_FetchAddShared at 2 threads; a ceiling: across 64 cores a contended line "
      "does worse)" % fmt_rate(line))
    w("")
    w("Throughput of one breaker's CLOSED success on %d cores (a thread a core; threads beyond "
      "the cores add nothing), in calls/s:" % MODEL_CORES)
    w("")
    w("| threads | per-thread lines (ideal) | this scheme: 8 own + per-CPU | "
      "before: 16 own + 4 shared overflow lines | one shared line |")
    w("|---:|---:|---:|---:|---:|")
    for t in MODEL_THREADS:
        ideal = min(t, MODEL_CORES) * 1e9 / c_own
        w("| %d | %s | %s (%.2fx) | %s (%.2fx) | %s (%.3fx) |" % (
            t, fmt_rate(ideal), fmt_rate(new_scheme(t)), new_scheme(t) / ideal,
            fmt_rate(old_scheme(t)), old_scheme(t) / ideal, fmt_rate(one_line(t)),
            one_line(t) / ideal))
    w("")
    w("The per-CPU blocks keep the scheme within %.0f%% of per-thread lines at any thread "
      "count (the restartable add's extra cost); the overflow lines cap the old scheme at 16 "
      "threads' worth plus what 4 contended lines carry." % (100 * (1 - c_own / c_cpu)))
    return out


def load_memory(path):
    """bench/memory_report's output: its markdown, and its "memory KEY BYTES" lines."""
    if not path or not os.path.exists(path):
        return "", {}
    table, figures = [], {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^memory (\S+) (\d+)$", line.strip())
            if m:
                figures[m.group(1)] = int(m.group(2))
            else:
                table.append(line.rstrip("\n"))
    return "\n".join(table).strip(), figures


def plot(results, thread_counts, png_path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (apt-get install python3-matplotlib): no plot"

    fig, axes = plt.subplots(1, 2, figsize=(15, 8), sharey=True)
    for ax, names, title in ((axes[0], BREAKERS, "Breakers"), (axes[1], REFERENCES, "References")):
        for name in names:
            xs, ys = [], []
            for t in thread_counts:
                r = get(results, name, t)
                if r and r.ops_per_s:
                    xs.append(t)
                    ys.append(r.ops_per_s / 1e6)
            if xs:
                style = "--" if name in (MUTEX_BREAKER, FETCH_ADD, PADDED) else "-"
                ax.plot(xs, ys, style, marker="o", label=name.replace("BM_", ""))
        ax.set_title(title)
        ax.set_xlabel("threads")
        ax.set_xticks(thread_counts)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    axes[0].set_ylabel("aggregate throughput, million calls/s (log)")
    fig.suptitle("circuit: throughput vs threads (median of repetitions, wall clock)")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return None


def load_aggregates(path):
    """A benchmark JSON (redis_bench, sim_bench): {run_name without /real_time: (median ns, items/s, counters)}."""
    if not path or not os.path.exists(path):
        return {}
    with open(path) as f:
        data = json.load(f)
    out, cvs = {}, {}
    for b in data.get("benchmarks", []):
        name = b.get("run_name", b["name"]).replace("/real_time", "")
        if b.get("aggregate_name") == "cv":
            cvs[name] = b["real_time"]  # a fraction
        if b.get("error_occurred") or b.get("aggregate_name", "median") != "median":
            continue
        unit = TIME_UNIT_NS.get(b.get("time_unit", "ns"), 1.0)
        out[name] = (b["real_time"] * unit, b.get("items_per_second"), b)
    for name, cv in cvs.items():  # the median's record carries its cv
        if name in out:
            out[name][2]["cv"] = cv
    return out


def redis_report(redis):
    """The distributed mode's section and targets, from load_aggregates()."""
    lines, checks = [], []
    if not redis:
        return lines, checks
    w = lines.append
    w("## Distributed mode (circuit/redis)")
    w("")
    w("`bench/redis_bench.cc`, against a real redis-server it starts on a Unix socket, in the "
      "same run. The call path of a breaker shared through Redis (its coordinator syncing "
      "every 100 ms throughout) beside the same breaker alone:")
    w("")
    w("| threads | local ns/op per thread | shared ns/op per thread | shared / local |")
    w("|---:|---:|---:|---:|")
    for t in (1, 2):
        local = redis.get("BM_Redis_Closed_Local/threads:%d" % t)
        shared = redis.get("BM_Redis_Closed_Shared/threads:%d" % t)
        if not local or not shared or not local[1] or not shared[1]:
            checks.append(("distributed call path within 10%% of local at %d thread(s)" % t,
                           None, "missing data"))
            continue
        ln, sn = t * 1e9 / local[1], t * 1e9 / shared[1]
        w("| %d | %s | %s | %.2fx |" % (t, fmt_ns(ln), fmt_ns(sn), sn / ln))
        checks.append(("distributed call path within 10%% of local at %d thread(s)" % t,
                       sn <= 1.10 * ln, "%s ns vs %s ns (%.2fx)" % (fmt_ns(sn), fmt_ns(ln),
                                                                   sn / ln)))
    w("")
    w("One sync round (`Coordinator::SyncNow()`: the hand-off to the sync thread, one "
      "pipelined round trip, following the replies) for N breakers, each with a call to push "
      "(the push script) or nothing new (the read script), against N raw `EVALSHA`s of a "
      "script that returns 1, pipelined on one hiredis connection to the same server:")
    w("")
    w("| breakers | raw EVALSHA x N, us | sync round, push, us | per breaker, us | "
      "sync round, read, us | per breaker, us |")
    w("|---:|---:|---:|---:|---:|---:|")
    for n in (1, 10, 100):
        raw = redis.get("BM_Redis_RawEvalsha/%d" % n)
        push = redis.get("BM_Redis_SyncPush/%d" % n)
        read = redis.get("BM_Redis_SyncRead/%d" % n)
        if not raw or not push or not read:
            continue
        w("| %d | %.1f | %.1f | %.1f | %.1f | %.1f |" % (
            n, raw[0] / 1e3, push[0] / 1e3, push[0] / 1e3 / n, read[0] / 1e3,
            read[0] / 1e3 / n))
    w("")
    w("The per-breaker cost of a round is Redis running the script (Lua, ~60 ns per "
      "interpreted step) more than the network: see docs/distributed.md for the load "
      "per instance and per breaker.")
    w("")
    return lines, checks


def sim_report(sim):
    """circuit_sim's section and target, from load_aggregates() applied to bench/sim_bench's JSON."""
    lines, checks = [], []
    if not sim:
        return lines, checks
    w = lines.append
    w("## Trace simulator (tools/sim)")
    w("")
    w("`bench/sim_bench.cc`: the \"mixed\" synthetic trace (10 minutes at 200 calls/s, with an "
      "outage, a slow period and flapping) read from memory and replayed, parsing included, on "
      "one core (CPU time):")
    w("")
    w("| case | ms per trace (wall) | lines a second (CPU) | lines a minute (CPU) |")
    w("|---|---:|---:|---:|")
    for name, label in (("BM_Sim_ParseOnly", "parsing alone"),
                        ("BM_Sim_Replay/1", "replay, 1 config"),
                        ("BM_Sim_Replay/3", "replay, 3 configs side by side")):
        r = sim.get(name)
        if not r or not r[1]:
            continue
        w("| %s | %.1f | %.2f M | %.0f M |" % (label, r[0] / 1e6, r[1] / 1e6, r[1] * 60 / 1e6))
    w("")
    for n in (1, 3):
        r = sim.get("BM_Sim_Replay/%d" % n)
        desc = "circuit_sim replays >= 10 million trace lines a minute on one core (%d config%s)" % (
            n, "" if n == 1 else "s")
        if not r or not r[1]:
            checks.append((desc, None, "missing data"))
            continue
        per_minute = r[1] * 60
        checks.append((desc, per_minute >= 10e6, "%.0f M lines a minute (%.0fx)" % (
            per_minute / 1e6, per_minute / 10e6)))
    return lines, checks


def grpc_report(grpc):
    """The gRPC interceptor's section and target, from load_aggregates() of bench/grpc_bench."""
    lines, checks = [], []
    if not grpc:
        return lines, checks
    w = lines.append
    w("## gRPC client interceptor (circuit/grpc)")
    w("")
    w("`bench/grpc_bench.cc`: one blocking unary call on loopback to an in-process server that "
      "answers at once, through a channel without the interceptor and through channels with it, "
      "in one run, repeated 20 times and interleaved at random (a loopback round trip drifts "
      "with the load: its coefficient of variation is shown). Median per call; CPU time is the "
      "calling thread's:")
    w("")
    w("| channel | us per call (wall) | cv | us CPU | vs. no interceptor (wall) |")
    w("|---|---:|---:|---:|---:|")
    plain = grpc.get("BM_Grpc_UnaryPlain")
    for name, label in (("BM_Grpc_UnaryPlain", "no interceptor"),
                        ("BM_Grpc_UnaryWithBreaker", "interceptor, one breaker"),
                        ("BM_Grpc_UnaryWithRegistryPerMethod", "interceptor, a registry's breaker per method")):
        r = grpc.get(name)
        if not r:
            continue
        cpu = r[2].get("cpu_time", 0) * TIME_UNIT_NS.get(r[2].get("time_unit", "ns"), 1.0)
        cv = r[2].get("cv")
        w("| %s | %.1f | %s | %.1f | %s |" % (
            label, r[0] / 1e3, "%.0f%%" % (100 * cv) if cv is not None else "",
            cpu / 1e3, "%.2fx" % (r[0] / plain[0]) if plain else ""))
    w("")
    w("Where the cases differ by less than their cv, the interceptor's cost (an allocation, "
      "the breaker's permit, two clock reads, and for the registry a lookup) is below what "
      "this run can resolve: a loopback round trip varies by more.")
    w("")
    for name, label in (("BM_Grpc_UnaryWithBreaker", "one breaker"),
                        ("BM_Grpc_UnaryWithRegistryPerMethod", "a registry's breaker per method")):
        r = grpc.get(name)
        desc = "gRPC unary call on loopback through the interceptor (%s) <= 1.25x without" % label
        if not r or not plain:
            checks.append((desc, None, "missing data"))
            continue
        checks.append((desc, r[0] <= 1.25 * plain[0], "%.1f us vs %.1f us (%.2fx)" % (
            r[0] / 1e3, plain[0] / 1e3, r[0] / plain[0])))
    return lines, checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json")
    ap.add_argument("--md", default="docs/benchmarks.md")
    ap.add_argument("--png", default="docs/benchmarks.png")
    ap.add_argument("--callgrind", help="bench/callgrind.sh output to include")
    ap.add_argument("--memory", help="bench/memory_report output to include")
    ap.add_argument("--command", help="the command that produced the JSON")
    ap.add_argument("--redis", help="bench/redis_bench's JSON, for the distributed mode")
    ap.add_argument("--sim", help="bench/sim_bench's JSON, for the trace simulator")
    ap.add_argument("--grpc", help="bench/grpc_bench's JSON, for the gRPC interceptor")
    args = ap.parse_args()

    context, results = load(args.json)
    if not results:
        sys.exit("make_report.py: no benchmarks in %s" % args.json)
    thread_counts = sorted({t for (_, t) in results})
    names = [n for n in REFERENCES + BREAKERS if any((n, t) in results for t in thread_counts)]
    # Cases added later; those with named arguments (the pinned ones) have
    # their own section.
    names += sorted({n for (n, _) in results if "/" not in n} - set(names))
    memory_table, memory = load_memory(args.memory)

    os.makedirs(os.path.dirname(os.path.abspath(args.md)), exist_ok=True)
    plot_note = plot(results, thread_counts, args.png)
    model, nproc = machine_info()
    fa1 = get(results, FETCH_ADD, 1)
    reps = next((r.repetitions for r in results.values() if r.repetitions), None)

    lines = []
    w = lines.append
    w("# Benchmarks")
    w("")
    w("Generated by `bench/report.sh` (bench/make_report.py) from `bench/breaker_bench.cc`. "
      "Do not edit by hand: rerun the script.")
    w("")
    w("## Machine")
    w("")
    w("- CPU: %s" % model)
    w("- nproc: %s" % nproc)
    w("- date: %s" % datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"))
    if context:
        w("- Google Benchmark: %s CPUs at %s MHz, CPU scaling %s, load average %s, "
          "libbenchmark built as %s (the harness only: the timed loop is inline)" % (
              context.get("num_cpus", "?"), context.get("mhz_per_cpu", "?"),
              "on" if context.get("cpu_scaling_enabled") else "off",
              ", ".join("%.2f" % x for x in context.get("load_avg", [])) or "?",
              context.get("library_build_type", "?")))
    w("- kernel: %s %s" % (platform.system(), platform.release()))
    if args.command:
        w("- command: `%s`" % args.command)
    w("")
    if nproc and max(thread_counts) > nproc:
        w("Note: runs with more threads than the machine's %s CPUs are oversubscribed; they "
          "show how the code behaves under preemption, not more parallelism." % nproc)
        w("")
    w("## Results")
    w("")
    w("Each case runs with every thread sharing one object (one breaker, one counter, one "
      "mutex; the padded counter is one per thread), timed by the wall clock, "
      "median of %s repetitions%s." % (
          reps or "the",
          ", run one at a time in a random order across the whole run (so that a slow spell "
          "of this shared VM, which comes for minutes, falls on few repetitions of any case)"
          if args.command and "random_interleaving=true" in args.command else ""))
    w("")
    w("- **ns/op per thread**: the wall time one thread spends per call "
      "(threads / aggregate throughput).")
    w("- **ops/s**: aggregate calls per second over all threads.")
    w("- **CV**: coefficient of variation of the repetitions' times.")
    w("- **vs fetch_add(1t)**: ns/op per thread over a shared `fetch_add` at 1 thread "
      "(%s ns)." % (fmt_ns(fa1.ns_per_op_thread) if fa1 else "n/a"))
    w("- **scaling (padded)**: throughput over the same case's at 1 thread; in brackets the "
      "padded per-thread counter's, the ideal on this machine.")
    w("- **vs mutex breaker**: throughput over the mutex breaker's at the same thread count.")
    w("- **allocs/call**: global `operator new` calls per call (breaker cases).")
    w("- **CAS retries/call**: failed compare-and-swaps per call inside circuit, counted per "
      "thread (the benchmark links `//:circuit_cas_stats`, which differs from `//:circuit` only "
      "by a thread-local increment after a failed CAS).")
    w("- **shared writes/call**: counter increments per call into a line shared without regard "
      "to the CPU (the per-CPU arena's shared region, for a thread that cannot tell its CPU), "
      "counted the same way.")
    w("")
    w("| case | threads | ns/op per thread | ops/s | CV | vs fetch_add(1t) | scaling (padded) "
      "| vs mutex breaker | allocs/call | CAS retries/call | shared writes/call |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        for t in thread_counts:
            r = results.get((name, t))
            if r is None:
                continue
            label = name.replace("BM_", "")
            if r.error:
                w("| %s | %d | error: %s | | | | | | | | |" % (label, t, r.error))
                continue
            ns = r.ns_per_op_thread
            vs_fa = fmt_x(ns / fa1.ns_per_op_thread) if fa1 and ns else "n/a"
            if t == 1:
                scale = "1"
            else:
                s, p = scaling(results, name, t), scaling(results, PADDED, t)
                scale = "%s (%s)" % ("%.2f" % s if s is not None else "n/a",
                                     "%.2f" % p if p is not None else "n/a")
            m = get(results, MUTEX_BREAKER, t)
            vs_mutex = (fmt_x(r.ops_per_s / m.ops_per_s)
                        if m and m.ops_per_s and r.ops_per_s and name != MUTEX_BREAKER
                        and not name.startswith("BM_Ref_") else "")
            cv = "%.1f%%" % (100 * r.cv_real) if r.cv_real is not None else "n/a"
            allocs = ("%.3g" % r.allocs_per_call) if r.allocs_per_call is not None else ""
            cas = ("%.3g" % r.cas_retries_per_call
                   if r.cas_retries_per_call is not None and name.startswith("BM_Circuit_")
                   else "")
            shared = ("%.3g" % r.shared_writes_per_call
                      if r.shared_writes_per_call is not None and name.startswith("BM_Circuit_")
                      else "")
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, t, fmt_ns(ns), fmt_rate(r.ops_per_s), cv, vs_fa, scale, vs_mutex, allocs,
                cas, shared))
    w("")
    if plot_note:
        w("(%s)" % plot_note)
    else:
        w("![throughput vs threads](%s)" % os.path.relpath(
            os.path.abspath(args.png), os.path.dirname(os.path.abspath(args.md))))
    w("")
    w("## Many threads, many cores")
    w("")
    w("One default breaker at %s threads, oversubscribed on this machine's %s CPUs, against the "
      "per-thread padded counter at the same thread count (the default config has "
      "min(2 x CPUs, 8) own stripes; every other thread counts into its CPU's block):" % (
          ", ".join(map(str, MANY_THREADS)), nproc))
    w("")
    w("| threads | circuit default ops/s | padded counter ops/s | circuit / padded | "
      "shared writes/call |")
    w("|---:|---:|---:|---:|---:|")
    for t in (1, 2, 4) + MANY_THREADS:
        c, p = get(results, CLOSED_DEFAULT, t), get(results, PADDED, t)
        if not c or not p or not c.ops_per_s or not p.ops_per_s:
            continue
        w("| %d | %s | %s | %.2fx | %s |" % (
            t, fmt_rate(c.ops_per_s), fmt_rate(p.ops_per_s), c.ops_per_s / p.ops_per_s,
            "%.3g" % c.shared_writes_per_call if c.shared_writes_per_call is not None else "n/a"))
    w("")
    w("Threads past the own stripes, pinned (`BM_Circuit_Pinned`): stand-in threads take the "
      "low thread numbers first and stay alive, then workers pinned one to a CPU call one "
      "default breaker; each worker times its batch of %s calls." % "4,194,304")
    w("")
    w("| workers | numbered | ns per call per worker | ops/s | shared writes/call |")
    w("|---:|---|---:|---:|---:|")
    for case, workers, numbered in ((PINNED_OWN, 1, "owns a stripe"),
                                    (PINNED_PAST_1, 1, "past the own stripes"),
                                    (PINNED_PAST_2, 2, "past the own stripes")):
        r = get(results, case, 1)
        if not r:
            continue
        w("| %d | %s | %s | %s | %s |" % (
            workers, numbered, fmt_ns(r.ns_per_call_per_worker), fmt_rate(r.ops_per_s),
            "%.3g" % r.shared_writes_per_call if r.shared_writes_per_call is not None else "n/a"))
    w("")
    w("A counter of shared-line writes cannot show cross-core contention on %s CPUs, so a "
      "model: " % nproc)
    w("")
    for line in throughput_model(results):
        w(line)
    w("")
    if memory_table:
        w("## Memory")
        w("")
        w("`bench/memory_report`: what `Breaker::Create()` allocates on the heap (requested "
          "bytes: the breaker, its own stripes, its window) and its block in every region of "
          "the per-CPU arena (%d CPU ids and the shared region here), measured; for %d CPUs, "
          "the same parts with that machine's %d own stripes and %d regions. The per-CPU "
          "figure is an upper bound on resident memory: a region's page is only touched once "
          "a thread on that CPU counts into a breaker there." % (
              (memory.get("cpus") or 0), MODEL_CORES, 8, MODEL_CORES + 1))
        w("")
        w(memory_table)
        w("")
    redis_lines, redis_checks = redis_report(load_aggregates(args.redis))
    lines.extend(redis_lines)
    sim_lines, sim_checks = sim_report(load_aggregates(args.sim))
    lines.extend(sim_lines)
    grpc_lines, grpc_checks = grpc_report(load_aggregates(args.grpc))
    lines.extend(grpc_lines)
    w("## Targets")
    w("")
    w("| target | result | numbers |")
    w("|---|---|---|")
    checks = targets(results, memory) + redis_checks + sim_checks + grpc_checks
    for desc, passed, evidence in checks:
        verdict = "n/a" if passed is None else ("PASS" if passed else "MISS")
        w("| %s | %s | %s |" % (desc, verdict, evidence))
    w("")
    misses = [desc for desc, passed, _ in checks if passed is False]
    if misses:
        w("Why a target is missed:")
        w("")
        for desc in misses:
            reason = next((text for key, text in MISS_REASONS.items() if desc.startswith(key)),
                          "no explanation recorded: investigate")
            w("- **%s**: %s" % (desc, reason))
        w("")
    if args.callgrind and os.path.exists(args.callgrind):
        with open(args.callgrind) as f:
            text = f.read().strip()
        if text:
            w("## Instructions per call (callgrind)")
            w("")
            w("`bench/callgrind.sh all`: exact instruction counts of one thread's calls, the "
              "empty loop subtracted.")
            w("")
            w("```")
            w(text)
            w("```")
            w("")

    with open(args.md, "w") as f:
        f.write("\n".join(lines))
    print("wrote %s%s" % (args.md, "" if plot_note else " and " + args.png))
    for desc, passed, evidence in checks:
        verdict = "n/a " if passed is None else ("PASS" if passed else "MISS")
        print("%s  %s: %s" % (verdict, desc, evidence))


if __name__ == "__main__":
    main()
