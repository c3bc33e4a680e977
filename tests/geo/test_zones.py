"""Zones from the real Buffalo layers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from geo.point import Point
from geo.zones import LayerSource, Zones


def test_a_point_gets_its_zones(zones: Zones) -> None:
    """Bailey & Kensington lies in University district, Kensington-Bailey, police District E, the city."""
    found = zones.of(Point(42.93812, -78.81348))
    assert found["city"] == "City of Buffalo"
    assert found["council_district"] == "University"
    assert found["neighborhood"] == "Kensington-Bailey"
    assert found["police_district"] == "District E"
    assert "census_tract" in found


def test_outside_the_city(zones: Zones) -> None:
    """A point in Amherst is in no city zone and not inside the jurisdiction."""
    assert zones.of(Point(43.00567, -78.69725)) == {}
    assert not zones.inside(Point(43.00567, -78.69725))


def test_batch_lookup_agrees_with_single(zones: Zones) -> None:
    """The vectorised lookup gives the same zone as one-at-a-time for a thousand random points."""
    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(-78.93, -78.78, 1000), rng.uniform(42.82, 42.97, 1000)
    batch = zones.of_many(lons, lats)
    for i in range(1000):
        single = zones.of(Point(float(lats[i]), float(lons[i])))
        for layer, names in batch.items():
            assert single.get(layer) == names[i]


def test_extra_layer_from_config(tmp_path: Path) -> None:
    """A layer the city adds (a plow area) is looked up like the shipped ones."""
    square = [[-78.82, 42.93], [-78.80, 42.93], [-78.80, 42.95], [-78.82, 42.95], [-78.82, 42.93]]
    feature = {
        "type": "Feature",
        "properties": {"AREA": "Plow 7"},
        "geometry": {"type": "Polygon", "coordinates": [square]},
    }
    path = tmp_path / "plow.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    found = Zones("City of Buffalo", (LayerSource("plow_area", path, "AREA"),)).of(Point(42.94, -78.81))
    assert found["plow_area"] == "Plow 7"
