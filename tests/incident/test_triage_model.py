"""The learnt model: it asks first where the rules are silent, never transfers, and is what `learn` makes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from incident.cli import main
from incident.config import SurgeConfig
from incident.triage import Engine
from incident.triage.evaluate import LEARN_FROM, SETS, Labelled, load
from incident.triage.learn import Case, LeftOut, learn, threshold
from incident.triage.model import Model, read_model, shipped_model

_SILENT = Model(bias=0.0, threshold=math.inf, weights={}, learnt_from=[], cases=0)


@pytest.fixture(scope="module")
def engines(config: SurgeConfig) -> tuple[Engine, Engine]:
    """The rules alone, and the rules with the shipped model."""
    return Engine(config, _SILENT), Engine(config)


def test_the_model_asks_first_where_the_rules_are_silent(engines: tuple[Engine, Engine]) -> None:
    """A call no rule settles, whose words weigh toward life safety, gets the screen questions first."""
    rules, full = engines
    text = "Not knowing if we're going to have power to supply my ability to breathe is terrifying."
    alone = rules.triage(text)
    assert (alone.life_safety, alone.screen_first, alone.priority) == (False, False, "P4")
    result = full.triage(text)
    assert (result.life_safety, result.screen_first, result.priority) == (False, True, "P2")
    learnt = [reason for reason in result.reasons if reason.rule == "learnt"]
    assert learnt
    assert "breathe" in learnt[0].words
    screen = [question.id for question in full.config.triage.screen]
    assert [question.id for question in result.questions[: len(screen)]] == screen


def test_the_model_leaves_plain_calls_alone(engines: tuple[Engine, Engine]) -> None:
    """Everyday calls are not asked the screen questions first."""
    _, full = engines
    for text in ("the heat is out", "pothole on my street", "when does the plow come", "se fue la luz"):
        assert not full.triage(text).screen_first, text


def test_the_model_never_transfers(engines: tuple[Engine, Engine]) -> None:
    """On every labelled call, the 911 transfer and the category are the rules' alone."""
    rules, full = engines
    calls = load(SETS["written here"]) + load(SETS["public development"])
    for call in calls:
        alone, result = rules.triage(call.text, call.answers), full.triage(call.text, call.answers)
        assert (result.life_safety, result.category) == (alone.life_safety, alone.category), call.text


def _left(logit: float, life_safety: bool) -> LeftOut:
    return LeftOut("set", Case(set(), life_safety, transferred=False, screened=False), logit)


def test_the_threshold_asks_first_for_at_most_the_share() -> None:
    """The threshold asks first for no more than the given share of non-emergencies the rules leave."""
    scored = [_left(float(value), False) for value in range(100)] + [_left(50.0, True)]
    at = threshold(scored, share=0.1)
    assert sum(item.logit >= at for item in scored if not item.case.life_safety) == 10
    assert threshold(scored, share=0.0) > 99.0


def test_learning_weighs_the_words_of_life_safety_calls(config: SurgeConfig) -> None:
    """A model learnt from two small sets weighs a word of their life-safety calls toward asking."""

    def call(text: str, life_safety: bool) -> Labelled:
        category = "emergency" if life_safety else "general"
        return Labelled(text=text, category=category, life_safety=life_safety)

    first = [call("grandpa went grey and floppy", True), call("grandpa wants his mail", False)] * 3
    second = [call("my aunt is grey and floppy", True), call("my aunt lost her mail", False)] * 3
    model = learn(config, {"first": first, "second": second}, progress=lambda line: None)
    assert model.weights["w floppy"] > 0 > model.weights["w mail"]
    assert model.cases == 12
    assert model.learnt_from == ["first", "second"]


def test_the_shipped_model_is_what_learn_makes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`stormline triage learn` on the seen sets rebuilds the shipped model (no weight edited by hand)."""
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    out = tmp_path / "model.json"
    assert main(["triage", "learn", "--out", str(out)]) == 0
    made, shipped = read_model(out), shipped_model()
    assert made.learnt_from == shipped.learnt_from == LEARN_FROM
    assert made.cases == shipped.cases
    assert made.weights.keys() == shipped.weights.keys()
    assert all(abs(made.weights[key] - weight) < 1e-3 for key, weight in shipped.weights.items())
    assert abs(made.threshold - shipped.threshold) < 1e-3
