"""Drills: the whole center exercises, marked so, with nothing sent to a real partner, then purged.

A supervisor starts a drill (beside the mode: a storm may be drilled in incident mode). While it runs,
every incident intake opens is marked with it (`Incident.exercise`), and so are call-downs and
callbacks; CAP documents say `Exercise`; deliveries for its incidents go to the config's
`exercise.test_endpoint` or nowhere, and its callers are never written to. A scripted storm (calls at
offsets, call-downs) may be run in it. Stopping it keeps a score sheet (numbers only: calls taken,
time to answer, call-down completion, callbacks, overdue work); purging it deletes everything it made.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import statistics
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, cast

import msgspec

from incident import callbacks, calldown, center
from incident.center import Drill
from incident.config import SurgeConfig
from incident.events import Change, Conflict, commit
from incident.geocoding import GeoService
from incident.incidents import forget, select_calls, select_many
from incident.intake import CallIn, take_call
from incident.problems import Problem
from incident.records import Channel, ExerciseChanged
from incident.registry import Registry
from incident.status import DONE
from incident.store import Store
from incident.triage import Engine

log = logging.getLogger("stormline.exercise")
_pack = msgspec.msgpack.Encoder().encode
_PURGE_BATCH = 50


class ScriptedCall(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    at: Annotated[float, msgspec.Meta(ge=0, le=7 * 24 * 3600)]  # seconds after the script starts
    narrative: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    address: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    language: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] = "en"


class ScriptedCallDown(calldown.CallDownIn, kw_only=True, forbid_unknown_fields=True):
    """A call-down the script builds at its offset (the fields of POST /api/v1/calldowns, and `at`)."""

    at: Annotated[float, msgspec.Meta(ge=0, le=7 * 24 * 3600)] = 0.0


class Script(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A scripted storm: simulated callers and call-downs at offsets (run `speed` times faster)."""

    calls: list[ScriptedCall] = []
    calldowns: list[ScriptedCallDown] = []
    speed: Annotated[float, msgspec.Meta(gt=0, le=10_000)] = 1.0


class StartIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    script: Script | None = None


class Score(msgspec.Struct, kw_only=True):
    """How the drill went: counts and times only, nothing of any caller."""

    incidents: int
    calls: int
    by_category: dict[str, int]
    life_safety: int  # transferred to 911 (not sent: a drill)
    answer_seconds_median: float | None  # from when the caller reached the center to the call logged
    answer_seconds_p90: float | None
    overdue: int  # open past their due time when the drill stopped
    still_open: int
    calldowns: int
    calldown_residents: int
    calldown_done: int
    calldown_completion: float | None  # done / residents listed
    callbacks: int
    callbacks_made: int
    callbacks_missed_promise: int


class Exercise(msgspec.Struct, kw_only=True):
    id: str
    name: str
    started_by: str | None
    started_at: datetime
    stopped_by: str | None = None
    stopped_at: datetime | None = None
    score: Score | None = None
    purged_by: str | None = None
    purged_at: datetime | None = None
    purged: int = 0  # incidents deleted


async def start(store: Store, name: str, actor: str | None) -> Exercise:
    """Put the whole center in a drill (409 if one is running)."""
    state = await center.current(store)
    if state.drill is not None:
        raise Problem(
            409, "Drill running", f"the drill {state.drill.name!r} is running", kind="drill-running"
        )
    now = datetime.now(UTC)
    drill = Drill(
        id=f"X{now:%Y%m%d%H%M%S}{secrets.token_hex(2)}", name=name, started_by=actor, started_at=now
    )
    record = Exercise(id=drill.id, name=name, started_by=actor, started_at=now)
    change = Change()
    change.set(store.keys.exercise(drill.id), _pack(record))
    change.zadd(store.keys.exercises, int(now.timestamp()), drill.id)
    await _switch(
        store, state, drill, change, ExerciseChanged(exercise=drill.id, at=now, actor=actor, step="started")
    )
    return record


async def stop(store: Store, actor: str | None) -> Exercise:
    """End the running drill and keep its score sheet; what it made stays until it is purged."""
    state = await center.current(store)
    if state.drill is None:
        raise Problem(409, "No drill", "no drill is running", kind="no-drill")
    record = await get(store, state.drill.id)
    now = datetime.now(UTC)
    record = msgspec.structs.replace(
        record, stopped_by=actor, stopped_at=now, score=await score(store, record.id, now)
    )
    change = Change().set(store.keys.exercise(record.id), _pack(record))
    await _switch(
        store, state, None, change, ExerciseChanged(exercise=record.id, at=now, actor=actor, step="stopped")
    )
    return record


async def _switch(
    store: Store, state: center.CenterState, drill: Drill | None, change: Change, event: ExerciseChanged
) -> None:
    updated = msgspec.structs.replace(state, drill=drill, version=state.version + 1)
    keys = store.keys
    change.guard(keys.center, "v", str(state.version) if state.version else "")
    change.hset(keys.center, {"v": updated.version, "data": _pack(updated)})
    try:
        await commit(store.scripts.apply, change, event, keys.events)
    except Conflict:
        raise Problem(409, "Center changed meanwhile", "look again", kind="mode-conflict") from None


async def get(store: Store, exercise_id: str) -> Exercise:
    blob = cast(bytes | None, await store.redis.get(store.keys.exercise(exercise_id)))
    if blob is None:
        raise Problem(404, "Not Found", f"no drill {exercise_id!r}", kind="unknown-exercise")
    return msgspec.msgpack.decode(blob, type=Exercise)


async def listed(store: Store, limit: int = 50) -> list[Exercise]:
    ids = cast(list[bytes], await store.redis.zrevrange(store.keys.exercises, 0, limit - 1))
    return [await get(store, i.decode()) for i in ids]


async def tickets_of(store: Store, exercise_id: str) -> list[str]:
    return [
        t.decode()
        for t in cast(list[bytes], await store.redis.zrange(store.keys.by_exercise(exercise_id), 0, -1))
    ]


async def score(store: Store, exercise_id: str, now: datetime) -> Score:
    incidents = await select_many(store, await tickets_of(store, exercise_id))
    calls = await select_calls(store, [c for i in incidents for c in i.calls])
    waits = sorted((c.logged_at - c.received_at).total_seconds() for c in calls)
    by_category: dict[str, int] = {}
    for incident in incidents:
        by_category[incident.category] = by_category.get(incident.category, 0) + 1
    open_ = [i for i in incidents if i.status not in DONE]
    lists, callbacks_made = await _marked(store, exercise_id)
    residents = sum(size for size, _ in lists)
    done = sum(finished for _, finished in lists)
    made, missed, requested = callbacks_made
    return Score(
        incidents=len(incidents),
        calls=len(calls),
        by_category=by_category,
        life_safety=sum(i.life_safety for i in incidents),
        answer_seconds_median=round(statistics.median(waits), 1) if waits else None,
        answer_seconds_p90=round(waits[max(0, int(len(waits) * 0.9) - 1)], 1) if waits else None,
        overdue=sum(1 for i in open_ if i.due_at is not None and i.due_at < now),
        still_open=len(open_),
        calldowns=len(lists),
        calldown_residents=residents,
        calldown_done=done,
        calldown_completion=round(done / residents, 3) if residents else None,
        callbacks=requested,
        callbacks_made=made,
        callbacks_missed_promise=missed,
    )


async def _marked(store: Store, exercise_id: str) -> tuple[list[tuple[int, int]], tuple[int, int, int]]:
    """The drill's call-downs (size, done) and callbacks (made, promise missed, requested)."""
    made = cast(set[bytes], await store.redis.smembers(store.keys.exercise_made(exercise_id)))
    kinds = sorted(m.decode() for m in made)
    lists = [
        await calldown.tally(store, m.removeprefix("calldown:")) for m in kinds if m.startswith("calldown:")
    ]
    asked = [
        await callbacks.get(store, m.removeprefix("callback:")) for m in kinds if m.startswith("callback:")
    ]
    return lists, (
        sum(c.status == "done" for c in asked),
        sum(c.promised_at is not None and c.status in ("waiting", "held") for c in asked),
        len(asked),
    )


async def purge(
    store: Store, exercise_id: str, actor: str | None, let_go: Callable[[list[str]], Awaitable[None]]
) -> Exercise:
    """Delete everything a stopped drill made: its incidents (calls, history, indexes), lists, callbacks.

    `let_go` is given the drill's tickets first, to give back and delete what their work holds above
    this floor (dispatch's rides, referrals and jobs: `dispatch.drills.let_go`).
    """
    record = await get(store, exercise_id)
    if record.stopped_at is None:
        raise Problem(409, "Drill running", "stop the drill before purging it", kind="drill-running")
    await let_go(await tickets_of(store, exercise_id))
    count = 0
    while tickets := await tickets_of(store, exercise_id):
        for incident in await select_many(store, tickets[:_PURGE_BATCH]):
            change = Change().guard(store.keys.incident(incident.ticket), "v", str(incident.version))
            forget(change, store, incident, await select_calls(store, incident.calls))
            event = ExerciseChanged(
                exercise=exercise_id, at=datetime.now(UTC), actor=actor, step="purged", ticket=incident.ticket
            )
            try:
                await commit(store.scripts.apply, change, event, store.keys.events)
                count += 1
            except Conflict:
                continue  # changed as it was read: the next lap reads it again
        missing = set(tickets[:_PURGE_BATCH]) - {
            i.ticket for i in await select_many(store, tickets[:_PURGE_BATCH])
        }
        for ticket in missing:  # listed but already gone
            await store.redis.zrem(store.keys.by_exercise(exercise_id), ticket)
    made = cast(set[bytes], await store.redis.smembers(store.keys.exercise_made(exercise_id)))
    for member in sorted(m.decode() for m in made):
        kind, _, made_id = member.partition(":")
        await (calldown.forget(store, made_id) if kind == "calldown" else callbacks.forget(store, made_id))
    await store.redis.delete(store.keys.exercise_made(exercise_id))
    record = msgspec.structs.replace(
        record, purged_by=actor, purged_at=datetime.now(UTC), purged=record.purged + count
    )
    await store.redis.set(store.keys.exercise(exercise_id), _pack(record))
    return record


async def play(
    store: Store,
    config: SurgeConfig,
    script: Script,
    drill: Exercise,
    *,
    geo: GeoService | None,
    triage: Engine | None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Play a scripted storm into a running drill: callers through intake, call-downs built."""
    registry = Registry(store, config, geo)

    async def take(call: ScriptedCall, key: str) -> object:
        taken = CallIn(
            narrative=call.narrative,
            channel=Channel.PHONE,
            agent="drill",
            address=call.address,
            callback_number=call.phone,
            language=call.language,
            received_at=received_at(drill.started_at, call, script.speed),
            drill=True,
        )
        answer = await take_call(
            store, config, taken, idempotency_key=key, actor="drill", geo=geo, triage=triage
        )
        return not answer.replayed  # played before (the same script again): nothing new

    async def build(step: ScriptedCallDown) -> object:
        return await calldown.build(
            store, config, registry, msgspec.structs.replace(step, drill=True), "drill"
        )

    async def running() -> bool:
        state = await center.current(store)
        return state.drill is not None and state.drill.id == drill.id

    return await run_script(script, drill.id, take, build, running, progress)


async def run_script(
    script: Script,
    exercise_id: str,
    take: Callable[[ScriptedCall, str], Awaitable[object]],
    build: Callable[[ScriptedCallDown], Awaitable[object]],
    still_running: Callable[[], Awaitable[bool]],
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Play a scripted storm: each call and call-down at its offset; stops when the drill does."""
    steps: list[tuple[float, ScriptedCall | ScriptedCallDown]] = sorted(
        [*((c.at, c) for c in script.calls), *((d.at, d) for d in script.calldowns)], key=lambda pair: pair[0]
    )
    started = asyncio.get_running_loop().time()
    played = 0
    for index, (at, step) in enumerate(steps):
        delay = started + at / script.speed - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)
        if not await still_running():
            break
        try:
            if isinstance(step, ScriptedCall):
                played += bool(await take(step, f"drill:{exercise_id}:{index}"))
            else:
                await build(step)
                played += 1
        except Exception:  # one bad line must not stop the storm
            log.exception("drill %s: step %d failed", exercise_id, index)
        if progress is not None:
            progress(index + 1, len(steps))
    return played


def received_at(started: datetime, call: ScriptedCall, speed: float) -> datetime:
    """When a scripted caller 'reached' the center: the script's start plus its offset."""
    return started + timedelta(seconds=call.at / speed)
