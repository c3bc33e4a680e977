"""The JSON API for the registry of residents who need help, and for call-downs; and their pages.

Coordinators and supervisors keep the registry; an agent sees a resident only as a call needs it
(the match at intake, and the resident a call-down hands them). Every read is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

import msgspec
from quart import Blueprint, Response, render_template, request
from quart_schema import document_response, hide, validate_querystring, validate_request

from incident import calldown
from incident.auth import access, navigation
from incident.config import Need
from incident.maps import CENTER, StormlineMap, map_parts
from incident.phone import to_e164
from incident.problems import invalid_field
from incident.registry import (
    CallerNeeds,
    Registry,
    RegistryImported,
    Resident,
    ResidentIn,
    ResidentPage,
    ResidentPatch,
)
from incident.web import geo, json_response, store, surge_config, triage_engine

blueprint = Blueprint("registry_api", __name__, url_prefix="/api/v1")
pages = Blueprint("registry_pages", __name__)


def _registry() -> Registry:
    return Registry(store(), surge_config(), geo())


def _who() -> tuple[str | None, str | None]:
    principal = access.current()
    return principal.name, principal.role.value if principal.role else None


class PageQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    stale: bool = False  # only those whose consent is due to be asked again (within 30 days)


class MatchIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=300)] | None = None


class ImportQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    source: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}$")]


class RegistryMatches(msgspec.Struct, kw_only=True):
    items: list[CallerNeeds]


@blueprint.get("/registry")
@validate_querystring(PageQuery)
@document_response(ResidentPage)
async def list_residents(query_args: PageQuery) -> Response:
    """Registered residents, by number; `stale=true`: those to ask again for consent within 30 days."""
    actor, role = _who()
    today = datetime.now(surge_config().zone).date()
    stale_by = today.fromordinal(today.toordinal() + 30) if query_args.stale else None
    page = await _registry().page(
        actor, role, offset=query_args.offset, limit=query_args.limit, stale_by=stale_by
    )
    return json_response(page, headers={"Cache-Control": "no-store"})


@blueprint.post("/registry")
@validate_request(ResidentIn)
@document_response(Resident)
async def post_resident(data: ResidentIn) -> Response:
    """Register a resident (opt-in: give the consent's date and how it was given)."""
    resident = await _registry().register(data, access.current().name)
    return json_response(resident, 201, {"Location": f"/api/v1/registry/{resident.id}"})


# A POST, though it changes nothing but the audit: a caller's number in a URL would sit in proxy logs.
@blueprint.post("/registry/match")
@validate_request(MatchIn)
@document_response(RegistryMatches)
async def match_resident(data: MatchIn) -> Response:
    """Registered residents a caller may be: by the number calling, or at the address given."""
    if not (data.phone or data.address):
        raise invalid_field("phone", "give a phone number or an address")
    config = surge_config()
    e164 = to_e164(data.phone, config.jurisdiction.phone_region) if data.phone else None
    located = geo().locate(data.address) if data.address else None
    point = located.best.point if located and located.best else None
    actor, role = _who()
    found = await _registry().match(e164, point, actor, role, "match")
    return json_response(RegistryMatches(items=found), headers={"Cache-Control": "no-store"})


@blueprint.post("/registry/import")
@validate_querystring(ImportQuery)
@document_response(RegistryImported)
async def import_residents(query_args: ImportQuery) -> Response:
    """Import a CSV list (named columns; see the README); a bad row is refused with its line."""
    body = cast(bytes, await request.get_data(as_text=False))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_field("body", "send the CSV as UTF-8 text") from None
    imported = await _registry().import_csv(text, query_args.source, access.current().name)
    return json_response(imported, 200)


@blueprint.get("/registry/<resident_id>")
@document_response(Resident)
async def get_resident(resident_id: str) -> Response:
    actor, role = _who()
    resident = await _registry().view(resident_id, actor, role)
    return json_response(resident, headers={"ETag": f'"{resident.version}"', "Cache-Control": "no-store"})


@blueprint.patch("/registry/<resident_id>")
@validate_request(ResidentPatch)
@document_response(Resident)
async def patch_resident(resident_id: str, data: ResidentPatch) -> Response:
    resident = await _registry().update(resident_id, data, access.current().name)
    return json_response(resident, headers={"ETag": f'"{resident.version}"'})


@blueprint.delete("/registry/<resident_id>")
async def delete_resident(resident_id: str) -> Response:
    """Take a resident off the registry (consent withdrawn): nothing of them is kept."""
    await _registry().remove(resident_id, access.current().name)
    return Response(status=204)


class CallDowns(msgspec.Struct, kw_only=True):
    items: list[calldown.CallDown]


@blueprint.post("/calldowns")
@validate_request(calldown.CallDownIn)
@document_response(calldown.CallDownBuilt)
async def post_calldown(data: calldown.CallDownIn) -> Response:
    """Build a call-down list for an area and needs, in order of risk."""
    actor, role = _who()
    built = await calldown.build(store(), surge_config(), _registry(), data, actor, role)
    return json_response(built, 201, {"Location": f"/api/v1/calldowns/{built.calldown.id}"})


@blueprint.get("/calldowns")
@document_response(CallDowns)
async def list_calldowns() -> Response:
    return json_response(CallDowns(items=await calldown.lists(store())))


@blueprint.get("/calldowns/<calldown_id>")
@document_response(calldown.CallDownProgress)
async def get_calldown(calldown_id: str) -> Response:
    """A call-down's progress: done, safe, help, unreached (door knocks), waiting, held."""
    return json_response(await calldown.progress(store(), calldown_id))


@blueprint.get("/calldowns/<calldown_id>/map")
async def calldown_map(calldown_id: str) -> Response:
    """A call-down on a map (GeoJSON): its area, and each resident as a point with only state and rank.

    State: waiting, held, calling_again, safe, help, unreached or removed; no name, number, need or id.
    """
    registry = _registry()
    drawn, shown = await calldown.map_of(store(), registry, calldown_id)
    actor, role = _who()
    await registry.audit_read(actor, role, "calldown_map", shown[:50], count=len(shown))
    response = json_response(drawn, headers={"Cache-Control": "no-store"})
    response.content_type = "application/geo+json"
    return response


@blueprint.post("/calldowns/<calldown_id>/next")
@document_response(calldown.CallDownTaken)
async def take_next_resident(calldown_id: str) -> Response:
    """Hold the next resident to call for the agent asking (204: nobody left to call now)."""
    actor, role = _who()
    taken = await calldown.take_next(store(), surge_config(), _registry(), calldown_id, actor or "?", role)
    if taken is None:
        return Response(status=204)
    return json_response(taken, headers={"Cache-Control": "no-store"})


@blueprint.post("/calldowns/<calldown_id>/residents/<resident_id>/attempts")
@validate_request(calldown.CallDownAttemptIn)
@document_response(calldown.CallDownEntry)
async def post_attempt(calldown_id: str, resident_id: str, data: calldown.CallDownAttemptIn) -> Response:
    """Record a call to a resident the agent holds: safe, help (an incident), no answer, wrong number."""
    entry = await calldown.record_attempt(
        store(),
        surge_config(),
        _registry(),
        calldown_id,
        resident_id,
        data,
        access.current().name or "?",
        geo=geo(),
        triage=triage_engine(),
        role=_who()[1],
    )
    return json_response(entry, 201)


@blueprint.post("/calldowns/<calldown_id>/close")
@document_response(calldown.CallDown)
async def close_calldown(calldown_id: str) -> Response:
    return json_response(await calldown.close(store(), calldown_id, access.current().name))


# --- the pages: each script reads and writes through the routes above (every read of a resident audited)


def _districts() -> list[str]:
    layer = geo().zones.layer("council_district")
    return sorted({str(name) for name in layer.names}) if layer is not None else []


@pages.get("/registry")
@hide
async def registry_page() -> str:
    """The registry for coordinators and supervisors: the list (paged, or due to re-verify), forms."""
    return await render_template("registry.html", needs=list(Need))


@pages.get("/calldowns")
@hide
async def calldowns_page() -> str:
    """Call-downs: built by district or outage area, their progress live, an agent's next resident to call."""
    may_build = navigation.may_open(access.current().role, "registry_api.post_calldown")
    figure = StormlineMap(location=CENTER, zoom_start=12, tiles=None, control_scale=True)
    return await render_template(
        "calldowns.html",
        needs=list(Need),
        districts=_districts(),
        may_build=may_build,
        **map_parts(figure),
    )
