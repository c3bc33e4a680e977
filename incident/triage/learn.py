"""`stormline triage learn`: learn the model of `model.py` from labelled sets, and say how it carries over.

A logistic regression (scikit-learn) over the features `Engine.features` reads, life safety as the
label. How well it carries over to words it has not seen is measured by leaving one set out at a time:
each set is scored by a model learnt from the others only, so every set plays a new centre's or a new
caller's words once. The threshold is chosen on those left-out scores, never on a score of a call the
model learnt from: the lowest logit at which no more than `ASK_SHARE` of the non-emergency calls the
rules leave alone would get the screen questions first.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import NamedTuple

from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from incident.config import SurgeConfig
from incident.triage.engine import Engine
from incident.triage.evaluate import Labelled
from incident.triage.model import Model

ASK_SHARE = 0.15  # of the non-emergency calls the rules neither transfer nor screen
STRENGTH = 1.0  # scikit-learn's C: the inverse of the weights' regularisation
MIN_CALLS = 2  # a feature seen in fewer training calls is not learnt
_KEPT = 1e-3  # smaller weights are left out of the file
_NEVER = Model(bias=0.0, threshold=math.inf, weights={}, learnt_from=[], cases=0)


class Case(NamedTuple):
    features: set[str]
    life_safety: bool
    transferred: bool  # by the rules
    screened: bool  # by the rules: a danger concept no rule settled


def cases(config: SurgeConfig, calls: list[Labelled]) -> list[Case]:
    """The calls as the model reads them, with what the rules alone made of each."""
    engine = Engine(config, _NEVER)
    out = []
    for call in calls:
        result = engine.triage(call.text, call.answers)
        found = engine.features(call.text)
        out.append(Case(found, call.life_safety, result.life_safety, result.screen_first))
    return out


def fit(training: list[Case]) -> tuple[float, dict[str, float]]:
    """Bias and weights learnt from the cases."""
    seen: dict[str, int] = {}
    for case in training:
        for feature in case.features:
            seen[feature] = seen.get(feature, 0) + 1
    kept = [{feature: 1 for feature in case.features if seen[feature] >= MIN_CALLS} for case in training]
    vectors = DictVectorizer()
    matrix = vectors.fit_transform(kept)
    regression = LogisticRegression(C=STRENGTH, class_weight="balanced", max_iter=2000)
    regression.fit(matrix, [case.life_safety for case in training])
    weights = {
        name: round(float(weight), 4)
        for name, weight in zip(vectors.get_feature_names_out(), regression.coef_[0], strict=True)
        if abs(weight) >= _KEPT
    }
    return float(regression.intercept_[0]), weights


def score(bias: float, weights: dict[str, float], found: set[str]) -> float:
    return bias + sum(weights.get(feature, 0.0) for feature in found)


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
        out += [LeftOut(name, case, score(bias, weights, case.features)) for case in held]
    return out


def threshold(scored: list[LeftOut], share: float = ASK_SHARE) -> float:
    """The lowest logit that asks first for at most `share` of the non-emergencies the rules leave."""
    left = sorted(
        (item.logit for item in scored if not item.case.life_safety and not _by_rules(item.case)),
        reverse=True,
    )
    if not left:
        return 0.0
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
    config: SurgeConfig, sets: dict[str, list[Labelled]], progress: Callable[[str], None] | None = None
) -> Model:
    """A model learnt from every set, its threshold and figures from the sets left out one at a time."""
    say = progress or _to_stderr
    read: dict[str, list[Case]] = {}
    for name, calls in sets.items():
        say(f"reading {name}: {len(calls)} calls")
        read[name] = cases(config, calls)
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
