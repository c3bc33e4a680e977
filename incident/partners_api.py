"""The partner agencies' CAP feed, and the supervisor's route to share an incident with them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from quart import Blueprint, Response, request
from quart_schema import document_response, hide, validate_request

from incident.auth import access
from incident.incidents_api import TICKET
from incident.partners import CAP_TYPE, SharingIn, alert, atom, feed, share, shown
from incident.problems import unknown_ticket
from incident.records import Incident
from incident.web import json_response, public_base_url, store, surge_config

blueprint = Blueprint("partners_api", __name__, url_prefix="/api/v1")


@blueprint.post("/incidents/<ticket>/partners")
@validate_request(SharingIn)
@document_response(Incident)
async def post_sharing(ticket: str, data: SharingIn) -> Response:
    """Share the incident with partner agencies (`{"shared": true, "headline": "…"}`), or stop.

    Partners then read it in their CAP feed, and are sent an Update whenever what they see changes
    (kind of work, priority, status, number of calls, rough place) and a Cancel when it is shared no
    longer or its work is over. The headline is the supervisor's own words, at most 160 characters,
    never a phone number. Work that is over is not shared (409).
    """
    if not TICKET.match(ticket):
        raise unknown_ticket(ticket)
    incident = await share(store(), surge_config(), ticket, data, access.current().name)
    return json_response(incident, headers={"ETag": f'"{incident.version}"'})


@blueprint.get("/partners/cap")
@hide
async def cap_feed() -> Response:
    """An Atom feed of the CAP 1.2 alerts about incidents shared with partners, newest first.

    Each entry carries the alert inline and links to it alone. Poll with `If-None-Match`: an unchanged
    feed is a 304.
    """
    now = datetime.now(UTC)
    entries = await feed(store(), surge_config(), now=now)
    base = _base_url()
    # The messages in it name the feed's content: the same messages, the same feed.
    seen = " ".join([base, *(f"{e.incident.ticket}:{e.message.version}" for e in entries)])
    tag = '"' + hashlib.sha256(seen.encode()).hexdigest()[:32] + '"'
    if tag in request.headers.get("If-None-Match", ""):
        return Response("", 304, {"ETag": tag})
    body = atom(surge_config(), entries, base_url=base, now=now)
    return Response(body, 200, {"ETag": tag}, content_type="application/atom+xml; charset=utf-8")


@blueprint.get("/partners/cap/<ticket>.xml")
@hide
async def cap_alert(ticket: str) -> Response:
    """The latest CAP 1.2 alert about one shared incident (Alert, Update or Cancel)."""
    found = await shown(store(), ticket) if TICKET.match(ticket) else None
    if found is None:
        raise unknown_ticket(ticket)  # never shared: as far as partners know, it does not exist
    return Response(alert(surge_config(), found), 200, content_type=f"{CAP_TYPE}; charset=utf-8")


def _base_url() -> str:
    return public_base_url()
