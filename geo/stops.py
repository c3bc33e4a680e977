"""Reading intersections out of NFTA transit stop names.

A stop is named "<on street> <cross street> <direction>", cut at 35 characters: "Bailey Avenue Peru
Place North", "Jefferson Avenue Brunswick Boulevar". The on street ends at its first street suffix;
the cross street runs to the next suffix, or, cut short, is completed from the streets that other
stops name in full. Some stops say the corner outright, "<street> and <street>" or "<street> at
<street>" ("Republic Street and Hamburg Street", "Hamburg and Mackinaw Street (OB)"): the joining word
belongs to neither street. Stops named after a landmark ("Elmwood Avenue Hutch Tech High Scho") or
with a house number are not intersections and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable

from geo.normalize import DIRECTIONALS, SUFFIXES, StreetName, street_from_words, words

# Suffixes that end a street name inside a stop name (PARK, ROW and WALK are too often part of one).
_ENDS = {spelling for spelling, abbreviation in SUFFIXES.items() if abbreviation not in {"ROW", "WALK"}}
_TAIL = {
    "NORTH",
    "SOUTH",
    "EAST",
    "WEST",
    "NEARSIDE",
    "FARSIDE",
    "NEAR",
    "FAR",
    "SIDE",
    "MIDBLOCK",
    "MID",
    "OPPOSITE",
    "OPP",
}
_JOINERS = {"AND", "AT"}  # in a stop's name, "<street> and <street>": part of neither street
_ABBREVIATIONS = set(SUFFIXES.values())
_WHOLE = {"BROADWAY"}  # street names with no suffix word


def on_street(name: str) -> StreetName | None:
    """The on street of a stop name, or None if the name has no street suffix in it."""
    tokens = words(name)
    joined = _joined(tokens)
    if joined is not None:
        tokens = joined[0]
    end = _street_end(tokens)
    return street_from_words(tuple(tokens[: end + 1])) if end is not None else None


def intersection(name: str, known: set[str]) -> tuple[StreetName, StreetName] | None:
    """(on street, cross street) of a stop name, or None if it does not name a street corner.

    `known` holds the keys of streets named in full somewhere, to complete a cross street cut short.
    A rail station is named after its cross street ("Main Street LaSalle Station South", "Main Street
    Allen/Medical Campus St"): the station is that corner, so the name is read up to "Station" or
    the slash that starts the landmark's own name.
    """
    tokens = words(name.split("/", 1)[0])
    station = next((i for i, t in enumerate(tokens) if i >= 2 and t.startswith("STATI")), None)
    if station is not None:
        tokens = tokens[:station]
    if any(token.isdigit() for token in tokens):
        return None  # "… 1199 Elmwood Avenue": a house number, not a corner
    joined = _joined(tokens)
    if joined is not None:
        on_side, cross = _side(joined[0], known, whole=True), _side(joined[1], known, whole=False)
        return (on_side, cross) if on_side and cross and on_side.key != cross.key else None
    end = _street_end(tokens)
    if end is None or end + 1 >= len(tokens):
        return None
    on = street_from_words(tuple(tokens[: end + 1]))
    rest = tokens[end + 1 :]
    cross_end = _street_end(rest)
    if cross_end is not None:
        cross = street_from_words(tuple(rest[: cross_end + 1]))
        return (on, cross) if cross.name and cross.key != on.key else None
    # No whole suffix: the name was cut inside the cross street ("… Brunswick Boulevar"), or the
    # cross street has no suffix in the data. Complete it from streets named in full elsewhere.
    while rest and rest[-1] in _TAIL:
        rest = rest[:-1]
    # Only the last word can have been cut; shortening further would turn "William Gaiter Pa(rkway)"
    # into William Street, a corner that does not exist.
    completed = _complete(rest, known)
    if completed is not None and completed.key != on.key:
        return on, completed
    return None


def _joined(tokens: list[str]) -> tuple[list[str], list[str]] | None:
    """The two sides of a stop named "<street> and <street>" (or "at"), else None."""
    for index in range(1, len(tokens) - 1):
        if tokens[index] in _JOINERS:
            return tokens[:index], tokens[index + 1 :]
    return None


def _side(tokens: list[str], known: set[str], *, whole: bool) -> StreetName | None:
    """One side of "<street> and <street>": to its suffix, or completed from the known streets.

    The first side must be a street and nothing more (`whole`); the second may go on past its suffix
    ("Mackinaw Street (OB)", "… Rd west").
    """
    end = _street_end(tokens)
    if end is None:
        while tokens and tokens[-1] in _TAIL:
            tokens = tokens[:-1]
        return _complete(tokens, known)
    if whole and end + 1 < len(tokens):
        return None  # "Big Tree Rd Orchard Park P and R": not a plain street before the "and"
    return street_from_words(tuple(tokens[: end + 1]))


def _street_end(tokens: list[str]) -> int | None:
    """Index of the last word of the street name the tokens start with."""
    if tokens and tokens[0] in _WHOLE:
        return 0
    return _first_suffix(tokens, 1)


def _first_suffix(tokens: list[str], start: int) -> int | None:
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token in _ENDS and not (index + 1 < len(tokens) and tokens[index + 1] in _ENDS):
            # "Saint Street Road": the last of two suffix words in a row ends the name.
            return index
    return None


def _complete(tokens: list[str], known: set[str]) -> StreetName | None:
    """The one known street whose key starts with these words (the last perhaps cut short)."""
    if not tokens:
        return None
    head, last = tokens[:-1], tokens[-1]
    matches = set()
    for key in known:
        parts = key.split()
        if len(parts) < len(tokens):
            continue
        full = [DIRECTIONALS.get(t, t) if i == 0 and len(tokens) > 1 else t for i, t in enumerate(head)]
        if parts[: len(head)] == full and parts[len(head)].startswith(last):
            if len(parts) == len(tokens) or (len(parts) == len(tokens) + 1 and parts[-1] in _ABBREVIATIONS):
                matches.add(key)
        elif (
            parts[: len(tokens)] == [*full, last]
            and len(parts) == len(tokens) + 1
            and parts[-1] in _ABBREVIATIONS
        ):
            matches.add(key)
    if len(matches) == 1:
        return street_from_words(tuple(next(iter(matches)).split()))
    return None


def known_streets(names: Iterable[str]) -> set[str]:
    """Keys of the streets that stop names give in full (their on streets and whole cross streets)."""
    known: set[str] = set()
    for name in names:
        tokens = words(name)
        joined = _joined(tokens)
        if joined is not None:
            for side in joined:
                end = _street_end(side)
                if end is not None and not any(token.isdigit() for token in side):
                    known.add(street_from_words(tuple(side[: end + 1])).key)
            continue
        end = _street_end(tokens)
        if end is None:
            continue
        known.add(street_from_words(tuple(tokens[: end + 1])).key)
        rest = tokens[end + 1 :]
        cross_end = _street_end(rest)
        if cross_end is not None and not any(token.isdigit() for token in rest):
            known.add(street_from_words(tuple(rest[: cross_end + 1])).key)
    return known
