"""The center's mode: normal, standby, or incident (24-hour storm operations), and switching it.

A supervisor switches; the switch, its audit entry and its event (on the stream every screen follows)
are one atomic step. Switching to incident opens an activation (the storm incident: its name, who,
when, why); every incident opened during it is tagged with it and due by its profile's deadlines.
Standing down closes the activation, moves open incident-mode work back to the normal queues by the
config's mapping, and recomputes due times; so does any switch, for the new mode's deadlines.

That follow-up work runs after the switch is stored, so the switch also stores a *pending* note of
it; whoever finishes the work removes the note, and a watcher in every worker finishes what a crashed
request left, so a stand-down is never half done.
"""

from __future__ import annotations

import enum
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, cast

import msgspec

from incident.alarms import raise_alarm
from incident.auth.audit import ModeSwitched
from incident.config import ModeProfile, Priority, SurgeConfig
from incident.events import Change, Conflict, commit
from incident.incidents import IncidentFilter, held_elsewhere, kept_incidents, select_incidents
from incident.kept import Plan
from incident.problems import Problem, invalid_field
from incident.records import Incident, Requeued
from incident.status import Status
from incident.store import Store

log = logging.getLogger("stormline.center")
_OPEN = frozenset(
    {Status.OPEN, Status.ASSIGNED, Status.EN_ROUTE, Status.ON_SCENE, Status.REFERRED, Status.WITH_911}
)


class Mode(enum.StrEnum):
    NORMAL = "normal"
    STANDBY = "standby"
    INCIDENT = "incident"


class Activation(msgspec.Struct, kw_only=True):
    """A storm incident: the period the center ran in incident mode."""

    id: str
    name: str
    activated_by: str | None
    activated_at: datetime
    reason: str
    stood_down_by: str | None = None
    stood_down_at: datetime | None = None
    stood_down_reason: str | None = None


class Drill(msgspec.Struct, kw_only=True):
    """An exercise the whole center is running (incident/exercise.py): what it makes is marked with it."""

    id: str
    name: str
    started_by: str | None
    started_at: datetime


class CenterState(msgspec.Struct, kw_only=True):
    mode: Mode = Mode.NORMAL
    activation: Activation | None = None
    drill: Drill | None = None  # beside the mode: a drill may run in any of them
    changed_by: str | None = None
    changed_at: datetime | None = None
    reason: str | None = None
    reviewed_at: datetime | None = None  # when a supervisor last confirmed the incident is still active
    reviewed_by: str | None = None
    version: int = 0


class ModeChanged(msgspec.Struct, kw_only=True, tag="center.mode_changed"):
    at: datetime
    actor: str | None
    mode: Mode
    previous: Mode
    activation: Activation | None
    reason: str


class Pending(msgspec.Struct, kw_only=True):
    """A switch's follow-up work: requeue for `mode`, and at stand-down the report of `stood_down`."""

    mode: Mode
    version: int  # the center's version after the switch: a newer switch supersedes this work
    stood_down: str | None
    actor: str | None
    at: datetime


class ModeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Switch the center: to incident with a name, or back to standby or normal."""

    mode: Mode
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=1000)]
    name: Annotated[str, msgspec.Meta(min_length=3, max_length=120)] | None = None


_pack = msgspec.msgpack.Encoder().encode
_unpack_state = msgspec.msgpack.Decoder(CenterState).decode
_unpack_activation = msgspec.msgpack.Decoder(Activation).decode
_unpack_pending = msgspec.msgpack.Decoder(Pending).decode
# Delete the pending note only if it is still ours: a newer switch may have replaced it.
_DELETE_IF_SAME = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)


def drill_of(state: CenterState, said: bool, what: str) -> str | None:
    """The drill a piece of work belongs to: only work said to be a drill's, and only while one runs.

    Work said to be a drill's when none runs is refused (409), never filed as real.
    """
    if not said:
        return None
    if state.drill is None:
        raise Problem(409, "No drill", f"this {what} is a drill's, and no drill is running", kind="no-drill")
    return state.drill.id


async def current(store: Store) -> CenterState:
    return state_from(cast(bytes | None, await store.redis.hget(store.keys.center, "data")))


def state_from(data: bytes | None) -> CenterState:
    """The state from the center hash's `data` field as read (None before the first switch)."""
    return _unpack_state(data) if data else CenterState()


current_state = current  # for functions with a local named `current`


def unchanged(change: Change, store: Store, state: CenterState) -> Change:
    """Make `change` conflict if the center switched since `state` was read.

    Work tagged and dated for a mode must land in that mode: a write racing a switch is refused (and
    retried by its writer on the new state), so the switch's requeue never misses it.
    """
    return change.guard(store.keys.center, "v", str(state.version) if state.version else "")


def profile(config: SurgeConfig, mode: Mode) -> ModeProfile:
    return cast(ModeProfile, getattr(config.modes, mode.value))


def due(config: SurgeConfig, mode: Mode, category: str, priority: Priority, opened_at: datetime) -> datetime:
    return opened_at + timedelta(minutes=profile(config, mode).deadline(category, priority))


# The storm's report is kept at stand-down, before its work is requeued. The report reads dispatch's
# records too (stations, rides), so the layer that sees both (the web shell) says how to keep it.
KeepReport = Callable[[Store, str, SurgeConfig], Awaitable[None]]


async def switch(
    store: Store, config: SurgeConfig, request: ModeIn, actor: str | None, *, keep_report: KeepReport
) -> CenterState:
    """Switch the center's mode (a supervisor's action), then requeue and re-date the open work."""
    keys = store.keys
    state = await current(store)
    if request.mode is Mode.INCIDENT and not request.name and state.mode is not Mode.INCIDENT:
        raise invalid_field("name", "an incident needs a name, e.g. October Storm")
    if request.mode is state.mode and request.mode is not Mode.INCIDENT:
        return state
    now = datetime.now(UTC)
    activation, stood_down = state.activation, None
    if request.mode is Mode.INCIDENT and state.mode is not Mode.INCIDENT:
        assert request.name is not None, "checked above"
        slug = re.sub(r"[^a-z0-9]+", "-", request.name.lower()).strip("-")[:40] or "incident"
        activation = Activation(
            id=f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}-{slug}",
            name=request.name,
            activated_by=actor,
            activated_at=now,
            reason=request.reason,
        )
    elif request.mode is Mode.INCIDENT:
        raise Problem(
            409,
            "Already in incident mode",
            f"the center is running {state.activation.name if state.activation else 'an incident'}",
            kind="already-incident",
        )
    elif state.mode is Mode.INCIDENT and activation is not None:
        stood_down = msgspec.structs.replace(
            activation, stood_down_by=actor, stood_down_at=now, stood_down_reason=request.reason
        )
        activation = None
    updated = CenterState(
        mode=request.mode,
        activation=activation,
        drill=state.drill,
        changed_by=actor,
        changed_at=now,
        reason=request.reason,
        version=state.version + 1,
    )
    change = Change().guard(keys.center, "v", str(state.version) if state.version else "")
    change.hset(keys.center, {"v": updated.version, "data": _pack(updated)})
    for record in (activation, stood_down):
        if record is not None:
            change.set(keys.activation(record.id), _pack(record))
            change.zadd(keys.activations, int(record.activated_at.timestamp()), record.id)
    # The audit entry lands in the same atomic step as the switch (the audit stream keeps its own ids).
    storm = activation or stood_down
    entry = ModeSwitched(
        at=now,
        actor=actor,
        mode=request.mode.value,
        name=storm.name if storm else None,
        reason=request.reason,
    )
    change.command("XADD", keys.audit, "*", "type", "center.mode", "data", _pack(entry))
    pending = _pack(
        Pending(
            mode=request.mode,
            version=updated.version,
            stood_down=stood_down.id if stood_down else None,
            actor=actor,
            at=now,
        )
    )
    change.set(keys.center_pending, pending)
    event = ModeChanged(
        at=now,
        actor=actor,
        mode=request.mode,
        previous=state.mode,
        activation=activation or stood_down,
        reason=request.reason,
    )
    try:
        await commit(store.scripts.apply, change, event, keys.events)
    except Conflict:
        raise Problem(
            409,
            "Mode changed meanwhile",
            "another supervisor switched the mode; look again",
            kind="mode-conflict",
        ) from None
    await _follow_up(store, config, pending, keep_report)
    return updated


async def _follow_up(store: Store, config: SurgeConfig, packed: bytes, keep_report: KeepReport) -> None:
    pending = _unpack_pending(packed)
    if pending.stood_down is not None:
        # How the storm went, kept before its work is moved back to the normal queues.
        await keep_report(store, pending.stood_down, config)
    await requeue(
        store, config, pending.mode, pending.actor, version=pending.version, stood_down=pending.stood_down
    )
    await store.redis.eval(_DELETE_IF_SAME, 1, store.keys.center_pending, packed)


async def finish_pending(
    store: Store, config: SurgeConfig, keep_report: KeepReport, settle: float = 60.0
) -> bool:
    """Finish a switch's follow-up work that its request did not (it crashed); True if there was any.

    Only a note older than `settle` seconds is taken, so the request doing the work is not raced;
    doing it twice would be harmless anyway (requeue and the report are idempotent).
    """
    keys = store.keys
    packed = cast(bytes | None, await store.redis.get(keys.center_pending))
    if packed is None:
        return False
    if datetime.now(UTC) - _unpack_pending(packed).at < timedelta(seconds=settle):
        return False
    if not await store.redis.set(keys.center_pending_lock, "1", nx=True, ex=600):
        return False
    try:
        log.warning("finishing a mode switch's requeue left undone")
        await _follow_up(store, config, packed, keep_report)
    finally:
        await store.redis.delete(keys.center_pending_lock)
    return True


async def review(store: Store, actor: str | None) -> CenterState:
    """A supervisor confirms the storm incident is still active: the review clock starts again."""
    state = await current(store)
    if state.mode is not Mode.INCIDENT:
        raise Problem(409, "No incident", "the center is not in incident mode", kind="no-incident")
    now = datetime.now(UTC)
    updated = msgspec.structs.replace(state, reviewed_at=now, reviewed_by=actor, version=state.version + 1)
    keys = store.keys
    change = (
        Change()
        .guard(keys.center, "v", str(state.version))
        .hset(keys.center, {"v": updated.version, "data": _pack(updated)})
    )
    entry = ModeSwitched(
        at=now,
        actor=actor,
        mode="incident",
        name=state.activation.name if state.activation else None,
        reason="reviewed: still active",
    )
    change.command("XADD", keys.audit, "*", "type", "center.mode", "data", _pack(entry))
    event = ModeChanged(
        at=now,
        actor=actor,
        mode=state.mode,
        previous=state.mode,
        activation=state.activation,
        reason="reviewed: still active",
    )
    try:
        await commit(store.scripts.apply, change, event, keys.events)
    except Conflict:
        raise Problem(409, "Mode changed meanwhile", "look again", kind="mode-conflict") from None
    return updated


async def check_review(store: Store, config: SurgeConfig) -> None:
    """Ask supervisors, every review interval, whether the storm incident is still active (once each)."""
    state = await current(store)
    minutes = config.modes.incident.review_minutes
    if state.mode is not Mode.INCIDENT or state.activation is None or not minutes:
        return
    since = state.reviewed_at or state.activation.activated_at
    if datetime.now(UTC) - since < timedelta(minutes=minutes):
        return
    # One question per interval: the marker names the moment the interval ran out.
    due_at = int((since + timedelta(minutes=minutes)).timestamp())
    await raise_alarm(
        store,
        None,
        "review_due",
        f"{state.activation.name}: still active? Review it or stand down",
        once=store.keys.review_alerted(due_at),
        ttl=7 * 24 * 3600,
    )


async def requeue(
    store: Store,
    config: SurgeConfig,
    mode: Mode,
    actor: str | None,
    *,
    version: int,
    stood_down: str | None,
) -> int:
    """Give every open incident the new mode's due time (and, at stand-down, its normal queue).

    Each decision is taken on the incident as it is now (an override made meanwhile stands) and only
    while the center is still at `version`: a newer switch's own requeue owns the work after that.
    """
    moved = 0
    cursor: int | None = None
    reason = "stand-down" if stood_down else f"mode {mode.value}"

    def target(incident: Incident) -> tuple[str, datetime]:
        # Only the storm's own work changes queue; what was opened before or after it stays put.
        # Work 911 or an agency holds keeps its label: it is not back in a 311 queue.
        category = (
            config.modes.stand_down_categories.get(incident.category, incident.category)
            if stood_down is not None and incident.activation == stood_down and not held_elsewhere(incident)
            else incident.category
        )
        return category, due(config, mode, category, incident.priority, incident.opened_at)

    async def decide(current: Incident) -> Plan[Incident] | None:
        state = await current_state(store)
        category, due_at = target(current)
        if state.version != version or (category, due_at) == (current.category, current.due_at):
            return None
        updated = msgspec.structs.replace(
            current,
            category=category,
            due_at=due_at,
            updated_at=datetime.now(UTC),
            version=current.version + 1,
        )
        event = Requeued(
            ticket=current.ticket,
            at=updated.updated_at,
            actor=actor,
            category=category,
            due_at=due_at,
            reason=reason,
            version=updated.version,
        )
        return Plan(updated, event, unchanged(Change(), store, state))

    while True:
        page, cursor = await select_incidents(store, IncidentFilter(statuses=_OPEN), before=cursor, limit=200)
        for incident in page:
            if target(incident) == (incident.category, incident.due_at):
                continue
            if (await current_state(store)).version != version:
                return moved  # superseded by a newer switch
            await kept_incidents(store).change(incident.ticket, decide)
            moved += 1
        if cursor is None:
            return moved


async def activation(store: Store, activation_id: str) -> Activation | None:
    data = cast(bytes | None, await store.redis.get(store.keys.activation(activation_id)))
    return _unpack_activation(data) if data else None


async def check_overdue(store: Store) -> None:
    """Alarm supervisors once for each open incident that passes its due time."""
    now = int(datetime.now(UTC).timestamp())
    due_now = cast(
        list[tuple[bytes, float]],
        await store.redis.zrangebyscore(store.keys.due, "-inf", now, withscores=True),
    )
    for raw, due_at in due_now:
        ticket = raw.decode()
        # One alarm per due time: a switch that re-dates the incident arms it again, and the marker
        # expires, so closed work leaves nothing behind. Already alarmed, Redis refuses the write.
        await raise_alarm(
            store,
            ticket,
            "deadline_missed",
            f"{ticket} is past its due time",
            once=store.keys.overdue_alerted(ticket, int(due_at)),
            ttl=14 * 24 * 3600,
        )
