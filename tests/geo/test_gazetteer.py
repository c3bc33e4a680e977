"""The offline gazetteer against real Buffalo data: every way people say a place."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.build import Imported, Segment, build
from geo.gazetteer import Gazetteer, pretty_street
from geo.geocoders import Chain, Offline
from geo.point import Point, distance_m
from geo.result import GeoResult, Method
from geo.zones import Zones
from incident.config import load_config
from incident.geocoding import GeoService
from tests.support import CONFIG

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


@pytest.fixture(scope="module")
def service(gazetteer: Gazetteer, zones: Zones) -> GeoService:
    """What intake locates calls with: the gazetteer alone (no online providers)."""
    config = load_config(CONFIG)
    chain = Chain(Offline(gazetteer), [], accept=config.geo.accept_confidence)
    return GeoService(config, gazetteer, zones, chain, "test")


# What agents type, and what they should not: real street names with every corner joiner, house
# numbers (huge ones, other scripts' digits), units, neighbourhood and city tails, place kinds; then
# raw unicode with control characters, punctuation alone, and text far longer than any address.
_STREET_SAID = st.sampled_from(
    [
        "Bailey", "Kensington Ave", "Main St", "Delaware Avenue", "elmwood", "W. Ferry St", "Broadway",
        "South Park Avenue", "3rd St", "Niagara Square", "Hertel", "MLK Jr Park", "Main St N", "Baily",
        "North", "St", "Ave", "and", "Y", "X", "at", "O'Connell Ave", "Jefferson Av", "Kensington Expy",
    ]
)  # fmt: skip
_JOINER = st.sampled_from(
    ["&", " & ", " and ", " AND ", "/", " @ ", " at ", " x ", " y ", "+", " near ", " by "]
)
_NUMBER = st.one_of(
    st.integers(0, 10**30).map(str),
    st.sampled_from(["١٢٣", "１２", "²", "007", "12-14", "12B", "0", "-5", "4½"]),
)
_UNIT = st.sampled_from(["", " apt 2", " # 3", " upper", " Suite 4B", " rear", " apt", " #"])
_TAIL = st.sampled_from(
    [
        "",
        ", North Park",
        " in Black Rock",
        " near Elmwood Bidwell",
        ", Buffalo, NY 14215",
        " 14201-1234",
        ", NY",
        ",",
    ]
)
_LEAD = st.sampled_from(
    [
        "",
        "corner of ",
        "the intersection of ",
        "at the corner of ",
        "police station on ",
        "the hospital near ",
        "drug store at ",
    ]
)
_JUNK = st.text(
    alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "P", "S", "Z", "Nd", "No", "Mn"]),
    max_size=40,
)
_CORNER = st.tuples(_LEAD, _STREET_SAID, _JOINER, _STREET_SAID, _TAIL).map("".join)
_ADDRESS = st.tuples(_NUMBER, st.sampled_from([" ", "  ", ""]), _STREET_SAID, _UNIT, _TAIL).map("".join)
_MIXED = st.lists(st.one_of(_STREET_SAID, _JOINER, _NUMBER, _UNIT, _TAIL, _LEAD, _JUNK), max_size=12).map(
    " ".join
)
_LONG = st.builds(lambda piece, times: piece * times, st.one_of(_CORNER, _JUNK, _JOINER), st.integers(1, 400))
SAID = st.one_of(_CORNER, _ADDRESS, _MIXED, _LONG, _JUNK, st.text(max_size=120))


def _well_formed(result: GeoResult, gazetteer: Gazetteer) -> None:
    assert isinstance(result, GeoResult)
    assert 0 <= result.confidence <= 1
    assert result.label
    assert -90 <= result.point.lat <= 90
    assert -180 <= result.point.lon <= 180
    if result.method in (Method.STREET, Method.INTERSECTION, Method.ADDRESS_POINT, Method.INTERPOLATED):
        assert result.street in gazetteer.streets
    if result.method is Method.INTERSECTION:
        assert result.cross_street in gazetteer.streets
    if result.method in (Method.ADDRESS_POINT, Method.INTERPOLATED):
        assert result.number
    assert result.unit is None or result.unit


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(said=SAID)
def test_any_text_gives_well_formed_answers_never_a_crash(
    gazetteer: Gazetteer, service: GeoService, said: str
) -> None:
    """Corners, addresses, junk and huge text: geocode and locate answer (maybe nothing), never raise."""
    for result in gazetteer.geocode(said):
        _well_formed(result, gazetteer)
    located = service.locate(said)
    assert located.best is None or located.best.confidence >= service.config.geo.accept_confidence
    assert len(located.candidates) <= 5


@settings(max_examples=300, deadline=None)
@given(typed=SAID, limit=st.integers(1, 25))
def test_suggestions_are_distinct_labels_within_the_limit(
    gazetteer: Gazetteer, typed: str, limit: int
) -> None:
    """Whatever has been typed, type-ahead gives at most `limit` distinct, non-empty labels."""
    suggestions = gazetteer.suggest(typed, limit)
    assert len(suggestions) <= limit
    assert all(isinstance(label, str) and label for label in suggestions)
    assert len(set(suggestions)) == len(suggestions)


@settings(max_examples=200, deadline=None)
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180))
def test_reverse_of_any_point_is_a_label_and_a_distance(gazetteer: Gazetteer, lat: float, lon: float) -> None:
    """Any point on Earth has a nearest known corner or address, a finite distance away."""
    found = gazetteer.reverse(Point(lat, lon))
    assert found is not None
    label, where, metres = found
    assert label
    assert 0 <= metres < 20_100_000  # half the Earth's circumference
    assert metres == pytest.approx(distance_m(Point(lat, lon), where))
    assert gazetteer.geocode(label)  # the label reads back as a place


@pytest.mark.parametrize("joiner", ["&", " & ", " and ", "/", " at ", " AND ", " y "])
def test_every_known_corner_said_with_any_joiner_is_found(gazetteer: Gazetteer, joiner: str) -> None:
    """Each corner of the data, its two streets joined by &, and, /, at or y, in any case, is an answer."""
    missed = []
    for a, b in sorted(gazetteer.corners):
        said = f"{pretty_street(a)}{joiner}{pretty_street(b)}"
        for text in (said, said.lower()):
            if not any({r.street, r.cross_street} == {a, b} for r in gazetteer.geocode(text)):
                missed.append(text)
    assert not missed


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

    started = time.perf_counter()
    gazetteer.geocode(text + str(time.monotonic_ns()))  # not cached
    gazetteer.suggest(text)
    assert time.perf_counter() - started < 0.5


def test_spanish_y_joins_a_corner_and_an_alias_that_looks_like_an_address(gazetteer: Gazetteer) -> None:
    """ "Main y Delavan" is a corner; "65 Niagara Square", City Hall's alias, is City Hall."""
    assert gazetteer.geocode("Main y Delavan")[0].method is Method.INTERSECTION
    assert gazetteer.geocode("65 Niagara Square")[0].label == "Buffalo City Hall"


def test_a_place_named_with_the_city_itself_is_answered(gazetteer: Gazetteer) -> None:
    """A Buffalo place whose words name Buffalo (the home city, not another town) is found, sure."""
    results = gazetteer.geocode("Buffalo Police Department (B District)")
    assert results, "no answer"
    assert results[0].confidence >= 0.8
    assert results[0].warning is None
