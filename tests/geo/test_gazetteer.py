"""The offline gazetteer against real Buffalo data: every way people say a place."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.build import Imported, Segment, build
from geo.gazetteer import Gazetteer
from geo.point import Point, distance_m
from geo.result import Method
from geo.zones import Zones

BAILEY_KENSINGTON = Point(42.93812, -78.81348)


@pytest.mark.parametrize(
    "said",
    [
        "corner of Bailey and Kensington",
        "Bailey & Kensington",
        "Kensington Ave & Bailey Ave",
        "Bailey/Kensington",
        "Bailey Ave at Kensington Ave",
        "bailey and kensington",
        "Baily & Kensington",
        "the corner of Kensington Avenue and Bailey Avenue",
        "Bailey and Kensington, Buffalo, NY 14215",
    ],
)
def test_a_corner_said_any_way_lands_on_it(gazetteer: Gazetteer, said: str) -> None:
    """Every phrasing, order, abbreviation and a small typo find Bailey & Kensington, confidently."""
    best = gazetteer.geocode(said)[0]
    assert best.method is Method.INTERSECTION
    assert distance_m(best.point, BAILEY_KENSINGTON) < 50
    assert best.confidence >= 0.8


def test_address_point_keeps_the_unit(gazetteer: Gazetteer) -> None:
    """A known house number is an address point, and the unit comes back apart from it."""
    best = gazetteer.geocode("2767 Bailey Ave Apt 3, Buffalo NY")[0]
    assert best.method is Method.ADDRESS_POINT
    assert (best.number, best.street, best.unit) == ("2767", "BAILEY AVE", "APT 3")
    assert best.confidence >= 0.9


def test_unknown_house_number_says_street_only(gazetteer: Gazetteer) -> None:
    """A number on a street with no address data is answered honestly as the street, not confident."""
    results = gazetteer.geocode("1128 Elmwood apt 2")
    assert results
    best = results[0]
    assert best.method is Method.STREET
    assert best.street == "ELMWOOD AVE"
    assert best.unit == "APT 2"
    assert best.confidence < 0.5


def test_place_by_kind_on_a_street(gazetteer: Gazetteer) -> None:
    """ "The police station on Hertel" is the D District station."""
    best = gazetteer.geocode("the police station on Hertel")[0]
    assert best.method is Method.NAMED_PLACE
    assert "D District" in best.label


def test_config_alias_names_a_place(gazetteer: Gazetteer) -> None:
    """An alias from surge_config.yaml (ECMC) finds the place it names."""
    best = gazetteer.geocode("ECMC")[0]
    assert best.label == "Erie County Medical Center"


def test_far_apart_matches_are_candidates_not_a_guess(gazetteer: Gazetteer) -> None:
    """A name that fits several far-apart places returns them all, none of them confident."""
    results = gazetteer.geocode("Delaware")
    assert len(results) >= 2
    assert all(result.confidence < 0.8 for result in results)


def test_outside_the_city_is_still_found(gazetteer: Gazetteer) -> None:
    """Corners in the suburbs are known too (so the call can be flagged as outside)."""
    best = gazetteer.geocode("Main St & Transit Rd")[0]
    assert best.point.lon > -78.75


def test_nothing_found_is_empty(gazetteer: Gazetteer) -> None:
    """Gibberish answers nothing rather than something."""
    assert gazetteer.geocode("qqqq zzzz xxxx") == ()


def test_interpolated_address_on_an_imported_centerline() -> None:
    """A house number inside a segment's range lands proportionally along it, on its side's parity."""
    segment = Segment(
        street="TESTING ST",
        coords=[(42.900, -78.850), (42.900, -78.840)],
        left_from=101,
        left_to=199,
        right_from=100,
        right_to=198,
        zip_left="14201",
        zip_right="14201",
    )
    gazetteer = Gazetteer(build(imported=[Imported(name="t", segments=[segment])]))
    best = gazetteer.geocode("150 Testing Street")[0]
    assert best.method is Method.INTERPOLATED
    assert best.zip == "14201"
    expected = Point(42.900, -78.850 + 0.010 * (150 - 100) / (198 - 100))
    assert distance_m(best.point, expected) < 5


def test_suggest_streets_corners_and_places(gazetteer: Gazetteer) -> None:
    """Type-ahead completes streets, the cross streets of a corner, and places."""
    assert "Bailey Ave" in gazetteer.suggest("Bai")
    assert "Bailey Ave & Kensington Ave" in gazetteer.suggest("Bailey & Kens")
    assert any("Erie County Medical" in s for s in gazetteer.suggest("Erie County Med"))


def test_reverse_finds_the_nearest_corner(gazetteer: Gazetteer) -> None:
    """A pin a few metres from Bailey & Kensington reverse-geocodes to that corner."""
    found = gazetteer.reverse(Point(42.9382, -78.8136))
    assert found is not None
    label, _, metres = found
    assert "Bailey" in label
    assert "Kensington" in label
    assert metres < 60


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_gives_an_answer_or_none_never_a_crash(text: str) -> None:
    """Whatever an agent types, the parser answers (possibly nothing) without raising."""
    gazetteer = _shared()
    for result in gazetteer.geocode(text):
        assert 0 <= result.confidence <= 1
    gazetteer.suggest(text)


_CACHE: list[Gazetteer] = []


def _shared() -> Gazetteer:
    if not _CACHE:
        _CACHE.append(Gazetteer(build()))
    return _CACHE[0]


def test_a_corner_at_home_wins_over_the_same_names_elsewhere(gazetteer: Gazetteer) -> None:
    """Main and Michigan meet in Buffalo and again outside it: the Buffalo one leads, confidently."""
    results = gazetteer.geocode("Main & Michigan")
    assert len(results) >= 2
    best = results[0]
    assert best.confidence >= 0.8
    assert gazetteer.home is not None
    assert gazetteer.home(best.point)
    assert all(other.confidence < 0.8 and not gazetteer.home(other.point) for other in results[1:])


@pytest.mark.parametrize("said", ["Delaware Ave, North Park", "Delaware Ave in North Park"])
def test_neighbourhood_hint_picks_the_stretch(gazetteer: Gazetteer, zones: Zones, said: str) -> None:
    """A street named with a neighbourhood lands on its stretch in that neighbourhood."""
    best = gazetteer.geocode(said)[0]
    assert best.street == "DELAWARE AVE"
    assert zones.of(best.point)["neighborhood"] == "North Park"


def test_neighbourhood_hint_chooses_among_corners(gazetteer: Gazetteer, zones: Zones) -> None:
    """A corner whose names meet twice is resolved by the neighbourhood the caller names."""
    best = gazetteer.geocode("Elmwood & Ferry, Elmwood Bidwell")[0]
    assert zones.of(best.point)["neighborhood"] == "Elmwood Bidwell"


@pytest.mark.parametrize("said", ["Kensington & William", "Clinton & Middlesex", "Main & Jersey"])
def test_landmark_stop_names_make_no_corners(gazetteer: Gazetteer, said: str) -> None:
    """Stops named after landmarks ("Kensington Avenue William Gaiter Pa…") invent no corner."""
    results = gazetteer.geocode(said)
    assert all(r.method is not Method.INTERSECTION for r in results)
    assert all(r.confidence < 0.8 for r in results)


def test_a_house_number_in_another_town_is_not_found_here(gazetteer: Gazetteer) -> None:
    """ "81 Main St" is a known address in Batavia; in Buffalo it is only the street."""
    best = gazetteer.geocode("81 Main St, Buffalo, NY 14202")[0]
    assert best.method is Method.STREET
    assert best.confidence < 0.8


def test_places_of_the_same_name_are_all_kept(gazetteer: Gazetteer) -> None:
    """Two Walgreens are two candidates, the one in the city first."""
    results = [r for r in gazetteer.geocode("Walgreens") if r.label == "Walgreens"]
    assert len(results) == 2
    assert gazetteer.home is not None
    assert gazetteer.home(results[0].point)


@pytest.mark.parametrize("said", ["South Park", "Erie", "A", "Riverside", "Kenmore Ave", "Dodge & High"])
def test_part_of_a_place_name_is_never_sure(gazetteer: Gazetteer, said: str) -> None:
    """A word that is part of a place's name (and a street's, a neighbourhood's) is not a sure answer."""
    assert all(r.confidence < 0.8 for r in gazetteer.geocode(said))


def test_kind_on_a_street_prefers_the_city(gazetteer: Gazetteer) -> None:
    """ "Drug store on Main" matching only a pharmacy in another town is not sure."""
    assert all(r.confidence < 0.8 for r in gazetteer.geocode("drug store on Main"))


@pytest.mark.parametrize(
    "text", ["a" + " " * 5000 + "b", "in " * 2000, "& " * 3000, "x" * 20000, ", " * 4000]
)
def test_pathological_input_is_answered_fast(gazetteer: Gazetteer, text: str) -> None:
    """Huge or repetitive input is read only as far as an address can reach (no blow-up to seconds)."""
    import time

    started = time.perf_counter()
    gazetteer.geocode(text + str(time.monotonic_ns()))  # not cached
    gazetteer.suggest(text)
    assert time.perf_counter() - started < 0.5


def test_spanish_y_joins_a_corner_and_an_alias_that_looks_like_an_address(gazetteer: Gazetteer) -> None:
    """ "Main y Delavan" is a corner; "65 Niagara Square", City Hall's alias, is City Hall."""
    assert gazetteer.geocode("Main y Delavan")[0].method is Method.INTERSECTION
    assert gazetteer.geocode("65 Niagara Square")[0].label == "Buffalo City Hall"
