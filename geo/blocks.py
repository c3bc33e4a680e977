"""Block faces: one side of one street between two cross streets, where debris jobs are grouped.

From a city's imported centerlines each segment is a block, its sides the left and right address
ranges. Where no centerline was imported, blocks are drawn between consecutive known corners along a
street (from the shipped intersections): straight lines, honest about being approximate, but the
same block for every caller on it, which is what grouping needs.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import weakref
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely

from geo.gazetteer import Gazetteer, pretty_street
from geo.point import Point

MIN_BLOCK_M = 25.0  # corners closer than this are one corner seen twice
MAX_BLOCK_M = 700.0  # a gap longer than this is missing data, not a block
_M_PER_DEG_LAT = 110_540.0


@dataclass(frozen=True, slots=True)
class Block:
    id: str
    street: str  # normalised street key
    label: str  # "Elmwood Ave between Bird Ave and Forest Ave", or an address range
    coords: tuple[tuple[float, float], ...]  # (lat, lon), in the street's direction
    sides: tuple[str, str]  # names of the left and right side ("west side", "odd 101–199")


@dataclass(frozen=True, slots=True)
class BlockFace:
    """One side of one block: the unit a "clear this segment" job covers."""

    id: str  # "<block id>:L" or "<block id>:R"
    block: Block
    side: str  # "L" or "R"
    distance_m: float  # of the point it was found for

    @property
    def label(self) -> str:
        return f"{self.block.label}, {self.block.sides[0 if self.side == 'L' else 1]}"


class Blocks:
    """Every block the data knows, indexed for "which block face is this point on"."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.blocks: list[Block] = []
        imported = {segment.street for segment in gazetteer.data.segments}
        for segment in gazetteer.data.segments:
            self._add_segment(segment.street, segment.coords, segment)
        self._add_corner_blocks(gazetteer, skip=imported)
        self.by_id = {block.id: block for block in self.blocks}
        points = [c for block in self.blocks for c in block.coords]
        self._lat0 = float(np.mean([p[0] for p in points])) if points else 0.0
        self._lon0 = float(np.mean([p[1] for p in points])) if points else 0.0
        self._kx = 111_320.0 * math.cos(math.radians(self._lat0))
        lines = [shapely.LineString([self._xy(lat, lon) for lat, lon in b.coords]) for b in self.blocks]
        self._lines = lines
        self._tree = shapely.STRtree(lines)

    def face(self, point: Point, within_m: float) -> BlockFace | None:
        """The block face `point` is on (nearest block within `within_m` metres), or None."""
        if not self.blocks:
            return None
        x, y = self._xy(point.lat, point.lon)
        here = shapely.Point(x, y)
        index = self._tree.query_nearest(here, max_distance=within_m, return_distance=False)
        if len(index) == 0:
            return None
        i = int(index[0])
        line = self._lines[i]
        distance = float(line.distance(here))
        # Which side: the sign of the cross product of the block's direction and the point's offset.
        along = line.project(here)
        ahead = line.interpolate(min(along + 1.0, line.length))
        behind = line.interpolate(max(along - 1.0, 0.0))
        cross = (ahead.x - behind.x) * (y - behind.y) - (ahead.y - behind.y) * (x - behind.x)
        side = "L" if cross > 0 else "R"
        block = self.blocks[i]
        return BlockFace(id=f"{block.id}:{side}", block=block, side=side, distance_m=distance)

    def get(self, face_id: str) -> Block | None:
        return self.by_id.get(face_id.rsplit(":", 1)[0])

    def _xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (lon - self._lon0) * self._kx, (lat - self._lat0) * _M_PER_DEG_LAT

    def _add_segment(self, street: str, coords: list[tuple[float, float]], segment: object) -> None:
        left = _range(getattr(segment, "left_from", None), getattr(segment, "left_to", None))
        right = _range(getattr(segment, "right_from", None), getattr(segment, "right_to", None))
        name = pretty_street(street)
        numbers = [n for n in (left, right) if n]
        label = f"{' / '.join(numbers)} {name}" if numbers else name
        block_id = _id("seg", street, *(f"{lat:.6f},{lon:.6f}" for lat, lon in coords))
        sides = (
            f"left side ({left})" if left else "left side",
            f"right side ({right})" if right else "right side",
        )
        self.blocks.append(Block(block_id, street, label, tuple(coords), sides))

    def _add_corner_blocks(self, gazetteer: Gazetteer, skip: set[str]) -> None:
        crossings: dict[str, list[tuple[str, Point]]] = defaultdict(list)
        for (a, b), points in gazetteer.corners.items():
            for point in points:
                crossings[a].append((b, point))
                crossings[b].append((a, point))
        for street, found in crossings.items():
            if street in skip or len(found) < 2:
                continue
            lat0 = sum(p.lat for _, p in found) / len(found)
            kx = 111_320.0 * math.cos(math.radians(lat0))
            xy = np.array([(p.lon * kx, p.lat * _M_PER_DEG_LAT) for _, p in found])
            centred = xy - xy.mean(axis=0)
            # The street's main direction: the first principal axis of its corners.
            _, _, axes = np.linalg.svd(centred, full_matrices=False)
            axis = axes[0] if axes[0][0] + axes[0][1] >= 0 else -axes[0]  # points east or north
            order = np.argsort(centred @ axis)
            name = pretty_street(street)
            for first, second in itertools.pairwise(order):
                (cross_a, here), (cross_b, there) = found[int(first)], found[int(second)]
                length = float(np.hypot(*(xy[int(second)] - xy[int(first)])))
                if not MIN_BLOCK_M <= length <= MAX_BLOCK_M or cross_a == cross_b:
                    continue
                dx, dy = xy[int(second)] - xy[int(first)]
                block_id = _id("corner", street, cross_a, cross_b, f"{here.lat:.5f}", f"{there.lat:.5f}")
                label = f"{name} between {pretty_street(cross_a)} and {pretty_street(cross_b)}"
                self.blocks.append(
                    Block(
                        block_id,
                        street,
                        label,
                        ((here.lat, here.lon), (there.lat, there.lon)),
                        _compass_sides(dx, dy),
                    )
                )


def _compass_sides(dx: float, dy: float) -> tuple[str, str]:
    """Names of the left and right side of a block running (dx, dy): "north side", "south side"…"""
    left = (-dy, dx)  # the direction 90° to the left
    if abs(left[0]) > abs(left[1]):
        return ("east side", "west side") if left[0] > 0 else ("west side", "east side")
    return ("north side", "south side") if left[1] > 0 else ("south side", "north side")


def _range(low: int | None, high: int | None) -> str | None:
    if low is None or high is None or (low == 0 and high == 0):
        return None
    lo, hi = sorted((low, high))
    return f"{lo}–{hi}"


def _id(*parts: str) -> str:
    return "B" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


_BUILT: weakref.WeakKeyDictionary[Gazetteer, Blocks] = weakref.WeakKeyDictionary()


def blocks_of(gazetteer: Gazetteer) -> Blocks:
    """The block index of a gazetteer, built once per gazetteer (workers pick up rebuilds)."""
    built = _BUILT.get(gazetteer)
    if built is None:
        built = _BUILT[gazetteer] = Blocks(gazetteer)
    return built
