"""Incidents for analysts: GeoJSON and CSV, written batch by batch as they are read.

The columns are what an analyst needs and nothing personal: no caller's name, number or words, and no
address as given (the point and its zones say where). Both formats have the same columns; the CSV adds
`lat` and `lon`, the GeoJSON has them as the Point (RFC 7946: longitude first), or a null geometry for
an incident not yet placed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime

import msgspec

from geo.zones import CITY, SHIPPED
from incident.config import SurgeConfig
from incident.records import Incident
from incident.report import safe_cell

_encode = msgspec.json.Encoder().encode


def zone_columns(config: SurgeConfig) -> list[str]:
    """The zone layers every incident may carry: the shipped ones, then the city's own."""
    names = [layer.name for layer in SHIPPED if layer.name != CITY]
    return names + [layer.name for layer in config.geo.zone_layers if layer.name not in names]


def columns(config: SurgeConfig) -> list[str]:
    """The properties of each GeoJSON feature, in order (the CSV's columns before `lat` and `lon`)."""
    return [
        "ticket", "category", "category_name", "priority", "status",
        "opened_at", "updated_at", "resolved_at", "closed_at", "due_at",
        *zone_columns(config), "outside_jurisdiction", "town", "needs_location", "located_by",
        "assigned_crew", "job", "calls", "life_safety", "activation", "shared_with_partners",
    ]  # fmt: skip


def properties(config: SurgeConfig, zones: list[str], incident: Incident) -> dict[str, object]:
    category = config.category(incident.category)
    return {
        "ticket": incident.ticket,
        "category": incident.category,
        "category_name": category.name if category else incident.category,
        "priority": str(incident.priority),
        "status": str(incident.status),
        "opened_at": _time(incident.opened_at),
        "updated_at": _time(incident.updated_at),
        "resolved_at": _time(incident.resolved_at),
        "closed_at": _time(incident.closed_at),
        "due_at": _time(incident.due_at),
        **{zone: incident.zones.get(zone) for zone in zones},
        "outside_jurisdiction": incident.outside_jurisdiction,
        "town": incident.town,
        "needs_location": incident.needs_location,
        "located_by": incident.located_by.method if incident.located_by else None,
        "assigned_crew": incident.assigned_crew,
        "job": incident.job,
        "calls": len(incident.calls),
        "life_safety": incident.life_safety,
        "activation": incident.activation,
        "shared_with_partners": bool(incident.partners and incident.partners.shared),
    }


async def geojson(config: SurgeConfig, batches: AsyncIterator[list[Incident]]) -> AsyncIterator[bytes]:
    """A GeoJSON FeatureCollection, one chunk per batch of incidents."""
    zones = zone_columns(config)
    yield b'{"type":"FeatureCollection","features":['
    separator = b""
    async for batch in batches:
        features = []
        for incident in batch:
            point = incident.location
            feature = {
                "type": "Feature",
                "id": incident.ticket,
                "geometry": {"type": "Point", "coordinates": [point.lon, point.lat]} if point else None,
                "properties": properties(config, zones, incident),
            }
            features.append(_encode(feature))
        yield separator + b",".join(features)
        separator = b","
    yield b"]}\n"


async def csv_rows(config: SurgeConfig, batches: AsyncIterator[list[Incident]]) -> AsyncIterator[bytes]:
    """CSV with a heading row, one chunk per batch of incidents."""
    zones, names = zone_columns(config), columns(config)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*names, "lat", "lon"])
    yield out.getvalue().encode()
    async for batch in batches:
        out.seek(0)
        out.truncate()
        for incident in batch:
            shown = properties(config, zones, incident)
            point = incident.location
            writer.writerow(
                [*(_cell(shown[name]) for name in names), *((point.lat, point.lon) if point else ("", ""))]
            )
        yield out.getvalue().encode()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_cell(value)


def _time(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
