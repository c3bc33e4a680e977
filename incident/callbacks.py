"""Callbacks: residents the center could not serve at once, in a queue agents work from the console.

A request comes from the phone system (an IVR "press 1 for a callback", or a caller who hung up
waiting), from a web report asking for a call, or from an agent's "call back at 3 pm". It waits in
one queue ordered by priority, then by when it is due (the promised time, else when asked). An agent
takes the next one (a guarded write: two agents never get the same), records the attempt; a request
not reached after `callbacks.attempts` tries is closed as unreached. A promised time that passes with
the request still waiting raises one alarm for supervisors. A resident sees their place in the queue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, cast

import msgspec

from incident import center, clock
from incident.alarms import raise_alarm
from incident.config import Priority, SurgeConfig
from incident.events import Change, Conflict
from incident.incidents import select_incident
from incident.kept import Kept, Plan
from incident.phone import to_e164
from incident.problems import Problem, invalid_field
from incident.records import CallbackChanged, Ticket
from incident.store import Store

Reason = Literal["ivr", "abandoned", "web", "agent"]
Outcome = Literal["reached", "no_answer", "left_message", "wrong_number"]
Status = Literal["waiting", "held", "done", "unreached", "cancelled"]
_RANK = {priority: rank for rank, priority in enumerate(Priority)}
_EARLY = timedelta(minutes=10)  # a promised call may be made this much before its time
_HOLD = timedelta(minutes=15)
_ATTEMPTS = 3


class CallbackIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    phone: Annotated[str, msgspec.Meta(min_length=3, max_length=40)]
    reason: Reason
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    language: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] = "en"
    priority: Priority = Priority.P3
    # "call back at 3 pm": the time promised to the resident, with its offset
    promised_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    ticket: Ticket | None = None  # the incident it is about, if any
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    source_id: Annotated[str, msgspec.Meta(max_length=200)] | None = None  # the phone system's call id
    drill: bool = False  # a drill's callback (purged with it); refused when no drill runs


class CallbackAttempt(msgspec.Struct, kw_only=True):
    at: datetime
    agent: str | None
    outcome: Outcome
    note: str = ""


class Callback(msgspec.Struct, kw_only=True):
    id: str
    reason: Reason
    phone: str
    e164: str
    name: str | None
    language: str
    priority: Priority
    requested_at: datetime
    promised_at: datetime | None
    ticket: str | None
    note: str
    status: Status = "waiting"
    agent: str | None = None
    held_until: datetime | None = None
    attempts: list[CallbackAttempt] = []
    call_again_at: datetime | None = None  # after an attempt that did not reach them
    exercise: str | None = None  # asked for during a drill: purged with it
    version: int = 1


class CallbackAttemptIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    outcome: Outcome
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    # After no answer: when to try again, with its offset (default now, at the back of its priority).
    again_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None


class CallbackQueue(msgspec.Struct, kw_only=True):
    waiting: int
    overdue: int  # promised times passed
    items: list[Callback]


def _kept(store: Store) -> Kept[Callback]:
    def keeping(change: Change, before: Callback | None, after: Callback) -> None:
        keys = store.keys
        if after.status == "waiting":
            change.zadd(keys.callback_queue, _score(after), after.id)
        else:
            change.zrem(keys.callback_queue, after.id)
        # A promise is kept by the first call made at its time; a missed one alarms until then.
        if after.status in ("waiting", "held") and after.promised_at is not None and not after.attempts:
            change.zadd(keys.callback_promised, int(after.promised_at.timestamp()), after.id)
        else:
            change.zrem(keys.callback_promised, after.id)
        number = keys.callback_by_phone(after.e164)
        if after.status in ("waiting", "held"):
            change.hset(number, {"id": after.id})
        elif before is not None and before.status in ("waiting", "held"):
            change.command("DEL", number)
        if after.ticket and after.status in ("waiting", "held"):
            change.hset(keys.callback_by_ticket, {after.ticket: after.id})
        elif after.ticket:
            change.command("HDEL", keys.callback_by_ticket, after.ticket)
        if after.status == "held" and after.held_until is not None:
            change.zadd(keys.callback_held, int(after.held_until.timestamp()), after.id)
        else:
            change.zrem(keys.callback_held, after.id)

    return Kept(store, "callback", Callback, store.keys.callback, keeping=keeping)


def _score(request: Callback) -> int:
    """Priority first, then when it is due (milliseconds): one sorted set orders the whole queue."""
    due = request.call_again_at or request.promised_at or request.requested_at
    return _RANK[request.priority] * 10**13 + int(due.timestamp() * 1000)


async def request(store: Store, config: SurgeConfig, data: CallbackIn, actor: str | None) -> Callback:
    """Put a callback in the queue; the same phone system call id twice makes one request."""
    e164 = to_e164(data.phone, config.jurisdiction.phone_region)
    if e164 is None:
        raise invalid_field("phone", f"{data.phone!r} is not a phone number")
    if data.promised_at is not None and data.promised_at.tzinfo is None:
        raise invalid_field("promised_at", "give a time zone offset, e.g. 2026-12-24T15:00:00-05:00")
    if data.ticket is not None and await select_incident(store, data.ticket) is None:
        raise invalid_field("ticket", f"no incident {data.ticket}")
    if data.source_id:
        known = await store.redis.hget(store.keys.callback_sources, data.source_id)
        if known is not None:
            return await _kept(store).get_or_404(cast(bytes, known).decode())
    # Someone already waiting for a call (a caller who hung up twice) is called once.
    waiting = cast(bytes | None, await store.redis.hget(store.keys.callback_by_phone(e164), "id"))
    found = await _kept(store).get(waiting.decode()) if waiting is not None else None
    if found is not None and found.status in ("waiting", "held"):
        return found
    number = await store.redis.incr(store.keys.seq("callback"))
    now = clock.now()
    drill = center.drill_of(await center.current(store), data.drill, "callback")
    made = Callback(
        id=f"CB{number:06d}",
        reason=data.reason,
        phone=data.phone,
        e164=e164,
        name=data.name,
        language=data.language,
        priority=data.priority,
        requested_at=now,
        promised_at=data.promised_at,
        ticket=data.ticket,
        note=data.note,
        exercise=drill,
    )
    change = Change()
    if drill:
        change.command("SADD", store.keys.exercise_made(drill), f"callback:{made.id}")
    if data.source_id:
        change.guard(store.keys.callback_sources, data.source_id, "")
        change.hset(store.keys.callback_sources, {data.source_id: made.id})
    event = CallbackChanged(callback=made.id, at=now, actor=actor, step="requested", ticket=data.ticket)
    histories = [data.ticket] if data.ticket else []
    try:
        return await _kept(store).create(Plan(made, event, change, histories))
    except Conflict as conflict:
        if conflict.key != store.keys.callback_sources or not data.source_id:
            raise
        # The phone system sent the same call's event twice at once: the other one made it.
        known = cast(bytes, await store.redis.hget(store.keys.callback_sources, data.source_id))
        return await _kept(store).get_or_404(known.decode())


async def take_next(store: Store, agent: str) -> Callback | None:
    """Hold the first request that is due (or whose hold lapsed) for `agent`; None if none is."""
    now = clock.now()
    lapsed = cast(
        list[bytes], await store.redis.zrangebyscore(store.keys.callback_held, "-inf", now.timestamp(), 0, 5)
    )
    queued = cast(list[bytes], await store.redis.zrange(store.keys.callback_queue, 0, 199))
    for raw in [*lapsed, *queued]:
        taken = await _hold(store, raw.decode(), agent, now)
        if taken is not None:
            return taken
    return None


async def _hold(store: Store, callback_id: str, agent: str, now: datetime) -> Callback | None:
    until = now + _HOLD

    async def decide(current: Callback) -> Plan[Callback] | None:
        when = current.call_again_at or current.promised_at
        due = when is None or when - _EARLY <= now
        waiting = current.status == "waiting" and due
        lapsed = current.status == "held" and current.held_until is not None and current.held_until <= now
        if not (waiting or lapsed):
            return None
        event = CallbackChanged(
            callback=callback_id, at=now, actor=agent, step="taken", ticket=current.ticket
        )
        updated = msgspec.structs.replace(current, status="held", agent=agent, held_until=until)
        return Plan(updated, event)

    held = await _kept(store).change(callback_id, decide)
    return held if held.status == "held" and held.agent == agent and held.held_until == until else None


async def record_attempt(store: Store, callback_id: str, attempt: CallbackAttemptIn, agent: str) -> Callback:
    now = clock.now()

    async def decide(current: Callback) -> Plan[Callback] | None:
        if current.status != "held" or current.agent != agent:
            raise Problem(409, "Not yours", f"{callback_id} is not held by {agent}", kind="not-held")
        tried = [
            *current.attempts,
            CallbackAttempt(at=now, agent=agent, outcome=attempt.outcome, note=attempt.note),
        ]
        unanswered = sum(a.outcome != "reached" for a in tried)
        status: Status
        if attempt.outcome == "reached":
            status = "done"
        elif attempt.outcome == "wrong_number" or unanswered >= _ATTEMPTS:
            status = "unreached"
        else:
            status = "waiting"
        updated = msgspec.structs.replace(
            current,
            status=status,
            agent=None if status == "waiting" else current.agent,
            held_until=None,
            attempts=tried,
            # Not reached: at the back of its priority, or when the agent said to try again.
            call_again_at=(attempt.again_at or now) if status == "waiting" else None,
        )
        event = CallbackChanged(callback=callback_id, at=now, actor=agent, step=status, ticket=current.ticket)
        return Plan(updated, event, histories=[current.ticket] if current.ticket else [])

    return await _kept(store).change(callback_id, decide)


async def cancel(store: Store, callback_id: str, actor: str | None) -> Callback:
    async def decide(current: Callback) -> Plan[Callback] | None:
        if current.status in ("done", "unreached", "cancelled"):
            return None
        event = CallbackChanged(
            callback=callback_id, at=clock.now(), actor=actor, step="cancelled", ticket=current.ticket
        )
        return Plan(msgspec.structs.replace(current, status="cancelled", held_until=None), event)

    return await _kept(store).change(callback_id, decide)


async def queue(store: Store, limit: int = 100) -> CallbackQueue:
    now = clock.now().timestamp()
    pipe = store.redis.pipeline(transaction=False)
    pipe.zrange(store.keys.callback_queue, 0, limit - 1)
    pipe.zcard(store.keys.callback_queue)
    pipe.zcount(store.keys.callback_promised, "-inf", now)
    ids, waiting, overdue = await pipe.execute()
    items = await _kept(store).many([i.decode() for i in cast(list[bytes], ids)])
    return CallbackQueue(waiting=waiting, overdue=overdue, items=items)


async def place_of(store: Store, ticket: str) -> int | None:
    """Where a ticket's waiting callback is in the queue (1: next), for the resident; None if none."""
    callback_id = cast(bytes | None, await store.redis.hget(store.keys.callback_by_ticket, ticket))
    if callback_id is None:
        return None
    rank = cast(int | None, await store.redis.zrank(store.keys.callback_queue, callback_id))
    return None if rank is None else rank + 1


async def get(store: Store, callback_id: str) -> Callback:
    return await _kept(store).get_or_404(callback_id)


async def forget(store: Store, callback_id: str) -> None:
    """Delete a callback and its places in the queue (a drill's purge)."""
    keys = store.keys
    found = await _kept(store).get(callback_id)
    pipe = store.redis.pipeline(transaction=True)
    for key in (keys.callback_queue, keys.callback_promised, keys.callback_held):
        pipe.zrem(key, callback_id)
    if found is not None and found.ticket:
        pipe.hdel(keys.callback_by_ticket, found.ticket)
    if found is not None:
        pipe.delete(keys.callback_by_phone(found.e164))
    pipe.delete(keys.callback(callback_id))
    await pipe.execute()


async def check_promises(store: Store) -> None:
    """Alarm supervisors once for each callback whose promised time passed while it still waits."""
    now = clock.now().timestamp()
    due = cast(
        list[tuple[bytes, float]],
        await store.redis.zrangebyscore(store.keys.callback_promised, "-inf", now, withscores=True),
    )
    for raw, promised in due:
        callback_id = raw.decode()
        request_ = await _kept(store).get(callback_id)
        if request_ is None or request_.status not in ("waiting", "held"):
            continue
        await raise_alarm(
            store,
            request_.ticket,
            "callback_missed",
            f"callback {callback_id} was promised for {datetime.fromtimestamp(promised, UTC):%H:%M} UTC "
            "and has not been made",
            once=store.keys.callback_alerted(callback_id, int(promised)),
            ttl=14 * 24 * 3600,
        )
