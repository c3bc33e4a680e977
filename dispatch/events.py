"""Dispatch's events (crews, work, routes, jobs, stations, rides, agencies, referrals), and crews' notices.

Each lands in the events stream (and the histories of the incidents it is about) in the same atomic
step as its change; incident/history.py reads them back beside the call center's own.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from geo.point import Point
from incident.config import Priority
from incident.status import Status


class IncidentAssigned(msgspec.Struct, kw_only=True, tag="incident.assigned"):
    """A supervisor gave incidents (one, or a street-segment job's) to a crew, maybe from another."""

    tickets: list[str]
    at: datetime
    actor: str | None
    crew_id: str
    from_crew: str | None
    job: str | None
    reason: str | None


class IncidentUnassigned(msgspec.Struct, kw_only=True, tag="incident.unassigned"):
    """A supervisor took incidents back from their crew; they are open again."""

    tickets: list[str]
    at: datetime
    actor: str | None
    crew_id: str
    job: str | None
    reason: str | None


class CrewMarked(msgspec.Struct, kw_only=True, tag="crew.marked"):
    """A crew said where it is with its work: en route, on scene, cleared, or unable (and why)."""

    tickets: list[str]
    at: datetime
    actor: str | None
    crew_id: str
    mark: str
    job: str | None
    to_status: Status = msgspec.field(name="to")
    reason: str | None


class CrewRouted(msgspec.Struct, kw_only=True, tag="crew.route"):
    """A crew's work was put in a new driving order."""

    crew_id: str
    at: datetime
    actor: str | None
    route: list[str]
    length_m: float


class JobGrouped(msgspec.Struct, kw_only=True, tag="job.grouped"):
    """Incidents on one block face became one street-segment job (in each incident's history)."""

    job: str
    at: datetime
    actor: str | None
    tickets: list[str]
    segment: str


class JobDissolved(msgspec.Struct, kw_only=True, tag="job.dissolved"):
    job: str
    at: datetime
    actor: str | None
    tickets: list[str]
    reason: str | None


class CrewSaved(msgspec.Struct, kw_only=True, tag="crew.saved"):
    """A crew was created or changed (its record as it now is, MessagePack in the stream)."""

    crew_id: str
    at: datetime
    actor: str | None
    version: int
    changed: list[str]


class CrewPositioned(msgspec.Struct, kw_only=True, tag="crew.position"):
    crew_id: str
    at: datetime  # when the device took the fix
    lat: float
    lon: float
    accuracy_m: float | None


class StationChanged(msgspec.Struct, kw_only=True, tag="station.changed"):
    """A warming station opened, changed, counted, checked people in or out, held places, or closed."""

    station_id: str
    at: datetime
    actor: str | None
    action: str  # opened, updated, counted, checked_in, checked_out, reserved, released, closed
    occupancy: int
    reserved: int
    people: int = 0  # how many this change was about
    detail: str | None = None
    moved_to: str | None = None  # closing: where the people in it went


class TransportChanged(msgspec.Struct, kw_only=True, tag="transport.changed"):
    """A ride to a warming station moved: requested, scheduled, picked up, dropped off, no-show…"""

    request_id: str
    ticket: str
    at: datetime
    actor: str | None
    status: str
    station: str
    run: str | None = None
    detail: str | None = None


class RunPlanned(msgspec.Struct, kw_only=True, tag="transport.run"):
    """A van run: which van, which pickups in which order, to which station."""

    run_id: str
    at: datetime
    actor: str | None
    crew_id: str
    requests: list[str]
    station: str


class AgencySaved(msgspec.Struct, kw_only=True, tag="agency.saved"):
    service_id: str
    at: datetime
    actor: str | None
    changed: list[str]


class ReferralChanged(msgspec.Struct, kw_only=True, tag="referral.changed"):
    """A referral to an outside agency: sent, accepted, declined (why), completed."""

    referral_id: str
    ticket: str
    at: datetime
    actor: str | None
    status: str
    service_id: str
    reason: str | None = None


class CrewNotice(msgspec.Struct, kw_only=True):
    """What a crew's devices are sent when its work changes: one message in its feed, acknowledged."""

    kind: str  # "assigned", "updated", "done", "withdrawn" (no longer this crew's), "route"
    at: datetime
    ticket: str | None = None
    status: Status | None = None
    category: str | None = None
    priority: Priority | None = None
    address: str | None = None
    location: Point | None = None
    job: str | None = None
    route: list[str] | None = None  # with "route": the crew's work in driving order


unpack_notice = msgspec.msgpack.Decoder(CrewNotice).decode


DispatchEvent = (
    IncidentAssigned
    | IncidentUnassigned
    | CrewMarked
    | CrewRouted
    | JobGrouped
    | JobDissolved
    | CrewSaved
    | CrewPositioned
    | StationChanged
    | TransportChanged
    | RunPlanned
    | AgencySaved
    | ReferralChanged
)
