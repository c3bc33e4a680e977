"""Reading corners out of NFTA stop names, cut at 35 characters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.stops import intersection, known_streets, on_street

KNOWN = {"BRUNSWICK BLVD", "E DELAVAN AVE", "KENSINGTON AVE", "JEFFERSON AVE", "PERU PL", "HAMBURG ST"}


@pytest.mark.parametrize(
    ("name", "on", "cross"),
    [
        ("Bailey Avenue Peru Place North", "BAILEY AVE", "PERU PL"),
        ("Jefferson Avenue Brunswick Boulevar", "JEFFERSON AVE", "BRUNSWICK BLVD"),
        ("Fillmore Avenue East Delavan Avenue", "FILLMORE AVE", "E DELAVAN AVE"),
        ("Niagara Street W. Mohawk St. North", "NIAGARA ST", "W MOHAWK ST"),
        ("Broadway Wick Street West", "BROADWAY", "WICK ST"),
        ("Jefferson Avenue Broadway North", "JEFFERSON AVE", "BROADWAY"),
        ("Kensington Avenue Bailey Avenue Eas", "KENSINGTON AVE", "BAILEY AVE"),
        ("Republic Street and Hamburg Street ", "REPUBLIC ST", "HAMBURG ST"),
        ("Hamburg and Mackinaw Street (OB)", "HAMBURG ST", "MACKINAW ST"),
        ("Cleveland Ave at Briarcliff Rd west", "CLEVELAND AVE", "BRIARCLIFF RD"),
    ],
)
def test_corner_stop_names(name: str, on: str, cross: str) -> None:
    """On street and cross street, whole or cut short, are read from a stop name."""
    found = intersection(name, KNOWN)
    assert found is not None
    assert (found[0].key, found[1].key) == (on, cross)


@pytest.mark.parametrize(
    "name",
    [
        "Elmwood Avenue Hutch Tech High Scho",
        "Elmwood Avenue 353 Elmwood Avenue N",
        "Utica Station Utica Station Static",
    ],
)
def test_landmarks_and_house_numbers_are_not_corners(name: str) -> None:
    """A stop named after a landmark or a house number is not read as a corner."""
    assert intersection(name, KNOWN) is None


@pytest.mark.parametrize(
    "name",
    [
        "Republic Street and Hamburg Street ",
        "Hamburg and Mackinaw Street (OB)",
        "Cleveland at Briarcliff Rd west",
    ],
)
def test_and_or_at_between_two_streets_is_part_of_neither(name: str) -> None:
    """ "A and B" stop names made streets "AND HAMBURG ST", "HAMBURG AND MACKINAW ST" (found by fuzzing)."""
    found = intersection(name, KNOWN)
    on = on_street(name)
    for street in (*(found or ()), *([on] if on else [])):
        assert not {"AND", "AT"} & set(street.key.split()), street
    assert not any({"AND", "AT"} & set(key.split()) for key in known_streets([name]))


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=80)
    | st.lists(st.sampled_from(["Main", "Street", "and", "at", "Ave", "North", "12", "(OB)", "Blvd"])).map(
        " ".join
    )
)
def test_any_stop_name_is_read_or_left_out_never_a_crash(name: str) -> None:
    """Whatever a stop is called, the corner reader answers a pair of different streets or nothing."""
    found = intersection(name, KNOWN)
    if found is not None:
        assert found[0].name
        assert found[1].name
        assert found[0].key != found[1].key
    on_street(name)
    known_streets([name])
