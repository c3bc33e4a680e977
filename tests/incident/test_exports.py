"""Incident exports: GeoJSON and CSV, read back with independent parsers, filtered as the list is."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

import pytest
import shapely.geometry
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from geo.point import Point
from incident.events import Change
from incident.incidents import insert_incident
from incident.records import Call, Channel, Incident
from incident.status import Status
from incident.store import Store
from tests.incident.deadlines import make_past_due
from tests.incident.helpers import CALL, move, new_ticket

DOWNTOWN = {"lat": 42.8864, "lon": -78.8784}
NORTH = {"lat": 42.9560, "lon": -78.8290}
PRIVATE = [str(CALL[name]) for name in ("caller_name", "narrative", "address")]
GEOJSON = "/api/v1/exports/incidents.geojson"
CSV = "/api/v1/exports/incidents.csv"


async def _listed(client: Client, query: str) -> list[str]:
    """Every ticket the incident list gives for `query`, following its cursor."""
    tickets: list[str] = []
    cursor = None
    while True:
        page_query = f"{query}&limit=500" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(f"/api/v1/incidents?{page_query}")
        assert response.status_code == 200, await response.get_data(as_text=True)
        page = await response.get_json()
        tickets += [item["ticket"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return tickets


async def _geojson(client: Client, query: str = "") -> dict[str, Any]:
    response = await client.get(f"{GEOJSON}?{query}")
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert response.content_type == "application/geo+json"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return cast(dict[str, Any], json.loads(await response.get_data(as_text=True)))


async def _csv(client: Client, query: str = "") -> list[dict[str, str]]:
    response = await client.get(f"{CSV}?{query}")
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert response.content_type.startswith("text/csv")
    return list(csv.DictReader(io.StringIO(await response.get_data(as_text=True), newline="")))


@pytest.fixture
async def city(client: Client, app: App) -> dict[str, str]:
    """A small storm's incidents: placed and not, several categories, statuses and priorities."""
    made = {
        "downtown": await new_ticket(client, location=DOWNTOWN),
        "north": await new_ticket(client, location=NORTH, priority="P1"),
        "unplaced": await new_ticket(client, location=None, address=None, narrative="tree down somewhere"),
        "ride": await new_ticket(client, category="shelter_transport", narrative="no heat, need a ride"),
        "done": await new_ticket(client, location=DOWNTOWN),
        "late": await new_ticket(client, location=NORTH),
    }
    await move(client, made["ride"], "assigned")
    await move(client, made["done"], "resolved")
    await make_past_due(app.app.extensions["stormline.store"], made["late"], minutes=5)
    return made


async def test_geojson_is_every_incident_with_points_and_safe_properties(
    client: Client, city: dict[str, str]
) -> None:
    """A FeatureCollection of every incident: Point geometry (null unplaced), the analyst's properties."""
    collection = await _geojson(client)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["properties"]["ticket"] for f in features] == await _listed(client, "")
    by_ticket = {f["properties"]["ticket"]: f for f in features}
    for name, where in (("downtown", DOWNTOWN), ("north", NORTH)):
        point = shapely.geometry.shape(by_ticket[city[name]]["geometry"])
        assert isinstance(point, shapely.geometry.Point)
        assert (point.x, point.y) == (where["lon"], where["lat"]), "longitude first"
    assert by_ticket[city["unplaced"]]["geometry"] is None
    ride = by_ticket[city["ride"]]["properties"]
    assert ride["category"] == "shelter_transport"
    assert ride["status"] == "assigned"
    assert ride["assigned_crew"] == "crew-1"
    downtown = by_ticket[city["downtown"]]["properties"]
    assert downtown["council_district"]
    assert downtown["neighborhood"]
    assert downtown["calls"] == 1
    assert downtown["priority"] == "P3"
    assert datetime.fromisoformat(downtown["opened_at"]).tzinfo is not None
    assert by_ticket[city["done"]]["properties"]["resolved_at"] is not None
    text = json.dumps(collection)
    for private in (*PRIVATE, "555-0142", "tree down somewhere"):
        assert private not in text, private


async def test_csv_has_the_same_columns_plus_lat_lon(client: Client, city: dict[str, str]) -> None:
    """The CSV's rows are the GeoJSON's properties, plus lat and lon (empty when unplaced)."""
    rows = await _csv(client)
    features = (await _geojson(client))["features"]
    assert [row["ticket"] for row in rows] == [f["properties"]["ticket"] for f in features]
    assert list(rows[0]) == [*features[0]["properties"], "lat", "lon"]
    by_ticket = {row["ticket"]: row for row in rows}
    assert (float(by_ticket[city["north"]]["lat"]), float(by_ticket[city["north"]]["lon"])) == (
        NORTH["lat"],
        NORTH["lon"],
    )
    assert by_ticket[city["unplaced"]]["lat"] == by_ticket[city["unplaced"]]["lon"] == ""
    assert by_ticket[city["unplaced"]]["needs_location"] == "true"
    for feature in features:
        row = by_ticket[feature["properties"]["ticket"]]
        for name, value in feature["properties"].items():
            expected = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            assert row[name] == expected, (name, row[name], value)
    assert PRIVATE[0] not in json.dumps(rows)


@pytest.mark.parametrize(
    "query",
    [
        "status=open",
        "status=open,assigned",
        "category=debris",
        "category=debris&priority=P1",
        "priority=P3",
        "bbox=-78.90,42.87,-78.86,42.90",
        "needs_location=true",
        "overdue=true",
        "status=closed",
    ],
)
async def test_filters_are_the_incident_lists(client: Client, city: dict[str, str], query: str) -> None:
    """Each filter keeps exactly what `GET /api/v1/incidents` keeps with it, in the same order."""
    listed = await _listed(client, query)
    assert [f["properties"]["ticket"] for f in (await _geojson(client, query))["features"]] == listed
    assert [row["ticket"] for row in await _csv(client, query)] == listed


async def test_since_filters_as_the_list_does(client: Client, city: dict[str, str]) -> None:
    """`since` keeps what was opened from then on, in both formats and the list alike."""
    future = quote((datetime.now(UTC) + timedelta(hours=1)).isoformat())
    past = quote((datetime.now(UTC) - timedelta(hours=1)).isoformat())
    assert (await _geojson(client, f"since={future}"))["features"] == []
    assert await _csv(client, f"since={future}") == []
    assert len(await _csv(client, f"since={past}")) == len(await _listed(client, f"since={past}")) == 6


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=sleeping", "status"),
        ("bbox=1,2,3", "bbox"),
        ("priority=P9", "priority"),
        ("since=2026-01-01T00:00:00", "since"),
        ("limit=5", "limit"),
        ("cursor=abc", "cursor"),
    ],
)
async def test_bad_filters_are_problems_naming_the_field(client: Client, query: str, field: str) -> None:
    """A bad filter (or paging, which exports do not take) is a 422 naming the field, before any data."""
    for path in (GEOJSON, CSV):
        response = await client.get(f"{path}?{query}")
        assert response.status_code == 422, (path, query)
        assert response.content_type == "application/problem+json"
        assert (await response.get_json())["errors"][0]["field"] == field


async def test_a_large_export_is_streamed_in_batches(client: Client, store: Store) -> None:
    """1,300 incidents arrive in several chunks, each whole, and add up to every incident exactly once."""
    await _load(store, 1300)
    for path in (GEOJSON, CSV):
        chunks = await _chunks(client, path)
        assert len(chunks) >= 4, f"{path}: {len(chunks)} chunks"
        body = b"".join(chunks).decode()
        if path == GEOJSON:
            features = json.loads(body)["features"]
            assert [f["properties"]["ticket"] for f in features] == [
                f"2026-8{n:05d}" for n in range(1300, 0, -1)
            ]
            assert all(shapely.geometry.shape(f["geometry"]).is_valid for f in features)
        else:
            rows = list(csv.DictReader(io.StringIO(body, newline="")))
            assert len({row["ticket"] for row in rows}) == len(rows) == 1300


async def _chunks(client: Client, path: str) -> list[bytes]:
    """The response body as it was sent, chunk by chunk."""
    headers = getattr(client, "extra_headers", {})
    chunks = []
    async with client.request(path, headers=headers) as connection:
        await connection.send_complete()
        while chunk := await asyncio.wait_for(connection.receive(), 10):  # b"": the body's end
            chunks.append(chunk)
    assert cast(Any, connection).status_code == 200
    return chunks


async def _load(store: Store, count: int) -> None:
    now = datetime.now(UTC)
    for seq in range(1, count + 1):
        ticket = f"2026-8{seq:05d}"
        incident = Incident(
            ticket=ticket,
            seq=seq,
            category="debris",
            priority="P3",  # type: ignore[arg-type]
            status=Status.OPEN,
            address=None,
            location=Point(42.88 + seq / 100_000, -78.85),
            needs_location=False,
            calls=[f"X{seq}"],
            opened_at=now,
            updated_at=now,
        )
        call = Call(id=f"X{seq}", ticket=ticket, received_at=now, logged_at=now, channel=Channel.PHONE)
        await insert_incident(store, incident, call, "test", Change())
