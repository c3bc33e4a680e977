"""Streets as lines: centerlines read off bus shapes, and the corners computed where they cross."""

from __future__ import annotations

from geo.lines import approximate_lines, crossings, street_lines
from geo.point import Point, distance_m

# A synthetic grid near Buffalo: one route drives east along Oak St, turns north up Elm St at
# (42.900, -78.870). A second route drives north up Pine St, crossing Oak St at -78.880.
OAK = 42.900
ELM = -78.870
PINE = -78.880


def _network() -> tuple[dict[str, list[tuple[float, float]]], list[tuple[tuple[float, float], str]]]:
    east_then_north = [(OAK, -78.900 + i * 0.001) for i in range(31)] + [
        (OAK + i * 0.001, ELM) for i in range(1, 21)
    ]
    north_on_pine = [(42.890 + i * 0.001, PINE) for i in range(21)]
    stops = [
        *(((OAK, lon), "OAK ST") for lon in (-78.899, -78.893, -78.887, -78.884, -78.873)),
        *(((lat, ELM), "ELM ST") for lat in (42.903, 42.908, 42.914)),
        *(((lat, PINE), "PINE ST") for lat in (42.891, 42.895, 42.905, 42.909)),
    ]
    return {"route 1": east_then_north, "route 2": north_on_pine}, stops


def test_a_corner_no_stop_names_is_found_where_the_lines_cross() -> None:
    """Oak & Pine has no stop named after it; the crossing of the two derived lines is that corner."""
    lines = street_lines(*_network())
    found = {(c.a, c.b): c for c in crossings(lines)}
    corner = found[("OAK ST", "PINE ST")]
    assert corner.how == "crossing"
    assert distance_m(Point(*corner.point), Point(OAK, PINE)) < 5


def test_a_turning_bus_gives_both_streets_up_to_the_bend() -> None:
    """Oak St runs to where the bus turns onto Elm St, so Oak & Elm is at the bend."""
    lines = street_lines(*_network())
    found = {(c.a, c.b): c for c in crossings(lines)}
    corner = found[("ELM ST", "OAK ST")]
    assert distance_m(Point(*corner.point), Point(OAK, ELM)) < 30


def test_a_cross_street_stop_does_not_become_a_street() -> None:
    """Stops of a cross street standing by a shape at a corner do not draw that street along it."""
    shapes, stops = _network()
    stops += [((OAK + 0.0002, PINE + 0.0001), "PINE ST"), ((OAK - 0.0002, PINE - 0.0001), "PINE ST")]
    lines = street_lines(shapes, stops)
    pine_lons = {round(lon, 3) for piece in lines["PINE ST"] for _, lon in piece}
    assert pine_lons == {PINE}


def test_streets_known_only_at_points_are_drawn_straight_and_marked() -> None:
    """A side street known at two corners is a straight line, and its crossings say they are approximate."""
    lines = street_lines(*_network())
    drawn = approximate_lines({"ASH ST": [(OAK - 0.004, -78.892), (OAK + 0.004, -78.892)]})
    found = {(c.a, c.b): c for c in crossings({**lines, **drawn}, frozenset(drawn))}
    corner = found[("ASH ST", "OAK ST")]
    assert corner.how == "approximate"
    assert distance_m(Point(*corner.point), Point(OAK, -78.892)) < 5
