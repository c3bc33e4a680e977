"""A learnt second opinion on the calls the rules do not send to 911: ask the life-safety questions first?

The rules decide transfers, and every transfer has a rule and the caller's words behind it. On words
nobody here wrote, the rules miss many life-safety calls (BENCHMARKS.md). This model reads what the
rules leave: a logistic regression over the call's words (lemmas as `words.py` reads them; names,
codes and note-taking words left out), the concepts found with how their context reads them, and
whether the call is written in capitals (a call-type line). It is learnt from the labelled sets
already seen (`stormline triage learn`, `learn.py`). It never transfers a call and changes no
priority: above its threshold it puts the screen questions first (is anyone hurt, breathing, awake),
and the words that weighed most are its reason. `triage.model` in the config chooses it (`configured`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec

from incident.config import ConfigError, SurgeConfig
from incident.triage.context import Reading
from incident.triage.words import Text, word

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "triage" / "model.json"
_SHOWN = 4  # words shown as the reason
_SHOWN_FROM = 0.3  # … those that weigh at least this much
# How calls are written down, not what happened: a feed that writes "caller reports" before its
# emergencies taught an earlier model that "caller" means danger (+1.8).
NOTE_WORDS = frozenset(
    [
        *("caller", "clr", "cllr", "rp", "cc", "report", "complainant", "say", "state", "advise", "request"),
        *("reportar", "informar", "indicar", "llamante", "denunciante", "referir", "solicitar"),
    ]
)


class Model(msgspec.Struct, frozen=True, kw_only=True):
    """Weights of a logistic regression over `features`, and where to ask first."""

    bias: float
    threshold: float  # a logit: at or above it, the screen questions go first
    weights: dict[str, float]
    learnt_from: list[str]  # the labelled sets, by name
    cases: int
    note: str = ""
    figures: dict[str, float] = {}  # cross-validated figures measured when it was learnt


OFF = Model(bias=0.0, threshold=math.inf, weights={}, learnt_from=[], cases=0, note="off: never asks")


@functools.cache
def shipped_model() -> Model:
    """The model shipped with Stormline, decoded once per process."""
    return read_model(SHIPPED)


def read_model(path: Path) -> Model:
    """A model file as `stormline triage learn` writes it; ValueError says what is wrong with it."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=Model)
    except (OSError, msgspec.DecodeError) as error:
        raise ValueError(f"{path}: not a triage model ({error})") from error


def configured(config: SurgeConfig, config_file: str | Path) -> Model:
    """The model `triage.model` names: the shipped one, none ("off"), or a file by the config file."""
    chosen = config.triage.model
    if chosen is None:
        return shipped_model()
    if chosen == "off":
        return OFF
    try:
        return read_model(Path(config_file).parent / chosen)
    except ValueError as error:
        raise ConfigError(str(config_file), None, ["triage", "model"], str(error)) from error


def write_model(model: Model, path: Path) -> None:
    path.write_bytes(msgspec.json.format(msgspec.json.encode(model), indent=1) + b"\n")


def features(words: Text, readings: Iterable[Reading], concepts: list[str]) -> set[str]:
    """What the model reads in a call: its lemmas, the concepts as their context reads them, capitals."""
    # Pairs of neighbouring lemmas were tried and left out: no better on sets left out, and slower.
    # A word of neither language that was read as nothing else (a misspelling of the vocabulary, a
    # patient, a dispatch code, a number) is a name or a feed's code: left out, as street and place
    # names already are ("").
    out = set()
    for key, written in zip(words.keys, words.written, strict=True):
        if key and key not in NOTE_WORDS:
            analysed = word(written)
            if analysed.known[0] or analysed.known[1] or key != analysed.surface:
                out.add("w " + key)
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
    # fsum: the same total in any order (a set's order changes from process to process).
    return model.bias + math.fsum(map(weights.__getitem__, weights.keys() & found))


def weighed_words(model: Model, found: set[str], names: Mapping[str, str]) -> list[str]:
    """What weighed most toward life safety, as an agent reads it: words, and concepts by their names."""
    weighed = sorted(
        ((model.weights[feature], feature) for feature in found if model.weights.get(feature, 0.0) > 0),
        reverse=True,
    )
    # Light words say little ("know", "about"): shown only when nothing weighs more.
    weighed = [item for item in weighed if item[0] >= _SHOWN_FROM] or weighed
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
