"""Triage: the engine's decisions and reasons, the labelled set's targets, and the API."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.triage import Engine
from incident.triage_eval import DEFAULT_SET, evaluate, load
from tests.conftest import as_role


@pytest.fixture(scope="module")
def engine(config: SurgeConfig) -> Engine:
    return Engine(config)


@pytest.mark.parametrize(
    ("text", "category", "life_safety"),
    [
        ("man trapped under a tree on Bailey", "emergency", True),
        ("he is not breathing", "emergency", True),
        ("wire down on Elmwood and it is sparking", "emergency", True),
        ("wire down on Elmwood, not sparking, nobody hurt", "debris", False),
        ("smell gas in the basement", "emergency", True),
        ("gas smell outside by the meter, nothing inside", "utility", False),
        ("running the generator in the garage to keep warm", "emergency", True),
        ("generator is outside on the patio, when is power back", "utility", False),
        (
            "was bleeding earlier from a cut, stopped now, needs a ride to a warming center",
            "shelter_transport",
            False,
        ),
        ("fire hydrant buried under a pile of limbs", "debris", False),
        ("who pays for the neighbors tree that fell on my fence", "general", False),
    ],
)
def test_decisions(engine: Engine, text: str, category: str, life_safety: bool) -> None:
    """Negations, hedges, resolved past states and questions are read as a person would read them."""
    result = engine.triage(text)
    assert (result.category, result.life_safety) == (category, life_safety)


def test_reasons_name_the_rule_and_words_and_what_did_not_count(engine: Engine) -> None:
    """A result says which rule fired on which words, and which mention was set aside and why."""
    result = engine.triage("tree down, wire down but not sparking")
    assert any(reason.rule == "wire_down" and reason.words for reason in result.reasons)
    assert any(item.words == "sparking" and "negated" in item.why for item in result.ignored)
    assert "national_grid" in result.refer
    assert "utility" in result.categories


def test_answers_decide_when_the_words_do_not(engine: Engine) -> None:
    """A vague call becomes a 911 transfer when the screen question is answered yes."""
    assert not engine.triage("something is wrong at my moms").life_safety
    result = engine.triage("something is wrong at my moms", {"trapped": "yes"})
    assert result.life_safety
    assert any(reason.answer == "trapped=yes" for reason in result.reasons)


def test_vulnerability_and_cold_raise_priority(engine: Engine) -> None:
    """No heat is P2; with an 84-year-old on oxygen for a day in the cold it is P1, with the reasons."""
    plain = engine.triage("no heat in the house")
    assert plain.priority == "P2"
    raised = engine.triage("no heat since yesterday, 84 year old mother on oxygen")
    assert raised.priority == "P1"
    assert {"powered_medical", "older_adult", "cold_exposure"} <= set(raised.vulnerable)


def test_cold_limit_depends_on_the_temperature(engine: Engine) -> None:
    """Five hours without heat is past the limit at 5 °F but not at 45 °F."""
    cold = engine.triage("no heat", {"hours_without_heat": 5, "outdoor_temp_f": 5})
    mild = engine.triage("no heat", {"hours_without_heat": 5, "outdoor_temp_f": 45})
    assert "cold_exposure" in cold.vulnerable
    assert "cold_exposure" not in mild.vulnerable


def test_questions_still_worth_asking(engine: Engine) -> None:
    """The screen and the category's questions not yet answered are listed; answered ones are not."""
    result = engine.triage("no heat in the house", {"anyone_hurt": "no"})
    asked = [question.id for question in result.questions]
    assert "anyone_hurt" not in asked
    assert {"trapped", "has_heat", "needs_ride"} <= set(asked)


def test_labelled_set_meets_the_targets(config: SurgeConfig) -> None:
    """On the 358 labelled calls: no missed emergency, and macro-F1 over the others at least 0.90."""
    calls = load(DEFAULT_SET)
    assert len(calls) >= 300
    assert {call.category for call in calls} == {category.code for category in config.categories}
    figures = evaluate(config, calls)
    assert figures["missed_emergencies"] == [], figures["missed_emergencies"]
    assert figures["per_category"]["emergency"]["recall"] == 1.0
    assert figures["macro_f1_non_emergency"] >= 0.90


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_is_triaged_deterministically(text: str) -> None:
    """Whatever is typed, triage answers, and answers the same way twice."""
    engine = _engine()
    first, second = engine.triage(text), engine.triage(text)
    assert first == second
    assert first.category in first.categories


_ENGINES: list[Engine] = []


def _engine() -> Engine:
    if not _ENGINES:
        from incident.config import load_config
        from tests.conftest import CONFIG

        _ENGINES.append(Engine(load_config(CONFIG)))
    return _ENGINES[0]


async def test_triage_endpoint_files_nothing(client: Client) -> None:
    """POST /triage answers with the decision and stores no incident."""
    response = await client.post("/api/v1/triage", json={"text": "she isnt breathing", "answers": {}})
    body = await response.get_json()
    assert response.status_code == 200
    assert (body["category"], body["priority"], body["life_safety"]) == ("emergency", "P1", True)
    assert body["reasons"][0]["rule"] == "not_breathing"
    assert (await (await client.get("/api/v1/incidents")).get_json())["items"] == []


async def test_unknown_answer_is_named(client: Client) -> None:
    """An answer to a question that does not exist is a 422 naming it."""
    response = await client.post("/api/v1/triage", json={"text": "x", "answers": {"trappd": "yes"}})
    assert response.status_code == 422
    assert (await response.get_json())["errors"][0]["field"] == "answers.trappd"


async def test_intake_stores_triage_and_agents_choice_as_override(client: Client) -> None:
    """Intake keeps triage's decision; a category the agent chose instead is an override beside it."""
    response = await client.post(
        "/api/v1/calls", json={"narrative": "big limb down across Hertel", "category": "utility"}
    )
    incident = (await response.get_json())["incident"]
    assert incident["category"] == "utility"
    assert incident["triage"]["category"] == "debris"
    assert incident["override"]["triage_category"] == "debris"


async def test_a_later_call_raises_the_incident(client: Client) -> None:
    """A second call that says someone is now trapped makes the incident a P1 life-safety one."""
    first = await (await client.post("/api/v1/calls", json={"narrative": "tree on the house"})).get_json()
    ticket = first["ticket"]
    assert first["incident"]["life_safety"] is False
    again = await client.post(
        "/api/v1/calls", json={"narrative": "now my dad is trapped under it", "ticket": ticket}
    )
    incident = (await again.get_json())["incident"]
    assert (incident["life_safety"], incident["priority"], incident["category"]) == (True, "P1", "emergency")
    history = await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json()
    attached = history["events"][-1]["event"]
    assert attached["type"] == "call.attached"
    assert attached["triage"]["life_safety"] is True


async def test_override_keeps_the_original_and_the_reason(app: App, client: Client) -> None:
    """A supervisor's override changes priority, keeps triage's decision, and is in the history."""
    ticket = (await (await client.post("/api/v1/calls", json={"narrative": "no heat"})).get_json())["ticket"]
    response = await client.post(
        f"/api/v1/incidents/{ticket}/override", json={"priority": "P1", "reason": "caller is 97"}
    )
    assert response.status_code == 200
    incident = await response.get_json()
    assert incident["priority"] == "P1"
    assert incident["triage"]["priority"] == "P2"
    assert incident["override"]["reason"] == "caller is 97"
    history = await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json()
    assert history["events"][-1]["event"]["type"] == "incident.triage_overridden"
    missing = await client.post(f"/api/v1/incidents/{ticket}/override", json={"priority": "P1"})
    assert missing.status_code == 422
    crew = await as_role(app, Role.CREW)
    assert (
        await crew.post(f"/api/v1/incidents/{ticket}/override", json={"priority": "P4", "reason": "meh"})
    ).status_code == 403
