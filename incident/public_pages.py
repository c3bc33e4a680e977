"""The residents' pages: a ticket's status, and the open warming stations on a map. No sign-in."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, render_template, request
from quart_rate_limiter import rate_limit
from quart_schema import hide

from incident.languages import gettext, ngettext
from incident.maps import CENTER, StormlineMap, map_parts
from incident.public_api import LOOKUPS_PER_ADDRESS, normal_ticket, open_stations, ticket_status
from incident.status import MEANING, NAME

blueprint = Blueprint("public_pages", __name__)


@blueprint.get("/track")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def track() -> tuple[str, int]:
    """Look a ticket up by its number: where it stands, in plain words. Nothing personal is shown."""
    ticket = normal_ticket(request.args.get("ticket") or "")
    found = await ticket_status(ticket) if ticket else None
    page = await render_template(
        "track.html",
        public_page=True,
        ticket=ticket,
        found=found,
        meaning=gettext(MEANING[found.status]) if found else None,
        meanings={status.value: gettext(words) for status, words in MEANING.items()},
        names={status.value: gettext(name) for status, name in NAME.items()},
    )
    return page, 404 if ticket and found is None else 200


@blueprint.get("/stations")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def stations_page() -> str:
    """Open warming stations on a map and as a list: where, hours, what they have, places left."""
    # The list is drawn here (it reads without script); public.js draws the markers and keeps both
    # current from /api/v1/public/stations.
    figure = StormlineMap(location=CENTER, zoom_start=12, tiles=None, control_scale=True)
    return await render_template(
        "stations.html",
        public_page=True,
        items=await open_stations(),
        words=_station_words(),
        **map_parts(figure),
    )


def _station_words() -> dict[str, str]:
    """What public.js writes when it redraws the list, in the page's language ({n}, {place}: filled in)."""
    return {
        "full": gettext("Full"),
        "one_place": ngettext("%(num)d place left", "%(num)d places left", 1) % {"num": 1},
        "places": ngettext("%(num)d place left", "%(num)d places left", 2).replace("%(num)d", "{n}"),
        "near": gettext("Near %(place)s").replace("%(place)s", "{place}"),
        "directions": gettext("Directions"),
        "hours": gettext("Hours: %(hours)s").replace("%(hours)s", "{hours}"),
        "accessible": gettext("wheelchair accessible"),
        "pets": gettext("pets welcome"),
        "medical_power": gettext("power for medical equipment"),
        "food": gettext("food"),
        "cots": gettext("cots"),
    }
