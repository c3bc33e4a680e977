"""Street names the way the US Postal Service writes them (Publication 28).

Every spelling of a street meets the same key: "W. Mohawk St." and "West Mohawk Street" are both
`W MOHAWK ST`.

A street name is (pre-directional, name, suffix, post-directional). A directional or a suffix that is
the whole name stays the name: "North Street" is `NORTH ST`, "South Park Avenue" is `S PARK AVE`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# USPS Publication 28, appendix C1 (the common ones, and the spellings people use for them).
# PARK is left out: in Buffalo it is part of names ("South Park Avenue"), not a street type.
SUFFIXES: dict[str, str] = {}
for abbreviation, spellings in {
    "ALY": "ALLEY ALLY", "AVE": "AVENUE AV AVEN AVENU AVN AVNUE", "BLVD": "BOULEVARD BOUL BOULV BOULEVAR",
    "CIR": "CIRCLE CIRC CIRCL CRCL", "CT": "COURT CRT", "CRES": "CRESCENT", "DR": "DRIVE DRIV DRV",
    "EXPY": "EXPRESSWAY EXPR EXPW EXPRESS", "HWY": "HIGHWAY HIWAY HIWY", "LN": "LANE", "PKWY":
    "PARKWAY PARKWY PKWAY PKY PKWYS", "PL": "PLACE", "PLZ": "PLAZA PLZA", "RD": "ROAD", "ROW": "",
    "SQ": "SQUARE SQR", "ST": "STREET STR STRT", "TER": "TERRACE TERR", "TRL": "TRAIL", "WAY": "WY",
    "WALK": "", "XING": "CROSSING", "TPKE": "TURNPIKE", "DRWY": "DRIVEWAY",
}.items():  # fmt: skip
    SUFFIXES[abbreviation] = abbreviation
    for spelling in spellings.split():
        SUFFIXES[spelling] = abbreviation

DIRECTIONALS = {
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "N": "N", "S": "S", "E": "E", "W": "W",
    "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
    "NE": "NE", "NW": "NW", "SE": "SE", "SW": "SW",
}  # fmt: skip

ORDINALS = {
    "FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH", "SIXTH": "6TH",
    "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH", "ELEVENTH": "11TH",
    "TWELFTH": "12TH", "THIRTEENTH": "13TH", "FOURTEENTH": "14TH", "FIFTEENTH": "15TH",
}  # fmt: skip

# Unit designators: what follows them is a unit, kept apart from the street ("apt 2", "upper").
UNIT_WORDS = {
    "APT": "APT", "APARTMENT": "APT", "UNIT": "UNIT", "STE": "STE", "SUITE": "STE", "#": "#",
    "FL": "FL", "FLOOR": "FL", "RM": "RM", "ROOM": "RM", "BLDG": "BLDG", "BUILDING": "BLDG",
    "LOT": "LOT", "TRLR": "TRLR", "DEPT": "DEPT",
}  # fmt: skip
UNIT_ALONE = {
    "UPPER": "UPPR",
    "UPPR": "UPPR",
    "LOWER": "LOWR",
    "LOWR": "LOWR",
    "REAR": "REAR",
    "FRONT": "FRNT",
}

_WORD = re.compile(r"[A-Z0-9]+(?:'[A-Z]+)?|#")
_ORDINAL_DIGITS = re.compile(r"^(\d+)(ST|ND|RD|TH)$")


def words(text: str) -> list[str]:
    """Upper-case words, punctuation dropped ("W. Mohawk St." → W, MOHAWK, ST)."""
    return [word.replace("'", "") for word in _WORD.findall(text.upper())]


@dataclass(frozen=True, slots=True)
class StreetName:
    predir: str
    name: str
    suffix: str
    postdir: str

    @property
    def key(self) -> str:
        """The full normalised name: the gazetteer's key for a street."""
        return " ".join(part for part in (self.predir, self.name, self.suffix, self.postdir) if part)

    @property
    def core(self) -> str:
        """The name without directionals or suffix: what people say when they say "Delavan"."""
        return self.name


@lru_cache(maxsize=65536)
def street(text: str) -> StreetName:
    """Normalise one street name.

    >>> street("W. Mohawk St.").key
    'W MOHAWK ST'
    >>> street("South Park Avenue").key, street("North Street").key, street("Third Street").key
    ('S PARK AVE', 'NORTH ST', '3RD ST')
    """
    return street_from_words(tuple(words(text)))


def street_from_words(tokens: tuple[str, ...]) -> StreetName:
    parts = [ORDINALS.get(token, _ordinal(token)) for token in tokens]
    predir = postdir = suffix = ""
    if len(parts) >= 2 and parts[-1] in DIRECTIONALS and parts[-2] in SUFFIXES:
        postdir = DIRECTIONALS[parts.pop()]
    if len(parts) >= 2 and parts[-1] in SUFFIXES:
        suffix = SUFFIXES[parts.pop()]
    if len(parts) >= 2 and parts[0] in DIRECTIONALS:
        predir = DIRECTIONALS[parts.pop(0)]
    return StreetName(predir, " ".join(parts), suffix, postdir)


def _ordinal(token: str) -> str:
    match = _ORDINAL_DIGITS.match(token)
    return f"{int(match.group(1))}{match.group(2)}" if match else token


def split_unit(tokens: list[str]) -> tuple[list[str], str]:
    """Split trailing unit designators off ("ELMWOOD AVE APT 2" → ELMWOOD AVE, "APT 2")."""
    for index, token in enumerate(tokens):
        if index == 0:
            continue
        if token in UNIT_WORDS:
            return tokens[:index], " ".join([UNIT_WORDS[token], *tokens[index + 1 :]]).strip()
        if token in UNIT_ALONE:
            return tokens[:index], " ".join([UNIT_ALONE[token], *tokens[index + 1 :]]).strip()
    return tokens, ""
