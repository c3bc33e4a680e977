"""Every Lua script Stormline runs on Redis, each with a line on what it makes atomic.

One module, so that one place says what each atomic step does; `Scripts.register` puts them all on a
client once (redis-py re-sends a script if the server restarted and lost it).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

# Applies one planned change (incident/events.py's `Change`) and appends its event, or writes nothing
# if a guard fails. ARGV[1] is the plan, one MessagePack array (redis-py packs each argument in
# Python, and a call's plan has well over a hundred: one blob costs a fraction of that). Redis's
# cmsgpack reads no binary strings, so each bytes value (a record, an event) is its own argument,
# stood for in the plan by -n for ARGV[n + 1]. The plan, read in order: guard count, then
# (key index, field, expected) per guard; op count, then (command, key index, argument count,
# arguments…) per op; stream key index; count and key indexes of streams that get a copy with the
# same id; count and values of the event's fields.
APPLY = """
local plan = cmsgpack.unpack(ARGV[1])
local i = 0
local function nxt()
  i = i + 1
  local v = plan[i]
  if type(v) == 'number' and v < 0 then return ARGV[1 - v] end
  return v
end
for _ = 1, tonumber(nxt()) do
  local key, field, expected = KEYS[tonumber(nxt())], nxt(), nxt()
  local actual = redis.call('HGET', key, field) or ''
  if actual ~= expected then return {0, key, actual} end
end
for _ = 1, tonumber(nxt()) do
  local name, key, args = nxt(), KEYS[tonumber(nxt())], {}
  for j = 1, tonumber(nxt()) do args[j] = nxt() end
  redis.call(name, key, unpack(args))
end
local stream, also, fields = KEYS[tonumber(nxt())], {}, {}
for j = 1, tonumber(nxt()) do also[j] = KEYS[tonumber(nxt())] end
for j = 1, tonumber(nxt()) do fields[j] = nxt() end
local id = redis.call('XADD', stream, '*', unpack(fields))
for _, key in ipairs(also) do redis.call('XADD', key, id, unpack(fields)) end
return {1, id}
"""

# Gives an Idempotency-Key up: deletes it if ARGV[1] still owns it (so a late release never frees a
# key someone else has claimed since).
RELEASE = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# Reserves one sign-in attempt, or says how long to wait: one atomic check-and-count, so guesses
# sent in parallel cannot all slip past the count. KEYS: per (name, address), per name. ARGV: now,
# free attempts for each key, the longest wait. Each attempt counts as wrong until it succeeds.
GATE = """
local now, wait = tonumber(ARGV[1]), 0
for i = 1, 2 do
  local until_ = tonumber(redis.call('HGET', KEYS[i], 'until') or '0')
  if until_ - now > wait then wait = until_ - now end
end
if wait > 0 then return tostring(wait) end
for i = 1, 2 do
  local extra = redis.call('HINCRBY', KEYS[i], 'attempts', 1) - tonumber(ARGV[i + 1])
  if extra > 0 then
    redis.call('HSET', KEYS[i], 'until', tostring(now + math.min(2 ^ (extra - 1), tonumber(ARGV[4]))))
  end
  redis.call('EXPIRE', KEYS[i], 3600)
end
return '0'
"""

# Two Lua functions, not scripts: intake calls both inside FIRST_READ (one round trip).
# `claim` claims an Idempotency-Key for this body if nobody has, else reports its state: one atomic
# read-and-set, so the numbers intake allocates are never spent on a request that is a replay.
# `nearby` reads a call's probable duplicates and their records together; each record is read from
# `prefix .. ticket`, the incident key the key schema gives (passed in as `keys.incident("")`).
_FUNCTIONS = """
local function claim(key, fingerprint, owner, lease_ms)
  local cur = redis.call('HMGET', key, 'fingerprint', 'state', 'status', 'body')
  if not cur[1] then
    redis.call('HSET', key, 'fingerprint', fingerprint, 'state', 'pending', 'owner', owner)
    redis.call('PEXPIRE', key, lease_ms)
    return {'claimed'}
  end
  if cur[1] ~= fingerprint then return {'mismatch'} end
  if cur[2] == 'done' then return {'done', cur[3], cur[4]} end
  return {'pending'}
end
local function nearby(geo_key, caller_key, lon, lat, radius, count, caller_count, prefix)
  local near, callers, records, seen = {}, {}, {}, {}
  if geo_key ~= '' then
    near = redis.call('GEOSEARCH', geo_key, 'FROMLONLAT', lon, lat, 'BYRADIUS', radius, 'm',
                      'ASC', 'COUNT', count, 'WITHDIST')
  end
  if caller_key ~= '' then callers = redis.call('ZREVRANGE', caller_key, 0, caller_count - 1) end
  local function read(ticket)
    if not seen[ticket] then
      seen[ticket] = true
      records[#records + 1] = redis.call('HGET', prefix .. ticket, 'data') or false
    end
  end
  for _, row in ipairs(near) do read(row[1]) end
  for _, ticket in ipairs(callers) do read(ticket) end
  return {near, callers, records}
end
"""

# A call's probable duplicates and their records, read together (the duplicate check on its own).
# KEYS and ARGV: nearby's.
NEARBY = _FUNCTIONS + "return nearby(KEYS[1], KEYS[2], unpack(ARGV))"

# Everything intake reads before it writes, in one round trip: the Idempotency-Key claimed (stopping
# there, with nothing allocated, if the request is a retry), the call's number and for a new incident
# its order and ticket number, the center's state, and the probable duplicates with their records.
# KEYS: idempotency ('' for none), call seq, incident seq ('' to attach to a ticket), ticket seq,
# center, then nearby's two. ARGV: fingerprint, owner, lease (ms), then nearby's six.
FIRST_READ = (
    _FUNCTIONS
    + """
local claimed = {'none'}
if KEYS[1] ~= '' then
  claimed = claim(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
  if claimed[1] ~= 'claimed' then return {claimed} end
end
local call = redis.call('INCR', KEYS[2])
if KEYS[3] == '' then return {claimed, {call}} end
local numbers = {call, redis.call('INCR', KEYS[3]), redis.call('INCR', KEYS[4])}
return {claimed, numbers, redis.call('HGET', KEYS[5], 'data') or false,
        nearby(KEYS[6], KEYS[7], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])}
"""
)


# A request's rate limits (GCRA, as quart-rate-limiter computes them) checked and taken as one step:
# if any limit refuses, none is taken and the answer is {seconds to wait, which limit}; else every limit's
# theoretical arrival time moves on by its interval and the answer is {0, then each limit's seconds
# until it is whole again} (for the RateLimit headers). KEYS: one per limit; ARGV: now, then
# (interval, period) per limit, in seconds. Read-then-write from Python let concurrent requests all pass.
# Times are kept to the microsecond (Lua's tostring keeps 14 digits: a tenth of a millisecond of an
# epoch), and a millisecond's slack keeps that rounding from refusing the last request a limit allows.
LIMIT = """
local now = tonumber(ARGV[1])
local tats = {}
for i, key in ipairs(KEYS) do
  local interval, period = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local tat = math.max(tonumber(redis.call('GET', key)) or now, now)
  local most = period - interval
  if tat - now > most + 0.001 then return {tostring(tat - most - now), tostring(i)} end
  tats[i] = tat + interval
end
local answer = {'0'}
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%.6f', tats[i]), 'EX', math.max(1, math.ceil(tats[i] - now) + 1))
  answer[i + 1] = tostring(tats[i] - now)
end
return answer
"""


# Finds the registered residents a call may be from, and audits the read, in one step (intake pays one
# round trip for it). KEYS: the number's set, the residents' geo set, the audit stream. ARGV: lon, lat
# and radius in metres ('' when the call has no point), the residents' key prefix, then the audit
# event's at, actor and role ('' for none) and purpose. Returns (how matched, record) pairs: residents
# with the number first (by id), then those nearest the point; nothing is audited when none match.
MATCH = """
local found, how = {}, {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do found[#found + 1] = id; how[id] = 'number' end
table.sort(found)
if ARGV[1] ~= '' then
  local near = redis.call('GEOSEARCH', KEYS[2], 'FROMLONLAT', ARGV[1], ARGV[2], 'BYRADIUS', ARGV[3], 'm',
    'ASC', 'COUNT', 5)
  for _, id in ipairs(near) do
    if not how[id] then found[#found + 1] = id; how[id] = 'address' end
  end
end
if #found == 0 then return {} end
local out = {}
for _, id in ipairs(found) do
  out[#out + 1] = how[id]
  out[#out + 1] = redis.call('HGET', ARGV[4] .. id, 'data') or ''
end
local event = {type = 'registry.read', at = ARGV[5], purpose = ARGV[8], residents = found, count = #found}
if ARGV[6] ~= '' then event.actor = ARGV[6] end
if ARGV[7] ~= '' then event.role = ARGV[7] end
redis.call('XADD', KEYS[3], '*', 'type', 'registry.read', 'data', cmsgpack.pack(event))
return out
"""


@dataclass(frozen=True, slots=True)
class Scripts:
    """The scripts above, registered on one client."""

    apply: AsyncScript
    release: AsyncScript
    gate: AsyncScript
    nearby: AsyncScript
    first_read: AsyncScript
    limit: AsyncScript
    match: AsyncScript

    @classmethod
    def register(cls, redis: Redis) -> Scripts:
        return cls(
            apply=redis.register_script(APPLY),
            release=redis.register_script(RELEASE),
            gate=redis.register_script(GATE),
            nearby=redis.register_script(NEARBY),
            first_read=redis.register_script(FIRST_READ),
            limit=redis.register_script(LIMIT),
            match=redis.register_script(MATCH),
        )
