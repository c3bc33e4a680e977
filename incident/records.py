"""The records Stormline keeps: calls, incidents and the events that announce every change.

These Structs are the domain model, the JSON wire format and (as MessagePack) the stored format.
Encoders and decoders are built once here, at import.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import msgspec

from geo.point import Point
from geo.result import GeoResult
from incident.config import Priority
from incident.status import Status

Ticket = Annotated[
    str,
    msgspec.Meta(pattern=r"^\d{4}-\d{4,9}$", examples=["2026-000123"], description="Human ticket number"),
]


# What triage decided and why (incident/triage makes them; every record that keeps a decision holds one).
class Reason(msgspec.Struct, kw_only=True):
    """Why the result is what it is: one rule, factor or answer that counted."""

    rule: str
    category: str | None = None
    words: list[str] = []
    answer: str | None = None
    effect: str  # what it did: "emergency P1, life safety", "raises priority", …


class Ignored(msgspec.Struct, kw_only=True):
    """A mention that did not count, and why."""

    words: str
    why: str


class AskNext(msgspec.Struct, kw_only=True):
    id: str
    ask: str
    kind: str


class TriageResult(msgspec.Struct, kw_only=True):
    category: str
    categories: list[str]
    priority: Priority
    life_safety: bool
    reasons: list[Reason]
    ignored: list[Ignored] = []
    vulnerable: list[str] = []
    questions: list[AskNext] = []
    refer: list[str] = []
    concepts: list[str] = []  # the concepts found and counted
    unsettled: list[str] = []  # medical or danger concepts no rule settled: ask the screen questions first
    screen_first: bool = False
    language: str = "en"


class Channel(enum.StrEnum):
    PHONE = "phone"
    WEB = "web"
    SMS = "sms"  # text messages, through the city's SMS gateway (incident/texts.py)
    APP = "app"
    OPEN311 = "open311"
    WALK_IN = "walk_in"
    FIELD = "field"
    PSAP_TRANSFER = "psap_transfer"  # the 911 center transferred a non-emergency call (its EIDO)


class Call(msgspec.Struct, kw_only=True):
    """One contact from one person."""

    id: str
    ticket: str
    received_at: datetime  # when the caller reached us (may be earlier than logged_at)
    logged_at: datetime  # when Stormline stored it
    channel: Channel
    agent: str | None = None
    caller_name: str | None = None
    callback_number: str | None = None  # as the caller gave it
    callback_e164: str | None = None  # the same, normalised, when it could be read
    email: str | None = None  # a resident's app may give one instead of a number
    media_url: str | None = None  # a photo the resident's app sent with the report
    language: str = "en"
    narrative: str = ""  # what the caller said
    address: str | None = None  # the address as given
    location: Point | None = None
    answers: dict[str, str | int | float | bool] = {}  # to the key questions (the crew's card shows them)


class PublicPhoto(msgspec.Struct, kw_only=True, frozen=True):
    """A photo residents sent: one Stormline keeps (from its web form), or an app's own URL."""

    kept: str | None = None  # the id in incident/photos.py
    url: str | None = None  # an Open311 app's media_url, as the app gave it


class Incident(msgspec.Struct, kw_only=True):
    """The work item: one problem at one place, however many people call about it."""

    ticket: str
    seq: int  # global order of creation; the score in every index
    category: str
    priority: Priority
    status: Status
    address: str | None
    location: Point | None
    needs_location: bool  # no point yet: in the queue for an agent to place it
    located_by: GeoResult | None = None  # how the point was found (a geocoder's answer, or by hand)
    location_candidates: list[GeoResult] = []  # when not sure: the places an agent may choose from
    zones: dict[str, str] = {}  # council_district, neighborhood, police_district, census_tract, …
    outside_jurisdiction: bool = False
    town: str | None = None  # where outside the city, when known
    life_safety: bool = False  # triage says a life is at risk: 911 owns it
    triage: TriageResult | None = None  # the decision and its reasons, as triage made it
    override: Override | None = None  # a person's change to triage's category or priority, with why
    handoff: Handoff | None = None  # the transfer to 911, when life safety
    activation: str | None = None  # the storm incident (activation) it was opened during
    exercise: str | None = None  # opened during a drill (incident/exercise.py): never sent out, purged after
    due_at: datetime | None = None  # from its category, priority and the center's mode
    call_ahead: bool = False  # crews may see the callback number, to call before arriving
    assigned_crew: str | None = None  # the crew working it; crews see only their own incidents
    needs: list[str] = []  # capabilities the crew sent must have (from the answers, e.g. a wire down)
    job: str | None = None  # the street-segment job it is part of, assigned and cleared as one unit
    partners: PartnerShare | None = None  # shared with partner agencies (their CAP feed), or once was
    calls: list[str]
    # The newest photo a resident sent with a call (`incident/public_view.py`): shown with the
    # request wherever the public may see it, while it is listed.
    photo: PublicPhoto | None = None
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    version: int = 1  # bumped on every change; compare-and-set guard for writers


class Step(enum.StrEnum):
    """A 911 handoff's steps: the agent's, then the 911 center's answers, then a supervisor's release."""

    SCREENED = "screened"  # triage said life safety
    LOCATION_VERIFIED = "location_verified"
    TRANSFER_STARTED = "transfer_started"  # the EIDO and CAP documents go to 911 now
    CALLER_RELEASED = "caller_released"
    NOTE = "note"  # an agent's note for 911 (the detail), as often as needed; 911 gets a new EIDO
    ACCEPTED = "accepted"  # 911 acknowledged
    REJECTED = "rejected"  # 911 refused, with a reason: 311 has the incident back
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    CLOSED = "closed"
    RELEASED = "released"  # a supervisor released 311 dispatch while 911 has it


class HandoffStep(msgspec.Struct, kw_only=True):
    step: Step
    at: datetime
    by: str | None
    detail: str | None = None


class Handoff(msgspec.Struct, kw_only=True):
    """The incident's transfer to 911, step by step. While `held`, 311 does not dispatch it."""

    steps: list[HandoffStep]
    held: bool = True
    psap_incident_id: str | None = None
    delivery: str | None = None  # the outbox delivery of the EIDO and CAP documents
    updates: list[str] = []  # the outbox deliveries of the EIDO's later versions, oldest first

    def has(self, step: Step) -> bool:
        return any(s.step == step for s in self.steps)


class Override(msgspec.Struct, kw_only=True):
    """A person's decision beside triage's: who, when, why, and what triage had said."""

    by: str | None
    at: datetime
    reason: str
    category: str
    priority: Priority
    triage_category: str | None
    triage_priority: Priority | None


class PartnerShare(msgspec.Struct, kw_only=True):
    """A supervisor's decision that partner agencies see the incident in their CAP feed (or no longer)."""

    shared: bool
    headline: str | None  # the supervisor's own words for partners; never what a caller said
    by: str | None
    at: datetime


class PartnerAlert(msgspec.Struct, kw_only=True, array_like=True):
    """One message of a shared incident's CAP chain to partners: which version of it, when, what kind."""

    version: int  # the incident's version it was sent for: part of its identifier
    sent: datetime
    msg_type: str  # "Alert", "Update" or "Cancel" (CAP 1.2 msgType)


class IncidentOpened(msgspec.Struct, kw_only=True, tag="incident.opened"):
    ticket: str
    at: datetime
    actor: str | None
    call_id: str
    incident: Incident


class CallAttached(msgspec.Struct, kw_only=True, tag="call.attached"):
    ticket: str
    at: datetime
    actor: str | None
    call_id: str
    calls: int  # how many calls the incident has now
    triage: TriageResult | None = None  # of this call's words; it may have raised the incident
    priority: Priority | None = None  # the incident's priority after it
    life_safety: bool = False


class StatusChanged(msgspec.Struct, kw_only=True, tag="incident.status_changed"):
    ticket: str
    at: datetime
    actor: str | None
    from_status: Status = msgspec.field(name="from")
    to_status: Status = msgspec.field(name="to")
    reason: str | None
    version: int
    crew_id: str | None = None  # the crew assigned after the move, if any


class IncidentLocated(msgspec.Struct, kw_only=True, tag="incident.located"):
    ticket: str
    at: datetime
    actor: str | None
    located_by: GeoResult
    zones: dict[str, str]
    outside_jurisdiction: bool
    version: int


class TriageOverridden(msgspec.Struct, kw_only=True, tag="incident.triage_overridden"):
    ticket: str
    at: datetime
    actor: str | None
    override: Override
    version: int


class PartnersChanged(msgspec.Struct, kw_only=True, tag="incident.partners"):
    """A supervisor shared the incident with partner agencies, changed its headline, or stopped sharing."""

    ticket: str
    at: datetime
    actor: str | None
    shared: bool
    headline: str | None
    version: int


class HandoffStepped(msgspec.Struct, kw_only=True, tag="handoff.step"):
    ticket: str
    at: datetime
    actor: str | None
    step: Step
    detail: str | None
    version: int


class Requeued(msgspec.Struct, kw_only=True, tag="incident.requeued"):
    """The incident's category or due time changed with the center's mode (stand-down, a switch)."""

    ticket: str
    at: datetime
    actor: str | None
    category: str
    due_at: datetime | None
    reason: str
    version: int


class NoteAdded(msgspec.Struct, kw_only=True, tag="incident.note"):
    """A person's note on the incident: what was learned or done that no other event says."""

    ticket: str
    at: datetime
    actor: str | None
    text: str
    version: int


class AlarmRaised(msgspec.Struct, kw_only=True, tag="alarm.raised"):
    ticket: str
    at: datetime
    kind: str  # "handoff_unacknowledged", "handoff_rejected", …
    message: str


class CallDownChanged(msgspec.Struct, kw_only=True, tag="calldown.changed"):
    """A call-down list built, or one resident on it taken, called, or sent a door knock."""

    calldown: str
    at: datetime
    actor: str | None
    step: str  # "built", "taken", "safe", "help", "no_answer", "wrong_number", "door_knock", "closed"
    resident: str | None = None  # the registered resident's id: no name, number or need
    ticket: str | None = None  # the incident the step opened
    size: int | None = None  # residents on the list, when built


class CallbackChanged(msgspec.Struct, kw_only=True, tag="callback.changed"):
    """A callback requested, taken by an agent, made (done), given up (unreached) or cancelled."""

    callback: str
    at: datetime
    actor: str | None
    step: str  # "requested", "taken", "waiting" (tried, will try again), "done", "unreached", "cancelled"
    ticket: str | None = None


class ExerciseChanged(msgspec.Struct, kw_only=True, tag="exercise.changed"):
    """A drill started or stopped, or one of its incidents purged."""

    exercise: str
    at: datetime
    actor: str | None
    step: str  # "started", "stopped", "purged"
    ticket: str | None = None


# The call center's own events; dispatch's are in dispatch/events.py, and incident/history.py joins
# them into the one union an incident's history is read with.
IncidentEvent = (
    IncidentOpened
    | CallAttached
    | StatusChanged
    | IncidentLocated
    | TriageOverridden
    | NoteAdded
    | PartnersChanged
    | HandoffStepped
    | AlarmRaised
    | Requeued
    | CallDownChanged
    | CallbackChanged
    | ExerciseChanged
)


pack = msgspec.msgpack.Encoder().encode
unpack_incident = msgspec.msgpack.Decoder(Incident).decode
unpack_call = msgspec.msgpack.Decoder(Call).decode
unpack_partner_alert = msgspec.msgpack.Decoder(PartnerAlert).decode
