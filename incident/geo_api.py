"""The geography API: type-ahead, look-up and reverse look-up, for the consoles."""

from __future__ import annotations

from typing import Annotated

import msgspec
from quart import Blueprint, Response, render_template
from quart_schema import document_response, hide, validate_querystring, validate_request

from geo import aliases
from geo.point import Latitude, Longitude, Point
from geo.result import GeoResult
from incident.auth.access import current
from incident.pins import alias_keys
from incident.problems import Problem
from incident.web import geo, json_response, store

blueprint = Blueprint("geo_api", __name__, url_prefix="/api/v1/geo")


class SuggestQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    q: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=25)] = 10


class Suggestions(msgspec.Struct):
    suggestions: list[str]


class GeocodeQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    q: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class Candidates(msgspec.Struct, kw_only=True):
    results: list[GeoResult]
    sure: bool  # the first result is above the config's accept_confidence
    zones: dict[str, str]  # of the first result
    outside_jurisdiction: bool
    outside_referral: str | None


class ReverseQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    lat: Latitude
    lon: Longitude


class Nearest(msgspec.Struct, kw_only=True):
    label: str | None  # the nearest known corner or address
    point: Point | None
    distance_m: float | None
    zones: dict[str, str]
    outside_jurisdiction: bool


@blueprint.get("/suggest")
@validate_querystring(SuggestQuery)
@document_response(Suggestions)
async def suggest(query_args: SuggestQuery) -> Response:
    """Completions for what the agent has typed so far: streets, corners, places."""
    return json_response(Suggestions(geo().gazetteer.suggest(query_args.q, query_args.limit)))


@blueprint.get("/geocode")
@validate_querystring(GeocodeQuery)
@document_response(Candidates)
async def geocode(query_args: GeocodeQuery) -> Response:
    """Every plausible place for what was said, best first, with how each was found and how sure."""
    service = geo()
    results = await service.chain.geocode(query_args.q)
    placed = service.place(results[0]) if results else None
    outside = bool(placed and placed.outside)
    return json_response(
        Candidates(
            results=results[:10],
            sure=bool(results) and results[0].confidence >= service.config.geo.accept_confidence,
            zones=placed.zones if placed else {},
            outside_jurisdiction=outside,
            outside_referral=service.config.geo.outside_referral if outside else None,
        )
    )


@blueprint.get("/reverse")
@validate_querystring(ReverseQuery)
@document_response(Nearest)
async def reverse(query_args: ReverseQuery) -> Response:
    """The nearest known corner or address to a map pin or a crew's GPS fix, and its zones."""
    service = geo()
    point = Point(query_args.lat, query_args.lon)
    nearest = service.gazetteer.reverse(point)
    zones = service.zones_of(point)
    return json_response(
        Nearest(
            label=nearest[0] if nearest else None,
            point=nearest[1] if nearest else None,
            distance_m=round(nearest[2], 1) if nearest else None,
            zones=zones,
            outside_jurisdiction="city" not in zones,
        )
    )


# ---- city aliases learnt from agents' pins (geo.aliases) ------------------------------------------


class AliasIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=2, max_length=300)]
    point: Point


class AliasQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=2, max_length=300)]


class AliasList(msgspec.Struct):
    aliases: list[aliases.Alias]


class PinList(msgspec.Struct):
    pins: list[aliases.Pin]  # pins not (yet) an alias, the most recently pinned words first


@blueprint.get("/aliases")
@document_response(AliasList)
async def list_aliases() -> Response:
    """Every alias the center has learnt (or a supervisor set), by its words."""
    return json_response(AliasList(await aliases.all_aliases(store().redis, alias_keys(store()).aliases)))


@blueprint.get("/pins")
@document_response(PinList)
async def list_pins() -> Response:
    """Agents' pins for words the gazetteer could not place, waiting for a second pin or a supervisor."""
    return json_response(PinList(await aliases.waiting_pins(store().redis, alias_keys(store()))))


@blueprint.put("/aliases")
@validate_request(AliasIn)
@document_response(aliases.Alias)
async def put_alias(data: AliasIn) -> Response:
    """Confirm a pin, or add or move an alias: these words mean this point, for every worker at once."""
    by = current().name or "?"
    alias = await aliases.set_alias(
        store().redis, alias_keys(store()), text=data.text, point=data.point, by=by
    )
    return json_response(alias)


@blueprint.delete("/aliases")
@validate_querystring(AliasQuery)
async def delete_alias(query_args: AliasQuery) -> Response:
    """Forget an alias (404 if there is none by those words)."""
    if not await aliases.remove_alias(store().redis, alias_keys(store()), text=query_args.text):
        raise Problem(404, "No such alias", f"no alias for {query_args.text!r}", kind="unknown-alias")
    return Response(status=204)


pages = Blueprint("geo_pages", __name__, url_prefix="/admin")


@pages.get("/aliases")
@hide
async def aliases_page() -> Response:
    """The learnt aliases, to review, correct or remove (through the aliases API, by aliases.js)."""
    body = await render_template("admin_aliases.html")
    return Response(body, 200, content_type="text/html; charset=utf-8")
