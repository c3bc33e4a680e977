"""The residents' pages: a ticket's status, and the open warming stations on a map. No sign-in."""

from __future__ import annotations

import html
from datetime import timedelta

import folium
from quart import Blueprint, render_template, request
from quart_rate_limiter import rate_limit
from quart_schema import hide

from incident.maps import CENTER, StormlineMap, map_parts
from incident.public import LOOKUPS_PER_ADDRESS, open_stations, ticket_status
from incident.status import MEANING

blueprint = Blueprint("public_pages", __name__)


def _inert(text: str) -> str:
    """Text safe as HTML and inside a JavaScript template string."""
    return html.escape(text).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


@blueprint.get("/track")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def track() -> tuple[str, int]:
    """Look a ticket up by its number: where it stands, in plain words. Nothing personal is shown."""
    ticket = (request.args.get("ticket") or "").strip()
    found = await ticket_status(ticket) if ticket else None
    page = await render_template(
        "track.html", ticket=ticket, found=found, meaning=MEANING.get(found.status) if found else None
    )
    return page, 404 if ticket and found is None else 200


@blueprint.get("/stations")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def stations_page() -> str:
    """Open warming stations on a map and as a list: where, hours, what they have, places left."""
    items = await open_stations()
    figure = StormlineMap(location=CENTER, zoom_start=12, tiles=None, control_scale=True)
    for item in items:
        # A tooltip, not a popup: folium's popups need jQuery, which Stormline does not load. The text
        # goes into the page's script as a template string, so nothing in it may be read as code.
        text = f"{item.name}: {'full' if item.full else f'{item.space} places left'} ({item.freshness})"
        folium.CircleMarker(
            [item.point.lat, item.point.lon],
            radius=11,
            color="#0a7d3b",
            fill=True,
            fill_color="#999" if item.full else "#30c060",
            fill_opacity=0.9,
            tooltip=_inert(text),
        ).add_to(figure)
    return await render_template("stations.html", items=items, **map_parts(figure))
