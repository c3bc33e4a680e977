"""The geography API: type-ahead, look-up and reverse look-up, for the consoles."""

from __future__ import annotations

from typing import Annotated

import msgspec
from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring

from geo.point import Latitude, Longitude, Point
from geo.result import GeoResult
from incident.web import geo, json_response

blueprint = Blueprint("geo", __name__, url_prefix="/api/v1/geo")


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
