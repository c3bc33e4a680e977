"""Points and bounding boxes in WGS 84 (what GPS, GeoJSON and every map library use)."""

from __future__ import annotations

import math
from typing import Annotated

import msgspec

# Redis's geo index (and web maps) stop at ±85.05112878°: nothing Stormline serves lies beyond.
Latitude = Annotated[
    float, msgspec.Meta(ge=-85.05112878, le=85.05112878, description="WGS 84 latitude, degrees")
]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180, description="WGS 84 longitude, degrees")]


class Point(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A position on the earth."""

    lat: Latitude
    lon: Longitude


class BBox(msgspec.Struct, frozen=True):
    """A box given as GeoJSON orders it: west, south, east, north."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def parse(cls, text: str) -> BBox:
        """Parse `west,south,east,north`; raise ValueError saying what is wrong.

        >>> BBox.parse("-78.9,42.8,-78.8,42.95").contains(Point(42.9, -78.85))
        True
        """
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError("expected four numbers: west,south,east,north")
        try:
            west, south, east, north = (float(part) for part in parts)
        except ValueError:
            raise ValueError("expected four numbers: west,south,east,north") from None
        if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
            raise ValueError("coordinates out of range, or south above north")
        if west > east:
            raise ValueError("west is east of east (boxes across the antimeridian are not supported)")
        return cls(west, south, east, north)

    def contains(self, point: Point) -> bool:
        """Whether the point lies in the box (edges included)."""
        return self.south <= point.lat <= self.north and self.west <= point.lon <= self.east

    @property
    def center(self) -> Point:
        return Point((self.south + self.north) / 2, (self.west + self.east) / 2)


EARTH_RADIUS_M = 6_371_008.8


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres (haversine).

    >>> round(distance_m(Point(42.8864, -78.8784), Point(42.8864, -78.8684)))
    815
    """
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))
