"""The 911 handoff: the agent's steps, the 911 center's answers, the dispatch hold, and the alarms.

Each step is written with its event in one atomic step; "transfer started" also puts the EIDO and CAP
documents in the outbox and starts the acknowledgement clock, in that same step. While 911 has the
incident, a change to what it is shown (a later call, a corrected location, an agent's note) puts a
new version of the EIDO in the outbox in the step that makes the change (`update_911`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, cast

import msgspec

from incident.alarms import raise_alarm
from incident.config import SurgeConfig
from incident.documents import cap
from incident.eido import eido
from incident.events import Change
from incident.incidents import kept_incidents, select_calls, select_incident
from incident.kept import Plan
from incident.outbox import enqueue
from incident.problems import Problem, invalid_field
from incident.records import Call, Handoff, HandoffStep, HandoffStepped, Incident, Step
from incident.status import DONE, Status, allowed
from incident.store import Store

log = logging.getLogger("stormline.handoff")
AGENT_STEPS = frozenset({Step.LOCATION_VERIFIED, Step.TRANSFER_STARTED, Step.CALLER_RELEASED, Step.NOTE})
REPEATABLE = frozenset({Step.DISPATCHED, Step.ON_SCENE, Step.NOTE, Step.RELEASED})
PSAP_STEPS = frozenset({Step.ACCEPTED, Step.REJECTED, Step.DISPATCHED, Step.ON_SCENE, Step.CLOSED})
_encode = msgspec.json.Encoder().encode


class StepIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    step: Step
    detail: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class PsapStatusIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The 911 center's answer about a handoff."""

    status: Step
    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    psap_incident_id: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class ReleaseIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=1000)]


def screened(actor: str | None, at: datetime, detail: str) -> Handoff:
    """The handoff a life-safety call starts with."""
    return Handoff(steps=[HandoffStep(step=Step.SCREENED, at=at, by=actor, detail=detail)])


async def record_step(
    store: Store,
    config: SurgeConfig,
    ticket: str,
    step: Step,
    actor: str | None,
    detail: str | None = None,
    *,
    psap_incident_id: str | None = None,
) -> Incident:
    """Add a step (an agent's, the 911 center's, or a release); idempotent for a step already taken."""
    keys = store.keys
    changed = [False]  # whether the decision that was kept (the last one taken) changed anything

    async def decide(current: Incident) -> Plan[Incident] | None:
        changed[0] = False
        if step == Step.NOTE and current.handoff is None:
            raise Problem(
                409, "No handoff", f"incident {ticket} is not being handed to 911", kind="handoff-order"
            )
        handoff = current.handoff or screened(actor, datetime.now(UTC), "handoff started by hand")
        if handoff.has(step) and step not in REPEATABLE:
            return None  # the same answer twice (a retried callback) changes nothing
        if step == Step.CALLER_RELEASED and not handoff.has(Step.TRANSFER_STARTED):
            raise Problem(
                409,
                "Transfer not started",
                "start the transfer before releasing the caller",
                kind="handoff-order",
            )
        if step in PSAP_STEPS and not handoff.has(Step.TRANSFER_STARTED):
            raise Problem(
                409, "No transfer", f"incident {ticket} was not transferred to 911", kind="handoff-order"
            )
        now = datetime.now(UTC)
        status, held = current.status, handoff.held
        if step == Step.TRANSFER_STARTED and allowed(status, Status.WITH_911):
            status = Status.WITH_911
        elif step == Step.REJECTED:
            held = False  # 911 will not take it: 311 has it back
            status = Status.OPEN if allowed(status, Status.OPEN) else status
        elif step == Step.CLOSED and allowed(status, Status.CLOSED):
            status = Status.CLOSED
        elif step == Step.RELEASED:
            held = False
        change = Change()
        updated = msgspec.structs.replace(
            current,
            status=status,
            handoff=msgspec.structs.replace(
                handoff,
                steps=[*handoff.steps, HandoffStep(step=step, at=now, by=actor, detail=detail)],
                held=held,
                psap_incident_id=psap_incident_id or handoff.psap_incident_id,
            ),
            updated_at=now,
            version=current.version + 1,
        )
        if step == Step.TRANSFER_STARTED:
            # The documents go in the outbox in the same step as the transfer they announce.
            calls = await select_calls(store, updated.calls)
            body = _encode(
                {
                    "eido": eido(config, updated, calls),
                    "cap": cap(config, updated, sender=config.handoff.sender),
                }
            )
            delivery = enqueue(change, store, "psap", body, exercise=updated.exercise)
            updated = msgspec.structs.replace(updated, handoff=_delivered(updated, delivery=delivery))
            change.zadd(keys.handoff_deadlines, int(now.timestamp()) + config.handoff.ack_seconds, ticket)
        else:
            updated = await update_911(store, config, current, updated, change)
        if step in (Step.ACCEPTED, Step.REJECTED, Step.CLOSED):
            change.zrem(keys.handoff_deadlines, ticket)
        change.zrem(keys.handoff_unstarted, ticket)  # someone is on it: no more "not started" alarms
        event = HandoffStepped(
            ticket=ticket, at=now, actor=actor, step=step, detail=detail, version=updated.version
        )
        changed[0] = True
        return Plan(updated, event, change)

    updated = await kept_incidents(store).change(ticket, decide)
    if step == Step.REJECTED and changed[0]:
        await raise_alarm(
            store,
            ticket,
            "handoff_rejected",
            f"911 rejected the transfer of {ticket}: {detail or 'no reason given'}",
        )
    return updated


async def _check_unstarted(store: Store, config: SurgeConfig, now: int) -> None:
    """A life-safety call with no handoff step: an alarm at once, and again each period until one."""
    repeat = config.handoff.unstarted_repeat_seconds
    due = cast(list[bytes], await store.redis.zrangebyscore(store.keys.handoff_unstarted, "-inf", now))
    for raw in due:
        ticket = raw.decode()
        incident = await select_incident(store, ticket)
        started = (
            incident is not None
            and incident.handoff is not None
            and any(taken.step is not Step.SCREENED for taken in incident.handoff.steps)
        )
        if incident is None or started or not incident.life_safety or incident.status in DONE:
            await store.redis.zrem(store.keys.handoff_unstarted, ticket)
            continue
        minutes = max(0, now - int(incident.opened_at.timestamp())) // 60
        await raise_alarm(
            store,
            ticket,
            "transfer_not_started",
            f"life-safety call {ticket}: no 911 transfer step recorded after {minutes} min",
            once=store.keys.unstarted_alerted(ticket, now // repeat),
            ttl=repeat * 2,
        )


def check_agent_step(step: Step, detail: str | None) -> None:
    if step not in AGENT_STEPS:
        raise invalid_field("step", f"an agent records one of: {', '.join(sorted(AGENT_STEPS))}")
    if step == Step.NOTE and not (detail and detail.strip()):
        raise invalid_field("detail", "a note for 911 needs its text")


async def update_911(
    store: Store,
    config: SurgeConfig,
    current: Incident,
    updated: Incident,
    change: Change,
    calls: list[Call] | None = None,
) -> Incident:
    """Put a new version of the EIDO in `change` if what 911 is shown of the incident changed.

    `calls` are the updated incident's calls, if the caller has them (a new call is not stored yet).
    Returns `updated`, its handoff listing the delivery. Every writer of a change 911 should hear of
    (a call, a location, a note, an override) passes its decision through here.
    """
    before, after = shown_to_911(current), shown_to_911(updated)
    if before is None or after is None or before == after:
        return updated
    if calls is None:
        calls = await select_calls(store, updated.calls)
    delivery = enqueue(
        change, store, "psap", _encode({"eido": eido(config, updated, calls)}), exercise=updated.exercise
    )
    return msgspec.structs.replace(updated, handoff=_delivered(updated, update=delivery))


def _delivered(incident: Incident, *, delivery: str | None = None, update: str | None = None) -> Handoff:
    """The incident's handoff, with the first delivery or a later version's recorded."""
    handoff = incident.handoff
    assert handoff is not None, "only a handoff is delivered"
    if delivery is not None:
        return msgspec.structs.replace(handoff, delivery=delivery)
    return msgspec.structs.replace(handoff, updates=[*handoff.updates, update or ""])


def shown_to_911(incident: Incident) -> tuple[object, ...] | None:
    """What 911 is shown of an incident it has (a new EIDO goes when it changes); None: it has not.

    911 has it from the transfer until it rejects or closes it, or 311's work on it is over.
    """
    handoff = incident.handoff
    if (
        handoff is None
        or not handoff.has(Step.TRANSFER_STARTED)
        or handoff.has(Step.REJECTED)
        or handoff.has(Step.CLOSED)
        or incident.status in DONE
    ):
        return None
    return (
        incident.calls,
        incident.address,
        incident.location,
        incident.located_by,
        incident.category,
        incident.priority,
        incident.life_safety,
        incident.override,
        incident.needs,
        [step.detail for step in handoff.steps if step.step is Step.NOTE],
    )


def check_psap_status(step: Step) -> None:
    if step not in PSAP_STEPS:
        raise invalid_field("status", f"one of: {', '.join(sorted(PSAP_STEPS))}")


async def check_deadlines(store: Store, config: SurgeConfig, now: int | None = None) -> None:
    """Alarm supervisors about life-safety calls not yet transferred, and transfers 911 has not acknowledged.

    Every worker runs it; a marker per ticket and period (or the ZREM that removes a ticket) makes
    each alarm happen once.
    """
    now = int(datetime.now(UTC).timestamp()) if now is None else now
    await _check_unstarted(store, config, now)
    due = cast(list[bytes], await store.redis.zrangebyscore(store.keys.handoff_deadlines, "-inf", now))
    for raw in due:
        ticket = raw.decode()
        if await store.redis.zrem(store.keys.handoff_deadlines, ticket):
            await raise_alarm(
                store, ticket, "handoff_unacknowledged", f"911 has not acknowledged the transfer of {ticket}"
            )
