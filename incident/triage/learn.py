"""`stormline triage learn`: learn the model of `model.py` from labelled sets, and say how it carries over.

A logistic regression with balanced classes and an L2 penalty, fitted by L-BFGS (scipy, already what
the geography uses; scikit-learn would give the same weights but cost every worker its import), over
the features `Engine.features` reads, life safety as the label. How well it carries over to words it
has not seen is measured by leaving one set out at a time: each set is scored by a model learnt from
the others only, so every set plays a new centre's or a new caller's words once. The threshold is
chosen on those left-out scores, never on a score of a call the model learnt from: the lowest logit
at which no more than `ASK_SHARE` of the non-emergency calls the rules leave alone would get the
screen questions first.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from typing import NamedTuple

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.sparse import csr_matrix
from scipy.special import expit

from incident.config import SurgeConfig
from incident.triage.engine import Engine
from incident.triage.evaluate import Labelled
from incident.triage.model import OFF, Model, logit

ASK_SHARE = 0.15  # of the non-emergency calls the rules neither transfer nor screen
STRENGTH = 1.0  # the inverse of the weights' penalty (scikit-learn's C)
MIN_CALLS = 2  # a feature seen in fewer training calls is not learnt
_KEPT = 1e-3  # smaller weights are left out of the file


class LearnError(ValueError):
    """Labelled sets the model cannot be learnt from, and why."""


class Case(NamedTuple):
    features: set[str]
    life_safety: bool
    transferred: bool  # by the rules
    screened: bool  # by the rules: a danger concept no rule settled


Names = tuple[Iterable[str], Iterable[str]]  # street words and place names, as Engine.learn_names takes


def cases(config: SurgeConfig, calls: list[Labelled], names: Names | None = None) -> list[Case]:
    """The calls as the model reads them (names set aside, as in serving) and what the rules made of each."""
    engine = Engine(config, OFF)
    if names is not None:
        engine.learn_names(*names)
    out = []
    for call in calls:
        result = engine.triage(call.text, call.answers)
        found = engine.features(call.text)
        out.append(Case(found, call.life_safety, result.life_safety, result.screen_first))
    return out


def fit(training: list[Case]) -> tuple[float, dict[str, float]]:
    """Bias and weights learnt from the cases."""
    seen = Counter(feature for case in training for feature in case.features)
    names = sorted(feature for feature, count in seen.items() if count >= MIN_CALLS)
    labels = np.array([case.life_safety for case in training], dtype=np.float64)
    positives = float(labels.sum())
    if not names or positives in (0.0, float(len(training))):
        raise LearnError("to learn, a set's calls must hold both life-safety and other calls, sharing words")
    column = {name: index for index, name in enumerate(names)}
    rows, columns = [], []
    for row, case in enumerate(training):
        for feature in case.features:
            if feature in column:
                rows.append(row)
                columns.append(column[feature])
    matrix = csr_matrix(
        (np.ones(len(rows)), (rows, columns)), shape=(len(training), len(names)), dtype=np.float64
    )
    count = len(training)
    # Balanced classes: each class weighs as much as the other in all, however many calls it has.
    weight = np.where(labels == 1.0, count / (2 * positives), count / (2 * (count - positives)))
    signs = 2 * labels - 1

    def loss(params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        coef, bias = params[:-1], params[-1]
        logits = matrix @ coef + bias
        error = weight * (expit(logits) - labels)
        value = float(weight @ np.logaddexp(0.0, -signs * logits) + coef @ coef / (2 * STRENGTH))
        return value, np.append(matrix.T @ error + coef / STRENGTH, error.sum())

    fitted = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", options={"maxiter": 5000})
    coef = fitted.x[:-1]
    weights = {
        name: round(float(value), 4) for name, value in zip(names, coef, strict=True) if abs(value) >= _KEPT
    }
    return float(fitted.x[-1]), weights


class LeftOut(NamedTuple):
    name: str
    case: Case
    logit: float  # scored by a model that never saw this case's set


def left_out(sets: dict[str, list[Case]], progress: Callable[[str], None]) -> list[LeftOut]:
    """Every case scored by a model learnt from the other sets only."""
    out = []
    for name, held in sets.items():
        progress(f"learning without {name}")
        bias, weights = fit([case for other, group in sets.items() if other != name for case in group])
        fitted = msgspec.structs.replace(OFF, bias=bias, weights=weights)
        out += [LeftOut(name, case, logit(fitted, case.features)) for case in held]
    return out


def threshold(scored: list[LeftOut], share: float = ASK_SHARE) -> float:
    """The lowest logit that asks first for at most `share` of the non-emergencies the rules leave."""
    left = sorted(
        (item.logit for item in scored if not item.case.life_safety and not _by_rules(item.case)),
        reverse=True,
    )
    if not left:
        raise LearnError("the sets hold no non-emergency call the rules leave alone: no threshold to set")
    allowed = int(share * len(left))
    # Ask at or above the value just over the first non-emergency past the allowance.
    return math.nextafter(left[allowed], math.inf) if allowed < len(left) else left[-1]


def figures(scored: list[LeftOut], at: float) -> dict[str, float]:
    """Left-out figures at a threshold: how many life-safety calls are transferred or asked first."""
    emergencies = [item for item in scored if item.case.life_safety]
    others = [item for item in scored if not item.case.life_safety]

    def asked(item: LeftOut) -> bool:
        return _by_rules(item.case) or (not item.case.transferred and item.logit >= at)

    missed_by_rules = [item for item in emergencies if not _by_rules(item.case)]
    return {
        "transferred_or_asked_by_rules": _share(sum(_by_rules(i.case) for i in emergencies), emergencies),
        "transferred_or_asked": _share(sum(asked(item) for item in emergencies), emergencies),
        "rules_misses_asked": _share(sum(item.logit >= at for item in missed_by_rules), missed_by_rules),
        "others_asked_by_rules": _share(
            sum(item.case.screened and not item.case.transferred for item in others), others
        ),
        "others_asked": _share(sum(asked(item) and not item.case.transferred for item in others), others),
    }


def learn(
    config: SurgeConfig,
    sets: dict[str, list[Labelled]],
    progress: Callable[[str], None] | None = None,
    names: Names | None = None,
) -> Model:
    """A model learnt from every set, its threshold and figures from the sets left out one at a time."""
    if len(sets) < 2:
        raise LearnError("give two labelled sets or more: each is scored by a model learnt from the others")
    say = progress or _to_stderr
    read: dict[str, list[Case]] = {}
    for name, calls in sets.items():
        say(f"reading {name}: {len(calls)} calls")
        read[name] = cases(config, calls, names)
    scored = left_out(read, say)
    at = threshold(scored)
    say("learning from every set")
    bias, weights = fit([case for group in read.values() for case in group])
    return Model(
        bias=round(bias, 4),
        threshold=at,
        weights=dict(sorted(weights.items())),
        learnt_from=list(sets),
        cases=sum(len(group) for group in read.values()),
        note=(
            f"logistic regression, C={STRENGTH}, balanced classes, features seen in ≥ {MIN_CALLS} calls;"
            f" threshold: at most {ASK_SHARE:.0%} of the non-emergency calls the rules leave alone asked"
            " first, on scores of sets left out"
        ),
        figures={key: round(value, 4) for key, value in figures(scored, at).items()},
    )


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")


def _by_rules(case: Case) -> bool:
    return case.transferred or case.screened


def _share(count: int, items: list[LeftOut]) -> float:
    return count / len(items) if items else 0.0
