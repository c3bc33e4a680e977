"""The offline gazetteer: answers from the built data alone, in microseconds, with no network.

`Gazetteer.geocode` reads what an agent types — a corner in any of the ways people say one, a house
number and street (with a unit kept apart), "the police station on Hertel", a place's name, or a
street — and answers with every plausible place, best first. Far-apart candidates are returned as
such (each with lowered confidence), never silently reduced to a guess.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import msgspec
import numpy as np
import shapely
from rapidfuzz import fuzz, process

from geo.build import AddressPoint, GazetteerData, Place, Segment
from geo.normalize import DIRECTIONALS, SUFFIXES, StreetName, split_unit, street_from_words, words
from geo.point import BBox, Point, distance_m
from geo.result import GeoResult, Method

MAX_QUERY = 300  # characters of a query that are read
SAME_PLACE_M = 250.0  # candidates this close are one answer, not an ambiguity
AMBIGUOUS = 0.6  # confidence factor when several far-apart places match
AWAY = 0.5  # confidence factor for a candidate outside the jurisdiction when others are inside
PLACE_GUESS = 0.75  # the most a place matched on part of its name can be: never sure by itself
CORNER_MISS = 0.6  # confidence factor for what the words fit when the corner asked for is not known
# A corner no stop is named after is computed from the streets' lines: where they cross is as good as
# the lines (a few tens of metres); where one street's loose end had to be run on to meet the other
# it may be a street that stops short, and a street drawn straight through a few known points is a
# guess: both are candidates for an agent to confirm, never sure.
CORNER_CONFIDENCE = {"stop": 0.95, "crossing": 0.88, "reached": 0.7, "approximate": 0.6}
AREA_CONFIDENCE = 0.5  # a neighbourhood named alone: where to look, never where the caller is
OUTSIDE_CAP = 0.6  # the most an answer outside the city can be when the caller named no town
TOWN_NEAR_M = 12_000.0  # an answer this close to a town's known places is in (or by) that town
STREET_LINE_MAX = 400  # vertices of a street's line sent to the console (the map needs no more)
OUTSIDE_WARNING = "Outside the city, and the caller named no town: ask which town before using it."

_CORNER_WORDS = re.compile(r"\s*(?:&|/|@|\+|\band\b|\bat\b|\bx\b|\by\b|\bnear\b|\bby\b)\s*", re.IGNORECASE)
_LEAD = re.compile(
    r"^\s*(?:(?:at|on|near)\s+)?(?:the\s+)?(?:(?:corner|intersection|junction)\s+(?:of\s+)?)", re.IGNORECASE
)
_ADDRESS = re.compile(r"^\s*(\d+)([A-Z])?(?:\s*-\s*\d+)?\s+(.+)$", re.IGNORECASE)
_ZIP = re.compile(r"\b(14\d{3})(?:-\d{4})?\b")
_KIND_WORDS = {
    "police": "police", "police station": "police", "precinct": "police", "station house": "police",
    "hospital": "hospital", "er": "hospital", "emergency room": "hospital", "school": "school",
    "high school": "school", "college": "college", "university": "college", "pharmacy": "pharmacy",
    "drug store": "pharmacy", "town hall": "government", "warming center": "warming_site",
    "warming station": "warming_site",
}  # fmt: skip
_KIND_ON = re.compile(
    r"^\s*(?:the\s+)?("
    + "|".join(sorted(map(re.escape, _KIND_WORDS), key=len, reverse=True))
    + r")\s+(?:on|at|off|near)\s+(.+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Stretch:
    town: str | None  # None: in the city
    anchor: Point  # a point on it near the middle of what the data shows of it
    line: list[list[tuple[float, float]]]
    extent: BBox


def _stretch(
    town: str | None, points: list[tuple[float, float]], pieces: list[list[tuple[float, float]]]
) -> Stretch:
    if not pieces:
        # No centerline known here: the points the data shows, in order along the street's main axis.
        pieces = [_along_axis(points)] if len(points) > 1 else []
    total = sum(len(piece) for piece in pieces)
    step = max(1, -(-total // STREET_LINE_MAX))
    line = [piece[::step] + ([piece[-1]] if (len(piece) - 1) % step else []) for piece in pieces]
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    return Stretch(town, _anchor(points), line, BBox(min(lons), min(lats), max(lons), max(lats)))


def _along_axis(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    xy = np.array([(lon * 0.733, lat) for lat, lon in points])  # cos(42.9°): degrees to a square grid
    centred = xy - xy.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return [points[int(i)] for i in np.argsort(centred @ axes[0])]


@dataclass(frozen=True, slots=True)
class StreetInfo:
    key: str
    name: StreetName
    anchor: Point  # a point on the street near the middle of what the data shows of it
    points: list[tuple[float, float]]  # everywhere the data shows it


class Gazetteer:
    """The built data, indexed for lookups. Build once per process (it takes well under a second)."""

    def __init__(
        self,
        data: GazetteerData,
        home: Callable[[Point], bool] | None = None,
        neighborhoods: tuple[Callable[[Point], str | None], list[str]] | None = None,
        *,
        areas: dict[str, tuple[Point, BBox]] | None = None,
    ) -> None:
        """Index the built data.

        `home` says whether a point is in the jurisdiction: where candidates lie both in and out of
        it, the ones at home are what a caller to this center means. `neighborhoods` (a lookup and
        the names) lets a caller's "…, Black Rock" or "… in North Park" choose among candidates.
        `areas` (each neighbourhood's name, a point in it and its box) answers a neighbourhood named
        alone, never as sure: it says where to look, not where the caller is.
        """
        self.areas = {" ".join(words(name)): (name, *where) for name, where in (areas or {}).items()}
        self.data = data
        self.home = home
        self.neighborhood_of: Callable[[Point], str | None] | None = (
            neighborhoods[0] if neighborhoods else None
        )
        names = neighborhoods[1] if neighborhoods else []
        self._hint = (
            re.compile(
                r"(?:,\s*|\s+in\s+(?:the\s+)?|\s+near\s+)("
                + "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
                + r")\s*$",
                re.IGNORECASE,
            )
            if names
            else None
        )
        self.streets: dict[str, StreetInfo] = {}
        self.by_core: dict[str, list[str]] = defaultdict(list)
        for street in data.streets:
            if not street.points:
                continue
            name = street_from_words(tuple(street.key.split()))
            self.streets[street.key] = StreetInfo(street.key, name, _anchor(street.points), street.points)
            self.by_core[name.core].append(street.key)
        self.cores = sorted(self.by_core)
        # Streets with some of their length in the city (a sample of their points is enough).
        self.in_city = {
            key
            for key, info in self.streets.items()
            if home is None or any(home(Point(*p)) for p in info.points[:: max(1, len(info.points) // 16)])
        }
        self.corners: dict[tuple[str, str], list[Point]] = defaultdict(list)
        self.computed: dict[Point, str] = {}  # corners no stop names: how each was found
        for c in data.corners:
            point = Point(c.lat, c.lon)
            self.corners[(c.a, c.b)].append(point)
            if c.how != "stop":
                self.computed[point] = c.how
        self.lines = data.lines
        # Towns a caller may name ("…, Cheektowaga"), where the data knows them: the named places'.
        town_points: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for place in data.places:
            if place.town and place.town.upper() not in {"BUFFALO", "BFLO"}:
                town_points[place.town.title()].append((place.lat, place.lon))
        self.towns = {town: _anchor(points) for town, points in town_points.items()}
        self._town_names = sorted(self.towns, key=len, reverse=True)
        self._town = (
            re.compile(
                r"(?:,\s*|\s+in\s+(?:the\s+)?(?:town\s+of\s+|village\s+of\s+|city\s+of\s+)?)("
                + "|".join(re.escape(town) for town in self._town_names)
                + r")\s*$",
                re.IGNORECASE,
            )
            if self.towns
            else None
        )
        # Whether each corner is at home, worked out once: every answer is checked against it.
        self._home_of: dict[Point, bool] = (
            {p: home(p) for points in self.corners.values() for p in points} if home is not None else {}
        )
        self.crossing: dict[str, set[str]] = defaultdict(set)
        for a, b in self.corners:
            self.crossing[a].add(b)
            self.crossing[b].add(a)
        self.places = data.places
        self.place_names: list[str] = []
        self.place_of_name: list[int] = []
        self.full_names: list[set[str]] = [
            {" ".join(words(label)) for label in (place.name, *place.aliases)} for place in self.places
        ]
        counts: dict[str, int] = defaultdict(int)
        for labels in self.full_names:
            for label in labels:
                counts[label] += 1
        # Names (and aliases) that belong to one place alone answer at once, before any parsing.
        self.exact_names = {
            label: index
            for index, labels in enumerate(self.full_names)
            for label in labels
            if counts[label] == 1
        }
        for index, place in enumerate(self.places):
            for label in (place.name, *place.aliases):
                self.place_names.append(_distinctive(label))
                self.place_of_name.append(index)
        # House numbers are looked up by street and number alone, so only the jurisdiction's own go in:
        # "81 Main St" must not find Main Street in Batavia.
        self.addresses: dict[tuple[str, str], AddressPoint] = {
            (a.street, a.number): a for a in data.addresses if home is None or home(Point(a.lat, a.lon))
        }
        self.segments: dict[str, list[Segment]] = defaultdict(list)
        for segment in data.segments:
            self.segments[segment.street].append(segment)
        self._suggestions = sorted(
            {(label.upper(), label) for label in self._labels()},
        )
        self._suggest_keys = [key for key, _ in self._suggestions]
        self._reverse_points, self._reverse_labels = self._reverse_index()
        corners = shapely.points(self._reverse_points[:, 1], self._reverse_points[:, 0])
        self._tree = shapely.STRtree(corners)  # type: ignore[arg-type]  # an array for an array input
        self.geocode = lru_cache(maxsize=32768)(self._geocode)

    # ---- forward -------------------------------------------------------------------------------

    def _geocode(self, query: str) -> tuple[GeoResult, ...]:
        """Every plausible answer to `query`, best first (empty if nothing matches)."""
        # No address is longer; and the patterns below must never meet a megabyte of spaces.
        text = strip_tail(query[:MAX_QUERY])
        exact = self.exact_names.get(" ".join(words(text)))
        if exact is not None:  # a place's full name or alias, even one that looks like an address
            place = self.places[exact]
            return self._honest((_place_result(place, 0.95),), _town_in(place, text))
        town = None
        if self._town is not None and (named := self._town.search(text, max(0, len(text) - 40))):
            town = next(t for t in self._town_names if t.lower() == named.group(1).lower())
            text = text[: named.start()].strip(" ,.")
        return self._honest(self._answers(text, query), town)

    def _honest(self, results: tuple[GeoResult, ...], town: str | None) -> tuple[GeoResult, ...]:
        """Never sure of a place outside the city unless the caller named its town.

        With a town named, the answers by that town come first and keep their confidence; without
        one, an answer outside the city is at most a candidate, with a warning the agent sees.
        """
        if self.home is None or not results:
            return results
        if town is not None and town in self.towns:  # the city itself named is no other town
            centre = self.towns[town]
            by_town = [
                r
                for r in results
                if not self._at_home(r.point) and distance_m(r.point, centre) <= TOWN_NEAR_M
            ]
            if by_town:
                others = [_less_sure(r, AWAY) for r in results if r not in by_town]
                return (*(msgspec.structs.replace(r, town=r.town or town) for r in by_town), *others)
            warning = f"Nothing by that name is known in {town}: ask the caller again."
            return tuple(
                msgspec.structs.replace(r, confidence=min(r.confidence, OUTSIDE_CAP), warning=warning)
                for r in results
            )
        out = [
            r
            if self._at_home(r.point)
            else msgspec.structs.replace(
                r, confidence=min(r.confidence, OUTSIDE_CAP), warning=r.warning or OUTSIDE_WARNING
            )
            for r in results
        ]
        return tuple(sorted(out, key=lambda r: -r.confidence))

    def _at_home(self, point: Point) -> bool:
        known = self._home_of.get(point)
        if known is None:
            assert self.home is not None, "only asked with a jurisdiction"
            if len(self._home_of) > 200_000:
                self._home_of.clear()  # a bound on memory; the corners come back as they are asked
            known = self._home_of[point] = self.home(point)
        return known

    def _answers(self, text: str, query: str) -> tuple[GeoResult, ...]:
        tail_at = max(0, len(text) - 60)  # a neighbourhood hint is at the end: look only there
        hint = self._hint.search(text, tail_at) if self._hint else None
        if hint and self.neighborhood_of is not None:
            # "Delaware, North Park": answers in that neighbourhood come first, as the sure ones.
            results = self._parsed(text[: hint.start()].strip(" ,."), None)
            named = hint.group(1).lower()
            inside = []
            for result in results:
                if result.method is Method.STREET and result.street in self.streets:
                    # A street runs through many neighbourhoods: take the stretch in the one named.
                    stretch = [p for p in self.streets[result.street].points if self._in(p, named)]
                    if stretch:
                        label = f"{result.label} ({hint.group(1)})"
                        inside.append(msgspec.structs.replace(result, point=_anchor(stretch), label=label))
                elif self._in(result.point, named):
                    inside.append(result)
            if not inside:
                # The neighbourhood named contradicts every answer: none of them is sure.
                return tuple(_less_sure(r, CORNER_MISS) for r in results)
            return tuple(inside) if len(inside) == 1 else self._settle(inside)
        zip_hint = m.group(1) if (m := _ZIP.search(query)) else None
        return self._parsed(text, zip_hint)

    def _in(self, point: Point | tuple[float, float], neighborhood: str) -> bool:
        assert self.neighborhood_of is not None, "only asked with hints"
        where = point if isinstance(point, Point) else Point(*point)
        return (self.neighborhood_of(where) or "").lower() == neighborhood

    def _parsed(self, text: str, zip_hint: str | None) -> tuple[GeoResult, ...]:
        if not text:
            return ()
        kind_on = _KIND_ON.match(text)
        if kind_on:
            return self._kind_on_street(_KIND_WORDS[kind_on.group(1).lower()], kind_on.group(2))
        address = _ADDRESS.match(text)
        if address and not _CORNER_WORDS.search(address.group(3)):
            return self._address(address.group(1), address.group(3), zip_hint)
        corner_text = _LEAD.sub("", text)
        parts = [part for part in _CORNER_WORDS.split(corner_text) if part.strip()]
        if len(parts) == 2:
            found = self._corner(parts[0], parts[1])
            if found:
                return found
            # Two streets that do not meet in the data: whatever else the words fit is only a guess,
            # and so is each street the caller named, drawn so the agent can pin the corner on it.
            guesses = list(self._place_or_street(text))
            if not guesses:
                miss = f"{parts[0].strip()} & {parts[1].strip()} is not a known corner: place it on the map."
                guesses = [
                    msgspec.structs.replace(r, warning=r.warning or miss)
                    for part in parts
                    for key, score in self.streets_for(part)[:1]
                    for r in self._street_results(key, score)[:1]
                ]
            return tuple(_less_sure(r, CORNER_MISS) for r in guesses)
        return self._place_or_street(text)

    def _corner(self, first: str, second: str) -> tuple[GeoResult, ...]:
        found: list[GeoResult] = []
        for a, score_a in self.streets_for(first):
            for b, score_b in self.streets_for(second):
                for point in self.corners.get((a, b) if a < b else (b, a), ()):
                    how = self.computed.get(point, "stop")
                    found.append(
                        GeoResult(
                            point=point,
                            method=Method.INTERSECTION if how == "stop" else Method.CROSSING,
                            confidence=round(CORNER_CONFIDENCE[how] * min(score_a, score_b), 3),
                            label=f"{a} & {b}",
                            street=a,
                            cross_street=b,
                        )
                    )
        return self._settle(found)

    def _address(self, number: str, rest: str, zip_hint: str | None) -> tuple[GeoResult, ...]:
        tokens, unit = split_unit(words(rest))
        found: list[GeoResult] = []
        for key, score in self.streets_for(" ".join(tokens)):
            point = self.addresses.get((key, number))
            if point is not None:
                found.append(
                    GeoResult(
                        point=Point(point.lat, point.lon),
                        method=Method.ADDRESS_POINT,
                        confidence=round(0.98 * score, 3),
                        label=f"{number} {key}",
                        street=key,
                        number=number,
                        unit=unit or None,
                        zip=point.zip,
                    )
                )
                continue
            placed = _interpolate(self.segments.get(key, ()), int(number))
            if placed is not None:
                located, zip_code = placed
                found.append(
                    GeoResult(
                        point=located,
                        method=Method.INTERPOLATED,
                        confidence=round(0.85 * score, 3),
                        label=f"{number} {key}",
                        street=key,
                        number=number,
                        unit=unit or None,
                        zip=zip_code,
                    )
                )
        if found:
            if zip_hint:
                found = [r for r in found if r.zip in (None, zip_hint)]
            return self._settle(found)
        # No such house number known: say so honestly, with the street alone (its stretch in the city).
        return tuple(
            stretch
            for key, score in self.streets_for(" ".join(tokens))[:5]
            for stretch in self._street_results(key, score, number=number, unit=unit or None)
        )

    def _kind_on_street(self, kind: str, street_text: str) -> tuple[GeoResult, ...]:
        keys = dict(self.streets_for(street_text))
        found = [
            _place_result(place, 0.92 * keys[place.street])
            for place in self.places
            if place.kind == kind and place.street in keys
        ]
        if self.home is not None:
            at_home = [r for r in found if self.home(r.point)]
            found = at_home or [_less_sure(r, AWAY) for r in found]
        return self._settle(found)

    def _place_or_street(self, text: str) -> tuple[GeoResult, ...]:
        found: list[GeoResult] = []
        wanted = _distinctive(text)
        said = " ".join(words(text))
        area = self.areas.get(said)
        if area is not None:
            name, inside, box = area
            found.append(
                GeoResult(
                    point=inside,
                    method=Method.NAMED_PLACE,
                    confidence=AREA_CONFIDENCE,
                    label=f"{name} (neighbourhood)",
                    extent=box,
                    warning="A neighbourhood, not a place in it: ask the caller where in it.",
                )
            )
        if len(wanted) >= 1:
            for _, score, index in process.extract(
                wanted, self.place_names, scorer=_place_score, score_cutoff=78, limit=5
            ):
                place = self.places[self.place_of_name[index]]
                # Sure only of a place named in full ("Erie County Medical Center", or an alias such as
                # "ECMC"): "South Park" is a street and a park before it is South Park High School.
                exact = said in self.full_names[self.place_of_name[index]]
                found.append(_place_result(place, 0.95 if exact else min(PLACE_GUESS, 0.9 * score / 100)))
        found += [
            stretch
            for key, score in self.streets_for(text)[:5]
            for stretch in self._street_results(key, score)
        ]
        unique: dict[tuple[str, str, Point], GeoResult] = {}
        for result in found:
            unique.setdefault((result.method, result.label, result.point), result)
        return self._settle(list(unique.values()))

    def _street_results(
        self, key: str, score: float, number: str | None = None, unit: str | None = None
    ) -> list[GeoResult]:
        """A street-only answer: the street's stretch in the city, drawn as a line with its extent.

        Never a single point somewhere along all of it: "66 Custer" is Custer Street in Buffalo, not
        the middle of every Custer Street the data knows. Where the same name is a street in other
        towns too, those follow as candidates, each saying which town, so the agent asks which.
        """
        out = []
        stretches = self._stretches(key)
        elsewhere = [s.town for s in stretches if s.town]
        for stretch in stretches:
            warning = None
            if stretch.town is None and elsewhere:
                towns = ", ".join(elsewhere[:4]) + (" and others" if len(elsewhere) > 4 else "")
                warning = f"Also a {pretty_street(key)} in {towns}: ask which town."
            out.append(
                GeoResult(
                    point=stretch.anchor,
                    method=Method.STREET,
                    confidence=round(0.35 * score, 3),
                    label=key if stretch.town is None else f"{key} ({stretch.town})",
                    street=key,
                    number=number,
                    unit=unit,
                    town=stretch.town,
                    line=stretch.line,
                    extent=stretch.extent,
                    warning=warning,
                )
            )
        return out

    @lru_cache(maxsize=4096)  # noqa: B019 - one gazetteer per process; the cache dies with it
    def _stretches(self, key: str) -> tuple[Stretch, ...]:
        """The street's stretch in the city (first, if any) and, by town, its stretches elsewhere."""
        info = self.streets[key]
        pieces = [list(piece) for piece in self.lines.get(key, ())]
        every = [*info.points, *(p for piece in pieces for p in piece)]
        if self.home is None:
            return (_stretch(None, every, pieces),)
        at_home = {p: self._at_home(Point(*p)) for p in every}
        inside = [p for p in every if at_home[p]]
        out = []
        if inside:
            # The line's pieces cut where they leave the city: only the part inside is this street here.
            kept: list[list[tuple[float, float]]] = []
            for piece in pieces:
                run: list[tuple[float, float]] = []
                for p in piece:
                    if at_home[p]:
                        run.append(p)
                    else:
                        if len(run) > 1:
                            kept.append(run)
                        run = []
                if len(run) > 1:
                    kept.append(run)
            out.append(_stretch(None, inside, kept))
        by_town: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for p in every:
            if not at_home[p]:
                by_town[self._town_of(Point(*p))].append(p)
        for town, points in sorted(by_town.items(), key=lambda item: -len(item[1])):
            out.append(_stretch(town, points, []))
        return tuple(out)

    def _town_of(self, point: Point) -> str:
        """The nearest town the data knows, as a label for a place outside the city."""
        if not self.towns:
            return "outside the city"
        town, centre = min(self.towns.items(), key=lambda item: distance_m(point, item[1]))
        return town if distance_m(point, centre) <= TOWN_NEAR_M else "outside the city"

    def streets_for(self, text: str) -> list[tuple[str, float]]:
        """Street keys `text` may mean, with how well each matches (1.0 exact), best first."""
        return list(self._streets_for(" ".join(words(text))))

    @lru_cache(maxsize=16384)  # noqa: B019 - one gazetteer per process; the cache dies with it
    def _streets_for(self, normalised: str) -> tuple[tuple[str, float], ...]:
        if not normalised:
            return ()
        name = street_from_words(tuple(normalised.split()))
        if name.key in self.streets:
            return ((name.key, 1.0),)
        keys = [(key, 1.0) for key in self.by_core.get(name.core, ())]
        if not keys:
            keys = [(key, 0.95) for core in _variants(name) for key in self.by_core.get(core, ())]
        if not keys and len(parts := normalised.split()) >= 2 and _mistyped_suffix(parts[-1]):
            # "Grant t", "Kenmore ae": a suffix with a letter lost is still a suffix.
            keys = [(key, 0.9) for key in self.by_core.get(" ".join(parts[:-1]), ())]
        if not keys and not any(ch.isdigit() for ch in name.core):
            # A misspelling ("Elmwod", "Sufflok"); never for numbered streets, where one digit off
            # ("14th" for "4th") is another street entirely.
            keys = [
                (key, score / 100)
                for core, score, _ in process.extract(
                    name.core, self.cores, scorer=fuzz.ratio, score_cutoff=84, limit=4
                )
                for key in self.by_core[core]
            ]
        # Directional and suffix, where given, must agree. Where not given, the plain street is the
        # likelier meaning ("Elmwood" is Elmwood Avenue more often than South Elmwood Avenue).
        fitting = []
        for key, score in keys:
            found = self.streets[key].name
            if name.predir and found.predir not in (name.predir, ""):
                continue
            if name.suffix and found.suffix not in (name.suffix, ""):
                continue
            unsaid = (not name.predir and found.predir) or (not name.postdir and found.postdir)
            # "S Elmwood" said, and both S Elmwood Ave and Elmwood Ave known: the one with the S.
            missing = (name.predir and not found.predir) or (name.suffix and not found.suffix)
            fitting.append((key, score * 0.9 if unsaid or missing else score))
        # Between equal fits, the street in the city is what a caller to this center means.
        return tuple(sorted(fitting or keys, key=lambda item: (-item[1], item[0] not in self.in_city)))

    def _settle(self, found: list[GeoResult]) -> tuple[GeoResult, ...]:
        """Best first; near-duplicates merged; far-apart alternatives kept, each marked less sure.

        Where some candidates are in the jurisdiction and some not, those at home are weighed among
        themselves, and the others follow, marked much less sure.
        """
        if not found:
            return ()
        ordered = sorted(found, key=lambda r: -r.confidence)
        kept: list[GeoResult] = []
        for result in ordered:
            # Two corners (or two places) a few metres apart are one answer; a street beside a school
            # is two different answers.
            if all(
                other.method != result.method or distance_m(result.point, other.point) > SAME_PLACE_M
                for other in kept
            ):
                kept.append(result)
        away: list[GeoResult] = []
        if self.home is not None and len(kept) > 1:
            at_home = [r for r in kept if self.home(r.point)]
            if at_home and len(at_home) < len(kept):
                away = [_less_sure(r, AWAY) for r in kept if r not in at_home]
                kept = at_home
        if len(kept) > 1 and kept[1].confidence >= kept[0].confidence * 0.85:
            kept = [_less_sure(r, AMBIGUOUS) for r in kept]
        return (*kept, *away)

    # ---- type-ahead and reverse ----------------------------------------------------------------

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Completions for what has been typed: streets, corners ("Bailey & Ke…"), places."""
        text = prefix[:MAX_QUERY].strip()
        if not text:
            return []
        parts = [p for p in _CORNER_WORDS.split(text) if p.strip()]
        if len(parts) == 2 and _CORNER_WORDS.search(text):
            return self._suggest_corner(parts[0], parts[1], limit)
        wanted = " ".join(words(text))
        start = bisect.bisect_left(self._suggest_keys, wanted)
        out = []
        for key, label in self._suggestions[start : start + limit * 4]:
            if not key.startswith(wanted):
                break
            out.append(label)
        if len(out) < limit:
            for label, _, _ in process.extract(
                wanted, self._suggest_keys, scorer=fuzz.partial_ratio, limit=limit, score_cutoff=85
            ):
                pretty = self._suggestions[self._suggest_keys.index(label)][1]
                if pretty not in out:
                    out.append(pretty)
        return out[:limit]

    def _suggest_corner(self, first: str, typed: str, limit: int) -> list[str]:
        wanted = " ".join(words(typed))
        out = []
        for key, _ in self.streets_for(first):
            for other in sorted(self.crossing.get(key, ())):
                if other.startswith(wanted) or self.streets[other].name.core.startswith(wanted):
                    out.append(f"{pretty_street(key)} & {pretty_street(other)}")
        return out[:limit]

    def reverse(self, point: Point) -> tuple[str, Point, float] | None:
        """The nearest known corner or address to a point: (label, where it is, metres away)."""
        if not len(self._reverse_labels):
            return None
        index = int(self._tree.nearest(shapely.Point(point.lon, point.lat)))
        lat, lon = self._reverse_points[index]
        where = Point(float(lat), float(lon))
        return self._reverse_labels[index], where, distance_m(point, where)

    def names(self) -> tuple[list[str], list[str]]:
        """The words of every street's name, and every place's names: what a call mentions by name."""
        street_words = sorted({part for core in self.cores for part in core.split()})
        return street_words, [label for place in self.places for label in (place.name, *place.aliases)]

    def _labels(self) -> list[str]:
        labels = [pretty_street(key) for key in self.streets]
        labels += [place.name for place in self.places]
        return labels

    def _reverse_index(self) -> tuple[np.ndarray, list[str]]:
        labels, coords = [], []
        for (a, b), points in self.corners.items():
            for point in points:
                labels.append(f"{pretty_street(a)} & {pretty_street(b)}")
                coords.append((point.lat, point.lon))
        for address in self.addresses.values():
            labels.append(f"{address.number} {pretty_street(address.street)}")
            coords.append((address.lat, address.lon))
        return np.array(coords, dtype=float).reshape(-1, 2), labels


# Words that name what a place is rather than which one it is; matching on them makes "Bennett
# High School" look like "Depew High School".
_GENERIC = frozenset(
    {
        "THE", "OF", "AT", "AND", "FOR", "HIGH", "SCHOOL", "ELEMENTARY", "MIDDLE", "ACADEMY", "CHARTER",
        "PUBLIC", "PS", "NO", "COLLEGE", "UNIVERSITY", "CENTER", "CENTRE", "COUNTY", "CITY", "BUFFALO",
        "POLICE", "DEPARTMENT", "DISTRICT", "STATION", "HALL", "PHARMACY", "OFFICE", "HOSPITAL", "MEDICAL",
    }
)  # fmt: skip


# What people call a park-side street: "Cazenovia Park" for Cazenovia Parkway, "Johnson Pk" for
# Johnson Park. PARK is not a USPS suffix in our table (it is part of names: "South Park Avenue").
_PARK_WORDS = {"PARK", "PK", "PRK"}


def _mistyped_suffix(word: str) -> bool:
    """Whether a short word is a USPS suffix with letters left out ("T" for ST, "AE" for AVE)."""
    if not 1 <= len(word) <= 3 or word in DIRECTIONALS:
        return False
    return any(_within(word, spelling) for spelling in SUFFIXES if len(spelling) > len(word))


def _within(short: str, long: str) -> bool:
    letters = iter(long)
    return all(letter in letters for letter in short)


def _variants(name: StreetName) -> list[str]:
    """Other cores the same street may go by in the data: park and parkway names, "Pk" spelt out."""
    parts = name.core.split()
    out = []
    if len(parts) >= 2 and parts[-1] in _PARK_WORDS:
        out += [" ".join(parts[:-1]), " ".join([*parts[:-1], "PARK"])]
    if name.suffix == "PKWY":
        out.append(f"{name.core} PARK")
    return [core for core in out if core != name.core]


def _distinctive(name: str) -> str:
    tokens = words(name)
    kept = [token for token in tokens if token not in _GENERIC]
    return " ".join(kept or tokens)


_TAIL_TOKEN = re.compile(r"[^,\s]+")
_NOTE = re.compile(r"\s+-\s+\D[^,]*$")  # "1120 Seneca - DPW": a note after a dash is not the address
_JOINING = frozenset({"&", "/", "and", "at", "@", "+"})
_TAIL_WORDS = re.compile(r"^(?:buffalo|bflo|n\.?y\.?|new|york|\d{5}(?:-\d{4})?)$", re.IGNORECASE)


def strip_tail(query: str) -> str:
    """Drop a trailing ", Buffalo, NY 14215" (any part of it), in one pass over the words.

    "Buffalo" at the start is part of a name, so at least one word is always kept; so is "Buffalo"
    right after a joining word ("86th and Buffalo"): there it is Buffalo Avenue.
    """
    query = _NOTE.sub("", query)
    tokens = list(_TAIL_TOKEN.finditer(query))
    cut = len(tokens)
    while cut > 1 and _TAIL_WORDS.match(tokens[cut - 1].group()):
        if tokens[cut - 2].group().lower() in _JOINING:
            break
        cut -= 1
    end = tokens[cut - 1].end() if cut and cut < len(tokens) else len(query)
    return query[:end].strip(" ,.")


def _place_score(query: str, name: str, **_: object) -> float:
    # Set ratio alone says "Hertel" is 100 % "… Charter School Hertel"; the sort ratio counts the
    # words the query leaves out, so a place must be named, not merely mentioned.
    return 0.5 * fuzz.token_set_ratio(query, name) + 0.5 * fuzz.token_sort_ratio(query, name)


def _anchor(points: list[tuple[float, float]]) -> Point:
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    nearest = min(points, key=lambda p: (p[0] - lat) ** 2 + (p[1] - lon) ** 2)
    return Point(nearest[0], nearest[1])


def _place_result(place: Place, confidence: float) -> GeoResult:
    return GeoResult(
        point=Point(place.lat, place.lon),
        method=Method.NAMED_PLACE,
        confidence=round(confidence, 3),
        label=place.name,
        street=place.street,
        number=place.number,
        zip=place.zip,
        town=place.town,
    )


def _town_in(place: Place, text: str) -> str | None:
    """The place's own town, if the caller's words name it ("Cheektowaga Town Hall")."""
    return place.town.title() if place.town and place.town.upper() in " ".join(words(text)) else None


def _less_sure(result: GeoResult, factor: float) -> GeoResult:
    return msgspec.structs.replace(result, confidence=round(result.confidence * factor, 3))


def _interpolate(segments: object, number: int) -> tuple[Point, str | None] | None:
    """Place a house number along the segment whose range (on the right side) holds it."""
    for segment in segments:  # type: ignore[attr-defined]
        for low, high, zip_code in (
            (segment.left_from, segment.left_to, segment.zip_left),
            (segment.right_from, segment.right_to, segment.zip_right),
        ):
            if low is None or high is None:
                continue
            lo, hi = sorted((low, high))
            if lo <= number <= hi and (number % 2 == lo % 2 or lo == hi):
                fraction = 0.5 if hi == lo else (number - low) / (high - low)
                line = shapely.LineString([(lon, lat) for lat, lon in segment.coords])
                located = line.interpolate(fraction, normalized=True)
                return Point(located.y, located.x), zip_code
    return None


def pretty_street(key: str) -> str:
    """A normalised street key as people write it: "ELMWOOD AVE" → "Elmwood Ave"."""
    return " ".join(
        word if len(word) <= 2 and word in {"N", "S", "E", "W"} else word.capitalize() for word in key.split()
    )
