#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/breaker_fuzzer.cc into fuzz/corpus/.

Each seed is a 32-byte config header followed by operations, in the layout
documented at ReadConfig() and RunOp() in breaker_fuzzer.cc. The seeds are
small scenarios that reach each part of the state machine, so that the
fuzzer starts from inputs that already trip, probe and close the breaker.

    python3 fuzz/make_seeds.py            # rewrites fuzz/corpus/seed_*
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# SaneDuration units (index -> nanoseconds).
UNITS = [1, 7, 1000, 999, 10**6, 1001000, 10**7, 10**8, 10**9, 10 * 10**9,
         60 * 10**9, 3600 * 10**9, 86400 * 10**9, 1000003, 333333333, 2500000000]
NS, US, MS, S, MIN, HOUR, DAY = 1, 1000, 10**6, 10**9, 60 * 10**9, 3600 * 10**9, 86400 * 10**9


def dur(nanos, allow_zero=False):
    """The u16 of a SaneDuration equal to `nanos`."""
    if allow_zero and nanos == 0:
        return 0
    for unit_index in (12, 11, 10, 9, 8, 7, 6, 4, 2, 0):
        unit = UNITS[unit_index]
        if nanos % unit == 0:
            mag = nanos // unit - (0 if allow_zero else 1)
            if 0 <= mag < 4096:
                return (unit_index << 12) | mag
    raise ValueError(nanos)


def small_int(n):
    """The u16 of window_size or minimum_calls equal to `n`."""
    return n - 1 if n <= 32 else 0x8000 | (n - 1)


# half_open_probe_timeout (ProbeTimeout() in breaker_fuzzer.cc): byte 17
# bits 3-6 = 4 + the index here (0-3: off), byte 10 bits 5-6 an offset in ns.
PROBE_TIMEOUTS_MS = [1, 2, 3, 5, 10, 50, 100, 250, 1000, 2000, 5000, 30000]
PROBE_OFFSETS = [0, 1, 999999, 333333]
# Wild field bytes 250-252: half_open_probe_timeout = WildDuration(value);
# 253-255: half_open_probe_timeout_outcome = the value as the enum.
WILD_PROBE_TIMEOUT, WILD_PROBE_OUTCOME = 250, 253

# slow_start_duration (SlowStart() in breaker_fuzzer.cc): byte 16 bits 4-7,
# 1 + the index here (0: off); 8 a wild value picked by bits 0-3 (which also
# set max_open_duration's factor, 1 + that nibble), e.g. 1: 1 ms - 1 ns
# (invalid), 3: 1 day (valid), 4: 1 day + 1 ns (invalid).
SLOW_STARTS = [1 * 10**6, 3 * 10**6 + 1, 10 * 10**6, 50 * 10**6 + 999, 200 * 10**6,
               10**9 + 333333, 30 * 10**9]

# adaptive_throttling (Throttle() in breaker_fuzzer.cc): byte 1 bits 3-7
# (0: off). 1-24 pick K and turn throttling on with a time window only; 25-30
# turn it on whatever the window. The names say K.
K_2, K_1, K_1_5, K_3, K_10, K_100 = 1, 2, 3, 4, 5, 6
K_JUST_OVER_1, K_JUST_UNDER_100, K_JUST_UNDER_2 = 7, 8, 9   # nextafter(1, 2), (100, 0), (2, 0)
K_0, K_JUST_UNDER_1, K_JUST_OVER_100, K_NAN, K_INF, K_MINUS_1, K_101, K_0_5 = range(17, 25)
FORCED_K_2, FORCED_K_1, FORCED_K_100, FORCED_K_NAN = 25, 26, 27, 28

# The latency-percentile trip (Latency() in breaker_fuzzer.cc): window_size's
# u16 bits 5-8 the percentile (0: off), bits 9-12 the threshold, bit 13
# consecutive_failures_to_open = 0, bit 14 the percentile with a count window
# too; only with bit 15 clear (window_size <= 32).
(LAT_P50, LAT_P90, LAT_P99, LAT_P99_9, LAT_P100, LAT_P_THIRD, LAT_P0_1, LAT_P75, LAT_P99_99,
 LAT_P_DENORM, LAT_P_MINUS_0, LAT_P_NAN, LAT_P_MINUS_1, LAT_P_OVER_100, LAT_P_INF) = range(1, 16)
(LAT_T_10MS, LAT_T_1US, LAT_T_1MS, LAT_T_25MS, LAT_T_250US, LAT_T_1_2MS, LAT_T_100S,
 LAT_T_1001NS, LAT_T_3US, LAT_T_137US, LAT_T_100S_MINUS_1NS, LAT_T_999NS, LAT_T_0,
 LAT_T_100S_PLUS_1NS, LAT_T_INF, LAT_T_1000_5NS) = range(16)


def header(time_window=False, judge_by_rate=False, status_rule=0, exception_rule=0,
           jitter=None, consecutive=5, failure_pct=0, slow_pct=0, slow_call=60 * S,
           window_size=100, window_duration=60 * S, buckets=10, minimum_calls=100,
           open_duration=30 * S, multiplier=0, max_open_factor=0, trials=1, concurrent=1,
           half_open_max=0, stripes=0, clock=0, wild=((0, 0), (0, 0)), successes_to_close=0,
           slow_clock=0, observe=0, snapshot=0, shared_ops=False, retry_after_ops=False,
           probe_timeout_ms=0, probe_offset=0, probe_released=False, slow_start=0,
           slow_start_wild=None, throttle=0, latency=None, latency_alone=False,
           latency_forced=False):
    """The 32-byte header. consecutive: 1..7 set, 0 unset (5 without a rate
    threshold, else off). successes_to_close: S of the `trials` (0: all).
    slow_clock: 0 kAuto, 1 kPrecise, 2 kCoarse, 3 kCaller. observe: which of
    state() and generation() the fuzzer calls after an operation (0 both,
    1 neither, 2 every other operation, 3 generation() first). snapshot: when
    it calls Snapshot() and compares every field (0 never, 1 after every
    operation, 2 after every other, 3 after every one, after state()).
    shared_ops: opcode bytes 234-255 are the distributed mode's operations
    (set_sharing() and the rest below). retry_after_ops: resolve_took()'s
    fourth way, retry_after() below. probe_timeout_ms: half_open_probe_timeout,
    one of PROBE_TIMEOUTS_MS (0: off), plus PROBE_OFFSETS[probe_offset] ns;
    probe_released: kReleased (else kFailure). slow_start: slow_start_duration
    in ns, one of SLOW_STARTS (0: off); slow_start_wild: the wild value's
    index (0-15, see SlowStart()), which is also max_open_factor - 1.
    throttle: adaptive_throttling and its K, one of the K_* and FORCED_K_*
    above (0: off); consecutive is then 0-7. latency: (LAT_P*, LAT_T*), the
    latency-percentile trip (window_size at most 32); latency_alone:
    consecutive_failures_to_open = 0 explicitly; latency_forced: the
    percentile with a count window too."""
    flags = (1 if time_window else 0) | (2 if judge_by_rate else 0) | (status_rule << 2) | (
        exception_rule << 4) | (0x40 if jitter is not None else 0)
    assert 1 <= window_size <= 32768 and 1 <= minimum_calls <= 32768
    assert 1 <= buckets <= 16 and 1 <= trials <= 8 and 1 <= concurrent <= trials
    (wf1, wv1), (wf2, wv2) = wild
    if jitter is not None:
        wv1 = jitter
    probe_index = 0 if probe_timeout_ms == 0 else 4 + PROBE_TIMEOUTS_MS.index(probe_timeout_ms)
    assert 0 <= probe_offset <= 3
    assert max_open_factor <= 16
    max_open = max_open_factor - 1 if max_open_factor else 0
    if slow_start_wild is not None:
        assert slow_start == 0 and max_open in (0, slow_start_wild)
        max_open = 0x80 | slow_start_wild
    elif slow_start:
        max_open |= (1 + SLOW_STARTS.index(slow_start)) << 4
    assert 0 <= throttle <= 30 and (throttle == 0 or 0 <= consecutive < 8)
    size_bits = small_int(window_size)
    if latency is not None:
        pct, thr = latency
        assert window_size <= 32 and 1 <= pct <= 15 and 0 <= thr <= 15
        size_bits |= (pct << 5) | (thr << 9) | (0x2000 if latency_alone else 0) | (
            0x4000 if latency_forced else 0)
    else:
        assert not latency_alone and not latency_forced
    h = struct.pack("<BBBBHHHBHHBBBBHBIBBBB",
                    flags, consecutive | (throttle << 3), failure_pct, slow_pct, dur(slow_call),
                    size_bits, dur(window_duration),
                    (buckets - 1) | (0x10 if probe_released else 0) | (probe_offset << 5),
                    small_int(minimum_calls),
                    dur(open_duration), multiplier, max_open,
                    (trials - 1) | (probe_index << 3), concurrent - 1,
                    dur(half_open_max, allow_zero=True), stripes,
                    clock, wf1, wv1, wf2, wv2)
    assert len(h) == 30, len(h)
    assert 0 <= successes_to_close <= trials and not (judge_by_rate and successes_to_close)
    assert 0 <= slow_clock <= 3 and 0 <= observe <= 3 and 0 <= snapshot <= 3
    return h + bytes([successes_to_close, slow_clock | (observe << 2) | (snapshot << 4) |
                      (0x40 if shared_ops else 0) | (0x80 if retry_after_ops else 0)])


# Operations (opcode % 26 picks the operation).
def acquire(slot): return bytes([0, slot])
def success(slot): return bytes([3, slot])
def failure(slot): return bytes([4, slot])
def ignore(slot): return bytes([5, slot])
def release(slot): return bytes([6, slot])
def record(slot, code): return bytes([7, slot, code])
def drop(slot, assign=False): return bytes([9, slot | (0x80 if assign else 0)])
def move(a, b): return bytes([10, a, b])
def advance_ns(n): return bytes([11, 0, n])
def advance_us(n): return bytes([11, 1, n])
def advance_ms(n): return bytes([11, 2, n])
def advance_s(n): return bytes([13]) + struct.pack("<H", n)
def advance_min(n): return bytes([13]) + struct.pack("<H", (1 << 14) | n)
def to_edge(which, offset): return bytes([14, which, offset + 1])
PROBE_EDGE = 0x80 | 3  # to_edge(): (131 % 5 == 1, bit 7) the earliest probe deadline of the HALF_OPEN period
def advance_days16(n): return bytes([13]) + struct.pack("<H", (3 << 14) | n)  # n/16 days
def operator(which): return bytes([15, which])  # 0 ForceOpen 1 Disable 2 MetricsOnly 3 Reset
def burst(mode, pattern, raw): return bytes([16, mode, pattern]) + struct.pack("<H", raw)
def call(code, ms=0, fallback=False): return bytes([17, 2 | (0x80 if fallback else 0), code, ms])
def call_throw(kind, ms=0, fallback=False):
    return bytes([19, (kind << 2) | 2 | (0x80 if fallback else 0), ms])
def call_result(code, value, ms=0): return bytes([20, 2, code, value, ms])
def call_or_throw(code, ms=0): return bytes([21, 2, code, ms])
def acquire_all(): return bytes([22])
def resolve_all(how): return bytes([23, how])
# Success(took) (how 0), Failure(took) (1), Record(status, took) (2); took in
# ms (negative: counts as 0), or slow_call_duration + offset ns (-1, 0, 1).
def resolve_took(slot, how, ms, code=0):
    b = how | (2 << 2) | (0x80 if ms < 0 else 0)
    return bytes([24, slot, b, abs(ms)]) + (bytes([code]) if how == 2 else b"")
# Permit::FailureRetryAfter(ms) (header(retry_after_ops=True)); a wait of 0
# or less (ms <= 0) is a plain Failure().
def retry_after(slot, ms):
    return bytes([24, slot, 3 | (2 << 2) | (0x80 if ms < 0 else 0), abs(ms)])
# The same with took = `amount` x one of ns (unit 0), us (1), ms (2), 100 ms (3).
def resolve_took_unit(slot, how, amount, unit, code=0):
    return bytes([24, slot, how | (unit << 2), amount]) + (bytes([code]) if how == 2 else b"")
# Onto a slot's admission + the latency threshold's bound, -1, 0 or +1 ns
# (edge 3 without slow-call detection).
def to_latency_edge(slot, offset): return to_edge(3 + 5 * slot, offset)
def resolve_at_slow(slot, how, offset, code=0):
    return bytes([25, slot, how | ((offset + 1) << 2)]) + (bytes([code]) if how == 2 else b"")
# The distributed mode's hold (header(shared_ops=True); opcode byte 234 + n,
# n % 4 picks the operation). Sharing: 0 kLocal, 1 kShared, 2 kDegraded.
# Follow() into 0 CLOSED, 1 OPEN, 2 HALF_OPEN; the open period in ms
# (negative: counts as 0) and the shared trip's value and threshold.
LOCAL, SHARED, DEGRADED = 0, 1, 2
CLOSED, OPEN, HALF_OPEN = 0, 1, 2
def shared_trip(ms, value, threshold):
    return bytes([2 | (0x80 if ms < 0 else 0), abs(ms), value, threshold])
def set_sharing(to): return bytes([234, to])
def follow(to, ms=0, value=0, threshold=0): return bytes([235, to]) + shared_trip(ms, value, threshold)
def reopen(ms=0, value=0, threshold=0, back=0):  # back: 1 for the generation before
    return bytes([236, back]) + shared_trip(ms, value, threshold)
def lend(slots): return bytes([237, slots])


def ok_fail(slot, fail):
    return acquire(slot) + (failure(slot) if fail else success(slot))


SEEDS = {
    # pybreaker defaults: 5 failures in a row open it; 30 s later a trial
    # closes it; a second round reopens from the trial and backs off.
    "seed_consecutive": header(multiplier=2, max_open_factor=4) +
    b"".join(ok_fail(0, True) for _ in range(5)) + acquire(1) + advance_s(29) + acquire(1) +
    to_edge(0, -1) + acquire(2) + advance_ns(1) + acquire(2) + success(2) +
    b"".join(ok_fail(0, True) for _ in range(5)) + to_edge(0, 0) + acquire(3) + failure(3) +
    to_edge(0, 0) + acquire(3) + success(3),
    # Failure rate over the last 10 calls, at least 10: trips at 50 %.
    "seed_failure_rate": header(consecutive=0, failure_pct=50, window_size=10,
                                minimum_calls=10) +
    b"".join(ok_fail(i % 8, i % 2 == 0) for i in range(12)) + to_edge(0, 0) + acquire(0) +
    success(0),
    # Slow calls over a time window of 1 s in 10 buckets, through Call().
    "seed_slow_time_window": header(time_window=True, consecutive=0, slow_pct=50,
                                    slow_call=100 * MS, window_duration=1 * S, buckets=10,
                                    minimum_calls=4) +
    call(0, 10) + call(0, 150) + advance_ms(200) + call(0, 120) + call(14, 1) + call(0, 200) +
    to_edge(0, 0) + call_or_throw(0, 5) + call_or_throw(0, 5),
    # Half-open with 3 concurrent of 5 trials, judged by rate, lost trials
    # reopening after 2 s, backoff x2.
    "seed_half_open_rate": header(consecutive=3, failure_pct=40, judge_by_rate=True,
                                  trials=5, concurrent=3, half_open_max=2 * S, multiplier=2,
                                  max_open_factor=8, open_duration=1 * S) +
    b"".join(ok_fail(0, True) for _ in range(3)) + to_edge(0, 0) + acquire_all() +
    success(0) + failure(1) + release(2) + acquire(3) + acquire(4) + to_edge(1, 0) +
    acquire(5) + to_edge(0, 0) + acquire(6) + success(6) + acquire(6) + success(6) +
    acquire(6) + success(6) + acquire(6) + success(6) + acquire(6) + success(6),
    # Operators, moves, drops, permits resolved across generations.
    "seed_operators": header(consecutive=2) + acquire(0) + acquire(1) + operator(2) +
    failure(0) + acquire(2) + move(2, 3) + operator(1) + acquire(4) + success(4) +
    failure(3) + operator(0) + acquire(5) + operator(3) + drop(1) + drop(2, assign=True) +
    acquire(6) + record(6, 14) + acquire(6) + record(6, 14) + acquire(7) + ignore(7),
    # Exceptions and classifiers: typed exceptions, FailOnCodes.
    "seed_classifiers": header(status_rule=1, exception_rule=1, consecutive=2) +
    call_throw(0) + call_throw(1) + call_throw(2, fallback=True) + call_throw(3) +
    call(5) + call(14, fallback=True) + call_result(0, 3) + call_result(0, 13) +
    call_or_throw(4) + call_or_throw(4),
    # Generation bursts around the 14-bit window tag.
    "seed_bursts": header(consecutive=0, failure_pct=50, window_size=4, minimum_calls=4) +
    ok_fail(0, True) + burst(0x80 | 13, 0, 0xFF) + b"".join(ok_fail(0, True) for _ in range(4)) +
    to_edge(0, 0) + acquire(0) + success(0) + burst(0x80 | 12, 1, 0) +
    b"".join(ok_fail(0, True) for _ in range(4)),
    # Jitter: the model follows the breaker within the documented range.
    "seed_jitter": header(consecutive=1, jitter=128) + ok_fail(0, True) + advance_s(20) +
    acquire(1) + advance_s(10) + acquire(1) + advance_s(10) + acquire(1) + failure(1) +
    advance_s(45) + acquire(2),
    # Rates are judged on every outcome: 3 failures, then the success that
    # brings the window to its minimum of 5 opens it at 60 % (3 of 5); the
    # same in a time window, where a slow success (Success(took)) decides.
    "seed_success_at_minimum": header(consecutive=0, failure_pct=60, window_size=10,
                                      minimum_calls=5) +
    b"".join(ok_fail(i % 8, i < 3) for i in range(5)) + to_edge(0, 0) + acquire(0) +
    success(0) + b"".join(ok_fail(1, i % 2 == 1) for i in range(6)),
    "seed_success_at_minimum_time": header(time_window=True, consecutive=0, failure_pct=50,
                                           slow_pct=25, slow_call=100 * MS,
                                           window_duration=10 * S, buckets=10,
                                           minimum_calls=4) +
    ok_fail(0, True) + advance_ms(250) + ok_fail(0, False) + acquire(1) + resolve_took(1, 0, 120) +
    ok_fail(0, False) + to_edge(0, 0) + acquire(0) + success(0) + to_edge(2, 0) +
    ok_fail(0, True) + ok_fail(0, False) + ok_fail(0, True) + ok_fail(0, False),
    # S of K: 3 successes of 5 trials close it, 3 failed trials reopen it; a
    # slow trial (by the caller's measure) is a failed one; backoff x2.
    "seed_s_of_k": header(consecutive=1, slow_pct=50, slow_call=100 * MS, trials=5,
                          concurrent=2, successes_to_close=3, open_duration=1 * S,
                          multiplier=2, max_open_factor=8, observe=2) +
    ok_fail(0, True) + to_edge(0, 0) + acquire(0) + acquire(1) + acquire(2) + failure(0) +
    success(1) + acquire(0) + acquire(1) + resolve_took(0, 0, 200) + success(1) + acquire(0) +
    success(0) + ok_fail(0, True) + to_edge(0, 0) + acquire(0) + acquire(1) + failure(0) +
    success(1) + acquire(0) + failure(0) + acquire(1) + resolve_at_slow(1, 0, 0) +
    to_edge(0, 0) + acquire(3) + acquire(4) + release(3) + success(4) + acquire(3) +
    success(3) + acquire(3) + ignore(3) + acquire(3) + success(3),
    # HALF_OPEN's hard limit of 10 s: a trial's late outcome applies it (and
    # is stale), the new open period starts at the deadline (backoff x2), a
    # call past the deadline with free slots reopens it, a release past it
    # too. Nobody calls state() here (observe=1): the transitions are the
    # calls' and the trials'.
    "seed_half_open_deadline": header(consecutive=1, trials=3, concurrent=3,
                                      half_open_max=10 * S, multiplier=2, max_open_factor=8,
                                      observe=1) +
    ok_fail(0, True) + to_edge(0, 0) + acquire(0) + to_edge(1, -1) + acquire(1) +
    to_edge(1, 0) + success(0) + acquire(2) + advance_s(100) + release(1) + acquire(3) +
    to_edge(1, 1) + acquire(4) + to_edge(0, 0) + acquire(5) + acquire(6) + to_edge(1, 0) +
    release(5) + acquire(7) + to_edge(0, 0) + acquire(0) + success(0) + acquire(1) +
    failure(1),
    # The same limit seen by state()/generation() (observe=3: generation()
    # first), through Call(): a trial whose call outlasts the deadline.
    "seed_half_open_deadline_observed": header(consecutive=1, trials=2, concurrent=2,
                                               half_open_max=200 * MS, open_duration=1 * S,
                                               observe=3) +
    call(14) + to_edge(0, 0) + call(0, 250) + to_edge(0, 0) + acquire(0) + advance_ms(199) +
    call(0, 1) + advance_ms(1) + acquire(1) + to_edge(0, 0) + call_or_throw(0, 5) +
    call_or_throw(0, 5),
    # SlowCallClock::kCaller: the clock never makes a call slow, the
    # caller's durations do (negative counts as 0); at slow_call_duration
    # -1, +0, +1 ns.
    "seed_caller_clock": header(slow_pct=50, slow_call=100 * MS, window_size=8,
                                minimum_calls=8, slow_clock=3) +
    call(0, 200) + acquire(0) + resolve_took(0, 0, 200) + acquire(0) +
    resolve_took(0, 1, -200) + acquire(0) + resolve_at_slow(0, 0, -1) + acquire(0) +
    resolve_at_slow(0, 2, 0, 14) + acquire(0) + resolve_at_slow(0, 1, 1) + acquire(0) +
    resolve_took(0, 2, 50, 0) + acquire(0) + success(0) + acquire(1) + resolve_took(1, 0, 101),
    # Snapshot() after every operation, through every state (as
    # tests/snapshot_test.cc): a count window under and at its minimum, a
    # slow success, a trip by rate (FAILURE_RATE) that a success decides,
    # open_remaining counting down, two trials, the HALF_OPEN limit applied
    # by the snapshot itself (HALF_OPEN_TIMEOUT, the trials' window, backoff
    # x2), a stale trial, the operator states, METRICS_ONLY's run, Reset(),
    # a consecutive trip (bug 8's path) and, S of K, TRIAL_FAILURES.
    "seed_snapshot": header(consecutive=4, failure_pct=50, slow_pct=80, slow_call=1 * S,
                            window_size=10, minimum_calls=6, open_duration=20 * S,
                            multiplier=2, max_open_factor=3, trials=3, concurrent=2,
                            successes_to_close=2, half_open_max=5 * S, snapshot=1) +
    ok_fail(0, True) + ok_fail(0, True) + ok_fail(0, False) + acquire(1) + advance_s(2) +
    success(1) + ok_fail(0, True) + ok_fail(0, False) + advance_s(15) + to_edge(0, -1) +
    to_edge(0, 0) + acquire(0) + acquire(1) + success(0) + to_edge(1, 0) + success(1) +
    operator(0) + operator(1) + operator(2) + b"".join(ok_fail(0, True) for _ in range(6)) +
    operator(3) + b"".join(ok_fail(0, True) for _ in range(4)) + to_edge(0, 0) + acquire(0) +
    failure(0) + acquire(0) + failure(0),
    # The same every other operation, over a time window of 10 s in 10
    # buckets whose calls age out between snapshots (in CLOSED and in the
    # OPEN window that opened it), with jitter (open_remaining within its
    # range, then the deadline it reveals) and trials judged by rate
    # (TRIAL_FAILURE_RATE).
    "seed_snapshot_time": header(time_window=True, consecutive=0, failure_pct=60,
                                 window_duration=10 * S, buckets=10, minimum_calls=6,
                                 open_duration=20 * S, jitter=100, trials=2, concurrent=2,
                                 judge_by_rate=True, snapshot=2) +
    b"".join(ok_fail(0, i < 3) for i in range(5)) + advance_s(5) + ok_fail(0, False) +
    advance_s(5) + advance_ns(0) + b"".join(ok_fail(0, True) for _ in range(5)) +
    advance_s(3) + advance_ns(0) + advance_s(3) + advance_ns(0) + advance_s(5) + advance_ns(0) + to_edge(4, 0) +
    acquire(0) + acquire(1) + failure(0) + failure(1) + advance_s(1) + advance_ns(0) +
    operator(3) + ok_fail(0, True) + advance_s(20) + advance_ns(0),
    # The distributed mode's hold, Snapshot() after every operation: shared,
    # 4 failures neither trip on the run of 2 nor at 100 % over the minimum
    # of 4; degraded, the next failure trips (FAILURE_RATE). Shared again:
    # OPEN past its deadline rejects (retry 0); Follow() into HALF_OPEN
    # (no trial, no 5 s limit) admits only the slots lent (0, 2, not
    # lowered by 1, 3), trials counted with no verdict; Follow() into OPEN
    # for 200 ms (SHARED 60/50, the trials' window, backoff counted), a
    # Reopen() for 100 ms (an empty window, backoff back to 0), Follow()
    # into CLOSED twice (the second a no-op), refused by FORCED_OPEN.
    "seed_shared_hold": header(consecutive=2, failure_pct=50, window_size=10, minimum_calls=4,
                               open_duration=1 * S, multiplier=2, max_open_factor=8, trials=3,
                               concurrent=2, half_open_max=5 * S, snapshot=1, shared_ops=True) +
    set_sharing(SHARED) + b"".join(ok_fail(0, True) for _ in range(4)) + set_sharing(DEGRADED) +
    ok_fail(0, True) + set_sharing(SHARED) + to_edge(0, -1) + acquire(0) + to_edge(0, 0) +
    acquire(0) + follow(HALF_OPEN) + acquire(0) + lend(2) + acquire(0) + acquire(1) +
    acquire(2) + success(0) + acquire(3) + lend(1) + acquire(3) + lend(3) + acquire(3) +
    advance_s(10) + acquire(4) + failure(1) + resolve_took(3, 0, 200) +
    follow(OPEN, 200, 60, 50) + to_edge(0, -1) + acquire(5) + reopen(100, 70, 50) +
    to_edge(0, 0) + acquire(5) + follow(CLOSED) + follow(CLOSED) + ok_fail(0, True) +
    operator(0) + follow(CLOSED) + reopen(5) + operator(3) + set_sharing(LOCAL) +
    b"".join(ok_fail(0, True) for _ in range(2)),
    # Leaving the shared state, with jitter (the shared OPEN past the lower
    # end of its range rejects with the time left or 0) and Snapshot() after
    # state(): a shared HALF_OPEN whose trial would close it locally (S of
    # 1) reopens on kDegraded for 0 s (SHARED); the breaker's own HALF_OPEN
    # then times out at 1 s; shared in a local HALF_OPEN, its limit does not
    # apply, and kLocal reopens it; Follow() into HALF_OPEN while local (no
    # limit: 2 s later its trial is still one) closes on it; Reopen() of a
    # CLOSED generation refused; Follow() into OPEN for a negative period
    # (0); a stale Reopen() (the generation before) refused.
    "seed_shared_leave": header(consecutive=1, open_duration=10 * S, jitter=128, trials=2,
                                concurrent=2, successes_to_close=1, half_open_max=1 * S,
                                snapshot=3, shared_ops=True) +
    ok_fail(0, True) + set_sharing(SHARED) + to_edge(0, 0) + acquire(0) + to_edge(4, 0) +
    acquire(0) + follow(HALF_OPEN) + lend(1) + acquire(0) + success(0) + acquire(1) +
    set_sharing(DEGRADED) + acquire(2) + advance_us(1) + acquire(2) + to_edge(1, 0) +
    to_edge(0, 0) + acquire(3) + set_sharing(SHARED) + advance_s(2) + acquire(4) + failure(3) +
    set_sharing(LOCAL) + advance_us(1) + reopen(9) + follow(CLOSED) + follow(HALF_OPEN) +
    advance_s(2) + acquire(5) + success(5) + reopen(9) + follow(OPEN, -5, 1, 2) +
    reopen(9, back=1) + acquire(6) + advance_us(1) + acquire(6) + success(6),
    # Trials judged by rate under the shared state, in a time window, seen
    # only by calls and trials (observe=1): a slow success counts among the
    # slow calls, not the failures; all K trials done and no verdict; then
    # kLocal reopens (SHARED, the trials' window and rates); the next
    # trials decide alone (TRIAL_FAILURE_RATE).
    "seed_shared_rate_trials": header(time_window=True, consecutive=0, failure_pct=50,
                                      slow_pct=50, slow_call=100 * MS, window_duration=10 * S,
                                      buckets=10, minimum_calls=2, open_duration=1 * S,
                                      judge_by_rate=True, trials=4, concurrent=4, observe=1,
                                      snapshot=2, shared_ops=True) +
    set_sharing(SHARED) + ok_fail(0, True) + ok_fail(0, True) + follow(HALF_OPEN) + lend(4) +
    acquire_all() + success(0) + resolve_took(1, 0, 150) + failure(2) + failure(3) +
    acquire(4) + set_sharing(LOCAL) + advance_ms(1) + acquire(0) + acquire(1) + acquire(2) +
    acquire(3) + failure(0) + failure(1) + success(2) + success(3) + to_edge(0, 0) + acquire(0),
    # The dependency says when to come back (Permit::FailureRetryAfter()):
    # a CLOSED breaker opens for 200 ms whatever its trip conditions (the
    # rate's own trip gives way, cause RETRY_AFTER), rejections report it;
    # a trial with the answer reopens where S of K would wait; a stale one
    # and a zero wait change nothing; the cap is max_open_duration.
    "seed_retry_after": header(consecutive=0, failure_pct=50, window_size=4, minimum_calls=2,
                               open_duration=30 * S, multiplier=2, max_open_factor=2, trials=3,
                               concurrent=3, successes_to_close=2, snapshot=1,
                               retry_after_ops=True) +
    ok_fail(0, True) + acquire(0) + acquire(1) + retry_after(0, 200) + acquire(2) +
    advance_ms(200) + acquire(2) + acquire(3) + failure(2) + acquire(4) + retry_after(4, 150) +
    retry_after(1, 100) + advance_ms(150) + acquire(0) + acquire(1) + success(0) + success(1) +
    acquire(2) + retry_after(2, 0) + acquire(3) + retry_after(3, -5) + acquire(4) +
    retry_after(4, 255) + acquire(5),
    # Per-probe deadlines (half_open_probe_timeout 100 ms, kFailure), S = 3
    # of K = 5, 3 concurrent, seen by calls only (observe=1, no Snapshot()):
    # three trials hang; a call finds no slot, reaps nothing 1 ns before
    # the first deadline, at it reaps one (a failed trial) and is admitted
    # in its slot; the late success of the reaped one is stale; two more due
    # (one admitted past its deadline without a reap: a free slot), a call
    # reaps both, the second reopens (TRIAL_FAILURES, backoff x2) and the
    # call is rejected with the new period; late outcomes are stale, a late
    # release only released. Second round: two successes, a hung trial, the
    # reap is a failure and the call is still rejected (K reached); a third
    # success closes it.
    "seed_probe_timeout_failure": header(consecutive=1, open_duration=1 * S, multiplier=2,
                                         max_open_factor=8, trials=5, concurrent=3,
                                         successes_to_close=3, observe=1,
                                         probe_timeout_ms=100) +
    ok_fail(0, True) + to_edge(0, 0) + acquire(0) + advance_ms(40) + acquire(1) +
    advance_ms(40) + acquire(2) + acquire(3) + to_edge(PROBE_EDGE, -1) + acquire(3) +
    advance_ns(1) + acquire(3) + success(0) + success(1) + advance_ms(100) + acquire(4) +
    acquire(5) + failure(2) + release(3) + success(4) + to_edge(0, 0) + acquire(0) +
    acquire(1) + success(0) + success(1) + acquire(2) + advance_ms(150) + acquire(3) +
    acquire(4) + acquire(5) + success(3) + failure(2) + release(4) + ok_fail(0, False),
    # The same limit under kReleased, judged by rate (K = 4, 2 concurrent,
    # 50 %), timeout 1.999999 ms (rounded up to a millisecond from the
    # breaker's creation), reaped by Snapshot() after every operation and
    # by state()/generation(): two hung trials go back without a verdict,
    # two more take their slots; late outcomes (success, release, failure)
    # are stale or only released; K decided trials at 50 % reopen
    # (TRIAL_FAILURE_RATE); the HALF_OPEN limit (1 s) comes before the reap.
    "seed_probe_timeout_released": header(consecutive=1, failure_pct=50, window_size=10,
                                          minimum_calls=10, open_duration=1 * S,
                                          judge_by_rate=True, trials=4, concurrent=2,
                                          half_open_max=1 * S, snapshot=1,
                                          probe_timeout_ms=1, probe_offset=2,
                                          probe_released=True) +
    ok_fail(0, True) + to_edge(0, 0) + acquire(0) + acquire(1) + advance_ms(1) + acquire(2) +
    advance_ms(1) + acquire(2) + acquire(3) + success(0) + release(1) + success(2) +
    to_edge(PROBE_EDGE, -1) + to_edge(PROBE_EDGE, 0) + failure(3) + acquire(4) + success(4) +
    acquire(5) + failure(5) + acquire(6) + acquire(7) + advance_us(250) + advance_us(250) + failure(6) +
    to_edge(0, 0) + acquire(0) + acquire(1) + advance_s(2) + release(0) + to_edge(0, 0) +
    call(0, 3) + acquire(1) + advance_ms(3) + call_or_throw(0, 1) + call(14, 1),
    # Invalid and wild per-probe configs: a 999 us timeout and an outcome
    # of 2 (both invalid); then 365 days (valid) with kReleased.
    "seed_probe_timeout_wild_invalid": header(wild=((WILD_PROBE_TIMEOUT, 13),
                                                    (WILD_PROBE_OUTCOME + 1, 2))),
    "seed_probe_timeout_wild_valid": header(consecutive=1, open_duration=1 * S, trials=2,
                                            concurrent=2, wild=((WILD_PROBE_TIMEOUT + 2, 5),
                                                                (WILD_PROBE_OUTCOME, 1))) +
    ok_fail(0, True) + to_edge(0, 0) + acquire(0) + acquire(1) + acquire(2) + advance_s(60) +
    acquire(2) + success(0) + success(1),
    # Slow start (slow_start_duration 10 ms), Snapshot() after every
    # operation: S = K = 2 trials close the breaker 3 us apart, gated: the
    # call at the closing instant is shed (f == 0: CLOSED, retry 10 ms, as
    # its retry_after() counts down with every operation after it); 1 ms
    # in, one draw (f ~ 0.1); 5 ms in, eight (f ~ 0.5) resolved as
    # successes; 9 ms in, eight more; 1 ns before the ramp's end (f ~ 1),
    # at it (admitted, the gate cleared) and after it, every call admitted.
    "seed_slow_start_recover": header(consecutive=1, open_duration=1 * S, trials=2,
                                      concurrent=2, slow_start=10 * MS, snapshot=1) +
    ok_fail(0, True) + to_edge(0, 0) + acquire(0) + acquire(1) + success(0) + advance_us(3) +
    success(1) + acquire(2) + acquire(3) + advance_us(1) + acquire(3) + advance_ms(1) +
    acquire(3) + advance_ms(4) + acquire_all() + resolve_all(0) + advance_ms(4) +
    acquire_all() + resolve_all(0) + to_edge(4, -1) + acquire(4) + to_edge(4, 0) + acquire(5) +
    acquire(6) + success(4) + success(5) + success(6) + advance_ms(1) + acquire_all() +
    resolve_all(0),
    # Shed at f == 0 by every way in (ramp 3 ms + 1 ns, closed on a
    # microsecond: the end, rounded up, is 3.001 ms away, so f stays 0 for
    # 999 ns): TryAcquire(), every slot, Call() with and without a
    # fallback, a throwing Call(), CallWithClassifier(), CallOrThrow()
    # (OpenError in CLOSED with the time left); 999 ns later still f == 0;
    # 1 ns later f ~ 3e-7. Shed calls change no window, run or trial
    # (failure threshold 50 % over a window of 4); Snapshot() after state().
    "seed_slow_start_shed": header(consecutive=2, failure_pct=50, window_size=4,
                                   minimum_calls=4, open_duration=1 * S, trials=1,
                                   slow_start=3 * MS + 1, snapshot=3) +
    ok_fail(0, True) + ok_fail(0, True) + to_edge(0, 0) + acquire(0) + success(0) + acquire(1) +
    acquire_all() + call(0) + call(14) + call(14, fallback=True) + call_throw(0) +
    call_result(0, 2) + call_or_throw(0) + advance_ns(255) + advance_ns(255) + advance_ns(255) +
    advance_ns(234) + acquire(2) + call_or_throw(0) + advance_ns(1) + acquire(3) +
    advance_us(100) + acquire(4) + failure(4) + acquire(5) + failure(5),
    # Mid-ramp (200 ms), a failure rate over 10 calls at 50 %: draws by
    # TryAcquire(), Call(), CallOrThrow(), CallWithClassifier() at f ~ 0.25,
    # 0.5 and 0.75; the permits admitted during the ramp resolve after its
    # end (not stale: the gate's clearing is no transition) and feed the
    # window, and a slow one (Success(took)) too; the snapshot every other
    # operation.
    "seed_slow_start_mid": header(consecutive=0, failure_pct=50, slow_pct=100,
                                  slow_call=100 * MS, window_size=10, minimum_calls=10,
                                  open_duration=1 * S, trials=1, slow_start=200 * MS,
                                  snapshot=2) +
    b"".join(ok_fail(0, True) for _ in range(10)) + to_edge(0, 0) + acquire(0) + success(0) +
    advance_ms(50) + acquire_all() + call(0, 1) + call(0, 1) + call(14, 1) +
    call_or_throw(0, 1) + call_or_throw(0, 1) + call_result(0, 2, 1) + advance_ms(50) +
    acquire(0) + acquire(1) + acquire(2) + acquire(3) + advance_ms(50) + acquire(4) +
    acquire(5) + acquire(6) + acquire(7) + to_edge(4, 0) + success(0) + success(1) +
    failure(2) + resolve_took(3, 0, 150) + acquire(0) + success(0) + resolve_all(0),
    # A trip during the ramp (50 ms + 999 ns, two failures in a row at
    # f ~ 1): OPEN as usual, the gate gone; backoff x2 reset by the close;
    # the next close ramps again; Reset() in a ramp admits everything at
    # once, so do METRICS_ONLY and an operator's CLOSED after FORCED_OPEN;
    # trials judged by S of K (S = 2 of 3) close gated.
    "seed_slow_start_trip": header(consecutive=2, open_duration=1 * S, multiplier=2,
                                   max_open_factor=8, trials=3, concurrent=3,
                                   successes_to_close=2, slow_start=50 * MS + 999, snapshot=1) +
    ok_fail(0, True) + ok_fail(0, True) + to_edge(0, 0) + acquire(0) + acquire(1) + failure(0) +
    to_edge(0, 0) + acquire(0) + acquire(1) + success(0) + success(1) + acquire(2) +
    to_edge(4, -1) + acquire(3) + acquire(4) + failure(3) + failure(4) + acquire(5) +
    to_edge(0, 0) + acquire(0) + acquire(1) + success(0) + success(1) + acquire(2) +
    operator(3) + acquire(3) + success(3) + ok_fail(0, True) + ok_fail(0, True) +
    to_edge(0, 0) + acquire(0) + acquire(1) + success(0) + success(1) + operator(2) +
    acquire(2) + success(2) + operator(0) + operator(3) + acquire(4) + success(4) +
    ok_fail(0, True) + ok_fail(0, True) + to_edge(0, 0) + acquire(0) + acquire(1) +
    success(0) + success(1) + advance_ms(25) + acquire_all() + resolve_all(1),
    # The ramp's end, and a close by a reaped trial: judged by rate (50 %,
    # K = 4 trials at once), half_open_probe_timeout 1 ms kFailure; three
    # successes and a hung trial, which Snapshot() reaps at its deadline (a
    # failure: 25 %, closed, gated from that instant: f == 0, ramp 1 ms);
    # its late success is stale; 1 ns before the end (f ~ 1) a call resolved
    # after it (not stale), at the end the gate clears, past it no edge.
    "seed_slow_start_end": header(consecutive=1, failure_pct=50, window_size=10,
                                  minimum_calls=10, open_duration=1 * S, judge_by_rate=True,
                                  trials=4, concurrent=4, snapshot=1, probe_timeout_ms=1,
                                  slow_start=1 * MS) +
    ok_fail(0, True) + to_edge(0, 0) + acquire(0) + acquire(1) + acquire(2) + acquire(3) +
    success(0) + success(1) + success(2) + to_edge(PROBE_EDGE, 0) + acquire(4) + success(3) +
    to_edge(4, -1) + acquire(5) + acquire(6) + to_edge(4, 0) + success(5) + acquire(7) +
    to_edge(4, 1) + success(6) + success(7) + ok_fail(0, True) + to_edge(0, 0) + acquire(0) +
    acquire(1) + acquire(2) + acquire(3) + resolve_all(0) + advance_us(250) + advance_us(250) + acquire_all() +
    resolve_all(0),
    # No ramp but after the trials' verdict: the shared state's CLOSED
    # (Follow()), Reset(); a ramp under kShared still sheds (the gate is
    # the breaker's), and Follow() into OPEN ends it.
    "seed_slow_start_shared": header(consecutive=1, open_duration=1 * S, trials=1,
                                     slow_start=10 * MS, snapshot=1, shared_ops=True) +
    ok_fail(0, True) + to_edge(0, 0) + acquire(0) + success(0) + set_sharing(SHARED) +
    acquire(1) + advance_ms(5) + acquire(1) + follow(OPEN, 100) + acquire(2) + follow(CLOSED) +
    acquire(2) + success(2) + set_sharing(LOCAL) + ok_fail(0, True) + to_edge(0, 0) +
    acquire(0) + success(0) + acquire(1) + operator(3) + acquire(1) + success(1) +
    ok_fail(0, True) + set_sharing(SHARED) + follow(HALF_OPEN) + lend(1) + acquire(0) +
    success(0) + set_sharing(DEGRADED) + acquire(1) + follow(CLOSED) + acquire(1),
    # Wild slow starts: 1 day + 1 ns (invalid); 1 day (valid: half a day in,
    # f ~ 0.5; at the end, admitted).
    "seed_slow_start_wild_invalid": header(slow_start_wild=4),
    "seed_slow_start_wild_valid": header(consecutive=1, open_duration=1 * S, trials=1,
                                         slow_start_wild=3, snapshot=1) +
    ok_fail(0, True) + to_edge(0, 0) + acquire(0) + success(0) + acquire(1) +
    advance_days16(8) + acquire_all() + resolve_all(0) + to_edge(4, -1) + acquire(0) +
    to_edge(4, 0) + acquire(1) + success(0) + success(1),
    # Adaptive throttling (K = 2) against a dependency that serves a fixed
    # capacity, 2 of the 8 calls offered each 100 ms bucket (window 1 s in
    # 10 buckets, no threshold, consecutive_failures_to_open 10^9 so nothing
    # trips): the third failure of the first bucket makes p > 0 and sets the
    # gate; from the next bucket on the first gated call of each bucket
    # judges, the rest draw (Call(), the model following), throttled calls
    # count as requests; then CallOrThrow() (OpenError in CLOSED, retry at
    # the next bucket), a bucket's last and first nanoseconds (no judge,
    # then a judge), and every slot.
    "seed_throttle_capacity": header(time_window=True, consecutive=0, window_duration=1 * S,
                                     buckets=10, minimum_calls=1, throttle=K_2, snapshot=1,
                                     wild=((2, 7), (0, 0))) +
    b"".join(call(0, 1) + call(0, 1) + b"".join(call(14, 1) for _ in range(6)) + advance_ms(92)
             for _ in range(9)) +
    call_or_throw(14, 1) + call_or_throw(0, 1) + to_edge(2, -1) + acquire(0) + to_edge(2, 0) +
    acquire(1) + acquire_all() + success(0) + success(1) + resolve_all(1) + advance_ms(50) +
    acquire_all() + resolve_all(0),
    # A total outage, then recovery (K = 2, window 1 s in 10 buckets, no
    # trip): healthy, then 8 buckets of failures (p rises towards
    # requests / (requests + 1), the throttled calls among the requests),
    # then 14 of successes: the failures and the throttled calls age out,
    # successes in later buckets fold and judge, the first gated call of a
    # bucket that judges p == 0 clears the gate. Snapshot() every other
    # operation.
    "seed_throttle_outage": header(time_window=True, consecutive=0, window_duration=1 * S,
                                   buckets=10, minimum_calls=1, throttle=K_2, snapshot=2,
                                   wild=((2, 7), (0, 0))) +
    b"".join(ok_fail(0, False) for _ in range(4)) + advance_ms(100) +
    b"".join(b"".join(ok_fail(i % 8, True) for i in range(4)) + advance_ms(100)
             for _ in range(8)) +
    b"".join(b"".join(ok_fail(i % 8, False) for i in range(4)) + advance_ms(100)
             for _ in range(14)) + acquire_all() + resolve_all(0),
    # Throttling with slow start (K = 1.5, ramp 200 ms, consecutive 2, open
    # 50 ms, window 1 s in 10 buckets): 2 failures in 5 calls set the gate
    # (p = 0.5 / 6), draws, a trip, a trial closes the breaker ramping in
    # the bucket where the CLOSED generation before was throttled: shed at
    # f = 0 (retry the ramp's end; counted as throttled requests too),
    # draws at f ~ 0.03 with no p judged for this generation yet; the next
    # bucket's first call judges p > 0 from the shed calls alone, draws at
    # f * (1 - p); the ramp's end (the gate stays while the judged p > 0:
    # rejections retry at the next bucket), bucket edges; failures, then
    # Reset() in the same bucket: the new generation's window starts in a
    # bucket holding the old one's throttled calls, so a success a bucket
    # later judges p > 0 and gates a generation with no failure.
    "seed_throttle_slow_start": header(time_window=True, consecutive=2, window_duration=1 * S,
                                       buckets=10, minimum_calls=1, open_duration=50 * MS,
                                       trials=1, slow_start=200 * MS, throttle=K_1_5,
                                       snapshot=1) +
    ok_fail(0, False) + ok_fail(0, False) + ok_fail(0, True) + ok_fail(0, False) +
    ok_fail(0, True) + acquire_all() + resolve_all(3) + ok_fail(0, True) + ok_fail(0, True) +
    ok_fail(0, True) + ok_fail(0, True) + to_edge(0, 0) + acquire(0) + success(0) + acquire(1) +
    acquire(2) + advance_ms(5) + acquire_all() + resolve_all(0) + to_edge(2, 0) +
    acquire_all() + resolve_all(0) + to_edge(2, 0) + acquire_all() + resolve_all(0) +
    to_edge(4, -1) + acquire(3) + to_edge(4, 0) + acquire(4) + acquire(5) + call_or_throw(0, 1) +
    to_edge(2, 0) + acquire_all() + resolve_all(0) + to_edge(2, 0) + acquire_all() +
    resolve_all(1) + operator(3) + acquire(0) + success(0) + to_edge(2, 0) + ok_fail(0, False) +
    acquire_all() + resolve_all(0),
    # The throttle's words across generations (K = 1, window 10 s in 10
    # buckets, no trip, the distributed mode's operations): a failure sets
    # the gate (p = 1/2), draws throttle some calls, Reset() in that bucket
    # (the snapshot counts them: bucket-wise, not per generation), a success
    # in the same bucket does not fold, one a bucket later does (the old
    # generation's judgment is withdrawn) and judges p > 0; METRICS_ONLY
    # folds and judges but never gates; Reset(); kShared still throttles,
    # kLocal folds and judges; 10 s later the first gated call judges p = 0
    # and clears the gate.
    "seed_throttle_generations": header(time_window=True, consecutive=0,
                                        window_duration=10 * S, buckets=10, minimum_calls=1,
                                        throttle=K_1, snapshot=1, shared_ops=True,
                                        wild=((2, 7), (0, 0))) +
    ok_fail(0, True) + acquire_all() + resolve_all(0) + operator(3) + acquire(0) + success(0) +
    advance_s(1) + ok_fail(0, False) + acquire_all() + resolve_all(0) + operator(2) +
    ok_fail(0, True) + ok_fail(0, False) + acquire_all() + resolve_all(3) + operator(3) +
    set_sharing(SHARED) + ok_fail(0, True) + ok_fail(0, True) + acquire_all() + resolve_all(1) +
    set_sharing(LOCAL) + acquire_all() + resolve_all(0) + advance_s(10) + acquire(0) +
    acquire_all() + resolve_all(0),
    # The judged probability is a generation's (K = 1, window 10 s in 10
    # buckets, no trip but FailureRetryAfter(), open 50 ms, ramp 10 ms): a
    # permit taken early, 4 failures (p judged 4/5), draws throttle calls;
    # the early permit's FailureRetryAfter() opens it (its fold judges the
    # generation it ends), a trial closes it ramping in the same bucket,
    # whose throttle claim is taken: past the ramp's end no p is judged for
    # this generation, so the first call clears the gate and every call is
    # admitted, however high the old generation's p; the snapshot counts
    # the old generation's throttled calls of that bucket, so a success a
    # bucket later folds, judges p > 0 and gates again.
    "seed_throttle_tags": header(time_window=True, consecutive=0, window_duration=10 * S,
                                 buckets=10, minimum_calls=1, open_duration=50 * MS, trials=1,
                                 slow_start=10 * MS, throttle=K_1, snapshot=1,
                                 retry_after_ops=True, wild=((2, 7), (0, 0))) +
    acquire(7) + b"".join(ok_fail(0, True) for _ in range(4)) +
    b"".join(acquire(i) for i in range(7)) + b"".join(release(i) for i in range(7)) +
    retry_after(7, 50) + to_edge(0, 0) + acquire(0) + success(0) + acquire(1) + to_edge(4, 0) +
    b"".join(acquire(i) for i in range(7)) + resolve_all(0) + to_edge(2, 0) + ok_fail(0, False) +
    b"".join(acquire(i) for i in range(7)) + resolve_all(0),
    # K = nextafter(2, 0): after a success and a failure the excess is
    # 2^-52, p = 2^-52 / 3 > 0 in Snapshot() but 0 as judged (x 2^32,
    # truncated): no gate, every call admitted; a second failure sets it.
    "seed_throttle_k_edge": header(time_window=True, consecutive=0, window_duration=10 * S,
                                   buckets=10, minimum_calls=1, throttle=K_JUST_UNDER_2,
                                   snapshot=1, wild=((2, 7), (0, 0))) +
    ok_fail(0, False) + ok_fail(0, True) + acquire_all() + resolve_all(3) + ok_fail(0, True) +
    acquire_all() + resolve_all(0) + to_edge(2, 0) + acquire_all() + resolve_all(0),
    # Invalid: throttling with a count window; K = 100 + 1 ulp with a time
    # window; K = NaN with throttling off (K is checked all the same).
    "seed_throttle_invalid_count": header(throttle=FORCED_K_2),
    "seed_throttle_invalid_k": header(time_window=True, throttle=K_JUST_OVER_100),
    "seed_throttle_invalid_k_off": header(throttle=K_NAN),
    # The latency-percentile trip alone (p90 over 10 ms, at least 10 calls,
    # a 10 s window of 1 s buckets, consecutive_failures_to_open = 0),
    # Snapshot() after every operation: 10 calls of 1 ms (the first judges
    # an empty window), an ignored and a released call (not counted), a
    # permit held; a bucket later its first outcome (a 50 ms failure) judges
    # p90 = 1 ms over 10 calls, then counts; another 50 ms; a bucket later a
    # success judges 12 calls: the 11th is 50 ms, over 10 ms: OPEN
    # (LATENCY_PERCENTILE 0.05, 0.01), the success and the held permit
    # stale; a trial closes it; the clock times Call()s and a call ending
    # on the threshold's bound +1 ns; METRICS_ONLY judges without tripping.
    "seed_latency_p90": header(time_window=True, consecutive=0, window_size=1,
                               window_duration=10 * S, buckets=10, minimum_calls=10,
                               open_duration=1 * S, snapshot=1, latency=(LAT_P90, LAT_T_10MS),
                               latency_alone=True) +
    b"".join(acquire(0) + resolve_took_unit(0, 0, 1, 2) for _ in range(10)) + acquire(1) +
    acquire(2) + ignore(2) + acquire(3) + release(3) + to_edge(2, 0) + acquire(0) +
    resolve_took_unit(0, 1, 50, 2) + acquire(0) + resolve_took_unit(0, 0, 50, 2) +
    to_edge(2, 0) + acquire(0) + success(0) + success(1) + to_edge(0, 0) + acquire(0) +
    success(0) + call(0, 20) + call(14, 2) + acquire(4) + to_latency_edge(4, 1) + success(4) +
    b"".join(call(0, 1) for _ in range(8)) + to_edge(2, 0) + call(0, 1) + operator(2) +
    b"".join(call(0, 30) for _ in range(10)) + to_edge(2, 0) + call(0, 1) + operator(3) +
    call(0, 1),
    # The nearest rank exactly: p99.9 over 1000 calls is the 999th (999 of
    # 0 ns and one of 50 ms: no trip over 1 us), over 1002 the 1001st (two
    # of 50 ms: OPEN); p = 100/3 (33.333333333333336) over 3 calls is the
    # 1st, not the 2nd (one of 0 ns and two of 50 ms: no trip over 1 ms),
    # over 6 the 2nd.
    "seed_latency_rank": header(time_window=True, consecutive=0, window_size=1,
                                window_duration=10 * S, buckets=10, minimum_calls=1,
                                snapshot=2, latency=(LAT_P99_9, LAT_T_1US), latency_alone=True) +
    b"".join(acquire_all() + resolve_all(0) for _ in range(124)) +
    b"".join(acquire(0) + success(0) for _ in range(7)) + acquire(0) +
    resolve_took_unit(0, 0, 50, 2) + to_edge(2, 0) + acquire(0) + success(0) + acquire(0) +
    resolve_took_unit(0, 0, 50, 2) + to_edge(2, 0) + acquire(0) + success(0),
    "seed_latency_rank_third": header(time_window=True, consecutive=0, window_size=1,
                                      window_duration=10 * S, buckets=10, minimum_calls=3,
                                      snapshot=1, latency=(LAT_P_THIRD, LAT_T_1MS),
                                      latency_alone=True) +
    acquire(0) + success(0) + acquire(0) + resolve_took_unit(0, 0, 50, 2) + acquire(0) +
    resolve_took_unit(0, 1, 50, 2) + to_edge(2, 0) + acquire(0) + resolve_took_unit(0, 0, 50, 2) +
    acquire(0) + resolve_took_unit(0, 0, 50, 2) + acquire(0) + resolve_took_unit(0, 0, 50, 2) +
    to_edge(2, 0) + acquire(0) + success(0),
    # With a failure-rate window too (50 %, at least 2 calls): two 5 ms
    # successes, a bucket later a success judges p50 = 5 ms over 1 ms:
    # OPEN, and Snapshot() shows the CLOSED window that opened it (2 calls,
    # failure_rate 0; bug 13: the breaker shows none); a trial closes it,
    # two failures trip by rate (the latency window judged each bucket).
    "seed_latency_rate_window": header(time_window=True, consecutive=0, failure_pct=50,
                                       window_size=1, window_duration=10 * S, buckets=10,
                                       minimum_calls=2, open_duration=1 * S, snapshot=1,
                                       latency=(LAT_P50, LAT_T_1MS)) +
    acquire(0) + resolve_took_unit(0, 0, 5, 2) + acquire(0) + resolve_took_unit(0, 0, 5, 2) +
    to_edge(2, 0) + acquire(0) + success(0) + advance_ms(200) + to_edge(0, 0) + acquire(0) +
    success(0) + acquire(0) + failure(0) + to_edge(2, 0) + acquire(0) + failure(0),
    # METRICS_ONLY and the shared state judge but do not trip (consecutive
    # 3 too): METRICS_ONLY's 5 ms calls over 1 ms shown by Snapshot(); a
    # permit of METRICS_ONLY resolved in the CLOSED after Reset() is stale
    # (not counted); kShared: the bucket's judge finds p90 over, no trip;
    # back to kLocal in the same bucket: no judge, no trip; the next
    # bucket's first outcome trips.
    "seed_latency_hold": header(time_window=True, consecutive=3, window_size=1,
                                window_duration=4 * S, buckets=4, minimum_calls=3,
                                open_duration=1 * S, snapshot=3, shared_ops=True,
                                latency=(LAT_P90, LAT_T_1MS)) +
    operator(2) + b"".join(acquire(0) + resolve_took_unit(0, 0, 5, 2) for _ in range(3)) +
    acquire(1) + to_edge(2, 0) + acquire(0) + success(0) + operator(3) +
    resolve_took_unit(1, 0, 9, 2) + set_sharing(SHARED) +
    b"".join(acquire(0) + resolve_took_unit(0, 1, 5, 2) for _ in range(2)) +
    acquire(0) + resolve_took_unit(0, 0, 5, 2) + to_edge(2, 0) + acquire(0) + success(0) +
    set_sharing(LOCAL) + acquire(0) + success(0) + to_edge(2, 0) + acquire(0) + success(0),
    # SlowCallClock::kCaller: only the caller's durations count (an untimed
    # Success() and the clock's 100 ms Call() do not, and judge nothing);
    # p100 over 25 ms, at least 1 call: 30 ms trips a bucket later, at the
    # first outcome with a duration (value 0.03).
    "seed_latency_caller_clock": header(time_window=True, consecutive=0, window_size=1,
                                        window_duration=10 * S, buckets=10, minimum_calls=1,
                                        slow_clock=3, snapshot=1,
                                        latency=(LAT_P100, LAT_T_25MS), latency_alone=True) +
    acquire(0) + success(0) + call(0, 100) + to_edge(2, 0) + acquire(0) + success(0) +
    acquire(0) + resolve_took_unit(0, 0, 30, 2) + to_edge(2, 0) + call(0, 100) + acquire(0) +
    resolve_took_unit(0, 1, 1, 2),
    # The threshold's bin and the window's edges (p100 over 1.2 ms, in force
    # 1.25 ms; a 1 s window of 4 buckets, at least 2 calls): calls ending on
    # the bound (not over) and 1 ns past it (over: 1.375 ms), in bucket 1;
    # the judge of bucket 5, 4 buckets later, still sees it: OPEN; a trial
    # closes it; an over-threshold call and a fast one, then no outcome for
    # 5 buckets: the next judge's window (the 4 buckets before) is empty.
    "seed_latency_edges": header(time_window=True, consecutive=0, window_size=1,
                                 window_duration=1 * S, buckets=4, minimum_calls=2,
                                 open_duration=10 * MS, snapshot=1,
                                 latency=(LAT_P100, LAT_T_1_2MS), latency_alone=True) +
    acquire(0) + to_latency_edge(0, 0) + success(0) + acquire(0) + to_latency_edge(0, -1) +
    failure(0) + to_edge(2, 0) + acquire(0) + success(0) + acquire(0) + to_latency_edge(0, 1) +
    success(0) + advance_ms(250) + advance_ms(250) + advance_ms(250) + to_edge(2, -1) +
    acquire(1) + release(1) + to_edge(2, 0) + acquire(0) + success(0) + to_edge(0, 0) +
    acquire(0) + success(0) + acquire(0) + to_latency_edge(0, 1) + success(0) + acquire(0) +
    success(0) + b"".join(to_edge(2, 0) for _ in range(5)) + acquire(0) + success(0) +
    to_edge(2, 0) + acquire(0) + success(0),
    # A threshold a fraction of a nanosecond over 1 us: in force as 1.125
    # us (the rule rounds up to a bin's bound), so a call of 1001 ns is not
    # over it.
    "seed_latency_fraction": header(time_window=True, consecutive=0, window_size=1,
                                    window_duration=10 * S, buckets=10, minimum_calls=1,
                                    snapshot=1, latency=(LAT_P100, LAT_T_1000_5NS),
                                    latency_alone=True) +
    acquire(0) + advance_us(1) + advance_ns(1) + success(0) + to_edge(2, 0) + acquire(0) +
    success(0),
    # Invalid: the percentile with a count window; a threshold of 0; NaN
    # (and nothing else to trip); -0 with nothing else to trip; valid: a
    # count window without the percentile, whose infinite threshold is not
    # checked (Snapshot() shows 0).
    "seed_latency_invalid_count": header(latency=(LAT_P90, LAT_T_10MS), latency_forced=True,
                                         window_size=1),
    "seed_latency_invalid_threshold": header(time_window=True, window_size=1,
                                             latency=(LAT_P99, LAT_T_0)),
    "seed_latency_invalid_nan": header(time_window=True, window_size=1,
                                       latency=(LAT_P_NAN, LAT_T_10MS), latency_alone=True),
    "seed_latency_invalid_off_alone": header(time_window=True, window_size=1,
                                             latency=(LAT_P_MINUS_0, LAT_T_10MS),
                                             latency_alone=True),
    "seed_latency_off_count": header(window_size=1, latency=(LAT_P90, LAT_T_INF), snapshot=1) +
    call(0, 20) + call(14, 20),
    # A wild config: NaN failure threshold (invalid) and a zero window size.
    "seed_wild_invalid": header(wild=((3, 0), (7, 0))),
    # A wild but valid config: window_size 1'000'000, half-open max 365 days.
    "seed_wild_valid": header(failure_pct=50, wild=((7, 5), (18, 5))) +
    b"".join(ok_fail(0, True) for _ in range(6)),
}


def main():
    out = os.path.join(HERE, "corpus")
    if len(sys.argv) > 1:
        out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
