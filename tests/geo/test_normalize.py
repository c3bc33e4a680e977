"""USPS normalisation of street names and units."""

from __future__ import annotations

import pytest

from geo.normalize import split_unit, street, words


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("W. Mohawk St.", "W MOHAWK ST"),
        ("West Mohawk Street", "W MOHAWK ST"),
        ("South Park Avenue", "S PARK AVE"),
        ("North Street", "NORTH ST"),
        ("Third Street", "3RD ST"),
        ("3rd st", "3RD ST"),
        ("McKinley Parkway", "MCKINLEY PKWY"),
        ("Jefferson Av", "JEFFERSON AVE"),
        ("Main St N", "MAIN ST N"),
        ("Brunswick Boulevar", "BRUNSWICK BLVD"),
        ("O'Connell Ave", "OCONNELL AVE"),
        ("Broadway", "BROADWAY"),
    ],
)
def test_spellings_meet_one_key(given: str, key: str) -> None:
    """Abbreviations, directionals, ordinals and punctuation all normalise to the USPS form."""
    assert street(given).key == key


def test_core_drops_directional_and_suffix() -> None:
    """The core is what people say: "Delavan" for East Delavan Avenue."""
    assert street("East Delavan Avenue").core == "DELAVAN"


@pytest.mark.parametrize(
    ("text", "rest", "unit"),
    [
        ("1128 Elmwood Ave apt 2", ["1128", "ELMWOOD", "AVE"], "APT 2"),
        ("45 Ashland upper", ["45", "ASHLAND"], "UPPR"),
        ("100 Main St Suite 4B", ["100", "MAIN", "ST"], "STE 4B"),
        ("12 Main St # 3", ["12", "MAIN", "ST"], "# 3"),
        ("77 Hertel Ave", ["77", "HERTEL", "AVE"], ""),
    ],
)
def test_units_are_kept_apart(text: str, rest: list[str], unit: str) -> None:
    """Unit designators (including Buffalo's upper and lower flats) are split from the street."""
    assert split_unit(words(text)) == (rest, unit)
