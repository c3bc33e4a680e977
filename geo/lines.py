"""Streets as lines: centerlines read off the transit feed's shapes, and the corners where they cross.

A GTFS shape is the polyline a bus drives. Where two consecutive stops along it stand on the same
street, the stretch of the shape between them is that street's centerline there. Gathered over every
shape and merged per street, these stretches are lines; where two streets' lines cross is a corner,
including the many corners that no stop is named after.

All geometry is done in a local metric plane (equirectangular about the data's own latitude): off by
about 0.1 % across a city (a metre per kilometre), well inside what a corner needs, and it lets
shapely measure in metres.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.ops import substring

LatLon = tuple[float, float]

STOP_NEAR_M = 25.0  # a stop this close to a shape is served by it (stops stand at the kerb)
# Two stops of a cross street either side of the shape at a corner are closer than this: a stretch
# between them is the corner itself, not the cross street running along the shape.
STRETCH_MIN_M = 80.0
STRETCH_MAX_M = 1500.0  # a longer gap between stops on "the same street" is an expressway run, not it
TURN_GAP_M = 600.0  # a bus turning a corner passes its last stop before and first after within this
REACH_M = 150.0  # a loose end of a street's line is run on this far to find the street it meets
APPROXIMATE_GAP_M = 1600.0  # known points of a street further apart than this are not joined
APPROXIMATE_BEND_M = 40.0  # nor points that stray this far from one straight line
SIMPLIFY_M = 3.0  # lines are kept to this tolerance: the map and crossings need no finer
CROSSING_MERGE_M = 60.0  # crossings closer than this are one corner (two directions of a divided road)
_M_PER_DEG = 111_320.0


@dataclass(frozen=True, slots=True)
class Plane:
    """A local metric plane: x east, y north, in metres from (lat0, lon0)."""

    lat0: float
    lon0: float

    @property
    def kx(self) -> float:
        return _M_PER_DEG * math.cos(math.radians(self.lat0))

    def xy(self, points: Sequence[LatLon]) -> list[tuple[float, float]]:
        kx = self.kx
        return [((lon - self.lon0) * kx, (lat - self.lat0) * _M_PER_DEG) for lat, lon in points]

    def latlon(self, coords: Iterable[tuple[float, float]]) -> list[LatLon]:
        kx = self.kx
        return [(round(self.lat0 + y / _M_PER_DEG, 6), round(self.lon0 + x / kx, 6)) for x, y in coords]


def plane_for(points: Sequence[LatLon]) -> Plane:
    lats, lons = zip(*points, strict=True) if points else ((0.0,), (0.0,))
    return Plane(float(np.mean(lats)), float(np.mean(lons)))


def street_lines(
    shapes: Mapping[str, Sequence[LatLon]],
    stops: Sequence[tuple[LatLon, str]],
    *,
    tick: Callable[[int], None] | None = None,
) -> dict[str, list[list[LatLon]]]:
    """Each street's centerline pieces, from the shapes and the stops (point, on-street key) along them.

    >>> shapes = {"s": [(42.90, -78.90), (42.90, -78.88)]}
    >>> stops = [((42.90, -78.899), "MAIN ST"), ((42.90, -78.885), "MAIN ST")]
    >>> [len(piece) for piece in street_lines(shapes, stops)["MAIN ST"]]
    [2]
    """
    if not shapes or not stops:
        return {}
    plane = plane_for([p for points in shapes.values() for p in points[:: max(1, len(points) // 8)]])
    stop_xy = np.array(plane.xy([point for point, _ in stops]))
    stop_tree = shapely.STRtree(shapely.points(stop_xy))  # type: ignore[arg-type]  # an array for an array
    names = [name for _, name in stops]
    pieces: dict[str, list[LineString]] = defaultdict(list)
    for done, points in enumerate(shapes.values(), 1):
        if len(points) < 2:
            continue
        line = LineString(plane.xy(points))
        near = stop_tree.query(line, predicate="dwithin", distance=STOP_NEAR_M)
        if len(near) < 2:
            continue
        located = np.asarray(shapely.line_locate_point(line, shapely.points(stop_xy[near])))
        along: list[float] = located.tolist()
        # Each street's stops along this shape, in the order the bus passes them. A stop of the cross
        # street at a corner also stands near the shape; it must not cut the street's run in two.
        runs: dict[str, list[float]] = defaultdict(list)
        for index, distance in zip(near.tolist(), along, strict=True):
            runs[names[index]].append(distance)
        # Where the bus turns from one street into another (the next two stops are on the new
        # street), the stretch between the last stop before the turn and the first after it holds
        # the corner: each street runs to the sharpest bend in it.
        passed = sorted(zip(along, (names[i] for i in near.tolist()), strict=True))
        for k in range(len(passed) - 2):
            (start, before), (end, after), (_, then) = passed[k], passed[k + 1], passed[k + 2]
            if before != after and after == then and 0.5 < end - start <= TURN_GAP_M:
                bend = _sharpest_bend(substring(line, start, end))
                if bend is not None:
                    runs[before].append(start + bend)
                    runs[after].append(start + bend)
        for street, distances in runs.items():
            distances.sort()
            for start, end in itertools.pairwise(distances):
                if not STRETCH_MIN_M <= end - start <= STRETCH_MAX_M:
                    continue
                piece = substring(line, start, end)
                if isinstance(piece, LineString) and not piece.is_empty:
                    pieces[street].append(piece)
        if tick is not None:
            tick(done)
    out: dict[str, list[list[LatLon]]] = {}
    for street, found in pieces.items():
        merged = shapely.line_merge(shapely.union_all(found)).simplify(SIMPLIFY_M)
        parts = list(merged.geoms) if isinstance(merged, MultiLineString) else [merged]
        out[street] = [
            plane.latlon((x, y) for x, y, *_ in part.coords) for part in parts if part.length > 1.0
        ]
    return {street: lines for street, lines in out.items() if lines}


@dataclass(frozen=True, slots=True)
class Crossing:
    a: str  # street keys, a < b
    b: str
    point: LatLon
    # "crossing": the lines cross; "reached": only once a loose end is run on (a T, or a line that
    # stops short of the corner); "approximate": one of the lines is drawn through the few points
    # the data has of a street no bus runs along.
    how: str


def crossings(
    lines: Mapping[str, Sequence[Sequence[LatLon]]], approximate: frozenset[str] = frozenset()
) -> list[Crossing]:
    """Where two streets' lines cross, one point per meeting.

    Two lines that share a stretch (a bus route attributed to both names there) do not cross; only
    points where they meet are corners. Crossings a few tens of metres apart (the two carriageways
    of a divided road) are one corner, at their middle. A line's loose end (the last stop before a
    turn, or a street's end at a T) is run on up to `REACH_M`: where it then meets another street,
    that is a corner too, but a less certain one (`reached`).
    """
    streets = sorted(street for street, parts in lines.items() if parts)
    if len(streets) < 2:
        return []
    plane = plane_for([lines[s][0][0] for s in streets])
    geometries = [MultiLineString([plane.xy(part) for part in lines[s] if len(part) >= 2]) for s in streets]
    ends = [_loose_ends(geometry) for geometry in geometries]
    tree = shapely.STRtree(geometries)
    out: list[Crossing] = []
    met: set[tuple[int, int]] = set()
    left, right = tree.query(geometries, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            points = _points(shapely.intersection(geometries[i], geometries[j]))
            how = "approximate" if {streets[i], streets[j]} & approximate else "crossing"
            out += _merged(streets[i], streets[j], points, plane, how)
            met.add((i, j))
    left, right = tree.query(ends, predicate="intersects")
    reached: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        pair = (min(i, j), max(i, j))
        if i != j and pair not in met:
            reached[pair] += _points(shapely.intersection(ends[i], geometries[j]))
    for (i, j), points in reached.items():
        how = "approximate" if {streets[i], streets[j]} & approximate else "reached"
        out += _merged(streets[i], streets[j], points, plane, how)
    return out


def approximate_lines(points: Mapping[str, Sequence[LatLon]]) -> dict[str, list[list[LatLon]]]:
    """Straight lines through what the data shows of streets no bus runs along (corners, places).

    A street known only at a few corners is drawn corner to corner, where those lie on a straight
    line (Buffalo's side streets mostly do); a group that bends, or a gap longer than a long block,
    is left undrawn rather than guessed.
    """
    out: dict[str, list[list[LatLon]]] = {}
    for street, found in points.items():
        unique = sorted(set(found))
        if len(unique) < 2:
            continue
        plane = plane_for(unique)
        xy = np.array(plane.xy(unique))
        pieces = []
        for group in _groups(xy, APPROXIMATE_GAP_M):
            if len(group) < 2:
                continue
            centred = xy[group] - xy[group].mean(axis=0)
            _, _, axes = np.linalg.svd(centred, full_matrices=False)
            if np.abs(centred @ axes[1]).max() > APPROXIMATE_BEND_M:
                continue
            ordered = [group[int(k)] for k in np.argsort(centred @ axes[0])]
            pieces.append([unique[k] for k in ordered])
        if pieces:
            out[street] = pieces
    return out


def _groups(xy: np.ndarray, gap: float) -> list[list[int]]:
    """Indices of points joined by steps no longer than `gap` (single linkage)."""
    unseen = set(range(len(xy)))
    groups = []
    while unseen:
        frontier = [unseen.pop()]
        group = list(frontier)
        while frontier:
            here = frontier.pop()
            near = [k for k in unseen if math.dist(xy[here], xy[k]) <= gap]
            for k in near:
                unseen.discard(k)
            frontier += near
            group += near
        groups.append(group)
    return groups


def _points(meeting: shapely.Geometry) -> list[tuple[float, float]]:
    parts = shapely.get_parts(meeting)
    return [(float(g.x), float(g.y)) for g in parts if g.geom_type == "Point"]


def _merged(a: str, b: str, points: list[tuple[float, float]], plane: Plane, how: str) -> list[Crossing]:
    out = []
    for cluster in _clusters(points, CROSSING_MERGE_M):
        x = sum(p[0] for p in cluster) / len(cluster)
        y = sum(p[1] for p in cluster) / len(cluster)
        out.append(Crossing(a, b, plane.latlon([(x, y)])[0], how))
    return out


def _loose_ends(geometry: MultiLineString) -> MultiLineString:
    """Each loose end of a street's lines, run straight on for `REACH_M` (an empty geometry if none)."""
    parts = list(geometry.geoms)
    endpoints = [shapely.Point(part.coords[k]) for part in parts for k in (0, -1)]
    runs = []
    for part in parts:
        coords = np.asarray(part.coords)
        for tip, back in ((coords[-1], coords[:-1][::-1]), (coords[0], coords[1:])):
            here = shapely.Point(tip)
            if sum(here.distance(other) < 1.0 for other in endpoints) > 1:
                continue  # joins another piece of the same street: not loose
            # Direction over the last few tens of metres, not the last (perhaps tiny) segment.
            distances = np.hypot(*(back - tip).T)
            far = back[min(int(np.searchsorted(distances, 30.0)), len(back) - 1)]
            step = tip - far
            length = float(np.hypot(*step))
            if length < 1.0:
                continue
            runs.append([tuple(tip + step / length * 1.0), tuple(tip + step / length * REACH_M)])
    return MultiLineString(runs)


def _sharpest_bend(piece: object) -> float | None:
    """How far along `piece` its direction changes most (where a turning bus takes the corner)."""
    if not isinstance(piece, LineString) or len(piece.coords) < 3:
        return None
    xy = np.asarray(piece.coords)
    steps = np.diff(xy, axis=0)
    heading = np.arctan2(steps[:, 1], steps[:, 0])
    turn = np.abs((np.diff(heading) + np.pi) % (2 * np.pi) - np.pi)
    vertex = int(np.argmax(turn)) + 1
    if turn[vertex - 1] < math.radians(30):
        return None  # no real turn: the stops are on two names of one straight road
    return float(np.hypot(*steps[:vertex].T).sum())


def _clusters(points: list[tuple[float, float]], radius: float) -> list[list[tuple[float, float]]]:
    clusters: list[list[tuple[float, float]]] = []
    for point in points:
        for cluster in clusters:
            if math.dist(point, cluster[0]) <= radius:
                cluster.append(point)
                break
        else:
            clusters.append([point])
    return clusters
