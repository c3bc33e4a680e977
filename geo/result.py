"""What a geocoder answers: where, how it was found, and how sure it is."""

from __future__ import annotations

import enum

import msgspec

from geo.point import BBox, Point


class Method(enum.StrEnum):
    ADDRESS_POINT = "address_point"  # a house number found in the city's address points
    INTERPOLATED = "interpolated"  # a house number placed along a centerline segment's range
    INTERSECTION = "intersection"  # a corner of two streets, where transit stops are named after it
    CROSSING = "crossing"  # a corner computed where two streets' centerlines cross (no stop names it)
    NAMED_PLACE = "named_place"  # a police station, hospital, school, or an alias from the config
    STREET = "street"  # only the street was found: somewhere on it
    PROVIDER = "provider"  # an online geocoder answered
    MANUAL = "manual"  # a person set the point on the map
    ALIAS = "alias"  # words this center's agents taught it by pinning them (geo.aliases)


class GeoResult(msgspec.Struct, kw_only=True, frozen=True):
    """One answer. `confidence` is 0–1; Stormline places a call by itself only above the config's bar."""

    point: Point
    method: Method
    confidence: float
    label: str  # what was matched, written out ("BAILEY AVE & KENSINGTON AVE")
    source: str = "gazetteer"  # the provider that answered
    street: str | None = None
    cross_street: str | None = None
    number: str | None = None
    unit: str | None = None
    zip: str | None = None
    town: str | None = None  # when the answer says so (named places outside the city)
    # A street-only answer is a stretch, not a point: its pieces of centerline, (lat, lon) each, and
    # the box that holds them, for the console's map to draw and fit.
    line: list[list[tuple[float, float]]] | None = None
    extent: BBox | None = None
    warning: str | None = None  # what the agent must check before trusting it ("outside the city…")
