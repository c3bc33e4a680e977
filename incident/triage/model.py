"""A learnt second opinion on the calls the rules do not send to 911: ask the life-safety questions first?

The rules decide transfers, and every transfer has a rule and the caller's words behind it. On words
nobody here wrote, the rules miss many life-safety calls (BENCHMARKS.md). This model reads what the
rules leave: a logistic regression over the call's words (lemmas as `words.py` reads them, names of
streets and places left out), the concepts found with how their
context reads them, and whether the call is written in capitals (a call-type line). It is learnt from
the labelled sets already seen (`stormline triage learn`, `learn.py`). It never transfers a call: above
its threshold it puts the screen questions first (is anyone hurt, breathing, awake), and the words
that weighed most are its reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec

from incident.triage.context import Reading
from incident.triage.words import Text

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "triage" / "model.json"
_SHOWN = 4  # words shown as the reason


class Model(msgspec.Struct, frozen=True, kw_only=True):
    """Weights of a logistic regression over `features`, and where to ask first."""

    bias: float
    threshold: float  # a logit: at or above it, the screen questions go first
    weights: dict[str, float]
    learnt_from: list[str]  # the labelled sets, by name
    cases: int
    note: str = ""
    figures: dict[str, float] = {}  # cross-validated figures measured when it was learnt


@functools.cache
def shipped_model() -> Model:
    """The model shipped with Stormline, decoded once per process."""
    return read_model(SHIPPED)


def read_model(path: Path) -> Model:
    return msgspec.json.decode(path.read_bytes(), type=Model)


def write_model(model: Model, path: Path) -> None:
    path.write_bytes(msgspec.json.format(msgspec.json.encode(model), indent=1) + b"\n")


def features(words: Text, readings: Iterable[Reading], concepts: list[str]) -> set[str]:
    """What the model reads in a call: its lemmas, the concepts as their context reads them, capitals."""
    # Pairs of neighbouring lemmas were tried and left out: no better on sets left out, and slower.
    out = {"w " + key for key in words.keys if key}
    for reading in readings:
        concept = concepts[reading.hit.concept]
        if reading.counts:
            out.add(f"c {concept} minor" if reading.minor else f"c {concept}")
        else:
            out.add(f"c {concept} {reading.category or 'set aside'}")
    if words.upper and all(words.upper):
        out.add("capitals")
    return out


def logit(model: Model, found: set[str]) -> float:
    weights = model.weights
    return model.bias + sum(map(weights.__getitem__, weights.keys() & found))


def weighed_words(model: Model, found: set[str], names: Mapping[str, str]) -> list[str]:
    """What weighed most toward life safety, as an agent reads it: words, and concepts by their names."""
    weighed = sorted(
        ((model.weights[feature], feature) for feature in found if model.weights.get(feature, 0.0) > 0),
        reverse=True,
    )
    out = []
    for _, feature in weighed:
        kind, _, rest = feature.partition(" ")
        if kind == "w":
            out.append(rest)
        elif kind == "c":
            concept, _, reading = rest.partition(" ")
            out.append(names.get(concept, concept) + (f" ({reading})" if reading else ""))
        if len(out) == _SHOWN:
            break
    return out
