"""Building the offline gazetteer from the shipped Buffalo data and whatever the city has imported.

The result is one MessagePack record (GazetteerData) that every worker loads: streets with the
points the data shows on them, corners, named places, address points and centerline segments.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from geo.lines import approximate_lines, crossings, street_lines
from geo.normalize import street_from_words, words
from geo.stops import intersection, known_streets, on_street

DATA = Path(__file__).resolve().parent / "data"
STOPS = DATA / "nfta_gtfs_stops" / "stops.txt"
SHAPES = DATA / "nfta_gtfs_stops" / "shapes.txt"
NAMED_PLACES = DATA / "named_places" / "wny_takeback_sites.csv"
SCHOOLS = DATA / "schools_nces" / "erie_county_public_schools.csv"

LatLon = tuple[float, float]
Progress = Callable[[str, int], None]  # (stage, items done in it)


class Street(msgspec.Struct, array_like=True):
    key: str  # normalised full name, "E DELAVAN AVE"
    points: list[LatLon]  # where the data shows the street (corners, stops, places on it)


class Corner(msgspec.Struct, array_like=True):
    a: str  # street keys, a < b
    b: str
    lat: float
    lon: float
    seen: int  # how many source points were merged
    # How it is known: "stop" (transit stops are named after it), "crossing" (the two streets' lines
    # cross there), "reached" (one street's loose end, run on, meets the other: a T, less certain),
    # "approximate" (one street is known only at a few points, joined by straight lines).
    how: str = "stop"


class Place(msgspec.Struct, kw_only=True):
    name: str
    kind: str  # police, hospital, school, college, government, pharmacy, warming_site, place
    lat: float
    lon: float
    aliases: list[str] = []
    street: str | None = None  # street key of its address
    number: str | None = None
    town: str | None = None
    zip: str | None = None


class AddressPoint(msgspec.Struct, array_like=True):
    street: str
    number: str
    lat: float
    lon: float
    zip: str | None = None


class Segment(msgspec.Struct, kw_only=True):
    """A centerline piece with its address ranges (left and right side), as a city's Streets layer has."""

    street: str
    coords: list[LatLon]
    left_from: int | None = None
    left_to: int | None = None
    right_from: int | None = None
    right_to: int | None = None
    zip_left: str | None = None
    zip_right: str | None = None


class GazetteerData(msgspec.Struct, kw_only=True):
    built_at: datetime
    sources: list[str]
    streets: list[Street]
    corners: list[Corner]
    places: list[Place]
    addresses: list[AddressPoint]
    segments: list[Segment]
    # Each street's centerline pieces, (lat, lon), read off the transit shapes (see geo.lines).
    lines: dict[str, list[list[LatLon]]] = {}


class Imported(msgspec.Struct, kw_only=True):
    """A city's own data, imported once and kept (in Redis) to be part of every build."""

    name: str
    addresses: list[AddressPoint] = []
    segments: list[Segment] = []


encode = msgspec.msgpack.Encoder().encode
decode = msgspec.msgpack.Decoder(GazetteerData).decode

_ADDRESS = re.compile(r"^\s*(\d+[A-Z]?)\s+(.+)$", re.IGNORECASE)
_ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")


class GeoBuildError(Exception):
    """The data cannot be built as asked; `str()` says which entry and why."""


def build(
    *,
    extra_places: Iterable[Place] = (),
    aliases: dict[str, list[str]] | None = None,
    imported: Iterable[Imported] = (),
    exclude_stops: frozenset[str] = frozenset(),
    progress: Progress | None = None,
) -> GazetteerData:
    """Build the gazetteer. `exclude_stops` holds stop ids out (to measure accuracy on them)."""
    tick = progress or (lambda stage, done: None)
    street_points: dict[str, list[LatLon]] = defaultdict(list)
    corner_points: dict[tuple[str, str], list[LatLon]] = defaultdict(list)
    addresses: dict[tuple[str, str], AddressPoint] = {}

    with STOPS.open(encoding="utf-8") as handle:
        stops = [row for row in csv.DictReader(handle) if row["stop_id"] not in exclude_stops]
    known = known_streets(row["stop_name"] for row in stops)
    for done, row in enumerate(stops, 1):
        point = (float(row["stop_lat"]), float(row["stop_lon"]))
        name = row["stop_name"]
        on = on_street(name)
        if on is not None:
            street_points[on.key].append(point)
        corner = intersection(name, known)
        if corner is not None:
            a, b = sorted((corner[0].key, corner[1].key))
            corner_points[(a, b)].append(point)
            street_points[corner[1].key].append(point)
        elif on is not None:
            numbered = _numbered_stop(name, on.key, known)
            if numbered is not None:
                addresses[numbered] = AddressPoint(numbered[0], numbered[1], *point)
        if done % 250 == 0:
            tick("transit stops", done)

    places = [*_named_places(), *_schools(), *extra_places]
    by_name = {place.name: place for place in places}
    for name, more in (aliases or {}).items():
        if name not in by_name:
            raise GeoBuildError(
                f"geo.places: no place named {name!r} to give aliases {more} (give lat and lon to add it)"
            )
        by_name[name].aliases = [*by_name[name].aliases, *more]
    for place in places:
        if place.street:
            street_points[place.street].append((place.lat, place.lon))
            if place.number:
                addresses[(place.street, place.number)] = AddressPoint(
                    place.street, place.number, place.lat, place.lon, place.zip
                )
    tick("named places", len(places))

    segments: list[Segment] = []
    sources = ["nfta_gtfs_stops", "nfta_gtfs_shapes", "named_places", "schools_nces"]
    for batch in imported:
        for address in batch.addresses:
            addresses[(address.street, address.number)] = address
            street_points[address.street].append((address.lat, address.lon))
        for segment in batch.segments:
            segments.append(segment)
            street_points[segment.street].extend(segment.coords[:: max(1, len(segment.coords) // 4)])
        sources.append(batch.name)
        tick(f"import {batch.name}", len(batch.addresses) + len(batch.segments))

    stop_on_streets = [
        ((float(row["stop_lat"]), float(row["stop_lon"])), on.key)
        for row in stops
        if (on := on_street(row["stop_name"])) is not None
    ]
    lines = street_lines(_shapes(), stop_on_streets, tick=lambda done: tick("street lines", done))

    corners = [
        Corner(
            a,
            b,
            sum(p[0] for p in cluster) / len(cluster),
            sum(p[1] for p in cluster) / len(cluster),
            len(cluster),
        )
        for (a, b), pts in corner_points.items()
        for cluster in _clusters(pts)
    ]
    # Corners no stop is named after: where two streets' lines cross. A stop's corner is where the
    # caller stands; a computed one only adds what the stops do not already say.
    # Streets no bus runs along are drawn through their known points, for crossings only: such a
    # line is a guess, kept out of the street lines served and its corners marked "approximate".
    drawn = approximate_lines({key: pts for key, pts in street_points.items() if key not in lines})
    for crossing in crossings({**lines, **drawn}, frozenset(drawn)):
        known_here = corner_points.get((crossing.a, crossing.b), ())
        if any(_metres(crossing.point, p) <= CORNER_SPAN_M for p in known_here):
            continue
        corners.append(Corner(crossing.a, crossing.b, *crossing.point, 0, crossing.how))
        street_points[crossing.a].append(crossing.point)
        street_points[crossing.b].append(crossing.point)
    tick("corners", len(corners))
    return GazetteerData(
        built_at=datetime.now(UTC),
        sources=sources,
        streets=[Street(key, pts) for key, pts in sorted(street_points.items())],
        corners=corners,
        places=places,
        addresses=list(addresses.values()),
        segments=segments,
        lines=lines,
    )


def _shapes() -> dict[str, list[LatLon]]:
    """The feed's shapes: shape id → its points in driving order."""
    points: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    with SHAPES.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            points[row["shape_id"]].append(
                (int(row["shape_pt_sequence"]), float(row["shape_pt_lat"]), float(row["shape_pt_lon"]))
            )
    return {shape: [(lat, lon) for _, lat, lon in sorted(found)] for shape, found in points.items()}


CORNER_SPAN_M = 300.0  # stops further apart than this mark different meetings of the two streets


def _clusters(points: list[LatLon]) -> list[list[LatLon]]:
    """Group a corner's stops by place.

    Two streets of the same names can meet in several towns (Main and Linwood, in Buffalo and again
    in a suburb); averaging those would land between them.
    """
    clusters: list[list[LatLon]] = []
    for point in points:
        for cluster in clusters:
            lat = sum(p[0] for p in cluster) / len(cluster)
            lon = sum(p[1] for p in cluster) / len(cluster)
            if _metres(point, (lat, lon)) <= CORNER_SPAN_M:
                cluster.append(point)
                break
        else:
            clusters.append([point])
    return clusters


def _metres(a: LatLon, b: LatLon) -> float:
    # Equirectangular: exact enough at a few hundred metres, and cheap.
    dlat = (a[0] - b[0]) * 111_320
    dlon = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dlat, dlon)


def _numbered_stop(name: str, on_key: str, known: set[str]) -> tuple[str, str] | None:
    """(street key, number) from a stop like "Elmwood Avenue 353 Elmwood Avenue N"."""
    tokens = words(name)
    for index, token in enumerate(tokens):
        if token.isdigit():
            rest = [
                t
                for t in tokens[index + 1 :]
                if t not in {"NORTH", "SOUTH", "EAST", "WEST", "N", "S", "E", "W"}
            ]
            on_words = on_key.split()
            # The street after the number is the on street (or a directional form of it).
            if rest and any(word in rest for word in on_words if len(word) > 2):
                return on_key, token
            return None
    return None


def split_address(text: str) -> tuple[str | None, str | None, str | None, str | None]:
    """("1847 South Park Ave, Buffalo, NY 14220") → (number, street key, town, zip)."""
    parts = [part.strip() for part in text.split(",")]
    zip_match = _ZIP.search(text)
    town = parts[1] if len(parts) > 2 else None
    match = _ADDRESS.match(parts[0])
    if not match:
        return None, None, town, zip_match.group(1) if zip_match else None
    return (
        match.group(1).upper(),
        street_from_words(tuple(words(match.group(2)))).key,
        town,
        (zip_match.group(1) if zip_match else None),
    )


def _kind(name: str, given: str) -> str:
    lowered = name.lower()
    if "hospital" in lowered or "medical center" in lowered:
        return "hospital"
    if "college" in lowered or "university" in lowered:
        return "college"
    return given.lower() or "place"


def _named_places() -> list[Place]:
    with NAMED_PLACES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    places = []
    for row in rows:
        number, street, town, zip_code = split_address(row["address"])
        places.append(
            Place(
                name=row["name"],
                kind=_kind(row["name"], row["type"]),
                lat=float(row["latitude"]),
                lon=float(row["longitude"]),
                street=street,
                number=number,
                town=town,
                zip=zip_code,
            )
        )
    return places


def _schools() -> list[Place]:
    with SCHOOLS.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Place(
            name=_title(row["school_name"]),
            kind="school",
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            town="Buffalo" if row["in_buffalo_city"] == "1" else None,
        )
        for row in rows
    ]


def _title(text: str) -> str:
    small = {"of", "and", "the", "at", "for", "in"}
    return " ".join(
        w.lower() if w.lower() in small and i else w.capitalize() for i, w in enumerate(text.split())
    )
