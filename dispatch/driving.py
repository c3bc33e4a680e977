"""Driving order for a crew's work: nearest neighbour, then improved by 2-opt.

Distances are straight lines on the ground (equirectangular metres): no street network is shipped,
and in a storm the roads open change by the hour anyway. The route is an open path from where the
crew is; work already under way (en route, on scene) stays first, in the order it is in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geo.point import Point

_M_PER_DEG = 111_195.0


@dataclass(frozen=True, slots=True)
class Stop:
    key: str  # a ticket, or "job:<id>" for a street-segment job
    point: Point | None  # None: not located; such stops go last, in the order given
    fixed: bool = False  # under way: keeps its place at the head of the route


def distances(points: Sequence[Point]) -> np.ndarray:
    """Pairwise distances in metres (equirectangular: exact enough across a city)."""
    if not points:
        return np.zeros((0, 0))
    lat = np.radians([p.lat for p in points])
    lon = np.radians([p.lon for p in points])
    mean = float(np.mean(lat))
    x = lon * math.cos(mean) * 6_371_008.8
    y = lat * 6_371_008.8
    return np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])


def order(start: Point | None, stops: Sequence[Stop]) -> list[Stop]:
    """The stops in a sensible driving order from `start`."""
    fixed = [s for s in stops if s.fixed]
    placed = [s for s in stops if not s.fixed and s.point is not None]
    unplaced = [s for s in stops if not s.fixed and s.point is None]
    if len(placed) <= 1:
        return [*fixed, *placed, *unplaced]
    anchor = next((s.point for s in reversed(fixed) if s.point is not None), start)
    points = [p for p in (anchor,) if p is not None] + [s.point for s in placed if s.point is not None]
    matrix = distances(points)
    offset = 1 if anchor is not None else 0
    path = _nearest_neighbour(matrix, offset, len(placed))
    path = _two_opt(matrix, path, offset)
    return [*fixed, *(placed[i - offset] for i in path), *unplaced]


def length_m(start: Point | None, stops: Sequence[Stop]) -> float:
    """Driving distance of the route in straight lines, from `start` through every located stop."""
    points = [p for p in (start, *(s.point for s in stops)) if p is not None]
    if len(points) < 2:
        return 0.0
    matrix = distances(points)
    return float(sum(matrix[i, i + 1] for i in range(len(points) - 1)))


def _nearest_neighbour(matrix: np.ndarray, offset: int, count: int) -> list[int]:
    remaining = set(range(offset, offset + count))
    if offset:
        current = 0
    else:  # no start: begin at the stop farthest from the rest's centre, an end of the spread
        current = int(np.argmax(matrix[:count, :count].sum(axis=1)))
        remaining.discard(current)
    path = [] if offset else [current]
    while remaining:
        current = min(remaining, key=lambda j: matrix[current, j])
        remaining.discard(current)
        path.append(current)
    return path


def _two_opt(matrix: np.ndarray, path: list[int], offset: int) -> list[int]:
    """Reverse any stretch of the path that makes it shorter, until none does."""
    route = ([0] if offset else []) + path
    improved = True
    while improved:
        improved = False
        for i in range(1, len(route) - 1) if offset else range(len(route) - 1):
            for j in range(i + 1, len(route)):
                a, b = route[i - 1] if i > 0 else None, route[i]
                c, d = route[j], route[j + 1] if j + 1 < len(route) else None
                before = (matrix[a, b] if a is not None else 0.0) + (matrix[c, d] if d is not None else 0.0)
                after = (matrix[a, c] if a is not None else 0.0) + (matrix[b, d] if d is not None else 0.0)
                if after + 1e-6 < before:
                    route[i : j + 1] = route[i : j + 1][::-1]
                    improved = True
    return route[1:] if offset else route
