"""Reading corners out of NFTA stop names, cut at 35 characters."""

from __future__ import annotations

import pytest

from geo.stops import intersection

KNOWN = {"BRUNSWICK BLVD", "E DELAVAN AVE", "KENSINGTON AVE", "JEFFERSON AVE", "PERU PL"}


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
