"""Setting where an incident is: by a geocoder's answer after intake, or by an agent's hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from geo.point import Point
from geo.result import GeoResult, Method
from incident.events import Change
from incident.geocoding import GeoService
from incident.handoff import update_911
from incident.incidents import kept_incidents
from incident.kept import Plan
from incident.problems import Problem, invalid_field
from incident.records import Incident, IncidentLocated
from incident.store import Store


class LocationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where the incident is: a point set on the map, or an address to look up (one of the two)."""

    point: Point | None = None
    address: Annotated[str, msgspec.Meta(min_length=2, max_length=300)] | None = None


async def place_from_request(
    store: Store, geo: GeoService, ticket: str, request: LocationIn, actor: str | None
) -> Incident:
    """Set the point from a request; an address the geocoders are not sure of is a 422 with candidates."""
    if (request.point is None) == (request.address is None):
        raise invalid_field("point", "give either a point or an address")
    if request.point is not None:
        result = GeoResult(
            point=request.point, method=Method.MANUAL, confidence=1.0, label="set on the map", source="agent"
        )
    else:
        assert request.address is not None, "checked above"
        found = await geo.chain.geocode(request.address)
        if not found or found[0].confidence < geo.config.geo.accept_confidence:
            raise Problem(
                422,
                "Location not certain",
                f"not sure where {request.address!r} is; choose a candidate's point or set it on the map",
                kind="location-uncertain",
                errors=[{"field": "address", "detail": "not found with enough confidence"}],
                candidates=[msgspec.to_builtins(result) for result in found[:5]],
            )
        result = found[0]
    placed = await set_location(store, geo, ticket, result, actor)
    assert placed is not None, "an agent's placement always applies"
    return placed


async def set_location(
    store: Store,
    geo: GeoService,
    ticket: str,
    result: GeoResult,
    actor: str | None,
    *,
    only_if_unplaced: bool = False,
) -> Incident | None:
    """Place the incident at `result`, with its zones; it leaves the needs-location queue.

    With `only_if_unplaced` (the background geocoder), an incident placed meanwhile is left as it is
    (None is returned): a point an agent set is never overwritten by a machine's guess.
    """
    placed = geo.place(result)
    kept: list[Incident] = []

    async def decide(current: Incident) -> Plan[Incident] | None:
        if only_if_unplaced and not current.needs_location:
            kept.append(current)
            return None
        updated = msgspec.structs.replace(
            current,
            location=result.point,
            located_by=result,
            location_candidates=[],
            needs_location=False,
            zones=placed.zones,
            outside_jurisdiction=placed.outside,
            town=placed.town,
            updated_at=datetime.now(UTC),
            version=current.version + 1,
        )
        event = IncidentLocated(
            ticket=ticket,
            at=updated.updated_at,
            actor=actor,
            located_by=result,
            zones=placed.zones,
            outside_jurisdiction=placed.outside,
            version=updated.version,
        )
        change = Change()
        return Plan(await update_911(store, geo.config, current, updated, change), event, change)

    updated = await kept_incidents(store).change(ticket, decide)
    return None if kept else updated


async def resolve_online(store: Store, geo: GeoService, ticket: str, address: str) -> None:
    """After intake: ask the online geocoders; place the incident if one is sure (else leave it queued)."""
    found = await geo.chain.geocode(address)
    if found and found[0].confidence >= geo.config.geo.accept_confidence:
        await set_location(store, geo, ticket, found[0], "geocoder", only_if_unplaced=True)
