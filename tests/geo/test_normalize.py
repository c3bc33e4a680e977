"""USPS normalisation of street names and units."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.normalize import UNIT_ALONE, UNIT_WORDS, split_unit, street, words

_KEY_WORD = re.compile(r"[A-Z0-9]+|#")
# Words that move in normalisation: directionals, suffixes, ordinals, and names that are one of those.
SPOKEN = [
    "North", "N.", "West", "SW", "Street", "St.", "Avenue", "Av", "Park", "Third", "3rd", "03RD", "1st",
    "Main", "O'Connell", "Delaware", "Boulevar", "Pkwy", "E", "Ave", "Road", "Rd", "Row", "Walk", "Way",
]  # fmt: skip


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


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200) | st.lists(st.sampled_from(SPOKEN), max_size=8).map(" ".join))
def test_any_text_normalises_to_a_stable_key(text: str) -> None:
    """Any text gives a key of plain upper-case words, and the key normalises to itself."""
    name = street(text)
    assert name.key == " ".join(name.key.split())
    assert all(_KEY_WORD.fullmatch(word) for word in name.key.split())
    assert street(name.key) == name
    assert name.core in name.key


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*SPOKEN, "APT", "#", "UPPER", "REAR", "2", "4B"]), max_size=10))
def test_a_unit_split_keeps_the_street_in_front(tokens: list[str]) -> None:
    """The street part is a prefix of the words, never emptied, and the unit starts with its designator."""
    rest, unit = split_unit(tokens)
    assert tokens[: len(rest)] == rest
    assert bool(rest) == bool(tokens)
    if unit:
        assert unit.split()[0] in {*UNIT_WORDS.values(), *UNIT_ALONE.values()}
