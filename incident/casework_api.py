"""The JSON API for staff casework: search, notes on an incident, and the list of past storms."""

from __future__ import annotations

from typing import Annotated

import msgspec
from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring, validate_request

from incident import casework, worklist
from incident.auth import access
from incident.auth.privacy import SEES_CALLERS
from incident.records import Incident
from incident.web import json_response, store, surge_config

blueprint = Blueprint("casework_api", __name__, url_prefix="/api/v1")


class SearchQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    q: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 25


@blueprint.get("/search")
@validate_querystring(SearchQuery)
@document_response(casework.Found)
async def search(query_args: SearchQuery) -> Response:
    """Find incidents by ticket ("2026-000123", a space for the dash is fine), callback number or words.

    Words are whole words of what callers said or the address they gave, all of them, newest first.
    Only roles that see callers' numbers may search by one; for the others digits are words.
    """
    found = await casework.search(
        store(),
        surge_config(),
        query_args.q,
        limit=query_args.limit,
        by_number=access.current().role in SEES_CALLERS,
    )
    return json_response(found)


@blueprint.post("/incidents/<ticket>/notes")
@validate_request(casework.NoteIn)
@document_response(Incident)
async def post_note(ticket: str, data: casework.NoteIn) -> Response:
    """Add a note to the incident's history (who and when are recorded with it)."""
    incident = await casework.add_note(store(), ticket, data, access.current().name)
    return json_response(incident, 201, {"ETag": f'"{incident.version}"'})


@blueprint.get("/activations")
@document_response(casework.StormList)
async def list_storms() -> Response:
    """Past and current storm incidents (activations), newest first, for their after-action reports."""
    return json_response(await casework.storms(store()))


@blueprint.get("/worklist")
@validate_querystring(worklist.WorkQuery)
@document_response(worklist.WorkList)
async def get_worklist(query_args: worklist.WorkQuery) -> Response:
    """The supervisor's work list: one view, by priority then oldest first, paged; every view counted.

    `waiting`: open 311 work placed in the city; apart from it `unplaced` (needs a point), `outside`
    (another town's), `referred` (an agency has it) and `held` (911 has it). Filter by `category` and
    council `district`.
    """
    return json_response(await worklist.work_list(store(), query_args))
