"""The learnt model: it asks first where the rules are silent, never transfers, and is what `learn` makes."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from incident.cli import main
from incident.config import ConfigError, SurgeConfig, decode_config
from incident.triage import Engine
from incident.triage.evaluate import LEARN_FROM, SETS, Labelled, load
from incident.triage.learn import Case, LearnError, LeftOut, learn, threshold
from incident.triage.model import OFF, configured, read_model, shipped_model, write_model
from tests.support import CONFIG

_SILENT_RULES = "Not knowing if we're going to have power to supply my ability to breathe is terrifying."


@pytest.fixture(scope="module")
def engines(config: SurgeConfig) -> tuple[Engine, Engine]:
    """The rules alone, and the rules with the shipped model."""
    return Engine(config, OFF), Engine(config)


def test_the_model_asks_first_where_the_rules_are_silent(engines: tuple[Engine, Engine]) -> None:
    """A call no rule settles, whose words weigh toward life safety, gets the screen questions first."""
    rules, full = engines
    alone = rules.triage(_SILENT_RULES)
    assert (alone.life_safety, alone.screen_first, alone.priority) == (False, False, "P4")
    result = full.triage(_SILENT_RULES)
    # The questions' order only: the rules' priority stands.
    assert (result.life_safety, result.screen_first, result.priority) == (False, True, "P4")
    learnt = [reason for reason in result.reasons if reason.rule == "learnt"]
    assert len(learnt) == 1
    assert "breathe" in learnt[0].words
    screen = [question.id for question in full.config.triage.screen]
    assert [question.id for question in result.questions[: len(screen)]] == screen


def test_the_model_leaves_plain_calls_and_agents_notes_alone(engines: tuple[Engine, Engine]) -> None:
    """Everyday calls, and the words agents write calls down with, are not asked first."""
    _, full = engines
    for text in (
        "the heat is out",
        "pothole on my street",
        "when does the plow come",
        "se fue la luz",
        "caller reports pothole on main",
        "clr states garbage not picked up",
    ):
        assert not full.triage(text).screen_first, text
    assert not {"w caller", "w clr", "w report", "w cc"} & full.features("caller reports cc: pothole")


def test_names_are_not_features(config: SurgeConfig) -> None:
    """A street the gazetteer knows, and a word of neither language, are not what the model reads."""
    engine = Engine(config)
    engine.learn_names(["kensington"], [])
    found = engine.features("Zbigniew fell on Kensington, unconcious")
    assert "w kensington" not in found
    assert "w zbigniew" not in found
    assert {"w fall", "w unconscious"} <= found  # a misspelling of the vocabulary is read as corrected


def test_the_model_never_transfers(engines: tuple[Engine, Engine]) -> None:
    """On every labelled call it learnt from, the 911 transfer and the category are the rules' alone."""
    rules, full = engines
    for call in (call for name in LEARN_FROM for call in load(SETS[name])):
        alone, result = rules.triage(call.text, call.answers), full.triage(call.text, call.answers)
        assert (result.life_safety, result.category, result.priority) == (
            alone.life_safety,
            alone.category,
            alone.priority,
        ), call.text


def _left(logit: float, life_safety: bool) -> LeftOut:
    return LeftOut("set", Case(set(), life_safety, transferred=False, screened=False), logit)


def test_the_threshold_asks_first_for_at_most_the_share() -> None:
    """The threshold asks first for no more than the given share of non-emergencies the rules leave."""
    scored = [_left(float(value), False) for value in range(100)] + [_left(50.0, True)]
    at = threshold(scored, share=0.1)
    assert sum(item.logit >= at for item in scored if not item.case.life_safety) == 10
    assert threshold(scored, share=0.0) > 99.0
    with pytest.raises(LearnError, match="no non-emergency call"):
        threshold([_left(1.0, True)])


def _call(text: str, life_safety: bool) -> Labelled:
    category = "emergency" if life_safety else "general"
    return Labelled(text=text, category=category, life_safety=life_safety)


def test_learning_weighs_the_words_of_life_safety_calls(config: SurgeConfig) -> None:
    """A model learnt from two small sets weighs a word of their life-safety calls toward asking."""
    first = [_call("grandpa went grey and floppy", True), _call("grandpa wants his mail", False)] * 3
    second = [_call("my aunt is grey and floppy", True), _call("my aunt lost her mail", False)] * 3
    model = learn(config, {"first": first, "second": second}, progress=lambda line: None)
    assert model.weights["w floppy"] > 0 > model.weights["w mail"]
    assert model.cases == 12
    assert model.learnt_from == ["first", "second"]


def test_learning_refuses_what_it_cannot_learn_from(config: SurgeConfig) -> None:
    """One set, or sets of one class only, are refused with a reason, not a traceback."""
    calls = [_call("grandpa went grey and floppy", True), _call("grandpa wants his mail", False)] * 3
    with pytest.raises(LearnError, match="two labelled sets"):
        learn(config, {"only": calls}, progress=lambda line: None)
    ones = [_call("grandpa went grey and floppy", True)] * 4
    with pytest.raises(LearnError, match="both life-safety and other calls"):
        learn(config, {"a": ones, "b": ones}, progress=lambda line: None)


def test_the_learn_command_says_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing file, a single set and an --out in no folder end with a message and exit 2."""
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    out = str(tmp_path / "model.json")
    assert main(["triage", "learn", str(tmp_path / "nothing.yaml"), "--out", out]) == 2
    assert "nothing.yaml" in capsys.readouterr().err
    assert main(["triage", "learn", str(SETS["written here"]), "--out", out]) == 2
    assert "two labelled sets" in capsys.readouterr().err
    assert main(["triage", "learn", "--out", str(tmp_path / "no" / "model.json")]) == 2
    assert "no folder" in capsys.readouterr().err
    assert not Path(out).exists()


def test_a_city_chooses_its_model_in_the_config(tmp_path: Path) -> None:
    """triage.model: "off" never asks; a file names the city's own model; a missing one is refused."""
    text = CONFIG.read_text(encoding="utf-8")
    off = decode_config(text.replace("\ntriage:\n", '\ntriage:\n  model: "off"\n', 1))
    assert configured(off, tmp_path / "surge_config.yaml") is OFF
    assert not Engine(off, configured(off, tmp_path / "surge_config.yaml")).triage(_SILENT_RULES).screen_first
    own = msgspec.structs.replace(shipped_model(), threshold=-100.0)
    write_model(own, tmp_path / "ours.json")
    city = decode_config(text.replace("\ntriage:\n", "\ntriage:\n  model: ours.json\n", 1), folder=tmp_path)
    assert configured(city, tmp_path / "surge_config.yaml").threshold == -100.0
    with pytest.raises(ConfigError, match=r"surge_config.yaml:\d+: triage.model: no file"):
        decode_config(text.replace("\ntriage:\n", "\ntriage:\n  model: theirs.json\n", 1), folder=tmp_path)
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    bad = decode_config(text.replace("\ntriage:\n", "\ntriage:\n  model: bad.json\n", 1), folder=tmp_path)
    with pytest.raises(ConfigError, match=r"triage\.model: .*not a triage model"):
        configured(bad, tmp_path / "surge_config.yaml")


def test_the_shipped_model_is_what_learn_makes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`stormline triage learn` on the seen sets rebuilds the shipped model (no weight edited by hand)."""
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    out = tmp_path / "model.json"
    assert main(["triage", "learn", "--out", str(out)]) == 0
    made, shipped = read_model(out), shipped_model()
    assert made.learnt_from == shipped.learnt_from == LEARN_FROM
    assert made.cases == shipped.cases
    assert abs(made.bias - shipped.bias) < 1e-3
    assert abs(made.threshold - shipped.threshold) < 1e-3
    assert made.weights.keys() == shipped.weights.keys()
    assert all(abs(made.weights[key] - weight) < 1e-3 for key, weight in shipped.weights.items())
    assert made.figures.keys() == shipped.figures.keys()
    assert all(abs(made.figures[key] - value) < 1e-3 for key, value in shipped.figures.items())
