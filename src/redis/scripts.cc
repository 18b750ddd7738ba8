// File: src/redis/scripts.cc
// The shared breaker's Lua scripts and the C++ on either side of them
// (src/redis/scripts.h).
#include "redis/scripts.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "circuit/config.h"
#include "circuit/state.h"

namespace circuit {
namespace redis {
namespace internal {
namespace {

// What both scripts start with: the reading and checking of the state hash,
// the reply's shape, Redis's clock. Numbers are written with %d or %.17g:
// Lua 5.1's own conversion keeps 14 digits, too few for microseconds.
constexpr char kPrelude[] = R"lua(
local function num(x)
  local n = tonumber(x)
  if n == nil or n ~= n or n == math.huge or n == -math.huge then return nil end
  return n
end
local function I(x) return string.format('%d', x) end
local function D(x) return string.format('%.17g', x) end
local F = {'st','g','ou','oa','ro','hu','wc','wf','ws','run','hg','ts','tf','tsl','cause','cv','ct'}
-- HMGET, or nil when the key holds another type (WRONGTYPE).
local function hmget(key, ...)
  local vals = redis.pcall('HMGET', key, ...)
  if vals['err'] then return nil end
  return vals
end
local function load_state(key)
  local vals = hmget(key, unpack(F))
  local r, ok, present = {}, vals ~= nil, vals == nil
  vals = vals or {}
  for i, f in ipairs(F) do
    local n = 0
    if vals[i] then
      present = true
      n = num(vals[i])
      if n == nil or n < 0 then ok = false; n = 0 end
    end
    r[f] = n
  end
  if r.st ~= 0 and r.st ~= 1 and r.st ~= 2 then ok = false end
  if r.wf > r.wc or r.ws > r.wc or r.cause > 9 then ok = false end
  if not ok then for _, f in ipairs(F) do r[f] = 0 end end
  return r, ok, present
end
local function reply(r, now, lent, repaired)
  local remaining = 0
  if r.st == 1 and r.ou > now then remaining = r.ou - now end
  return {r.st, r.g, remaining, lent, r.wc, r.wf, r.ws, r.run, r.ts, r.tf, r.oa, r.cause,
          D(r.cv), D(r.ct), repaired, now, r.hg}
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
)lua";

// KEYS: state, window, instance. ARGV (see PushCommand()):
//  1 epoch  2-4 lifetime calls, failures, slow  5-7 the same since the last
//  acknowledged push  8 the local run  9 a success in the batch (0/1)
//  10 trial generation (-1: none)  11-13 trial successes, failures, slow
//  14 trial slots wanted  15 window (0 none, 1 count, 2 time)  16 its size
//  (calls, or ms)  17 minimum calls  18 failure rate %  19 slow rate %
//  20 consecutive failures  21 open ms  22 backoff multiplier  23 max open
//  ms  24 trials K  25 successes to close S  26 judge by rate (0/1)
//  27 HALF_OPEN limit ms  28 key TTL ms  29 set the TTLs again (0/1)
constexpr char kPushBody[] = R"lua(
local sk, wk, ik = KEYS[1], KEYS[2], KEYS[3]
local repaired = 0
local a = {}
for i = 2, 29 do
  local n = num(ARGV[i])
  if n == nil or n < 0 then n = 0 end
  a[i] = n
end
local epoch = ARGV[1]
local trial_gen = num(ARGV[10]) or -1
local r, ok, present = load_state(sk)
local created = not ok or not present
if not ok then
  -- Absent (no field at all), or garbage: start afresh either way.
  if redis.call('EXISTS', sk) == 1 then repaired = 1 end
  redis.call('DEL', sk, wk)
end

local function clear_window()
  redis.call('DEL', wk)
  r.wc = 0; r.wf = 0; r.ws = 0; r.run = 0
end
local function trials_over() r.hu = 0; r.hg = 0; r.ts = 0; r.tf = 0; r.tsl = 0 end
local function open(cause, value, threshold, from_half)
  if from_half then r.ro = r.ro + 1 else r.ro = 0 end
  local ms = a[21] * (a[22] ^ r.ro)
  if ms ~= ms or ms > a[23] then ms = a[23] end
  r.st = 1; r.g = r.g + 1; r.ou = now + math.floor(ms * 1000); r.oa = now
  r.cause = cause; r.cv = value; r.ct = threshold
  trials_over(); clear_window()
end
local function close()
  r.st = 0; r.g = r.g + 1; r.ro = 0; trials_over(); clear_window()
end

-- Time-due transitions: OPEN ends when an instance has calls waiting (as a
-- breaker's OPEN ends at the first call after it); HALF_OPEN reopens at
-- its limit.
if r.st == 1 and now >= r.ou and a[14] > 0 then
  r.st = 2; r.g = r.g + 1; trials_over(); r.hu = now + math.floor(a[27] * 1000)
end
if r.st == 2 and r.hu > 0 and now >= r.hu then open(7, a[27] / 1000, a[27] / 1000, true) end

-- What this instance gathered since the store last heard from it: the
-- difference of lifetime counts (a retried push adds nothing), or, for an
-- instance the store does not know (new, or the keys were lost), what it
-- gathered since its last acknowledged push.
local iv = hmget(ik, 'ep', 'c', 'f', 's', 'tg', 'tsu', 'tfa', 'tsl', 'lg')
if iv == nil then redis.call('DEL', ik); repaired = 1; iv = {} end
local known = iv[1] == epoch
local ic, ifl, isl = num(iv[2]), num(iv[3]), num(iv[4])
local dc, df, ds
if known and ic and ifl and isl and a[2] >= ic and a[3] >= ifl and a[4] >= isl then
  dc, df, ds = a[2] - ic, a[3] - ifl, a[4] - isl
else
  dc, df, ds = a[5], a[6], a[7]
end
if df > dc then df = dc end
if ds > dc then ds = dc end
local tg = (known and num(iv[5])) or -1
local tsu = (known and num(iv[6])) or 0
local tfa = (known and num(iv[7])) or 0
local tsl = (known and num(iv[8])) or 0
local lg = (known and num(iv[9])) or 0

local function parse(e)
  if not e then return nil end
  local t1, c, f, s = string.match(e, '^(%d+),(%d+),(%d+),(%d+)$')
  if not t1 then return nil end
  return tonumber(t1), tonumber(c), tonumber(f), tonumber(s)
end

-- CLOSED: the batch joins the window, the oldest batches leave it, and the
-- window is judged. Counts pushed while the shared breaker is not CLOSED
-- are dropped, as a breaker drops outcomes of another generation.
if r.st == 0 and dc > 0 then
  if a[15] ~= 0 then
    local pushed = redis.pcall('RPUSH', wk, I(now) .. ',' .. I(dc) .. ',' .. I(df) .. ',' .. I(ds))
    if type(pushed) == 'table' then
      -- Another type at the window's key: the sums it had are gone with it.
      clear_window(); repaired = 1
      redis.call('RPUSH', wk, I(now) .. ',' .. I(dc) .. ',' .. I(df) .. ',' .. I(ds))
    elseif pushed == 1 then
      created = true
    end
    r.wc = r.wc + dc; r.wf = r.wf + df; r.ws = r.ws + ds
    while true do
      local ht, hc, hf, hs = parse(redis.call('LINDEX', wk, 0))
      if ht == nil then
        if redis.call('LLEN', wk) > 0 then clear_window(); repaired = 1 end
        break
      end
      local drop
      if a[15] == 2 then drop = ht <= now - a[16] * 1000 else drop = r.wc - hc >= a[16] end
      if not drop then break end
      redis.call('LPOP', wk)
      r.wc = r.wc - hc; r.wf = r.wf - hf; r.ws = r.ws - hs
    end
    if r.wc < 0 or r.wf < 0 or r.ws < 0 or r.wf > r.wc or r.ws > r.wc then
      clear_window(); repaired = 1
    end
  end
  if ARGV[9] == '1' then r.run = a[8] else r.run = r.run + df end
  local tripped = false
  if a[15] ~= 0 and r.wc > 0 and r.wc >= a[17] then
    local fr = r.wf * 100 / r.wc
    local sr = r.ws * 100 / r.wc
    if a[18] > 0 and fr >= a[18] then open(2, fr, a[18], false); tripped = true
    elseif a[19] > 0 and sr >= a[19] then open(3, sr, a[19], false); tripped = true end
  end
  if not tripped and a[20] > 0 and r.run >= a[20] then open(1, r.run, a[20], false) end
end

-- HALF_OPEN: this instance's trials join every instance's, the verdict is
-- given when it can be, and trial slots are lent to an instance with calls
-- waiting, K in all.
if r.st == 2 then
  if tg ~= r.g then tg = r.g; tsu = 0; tfa = 0; tsl = 0; lg = 0 end
  if trial_gen == r.g then
    if a[11] > tsu then r.ts = r.ts + a[11] - tsu; tsu = a[11] end
    if a[12] > tfa then r.tf = r.tf + a[12] - tfa; tfa = a[12] end
    if a[13] > tsl then r.tsl = r.tsl + a[13] - tsl; tsl = a[13] end
  end
  local K, S = a[24], a[25]
  if a[26] == 0 then
    if r.ts >= S then close()
    elseif r.tf > K - S then open(4, r.tf, K - S + 1, true) end
  elseif r.ts + r.tf >= K then
    local done = r.ts + r.tf
    local fr = r.tf * 100 / done
    local sr = r.tsl * 100 / done
    if a[18] > 0 and fr >= a[18] then open(5, fr, a[18], true)
    elseif a[19] > 0 and sr >= a[19] then open(6, sr, a[19], true)
    else close() end
  end
  if r.st == 2 and a[14] > 0 then
    local grant = math.min(a[14], K - r.hg)
    if grant > 0 then r.hg = r.hg + grant; lg = lg + grant end
  end
end

local fields = {}
for _, f in ipairs(F) do
  fields[#fields + 1] = f
  if f == 'cv' or f == 'ct' then fields[#fields + 1] = D(r[f]) else fields[#fields + 1] = I(r[f]) end
end
redis.call('HSET', sk, unpack(fields))
redis.call('HSET', ik, 'ep', epoch, 'c', I(a[2]), 'f', I(a[3]), 's', I(a[4]), 'tg', I(tg),
           'tsu', I(tsu), 'tfa', I(tfa), 'tsl', I(tsl), 'lg', I(lg))
-- The TTLs: set on a key this push created, and when the instance asks
-- (ARGV[29]: it does every quarter TTL), not on every push.
if created or not known or a[29] == 1 then
  local ttl = math.max(1000, math.floor(a[28]))
  redis.call('PEXPIRE', sk, ttl)
  redis.call('PEXPIRE', wk, ttl)
  redis.call('PEXPIRE', ik, ttl)
end
local lent = 0
if r.st == 2 and tg == r.g then lent = lg end
return reply(r, now, lent, repaired)
)lua";

// KEYS: state, instance. ARGV: 1 epoch. Writes nothing; {-1} when the state
// hash cannot be read (the next push repairs it).
constexpr char kReadBody[] = R"lua(
local sk, ik = KEYS[1], KEYS[2]
local r, ok = load_state(sk)
if not ok then return {-1} end
local lent = 0
if r.st == 2 then
  local iv = hmget(ik, 'ep', 'tg', 'lg')
  if iv and iv[1] == ARGV[1] and num(iv[2]) == r.g then lent = num(iv[3]) or 0 end
end
return reply(r, now, lent, 0)
)lua";

std::string Escape(absl::string_view name) {
  std::string out;
  for (const unsigned char c : name) {
    if (c == '{' || c == '}' || c == '%' || c < 0x21 || c == 0x7f) {
      absl::StrAppendFormat(&out, "%%%02X", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string Millis(absl::Duration d) { return absl::StrFormat("%.6f", absl::ToDoubleMilliseconds(d)); }

}  // namespace

const std::string& PushScript() {
  static const std::string* const script = new std::string(absl::StrCat(kPrelude, kPushBody));
  return *script;
}

const std::string& ReadScript() {
  static const std::string* const script = new std::string(absl::StrCat(kPrelude, kReadBody));
  return *script;
}

BreakerKeys KeysOf(absl::string_view prefix, absl::string_view name,
                   absl::string_view instance_id) {
  const std::string base = absl::StrCat(prefix, "{", Escape(name), "}:");
  return {absl::StrCat(base, "s"), absl::StrCat(base, "w"),
          absl::StrCat(base, "i:", Escape(instance_id))};
}

Command PushCommand(absl::string_view sha, const BreakerKeys& keys, const Push& push,
                    const BreakerConfig& config, const RedisOptions& options) {
  const ::circuit::internal::LocalCounts& now = push.now;
  const ::circuit::internal::LocalCounts& acked = push.acked;
  const bool rates = config.failure_rate_threshold > 0 || config.slow_call_rate_threshold > 0;
  const bool time_window = config.window_type == WindowType::kTimeBased;
  const int to_close = config.half_open_successes_to_close > 0
                           ? config.half_open_successes_to_close
                           : config.half_open_trial_calls;
  const absl::Duration half_open_limit = config.half_open_max_duration > absl::ZeroDuration()
                                             ? config.half_open_max_duration
                                             : options.half_open_limit;
  return {
      "EVALSHA",
      std::string(sha),
      "3",
      keys.state,
      keys.window,
      keys.instance,
      push.epoch,
      absl::StrCat(now.calls),
      absl::StrCat(now.failures),
      absl::StrCat(now.slow),
      absl::StrCat(now.calls - acked.calls),
      absl::StrCat(now.failures - acked.failures),
      absl::StrCat(now.slow - acked.slow),
      absl::StrCat(now.consecutive_failures),
      push.batch_had_success ? "1" : "0",
      absl::StrCat(push.trial_generation),
      absl::StrCat(now.trial_successes),
      absl::StrCat(now.trial_failures),
      absl::StrCat(now.trial_slow),
      absl::StrCat(push.slots_wanted),
      !rates ? "0" : time_window ? "2" : "1",
      time_window ? Millis(config.window_duration) : absl::StrCat(config.window_size),
      absl::StrCat(config.minimum_calls),
      absl::StrFormat("%.17g", config.failure_rate_threshold),
      absl::StrFormat("%.17g", config.slow_call_rate_threshold),
      absl::StrCat(EffectiveConsecutiveFailuresToOpen(config)),
      Millis(config.open_duration),
      absl::StrFormat("%.17g", config.open_backoff_multiplier),
      Millis(config.max_open_duration),
      absl::StrCat(config.half_open_trial_calls),
      absl::StrCat(to_close),
      config.half_open_judge_by_rate ? "1" : "0",
      Millis(half_open_limit),
      Millis(options.key_ttl),
      push.refresh_ttl ? "1" : "0",
  };
}

Command ReadCommand(absl::string_view sha, const BreakerKeys& keys, absl::string_view epoch) {
  return {"EVALSHA", std::string(sha), "2", keys.state, keys.instance, std::string(epoch)};
}

namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(absl::StrCat("Redis: a malformed script reply: ", what));
}

// Element `i` as a non-negative integer below `limit`.
absl::Status Integer(const Reply& reply, size_t i, int64_t limit, int64_t* out) {
  const Reply& e = reply.elements[i];
  if (e.type != Reply::Type::kInteger) return Malformed(absl::StrCat("element ", i, " not an integer"));
  if (e.integer < 0 || e.integer > limit) {
    return Malformed(absl::StrCat("element ", i, " out of range: ", e.integer));
  }
  *out = e.integer;
  return absl::OkStatus();
}

absl::Status Double(const Reply& reply, size_t i, double* out) {
  const Reply& e = reply.elements[i];
  if (e.type != Reply::Type::kString || !absl::SimpleAtod(e.str, out) || !std::isfinite(*out)) {
    return Malformed(absl::StrCat("element ", i, " not a number"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ScriptReply> ParseScriptReply(const Reply& reply) {
  if (reply.is_error()) return absl::UnavailableError(absl::StrCat("Redis: ", reply.str));
  if (reply.type != Reply::Type::kArray) return Malformed("not an array");
  ScriptReply out;
  if (reply.elements.size() == 1 && reply.elements[0].type == Reply::Type::kInteger &&
      reply.elements[0].integer == -1) {
    out.valid = false;
    return out;
  }
  if (reply.elements.size() != 17) {
    return Malformed(absl::StrCat(reply.elements.size(), " elements, not 17"));
  }
  constexpr int64_t kCount = int64_t{1} << 53;  // what a Lua number holds exactly
  constexpr int64_t kSmall = UINT32_MAX;
  int64_t v[17] = {};
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, 16}) {
    const int64_t limit = i == 0 ? 2 : i == 11 ? 9 : i == 14 ? 1
                        : (i == 3 || i == 7 || i == 8 || i == 9 || i == 16) ? kSmall
                                                                            : kCount;
    if (absl::Status s = Integer(reply, i, limit, &v[i]); !s.ok()) return s;
  }
  double value = 0;
  double threshold = 0;
  if (absl::Status s = Double(reply, 12, &value); !s.ok()) return s;
  if (absl::Status s = Double(reply, 13, &threshold); !s.ok()) return s;
  SharedState& st = out.state;
  st.known = true;
  st.state = v[0] == 0 ? State::kClosed : v[0] == 1 ? State::kOpen : State::kHalfOpen;
  st.generation = static_cast<uint64_t>(v[1]);
  st.open_remaining = absl::Microseconds(v[2]);
  st.trial_slots_lent_here = static_cast<uint32_t>(v[3]);
  st.window_calls = static_cast<uint64_t>(v[4]);
  st.window_failures = static_cast<uint64_t>(v[5]);
  st.window_slow = static_cast<uint64_t>(v[6]);
  st.consecutive_failures = static_cast<uint32_t>(v[7]);
  st.trial_successes = static_cast<uint32_t>(v[8]);
  st.trial_failures = static_cast<uint32_t>(v[9]);
  st.opened_at = absl::FromUnixMicros(v[10]);
  st.last_trip.cause = static_cast<TripCause>(v[11]);
  st.last_trip.value = value;
  st.last_trip.threshold = threshold;
  st.last_trip.generation = static_cast<uint32_t>(v[1]);
  out.repaired = v[14] != 0;
  out.now = absl::FromUnixMicros(v[15]);
  st.trial_slots_granted = static_cast<uint32_t>(v[16]);
  return out;
}

}  // namespace internal
}  // namespace redis
}  // namespace circuit
