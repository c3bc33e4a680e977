"""The staff consoles, server-rendered: agent, crew, coordinator and supervisor.

Each console is one page whose small script calls the same JSON API everyone else uses, so a console
can do nothing the API does not allow that person to do.
"""

from __future__ import annotations

import re

from quart import Blueprint, Response, render_template, request
from quart_schema import hide

from incident import casework, center, photos
from incident.auth import access
from incident.auth.privacy import SEES_CALLERS, visible_call
from incident.config import CrewKind
from incident.history import select_history
from incident.history_text import describe
from incident.incidents import select_calls, select_incident
from incident.maps import CENTER, StormlineMap, map_parts
from incident.problems import Problem, unknown_ticket
from incident.status import TRANSITIONS, Status
from incident.web import public_url, store, surge_config

# Moves a person makes from the incident page; the others have their own doors (assigning a crew,
# the crew's marks, the 911 handoff, a referral).
_PAGE_MOVES = (Status.OPEN, Status.RESOLVED, Status.CANCELLED, Status.CLOSED)

blueprint = Blueprint("console_pages", __name__)


@blueprint.get("/crew")
@hide
async def crew() -> str:
    """The crew's phone: its jobs in driving order, on a map, with one tap each to say where it is."""
    principal = access.current()
    figure = StormlineMap(location=CENTER, zoom_start=13, tiles=None, zoom_control=True)
    return await render_template("crew.html", crew_id=principal.crew_id or "", **map_parts(figure))


@blueprint.get("/supervisor")
@hide
async def supervisor() -> str:
    """The supervisor's wall screen: mode, surge, queues, overdue work, crews and alerts, kept live."""
    return await render_template(
        "supervisor.html", modes=[m.value for m in center.Mode], categories=surge_config().categories
    )


@blueprint.get("/coordinator")
@hide
async def coordinator() -> str:
    """The coordinator's board: warming stations, rides and van runs, referrals, overdue items."""
    return await render_template(
        "coordinator.html", sites=surge_config().warming.sites, public_url=public_url()
    )


@blueprint.get("/agent")
@hide
async def agent() -> str:
    """The agent console: a phone call from "hello" to the ticket number, without the mouse."""
    config = surge_config()
    state = await center.current(store())
    profile = center.profile(config, state.mode)
    offered = [config.category(code) for code in profile.categories]
    figure = StormlineMap(location=CENTER, zoom_start=12, tiles=None, zoom_control=False)
    return await render_template(
        "agent.html",
        categories=[c for c in offered if c is not None],
        scripts=profile.scripts,
        screen=config.triage.screen,
        handoff_steps=config.handoff.steps,
        ride_categories=[c.code for c in config.categories if CrewKind.TRANSPORT_VAN in c.crews],
        **map_parts(figure),
    )


@blueprint.get("/incidents/<ticket>")
@hide
async def incident_page(ticket: str) -> str:
    """One incident for staff: calls, history and notes, location, status, 911 handoff, rides, referrals."""
    incident = await select_incident(store(), ticket)
    if incident is None:
        raise unknown_ticket(ticket)
    role = access.current().role
    calls = [visible_call(c, role, incident) for c in await select_calls(store(), incident.calls)]
    history = await select_history(store(), ticket, limit=500)
    config = surge_config()
    category = config.category(incident.category)
    lat, lon = (incident.location.lat, incident.location.lon) if incident.location else CENTER
    figure = StormlineMap(location=(lat, lon), zoom_start=16 if incident.location else 12, tiles=None)
    return await render_template(
        "incident.html",
        incident=incident,
        category=category,
        calls=calls,
        history=[(stored.event, describe(stored.event)) for stored in history],
        moves=[s for s in _PAGE_MOVES if s in TRANSITIONS[incident.status]],
        questions={q.id: q.ask for c in config.categories for q in c.questions}
        | {q.id: q.ask for q in config.triage.screen},
        rides=bool(category and CrewKind.TRANSPORT_VAN in category.crews),
        **map_parts(figure),
    )


@blueprint.get("/search")
@hide
async def search_page() -> str:
    """What the search box on every staff page finds: a ticket, a callback number, or words."""
    query = request.args.get("q", "").strip()[:200]
    found = (
        await casework.search(
            store(),
            surge_config(),
            query,
            limit=50,
            by_number=access.current().role in SEES_CALLERS,
        )
        if query
        else None
    )
    return await render_template("search.html", query=query, found=found)


@blueprint.get("/locate")
@hide
async def locate_page() -> str:
    """The needs-location queue: calls the gazetteer could not place, each placed on a map by hand."""
    figure = StormlineMap(location=CENTER, zoom_start=12, tiles=None)
    return await render_template("locate.html", **map_parts(figure))


@blueprint.get("/storms")
@hide
async def storms_page() -> str:
    """Every storm incident (activation) with its after-action report."""
    return await render_template("storms.html", storms=(await casework.storms(store())).items)


@blueprint.get("/photos/<photo_id>.jpg")
@hide
async def photo(photo_id: str) -> Response:
    """A resident's photo, for the staff who open the incident (it may show a home, a face, a plate)."""
    found = await photos.read(store(), photo_id) if re.fullmatch(photos.PHOTO_ID, photo_id) else None
    if found is None:
        raise Problem(404, "Not Found", "no such photo", kind="unknown-photo")
    return Response(found, 200, {"Cache-Control": "private, max-age=3600"}, content_type="image/jpeg")
