"""Which zones a point lies in.

The layers: council district, neighbourhood, police district, census tract, the city itself, and
any layer the config adds (plow areas, crew areas). Each is a set of prepared shapely polygons: one
point is an STRtree query per layer; many points at once are tested polygon by polygon, vectorised.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from geo.build import DATA
from geo.point import BBox, Point

CITY = "city"


@dataclass(frozen=True, slots=True)
class LayerSource:
    name: str  # the zone kind: "council_district"
    path: Path  # a GeoJSON FeatureCollection in WGS 84
    property: str  # the feature property that names each zone


SHIPPED = (
    LayerSource(CITY, DATA / "boundaries" / "buffalo_city_boundary.geojson", ""),
    LayerSource(
        "council_district", DATA / "boundaries" / "buffalo_council_districts.geojson", "council_district"
    ),
    LayerSource("neighborhood", DATA / "boundaries" / "buffalo_neighborhoods_from_eds.geojson", "nbhdname"),
    LayerSource("police_district", DATA / "police_districts" / "police_districts.geojson", "name"),
    LayerSource("census_tract", DATA / "census_tracts_2020" / "buffalo_census_tracts_2020.geojson", "name20"),
)


class ZoneError(Exception):
    """A zone layer that cannot be read; `str()` names the file and the problem."""


class Layer:
    def __init__(self, source: LayerSource, city_name: str) -> None:
        try:
            features = json.loads(source.path.read_text(encoding="utf-8"))["features"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ZoneError(f"{source.path}: not a readable GeoJSON FeatureCollection ({error})") from None
        self.name = source.name
        names, geometries = [], []
        for index, feature in enumerate(features):
            properties = feature.get("properties") or {}
            label = city_name if not source.property else properties.get(source.property)
            if label is None:
                raise ZoneError(f"{source.path}: feature {index} has no property {source.property!r}")
            names.append(str(label))
            geometries.append(shape(feature["geometry"]))
        self.names = np.array(names, dtype=object)
        self.geometries = np.array(geometries, dtype=object)
        shapely.prepare(self.geometries)
        self.tree = shapely.STRtree(self.geometries)
        self.bounds = shapely.bounds(self.geometries)

    # Where two zones of a layer overlap (the police districts' edges do, slightly), the first in the
    # file wins, in both lookups alike.

    def zone_of(self, point: Point) -> str | None:
        hits = self.tree.query(shapely.Point(point.lon, point.lat), predicate="within")
        return str(self.names[hits.min()]) if len(hits) else None

    def zones_of(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """The zone name of each point (None where outside every zone), vectorised.

        A layer has tens of polygons and a batch many points, so each prepared polygon tests the
        points inside its bounding box in one call: about ten times faster than a tree query.
        """
        out = np.full(len(lons), None, dtype=object)
        for name, geometry, (xmin, ymin, xmax, ymax) in zip(
            self.names, self.geometries, self.bounds, strict=True
        ):
            candidates = np.nonzero((lons >= xmin) & (lons <= xmax) & (lats >= ymin) & (lats <= ymax))[0]
            candidates = candidates[out[candidates] == None]  # noqa: E711 - elementwise test on an object array
            inside = shapely.contains_xy(geometry, lons[candidates], lats[candidates])
            out[candidates[inside]] = name
        return out


class Zones:
    """Every zone layer, shipped and configured."""

    def __init__(self, city_name: str, extra: tuple[LayerSource, ...] = ()) -> None:
        self.layers = [Layer(source, city_name) for source in (*SHIPPED, *extra)]
        self._seen: dict[Point, dict[str, str]] = {}

    def of(self, point: Point) -> dict[str, str]:
        """{layer: zone} for every layer the point falls in."""
        # Storm calls come from the same corners again and again (the gazetteer gives each one point).
        known = self._seen.get(point)
        if known is None:
            if len(self._seen) >= 8192:
                self._seen.clear()
            known = self._seen[point] = self._of(point)
        return dict(known)

    def _of(self, point: Point) -> dict[str, str]:
        found = {}
        for layer in self.layers:
            zone = layer.zone_of(point)
            if zone is not None:
                found[layer.name] = zone
        return found

    def layer(self, name: str) -> Layer | None:
        return next((layer for layer in self.layers if layer.name == name), None)

    def hints(self) -> tuple[Callable[[Point], str | None], list[str]] | None:
        """The neighbourhood lookup and names, for the gazetteer's "…, Black Rock" hints."""
        layer = self.layer("neighborhood")
        return (layer.zone_of, [str(name) for name in layer.names]) if layer else None

    def areas(self) -> dict[str, tuple[Point, BBox]]:
        """Each neighbourhood by name: a point inside it and its box (callers name them as places)."""
        layer = self.layer("neighborhood")
        if layer is None:
            return {}
        out = {}
        for name, geometry, (west, south, east, north) in zip(
            layer.names, layer.geometries, layer.bounds, strict=True
        ):
            inside = geometry.representative_point()
            out[str(name)] = (Point(inside.y, inside.x), BBox(west, south, east, north))
        return out

    def inside(self, point: Point) -> bool:
        """Whether the point is in the jurisdiction (the city boundary)."""
        return self.layers[0].zone_of(point) is not None

    def of_many(self, lons: np.ndarray, lats: np.ndarray) -> dict[str, np.ndarray]:
        return {layer.name: layer.zones_of(lons, lats) for layer in self.layers}
