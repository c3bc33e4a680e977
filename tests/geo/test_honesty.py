"""Never confidently wrong: out-of-town answers, street-only stretches, same-name streets (issue 21)."""

from __future__ import annotations

import pytest

from geo.gazetteer import OUTSIDE_CAP, Gazetteer
from geo.point import Point, distance_m
from geo.result import Method
from geo.zones import Zones

SURE = 0.8  # the shipped config's accept_confidence
WALDEN_UNION = Point(42.9072, -78.7542)  # in Cheektowaga, outside the city


def test_an_outside_corner_without_a_town_is_a_candidate_with_a_warning(gazetteer: Gazetteer) -> None:
    """ "Walden & Union" exists only in Cheektowaga: offered, below the bar, with a warning to ask."""
    best = gazetteer.geocode("Walden & Union")[0]
    assert distance_m(best.point, WALDEN_UNION) < 150
    assert best.confidence <= OUTSIDE_CAP < SURE
    assert best.warning
    assert "town" in best.warning


@pytest.mark.parametrize("said", ["Walden & Union, Cheektowaga", "Walden and Union in Cheektowaga"])
def test_an_outside_corner_with_its_town_named_is_sure(gazetteer: Gazetteer, said: str) -> None:
    """Naming the town makes the same corner sure (a town-suffixed corner: the issue's regression)."""
    best = gazetteer.geocode(said)[0]
    assert distance_m(best.point, WALDEN_UNION) < 150
    assert best.confidence >= SURE
    assert best.town == "Cheektowaga"
    assert best.warning is None


def test_no_answer_outside_the_city_is_sure_without_a_town(gazetteer: Gazetteer, zones: Zones) -> None:
    """Across every kind of query, a sure answer without a town named is in the city."""
    for said in [
        "Main & Union",
        "Genesee & Union",
        "Transit & Main",
        "Sheridan & Delaware",
        "Harlem & Walden",
    ]:
        for result in gazetteer.geocode(said):
            if result.confidence >= SURE:
                assert zones.inside(result.point), (said, result)


def test_66_custer_is_custer_street_in_the_city_drawn_with_its_extent(
    gazetteer: Gazetteer, zones: Zones
) -> None:
    """ "66 Custer" (no address data) answers Custer St's stretch in the city: a box and a point in it."""
    best = gazetteer.geocode("66 Custer")[0]
    assert best.method is Method.STREET
    assert best.street == "CUSTER ST"
    assert best.confidence < SURE
    assert zones.inside(best.point)
    assert best.extent is not None
    assert best.extent.contains(best.point)


def test_a_street_only_answer_is_the_in_city_stretch_as_a_line(gazetteer: Gazetteer, zones: Zones) -> None:
    """ "Main St" is drawn as its line inside the city, every vertex in it, the point within the extent."""
    best = gazetteer.geocode("Main St")[0]
    assert best.method is Method.STREET
    assert best.town is None
    assert best.line
    assert sum(len(piece) for piece in best.line) > 20
    assert all(zones.inside(Point(*vertex)) for piece in best.line for vertex in piece)
    assert best.extent is not None
    assert best.extent.contains(best.point)
    assert zones.inside(best.point)


def test_a_street_in_several_towns_asks_which(gazetteer: Gazetteer) -> None:
    """Main St is in Buffalo and in other towns: the city's comes first, the others follow by town."""
    results = gazetteer.geocode("Main St")
    assert results[0].warning
    assert "which town" in results[0].warning
    towns = {r.town for r in results[1:] if r.method is Method.STREET and r.street == "MAIN ST"}
    assert towns
    assert None not in towns
    assert all(r.confidence < SURE for r in results)


def test_a_numbered_street_is_never_read_as_another_number(gazetteer: Gazetteer) -> None:
    """ "14th" is not a misspelling of "4th": no 4th Street answers "Connecticut / 14th"."""
    for result in gazetteer.geocode("Connecticut / 14th"):
        assert result.street != "4TH ST"
        assert result.cross_street != "4TH ST"


def test_a_corner_the_data_lacks_never_lands_sure_on_a_far_namesake(gazetteer: Gazetteer) -> None:
    """A Buffalo corner the data lacks gives the named streets in the city, never a sure far corner."""
    results = gazetteer.geocode("Hopkins / Pembina")
    assert results
    assert all(r.confidence < SURE for r in results)
    assert results[0].street == "HOPKINS ST"
    assert results[0].warning


def test_a_rail_station_is_the_corner_it_is_named_after(gazetteer: Gazetteer) -> None:
    """Main St & LaSalle Ave, known only from "Main Street LaSalle Station", is a sure corner."""
    best = gazetteer.geocode("Main / LaSalle")[0]
    assert best.method is Method.INTERSECTION
    assert distance_m(best.point, Point(42.94762, -78.82995)) < 150
    assert best.confidence >= SURE


@pytest.mark.parametrize(
    ("said", "street"),
    [("Seneca / Cazenovia Park", "CAZENOVIA PKWY"), ("Elmwod / North", "ELMWOOD AVE")],
)
def test_park_names_and_misspellings_reach_the_street(gazetteer: Gazetteer, said: str, street: str) -> None:
    """A parkway said as "Park", and a misspelt name, find the street the city means."""
    best = gazetteer.geocode(said)[0]
    assert street in {best.street, best.cross_street}


def test_a_computed_corner_says_how_it_was_found(gazetteer: Gazetteer) -> None:
    """Corners no stop names carry their method, and less confidence than a stop's corner."""
    computed = [
        (a, b)
        for (a, b), points in gazetteer.corners.items()
        if all(p in gazetteer.computed for p in points) and a in gazetteer.in_city and b in gazetteer.in_city
    ]
    assert computed
    a, b = computed[0]
    best = gazetteer.geocode(f"{a} & {b}")[0]
    assert best.method is Method.CROSSING
    assert best.confidence < 0.95


def test_a_neighbourhood_named_alone_is_where_to_look_never_sure(gazetteer: Gazetteer, zones: Zones) -> None:
    """ "Black Rock" answers the neighbourhood (a point in it, its box), below the bar, with a warning."""
    best = gazetteer.geocode("Black Rock")[0]
    assert best.label == "Black Rock (neighbourhood)"
    assert best.confidence < SURE
    assert zones.of(best.point)["neighborhood"] == "Black Rock"
    assert best.extent is not None
    assert best.extent.contains(best.point)
    assert best.warning


@pytest.mark.parametrize(
    ("said", "streets"),
    [
        ("Ferry St & Grant t", {"FERRY ST", "GRANT ST"}),
        ("Delaware & kenmore ae", {"DELAWARE AVE", "KENMORE AVE"}),
        ("corner of 86th and Buffalo", {"86TH ST", "BUFFALO AVE"}),
        ("Elmwood & Bird, Buffalo, NY", {"ELMWOOD AVE", "BIRD AVE"}),
    ],
)
def test_a_lost_suffix_letter_and_buffalo_avenue_are_read(
    gazetteer: Gazetteer, said: str, streets: set[str]
) -> None:
    """A suffix missing a letter is still a suffix; "Buffalo" after "and" is a street, not the city."""
    best = gazetteer.geocode(said)[0]
    assert best.method is Method.INTERSECTION
    assert {best.street, best.cross_street} == streets
