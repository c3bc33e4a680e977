"""Call intake: one contact becomes a call on a new incident, or on the ticket the agent names.

Used by the JSON API now and by every other door later (Open311, the agent console), so that a call
is taken the same way whichever way it arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, cast

import msgspec

from geo.point import Point
from geo.result import GeoResult, Method
from incident import center, duplicates, idempotency, surge
from incident.config import Priority, SurgeConfig
from incident.events import Change, Conflict, retrying
from incident.geocoding import GeoService, Located
from incident.handoff import screened, update_911
from incident.incidents import attach_call, insert_incident, select_calls, select_incident
from incident.location import resolve_online
from incident.phone import to_e164
from incident.pins import learn_from_pin
from incident.problems import Problem, invalid_field
from incident.public_view import public_photo
from incident.records import Call, Channel, Handoff, Incident, Override, Ticket
from incident.registry import CallerNeeds, Registry, triage_answers
from incident.status import TAKES_NEW_CALLS, Status
from incident.store import Store
from incident.triage import Engine, TriageResult
from incident.validation import OUT_OF_CALENDAR, in_calendar

Short = Annotated[str, msgspec.Meta(max_length=200)]
_CLOCK_SKEW = timedelta(minutes=5)


class CallIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A call as an agent (or another system) reports it."""

    narrative: Annotated[str, msgspec.Meta(min_length=1, description="What the caller said.")]
    channel: Channel = Channel.PHONE
    received_at: datetime | None = None  # default: now; earlier for calls logged after the fact
    agent: Short | None = None
    caller_name: Short | None = None
    callback_number: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    media_url: Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^https?://")] | None = None
    language: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] = "en"
    address: Annotated[str, msgspec.Meta(max_length=300, description="As the caller gave it.")] | None = None
    location: Point | None = None
    category: str | None = None  # default: the config's intake.default_category
    priority: Priority | None = None  # default: the category's default priority
    ticket: Ticket | None = None  # attach this call to an existing incident instead of opening one
    call_ahead: bool = False  # the crew should phone the caller before arriving
    drill: bool = False  # a drill's call (a role-player, a scripted caller): refused when no drill runs
    answers: dict[
        Annotated[str, msgspec.Meta(max_length=40)], str | int | float | bool
    ] = {}  # to triage questions


class CallReceipt(msgspec.Struct, kw_only=True):
    """The answer to a call: the ticket to read back, and the incident as it now stands."""

    ticket: str
    call_id: str
    new_incident: bool
    incident: Incident
    outside_referral: str | None = None  # what to tell a caller whose address is outside the city
    transfer_to_911: bool = False  # a life is at risk: transfer the caller to 911 now
    handoff_steps: list[str] = []  # what the agent does, in order, when transferring
    duplicates: duplicates.Duplicates | None = None  # open incidents this call may be about (new ones)
    registered: list[CallerNeeds] = []  # the caller, or someone at the address, is on the registry


@dataclass(frozen=True, slots=True)
class Answer:
    """Intake's answer: the typed receipt, and its JSON as kept for a retry (encoded once, sent as is)."""

    status: int
    receipt: CallReceipt
    body: bytes
    replayed: bool = False


_encode = msgspec.json.Encoder().encode
_decode_receipt = msgspec.json.Decoder(CallReceipt).decode


async def take_call(
    store: Store,
    config: SurgeConfig,
    call: CallIn,
    *,
    idempotency_key: str | None,
    actor: str | None,
    geo: GeoService | None = None,
    triage: Engine | None = None,
    registry: Registry | None = None,
) -> Answer:
    """Store the call; with an Idempotency-Key, a retry returns the first answer unchanged.

    With `geo`, an address given without a point is looked up in the gazetteer (microseconds); if it
    is not sure, the call is still stored, flagged as needing a location, with the candidates. With
    `registry` (the agents' door), a caller or address on the registry is matched, shown in the
    receipt, and its needs are told to triage as answers (the caller's own answers win).
    """
    now = datetime.now(UTC)
    _check(config, call, now)
    located = _locate(geo, call)
    number = call.callback_number
    e164 = to_e164(number, config.jurisdiction.phone_region) if number else None
    point = located.best.point if located and located.best else call.location
    fingerprint = idempotency.fingerprint("POST /api/v1/calls", _encode(call)) if idempotency_key else ""
    registered = await registry.match(e164, point, actor, None, "intake") if registry is not None else []
    # Only the resident's own number tells triage their needs (a neighbour calling from next door does
    # not); the call keeps what the caller said, the needs go only to triage's decision.
    told = triage_answers(config, [r for r in registered if r.matched_by == "number"])
    triaged = triage.triage(call.narrative, {**told, **call.answers}) if triage is not None else None
    decision = _decision(config, call, triaged, actor, now) if call.ticket is None else None
    while True:
        category = decision[0] if decision else None
        first = await _first_read(store, config, idempotency_key, fingerprint, now, category, point, e164)
        if isinstance(first, idempotency.Replay):
            return Answer(first.status, _decode_receipt(first.body), first.body, replayed=True)
        try:
            if decision is None:
                answer = await _attach(store, config, call, now, actor, first, triaged, e164, registered)
            else:
                answer = await _take(
                    store,
                    config,
                    call,
                    now,
                    actor,
                    first,
                    located,
                    triaged,
                    decision,
                    point,
                    e164,
                    registered,
                )
            _resolve_later(store, geo, call, answer)
            _learn_later(store, geo, call, actor, answer)
            return answer
        except Conflict as conflict:
            if first.claim is None or conflict.key != first.claim.key:
                raise
            # Our lease ran out and another request took the key: ask again for its answer.
        except BaseException:
            if first.claim is not None:
                await idempotency.release(store, first.claim)
            raise


@dataclass(frozen=True, slots=True)
class _FirstRead:
    claim: idempotency.Claim | None  # None without an Idempotency-Key
    call_number: int
    seq: int = 0  # this and the rest only for a new incident
    ticket: str = ""
    state: center.CenterState | None = None
    possible: duplicates.Duplicates | None = None


async def _first_read(
    store: Store,
    config: SurgeConfig,
    key: str | None,
    fingerprint: str,
    now: datetime,
    category: str | None,  # None: the call is attached to a ticket
    point: Point | None,
    e164: str | None,
) -> _FirstRead | idempotency.Replay:
    """Claim the key and read what intake needs; the first answer instead if this is a retry."""
    keys = store.keys
    owner = idempotency.new_owner()
    claim_key = keys.idempotency(key) if key else ""
    year = now.astimezone(config.zone).year  # tickets are numbered per year, in the city's time
    args: list[str | int] = [fingerprint, owner, idempotency.LEASE_MS]
    if category is None:
        script_keys = [claim_key, keys.call_seq, ""]
    else:
        near_keys, near_args = duplicates.lookup(
            store, config, category=category, point=point, callback_e164=e164
        )
        script_keys = [claim_key, keys.call_seq, keys.incident_seq, keys.ticket_seq(year), keys.center]
        script_keys += near_keys
        args += near_args
    async for _ in idempotency.patience(key or ""):
        reply = cast(list[Any], await store.scripts.first_read(keys=script_keys, args=args))
        claimed = idempotency.outcome(claim_key, owner, reply[0]) if key else None
        if isinstance(claimed, idempotency.Replay):
            return claimed
        if key and claimed is None:
            continue  # the first request with this key is still being taken: wait for its answer
        if category is None:
            return _FirstRead(claim=claimed, call_number=reply[1][0])
        call_number, seq, ticket_number = reply[1]
        return _FirstRead(
            claim=claimed,
            call_number=call_number,
            seq=seq,
            ticket=f"{year}-{ticket_number:0{config.tickets.number_digits}d}",
            state=center.state_from(reply[2] or None),
            possible=duplicates.read(config, category, reply[3], now),
        )
    raise AssertionError("patience ends by raising StillProcessing")


def check_answers(config: SurgeConfig, answers: Mapping[str, object]) -> None:
    """Answers must be to questions the config asks; an unknown one is named (a typo loses nothing)."""
    known = {q.id for q in config.triage.screen} | {q.id for c in config.categories for q in c.questions}
    for key in answers:
        if key not in known:
            raise invalid_field(
                f"answers.{key}", f"no question has this id; known: {', '.join(sorted(known))}"
            )


def _check(config: SurgeConfig, call: CallIn, now: datetime) -> None:
    """Checks that depend on the city's config or the clock, after the type checks."""
    check_answers(config, call.answers)
    if len(call.narrative) > config.intake.max_narrative_chars:
        raise invalid_field("narrative", f"longer than {config.intake.max_narrative_chars} characters")
    if call.category is not None and config.category(call.category) is None:
        codes = ", ".join(category.code for category in config.categories)
        raise invalid_field("category", f"unknown category {call.category!r}; one of: {codes}")
    if call.received_at is not None:
        if call.received_at.tzinfo is None:
            raise invalid_field("received_at", "give a time zone offset, e.g. 2026-10-13T02:15:00-04:00")
        if not in_calendar(call.received_at):
            raise invalid_field("received_at", OUT_OF_CALENDAR)
        if call.received_at > now + _CLOCK_SKEW:
            raise invalid_field("received_at", "is in the future")


async def _take(
    store: Store,
    config: SurgeConfig,
    call_in: CallIn,
    now: datetime,
    actor: str | None,
    first: _FirstRead,
    located: Located | None,
    triaged: TriageResult | None,
    decision: tuple[str, Priority, Override | None],
    point: Point | None,
    e164: str | None,
    registered: list[CallerNeeds],
) -> Answer:
    ticket, seq, possible, claimed, state = first.ticket, first.seq, first.possible, first.claim, first.state
    call = _call(call_in, ticket, first.call_number, now, e164)
    category, priority, override = decision

    async def attempt() -> Answer:
        nonlocal state
        # Tagged and dated for the mode it lands in: a switch in between makes this read again.
        if state is None:
            state = await center.current(store)
        # Only a call said to be a drill's is one: real calls go on as real while a drill runs.
        drill = center.drill_of(state, call_in.drill, "call")
        incident = Incident(
            ticket=ticket,
            seq=seq,
            category=category,
            priority=priority,
            life_safety=bool(triaged and triaged.life_safety),
            triage=triaged,
            override=override,
            handoff=_screened(triaged, actor, now),
            activation=state.activation.id if state.activation else None,
            exercise=drill,
            due_at=center.due(config, state.mode, category, priority, now),
            status=Status.OPEN,
            address=call_in.address,
            location=point,
            needs=needs(config, call_in.answers),
            needs_location=not (located and located.best) and call_in.location is None,
            located_by=located.best if located else None,
            location_candidates=located.candidates if located and not located.best else [],
            zones=located.zones if located else {},
            outside_jurisdiction=located.outside if located else False,
            town=located.town if located else None,
            call_ahead=call_in.call_ahead,
            calls=[call.id],
            photo=public_photo(call),
            opened_at=now,
            updated_at=now,
        )
        referral = config.geo.outside_referral if incident.outside_jurisdiction else None
        receipt = CallReceipt(
            ticket=ticket,
            call_id=call.id,
            new_incident=True,
            incident=incident,
            outside_referral=referral,
            transfer_to_911=incident.life_safety,
            handoff_steps=config.handoff.steps if incident.life_safety else [],
            duplicates=possible,
            registered=registered,
        )
        answer = Answer(201, receipt, _encode(receipt))
        change = center.unchanged(_settled(config, claimed, answer), store, state)
        if incident.exercise is None:  # a scripted storm must not raise the real surge alarm
            surge.count(change, store, config, category, now.timestamp())
        if incident.handoff is not None:  # watched until someone records a handoff step
            change.zadd(store.keys.handoff_unstarted, int(now.timestamp()), ticket)
        try:
            await insert_incident(store, incident, call, actor, change)
        except Conflict as conflict:
            if conflict.key == store.keys.center:
                state = None
                raise
            if conflict.key != store.keys.incident(ticket) or not await _landed(store, ticket, call.id):
                raise
        return answer

    # Only a mode switch in between is worth another lap; any other conflict is not this call's.
    return await retrying(attempt, "the center's mode", retry_if=lambda c: c.key == store.keys.center)


_DRILL_OR_REAL = {True: "a drill's", False: "real"}


async def _attach(
    store: Store,
    config: SurgeConfig,
    call_in: CallIn,
    now: datetime,
    actor: str | None,
    first: _FirstRead,
    triaged: TriageResult | None,
    e164: str | None,
    registered: list[CallerNeeds],
) -> Answer:
    ticket = call_in.ticket
    assert ticket is not None, "only called to attach"
    claimed = first.claim
    call = _call(call_in, ticket, first.call_number, now, e164)

    async def attempt() -> Answer:
        current = await select_incident(store, ticket)
        if current is None:
            raise Problem(
                404, "Not Found", f"no incident with ticket {ticket}", kind="unknown-ticket", ticket=ticket
            )
        if current.status not in TAKES_NEW_CALLS:
            raise Problem(
                409,
                "Incident is closed",
                f"incident {ticket} is {current.status}; open a new incident for this call",
                kind="incident-closed",
                ticket=ticket,
                incident_status=current.status,
            )
        state = await center.current(store)
        # A drill's call joins only that drill's incident, a real call only a real one: purging the drill
        # must never take a real caller's words with it, nor leave a role-player's in real work.
        if center.drill_of(state, call_in.drill, "call") != current.exercise:
            raise Problem(
                409,
                "Drill and real calls do not mix",
                f"incident {ticket} is {_DRILL_OR_REAL[current.exercise is not None]} and this call is"
                f" {_DRILL_OR_REAL[call_in.drill]}: log it as a new incident",
                kind="drill-mismatch",
                ticket=ticket,
            )
        # A later call can tell more ("now he's not breathing"): it may raise the incident, never lower it.
        raised = triaged is not None and _RANK[triaged.priority] < _RANK[current.priority]
        priority = triaged.priority if triaged is not None and raised else current.priority
        category = "emergency" if triaged is not None and triaged.life_safety else current.category
        # Many callers about one thing raise it too, as the category's duplicates.raise_at says.
        earlier = await select_calls(store, current.calls)
        by_callers = duplicates.raised_priority(config, category, duplicates.callers([*earlier, call]))
        if by_callers is not None and _RANK[by_callers] < _RANK[priority]:
            priority = by_callers
        redated = (category, priority) != (current.category, current.priority)
        updated = msgspec.structs.replace(
            current,
            calls=[*current.calls, call.id],
            photo=public_photo(call) or current.photo,
            call_ahead=current.call_ahead or call_in.call_ahead,
            needs=sorted({*current.needs, *needs(config, call_in.answers)}),
            priority=priority,
            life_safety=current.life_safety or bool(triaged and triaged.life_safety),
            category=category,
            # Raised, it is due by its new priority's deadline, counted from when it was opened.
            due_at=center.due(config, state.mode, category, priority, current.opened_at)
            if redated
            else current.due_at,
            handoff=current.handoff or _screened(triaged, actor, now),
            updated_at=now,
            version=current.version + 1,
        )
        change = Change()
        updated = await update_911(store, config, current, updated, change, [*earlier, call])
        receipt = CallReceipt(
            ticket=ticket, call_id=call.id, new_incident=False, incident=updated, registered=registered
        )
        answer = Answer(201, receipt, _encode(receipt))
        _settled(config, claimed, answer, change)
        if redated:
            center.unchanged(change, store, state)
        if current.handoff is None and updated.handoff is not None:
            change.zadd(store.keys.handoff_unstarted, int(now.timestamp()), ticket)
        surge.count(change, store, config, updated.category, now.timestamp())  # a call, whichever ticket
        try:
            await attach_call(store, current, updated, call, actor, change, triaged)
        except Conflict as conflict:
            if conflict.key == store.keys.center:
                raise  # the mode switched: date it again
            if conflict.key != store.keys.incident(ticket):
                raise
            if await _landed(store, ticket, call.id):
                return answer
            raise  # someone else changed the incident first: read it again
        return answer

    retry_on = {store.keys.center, store.keys.incident(ticket)}
    return await retrying(attempt, f"incident {ticket}", retry_if=lambda c: c.key in retry_on)


_RANK = {priority: rank for rank, priority in enumerate(Priority)}


def needs(config: SurgeConfig, answers: Mapping[str, object]) -> list[str]:
    """Capabilities a crew must bring, from the questions answered yes that say so."""
    found = {
        capability
        for category in config.categories
        for question in category.questions
        if question.needs and _yes(answers.get(question.id))
        for capability in question.needs
    }
    return sorted(found)


def _yes(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in {"yes", "y", "true"})


def _decision(
    config: SurgeConfig, call_in: CallIn, triaged: TriageResult | None, actor: str | None, now: datetime
) -> tuple[str, Priority, Override | None]:
    """Category and priority: triage's, unless the agent chose; a choice that differs is an override."""
    if triaged is None:
        category = call_in.category or config.intake.default_category
        default = config.category(category)
        assert default is not None, "category was checked against the config"
        return category, call_in.priority or default.default_priority, None
    category = call_in.category or triaged.category
    priority = call_in.priority or triaged.priority
    if triaged.life_safety:
        priority = Priority.P1  # a life at risk is P1 whatever was chosen; the 911 transfer follows
    if (category, priority) == (triaged.category, triaged.priority):
        return category, priority, None
    override = Override(
        by=actor,
        at=now,
        reason="chosen by the agent at intake",
        category=category,
        priority=priority,
        triage_category=triaged.category,
        triage_priority=triaged.priority,
    )
    return category, priority, override


def _screened(triaged: TriageResult | None, actor: str | None, now: datetime) -> Handoff | None:
    """A life-safety call starts its 911 handoff, the screen as its first step."""
    if triaged is None or not triaged.life_safety:
        return None
    rules = ", ".join(reason.rule for reason in triaged.reasons if reason.effect.endswith("transfer to 911"))
    return screened(actor, now, f"life safety: {rules}")


def _locate(geo: GeoService | None, call: CallIn) -> Located | None:
    if geo is None or call.ticket is not None:
        return None
    if call.location is not None:
        given = GeoResult(
            point=call.location,
            method=Method.MANUAL,
            confidence=1.0,
            label="given with the call",
            source="caller",
        )
        return geo.place(given)
    return geo.locate(call.address) if call.address else None


# Channels on which a person of this center set the point: a resident's app or a partner's transfer
# is not an agent's pin.
_PINNED_BY_AGENTS = frozenset({Channel.PHONE, Channel.WALK_IN, Channel.FIELD})


def _learn_later(
    store: Store, geo: GeoService | None, call: CallIn, actor: str | None, answer: Answer
) -> None:
    """An agent's point for an address the gazetteer could not place is a pin to learn from (geo.aliases).

    Asked again offline (microseconds, cached): only an address it is not sure of teaches anything.
    The pin is written in the background, off the caller's time.
    """
    if (
        geo is None
        or actor is None
        or answer.replayed
        or call.ticket is not None
        or call.location is None
        or not call.address
        or call.channel not in _PINNED_BY_AGENTS
        or geo.locate(call.address).best is not None
    ):
        return
    geo.later(_pinned(store, call.address, call.location, actor))


async def _pinned(store: Store, address: str, point: Point, agent: str) -> None:
    await learn_from_pin(store, address, point, agent)


def _resolve_later(store: Store, geo: GeoService | None, call: CallIn, answer: Answer) -> None:
    """A call the gazetteer could not place gets the online geocoders' turn, off the caller's time."""
    if (
        geo is None
        or not geo.chain.providers
        or not call.address
        or call.location is not None
        or answer.replayed
    ):
        return
    receipt = answer.receipt
    if receipt.new_incident and receipt.incident.needs_location:
        geo.later(resolve_online(store, geo, receipt.ticket, call.address))


async def _landed(store: Store, ticket: str, call_id: str) -> bool:
    """Whether our write happened after all.

    redis-py re-sends a command when the connection drops; if the first send was applied but its
    reply was lost, the second fails its guard against our own write. The call is stored, so the
    answer is success, not an error that would make the caller log it twice.
    """
    incident = await select_incident(store, ticket)
    return incident is not None and call_id in incident.calls


def _call(call_in: CallIn, ticket: str, number: int, now: datetime, e164: str | None) -> Call:
    return Call(
        id=f"C{number}",
        ticket=ticket,
        received_at=call_in.received_at or now,
        logged_at=now,
        channel=call_in.channel,
        agent=call_in.agent,
        caller_name=call_in.caller_name,
        callback_number=call_in.callback_number,
        callback_e164=e164,
        email=call_in.email,
        media_url=call_in.media_url,
        language=call_in.language,
        narrative=call_in.narrative,
        address=call_in.address,
        location=call_in.location,
        answers=call_in.answers,
    )


def _settled(
    config: SurgeConfig, claimed: idempotency.Claim | None, answer: Answer, change: Change | None = None
) -> Change:
    change = change or Change()
    if claimed is not None:
        ttl = config.intake.idempotency_ttl_hours * 3600
        idempotency.settle(change, claimed, answer.status, answer.body, ttl)
    return change
