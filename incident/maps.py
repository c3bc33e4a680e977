"""The live map: the page (folium), its data, its offline base layer, and the map libraries it uses.

Leaflet and its plugins are served from `web/node_modules` (installed by `make` from the npm registry,
pinned by `web/package-lock.json`), never from a CDN: with the internet down the map still loads.
Tiles come from `STORMLINE_TILES` if set; the offline base layer (the city's boundary, council
districts and the blocks Stormline knows) shows where things are when no tile loads.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import folium
import msgspec
from quart import Blueprint, Response, current_app, render_template, send_file
from quart_schema import hide

from geo.blocks import blocks_of
from geo.gazetteer import pretty_street
from incident.incidents import select_many
from incident.security import csp_nonce
from incident.web import geo, json_response, store, surge_config

blueprint = Blueprint("map_api", __name__)
pages = Blueprint("map_pages", __name__)
ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "web" / "node_modules"
BOUNDARIES = ROOT / "geo" / "data" / "boundaries"
# Only these files of these packages are served: nothing else under node_modules is reachable.
VENDOR = re.compile(r"^(leaflet/dist/[\w.-]+(/[\w.-]+)?|leaflet\.markercluster/dist/[\w.-]+)$")
CENTER = (42.8964, -78.8600)  # Buffalo


class StormlineMap(folium.Map):
    """A folium map whose libraries come from Stormline itself, not from CDNs."""

    default_js = [("leaflet", "/vendor/leaflet/dist/leaflet.js")]  # noqa: RUF012 - folium's own shape
    default_css = [("leaflet_css", "/vendor/leaflet/dist/leaflet.css")]  # noqa: RUF012

    def __init__(self, **options: Any) -> None:
        # Tiles usually say how far one may zoom; the offline base layer does not, and with no tiles
        # Leaflet would zoom without end onto a single pin.
        super().__init__(**{"maxZoom": 19, **options})


class MapIncident(msgspec.Struct, array_like=True):
    """An open incident as the map draws it, as an array (one per incident, so the list stays small)."""

    ticket: str
    lat: float
    lon: float
    category: str
    priority: str
    status: str
    crew: str | None
    job: str | None
    outside: bool  # outside the city: drawn differently


@pages.get("/map")
@hide
async def map_page() -> str:
    """The live map: incidents by category and priority (clustered), crews, stations, jobs, zones."""
    figure = StormlineMap(location=CENTER, zoom_start=12, tiles=None, control_scale=True, prefer_canvas=True)
    tiles = current_app.extensions.get("stormline.tiles") or ""
    if tiles:
        folium.TileLayer(tiles=tiles, attr="Map tiles", name="Streets (tiles)").add_to(figure)
    return await render_template(
        "map.html", categories=[(c.code, c.name) for c in surge_config().categories], **map_parts(figure)
    )


def map_parts(figure: folium.Map) -> dict[str, str]:
    """A folium map cut into what a page template places: head, map element, script, name.

    Its inline scripts and styles get this response's CSP nonce; nothing else inline may run.
    """
    root = cast(Any, figure.get_root())  # a folium Figure: header, html and script parts
    root.render()
    nonce = csp_nonce()
    header = re.sub(r"<(script|style)(?=[\s>])", rf'<\1 nonce="{nonce}"', root.header.render())
    # Folium's own viewport forbids pinch-zoom; the page's (base.html) allows it, which phones need.
    header = re.sub(r'<meta name="viewport"[^>]*>', "", header)
    return {
        "map_header": header,
        "map_html": root.html.render(),
        "map_script": root.script.render(),
        "map_name": figure.get_name(),
    }


@blueprint.get("/api/v1/map/incidents")
@hide
async def map_incidents() -> Response:
    """Every located incident not done, compactly: what the map draws when it opens."""
    tickets: list[str] = []
    for category in surge_config().categories:
        members = cast(list[bytes], await store().redis.zrange(store().keys.open_geo(category.code), 0, -1))
        tickets += [m.decode() for m in members]
    rows = []
    for start in range(0, len(tickets), 1000):
        for incident in await select_many(store(), tickets[start : start + 1000]):
            if incident.location is None:
                continue
            rows.append(
                MapIncident(
                    ticket=incident.ticket,
                    lat=incident.location.lat,
                    lon=incident.location.lon,
                    category=incident.category,
                    priority=incident.priority,
                    status=incident.status,
                    crew=incident.assigned_crew,
                    job=incident.job,
                    outside=incident.outside_jurisdiction,
                )
            )
    return json_response(rows)


@blueprint.get("/api/v1/map/base")
@hide
async def map_base() -> Response:
    """The offline base layer (GeoJSON): the city, its zones and the known street blocks.

    Zones: council and police districts, and neighbourhoods; each feature's `layer` says which.
    """
    response = Response(_base(id(geo().gazetteer)), content_type="application/geo+json")
    response.headers["Cache-Control"] = "public, max-age=3600"  # public geodata; crew phones on thin signal
    return response


@lru_cache(maxsize=2)
def _base(_gazetteer: int) -> bytes:
    features: list[dict[str, Any]] = []
    for path, layer, name_property in (
        (BOUNDARIES / "buffalo_city_boundary.geojson", "city", None),
        (BOUNDARIES / "buffalo_council_districts.geojson", "district", "council_district"),
        (BOUNDARIES / "buffalo_neighborhoods_from_eds.geojson", "neighborhood", "nbhdname"),
        (BOUNDARIES.parent / "police_districts" / "police_districts.geojson", "police", "name"),
    ):
        for feature in json.loads(path.read_text())["features"]:
            label = feature["properties"].get(name_property) if name_property else "City of Buffalo"
            features.append(
                {
                    "type": "Feature",
                    "geometry": feature["geometry"],
                    "properties": {"layer": layer, "name": label},
                }
            )
    for block in blocks_of(geo().gazetteer).blocks:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in block.coords]},
                "properties": {"layer": "street", "name": block.label, "street": pretty_street(block.street)},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).encode()


@pages.get("/vendor/<path:asset>")
@hide
async def vendor(asset: str) -> Response:
    """Leaflet and its plugins, from the npm packages installed at setup."""
    path = (NODE_MODULES / asset).resolve()
    dists = [(NODE_MODULES / package / "dist").resolve() for package in ("leaflet", "leaflet.markercluster")]
    inside = any(dist in path.parents for dist in dists)
    if ".." in asset.split("/") or not VENDOR.match(asset) or not inside or not path.is_file():
        return Response("not found", 404, content_type="text/plain")
    response = await send_file(path)
    response.headers["Cache-Control"] = "public, max-age=86400"  # pinned versions: a day is safe
    return response
