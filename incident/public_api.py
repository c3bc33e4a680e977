"""What anyone may read without signing in: never personal data, never free text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import msgspec
from quart import Blueprint, Response
from quart_rate_limiter import rate_limit
from quart_schema import document_response, hide, validate_querystring

from dispatch import agencies, stations
from geo.gazetteer import pretty_street
from geo.point import Point
from incident import center, photos
from incident.geo_api import Suggestions, SuggestQuery
from incident.history import select_history
from incident.history_text import PUBLIC_WORDS, PublicStep, public_step
from incident.incidents import select_incident
from incident.incidents_api import TICKET
from incident.languages import gettext
from incident.problems import Problem
from incident.public_view import listed
from incident.status import Status
from incident.web import geo, json_response, store, surge_config

blueprint = Blueprint("public_api", __name__, url_prefix="/api/v1")

LOOKUPS_PER_ADDRESS = 120  # a minute


class TrackStep(msgspec.Struct, kw_only=True):
    """One step of a request on its way, as its resident follows it."""

    at: datetime
    step: PublicStep
    words: str  # "A crew is on the way", "Referred to Erie County Department of Social Services"


class TicketStatus(msgspec.Struct, kw_only=True):
    """A ticket as a resident may see it: what kind of problem, where it stands, and how it got there."""

    ticket: str
    category: str
    status: Status
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    steps: list[TrackStep] = []


HISTORY_READ = 1000  # events read for a timeline: a request with more shows its first thousand


class CenterStatus(msgspec.Struct, kw_only=True):
    """What anyone may know about the center right now."""

    mode: str
    incident_name: str | None
    banner: str
    public_message: str
    open_warming_stations: int


@blueprint.get("/status")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@document_response(CenterStatus)
async def get_status() -> Response:
    """The center's mode and public message, for the website, apps and the phone greeting."""
    state = await center.current(store())
    shown = center.profile(surge_config(), state.mode)
    return json_response(
        CenterStatus(
            mode=state.mode,
            incident_name=state.activation.name if state.activation else None,
            banner=shown.banner,
            public_message=gettext(shown.public_message),
            open_warming_stations=sum(
                1 for s in await stations.all_stations(store(), surge_config()) if s.status == "open"
            ),
        )
    )


class PublicStation(msgspec.Struct, kw_only=True):
    """An open warming station as anyone may see it (no contact person)."""

    id: str
    name: str
    address: str | None
    near: str | None  # the nearest known corner, when the data gives no street address
    point: Point
    hours: str
    amenities: stations.Amenities
    space: int
    full: bool
    freshness: str


class PublicStations(msgspec.Struct, kw_only=True):
    items: list[PublicStation]


@blueprint.get("/public/stations")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@document_response(PublicStations)
async def get_stations() -> Response:
    """Open warming stations: where, hours, amenities, and how many places are left (and how fresh)."""
    return json_response(PublicStations(items=await open_stations()))


@blueprint.get("/public/places")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@validate_querystring(SuggestQuery)
@document_response(Suggestions)
async def get_places(query_args: SuggestQuery) -> Response:
    """Completions for an address as a resident types it: the city's streets, corners and places."""
    return json_response(Suggestions(geo().gazetteer.suggest(query_args.q, query_args.limit)))


@blueprint.get("/public/tickets/<ticket>")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@document_response(TicketStatus)
async def get_ticket(ticket: str) -> Response:
    """Look a ticket up: its category and status. No names, numbers, addresses or narratives.

    The number may be typed with a space for the dash ("2026 000123").
    """
    found = await ticket_status(normal_ticket(ticket))
    if found is None:
        raise Problem(404, "Not Found", "no such ticket", kind="unknown-ticket")
    return json_response(found)


@blueprint.get("/public/tickets/<ticket>/photo.jpg")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def get_ticket_photo(ticket: str) -> Response:
    """A listed request's newest photo from a resident (Open311's media_url): redrawn, no metadata."""
    incident = await select_incident(store(), ticket) if TICKET.match(ticket) else None
    kept = incident.photo.kept if incident and incident.photo and listed(surge_config(), incident) else None
    found = await photos.read(store(), kept) if kept else None
    if found is None:
        raise Problem(404, "Not Found", "no public photo for this request", kind="unknown-photo")
    # Not kept by any cache: once the request is no longer listed, the photo is gone at once.
    return Response(found, 200, {"Cache-Control": "no-store"}, content_type="image/jpeg")


async def ticket_status(ticket: str) -> TicketStatus | None:
    """What a resident may know of a ticket (None if there is no such ticket)."""
    incident = await select_incident(store(), ticket) if TICKET.match(ticket) else None
    if incident is None:
        return None
    category = surge_config().category(incident.category)
    # Ticket numbers run in sequence, so anyone can walk them: a sensitive category's name (medical
    # needs, welfare checks) would say who needed what, and when. Those read as a plain request.
    shown = gettext(category.name) if category and not category.sensitive else gettext("Service request")
    return TicketStatus(
        ticket=incident.ticket,
        category=shown,
        status=incident.status,
        opened_at=incident.opened_at,
        updated_at=incident.updated_at,
        resolved_at=incident.resolved_at,
        steps=await _steps(ticket),
    )


async def _steps(ticket: str) -> list[TrackStep]:
    """The request's public timeline: its history's steps a resident may see, each said once in a row."""
    seen: list[tuple[datetime, PublicStep, str | None]] = []
    for stored in await select_history(store(), ticket, limit=HISTORY_READ):
        shown = public_step(stored.event)
        if shown is not None:
            seen.append((stored.event.at, *shown))
    services = await agencies.by_id(store(), sorted({service for _, _, service in seen if service}))
    steps: list[TrackStep] = []
    for at, step, service in seen:
        agency = services[service].organization if service in services else gettext("an outside agency")
        words = gettext(PUBLIC_WORDS[step]).format(agency=agency)
        if not steps or (steps[-1].step, steps[-1].words) != (step, words):
            steps.append(TrackStep(at=at, step=step, words=words))
    return steps


async def open_stations() -> list[PublicStation]:
    """Open warming stations as anyone may see them."""
    now = datetime.now(UTC)
    items = []
    for found in await stations.all_stations(store(), surge_config()):
        if found.status != "open":
            continue
        shown = stations.view(surge_config(), found, now)
        items.append(
            PublicStation(
                id=found.id,
                name=found.name,
                address=found.address,
                near=None if found.address else _nearest_corner(found.point),
                point=found.point,
                hours=found.hours,
                amenities=found.amenities,
                space=shown.space,
                full=shown.full,
                freshness=shown.freshness,
            )
        )
    return items


def _nearest_corner(point: Point) -> str | None:
    found = geo().gazetteer.reverse(point)
    return pretty_corner(found[0]) if found and found[2] < 400 else None


def pretty_corner(label: str) -> str:
    """A corner as people write it: "MAIN ST & HERTEL AVE" is "Main St & Hertel Ave"."""
    return " & ".join(pretty_street(part.strip()) for part in label.split("&"))


def normal_ticket(typed: str) -> str:
    """A ticket as a resident types it ("2026 000123", "2026000123") in its one form, "2026-000123"."""
    digits = re.sub(r"[\s\-–]+", "", typed.strip())
    return f"{digits[:4]}-{digits[4:]}" if re.fullmatch(r"\d{8,13}", digits) else typed.strip()
