"""Route ordering: nearest neighbour improved by 2-opt, work under way first, unplaced last."""

from __future__ import annotations

import random

from dispatch.driving import Stop, length_m, order
from geo.point import Point


def _stop(key: str, lat: float, lon: float = -78.85, fixed: bool = False) -> Stop:
    return Stop(key, Point(lat, lon), fixed)


def test_stops_along_a_street_are_driven_in_order_from_the_crew() -> None:
    """Stops on a north-south line, given shuffled, are visited from the crew's end outward."""
    stops = [_stop(f"s{i}", 42.90 + i / 1000) for i in range(8)]
    shuffled = random.Random(7).sample(stops, len(stops))  # noqa: S311 - a fixed shuffle
    route = order(Point(42.899, -78.85), shuffled)
    assert [s.key for s in route] == [f"s{i}" for i in range(8)]


def test_two_opt_undoes_a_crossing_nearest_neighbour_leaves() -> None:
    """On random points the route is never longer than nearest neighbour alone, and often shorter."""
    rng = random.Random(11)  # noqa: S311 - reproducible points
    shorter = 0
    for _ in range(30):
        stops = [_stop(str(i), 42.88 + rng.random() / 20, -78.88 + rng.random() / 20) for i in range(12)]
        start = Point(42.88, -78.88)
        improved = length_m(start, order(start, stops))
        greedy, here, left = [], start, list(stops)
        while left:
            nearest = min(left, key=lambda s: length_m(here, [s]))
            greedy.append(nearest)
            left.remove(nearest)
            here = nearest.point or here
        assert improved <= length_m(start, greedy) + 1e-6
        shorter += improved < length_m(start, greedy) - 1
    assert shorter >= 5


def test_work_under_way_stays_first_and_unplaced_work_goes_last() -> None:
    """An en-route stop keeps the head of the route even if far; a stop with no point goes last."""
    far = _stop("under-way", 42.95, fixed=True)
    near = _stop("near", 42.901)
    unplaced = Stop("no-point", None)
    route = order(Point(42.90, -78.85), [near, unplaced, far])
    assert [s.key for s in route] == ["under-way", "near", "no-point"]
