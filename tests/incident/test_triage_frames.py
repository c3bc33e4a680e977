"""Triage, round three: vocabulary from published call-type lists, numbers, and frames (what a text is)."""

from __future__ import annotations

import pytest

from geo.build import build
from geo.gazetteer import Gazetteer
from incident.config import SurgeConfig
from incident.triage import Engine


@pytest.fixture(scope="module")
def engine(config: SurgeConfig) -> Engine:
    """An engine that knows the shipped gazetteer's names, as a serving worker does."""
    built = Engine(config)
    built.learn_names(*Gazetteer(build()).names())
    return built


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("RTC", "injury"),  # UK call types
        ("Lift Release", "entrapment"),
        ("Removal of victim(s) from stalled elevator", "entrapment"),  # NFIRS incident types
        ("Gasoline or other flammable liquid spill", "hazmat"),
        ("ABNORMAL BREATHING", "breathing"),
        ("man slumped over the wheel at the light", "unconscious"),
        ("DISCHRG FIREARM", "violence"),
        ("family disturbance", "violence"),
        ("diabetic with a blood glucose of 33", "diabetic"),  # a number, whatever it is
        ("a helicopter has crashed into the roof of a pub", "injury"),
        ("person lying in street", "unconscious"),  # "in street" is not a street's name
    ],
)
def test_call_types_and_caller_words_in_english(engine: Engine, text: str, concept: str) -> None:
    """Call-type names of other centres (NFIRS, UK, police CAD) and caller words reach their concept."""
    result = engine.triage(text)
    assert result.life_safety, result.reasons
    assert concept in result.concepts


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("persona inconsciente en la vía pública", "unconscious"),
        ("EVENTO RESPIRATORIO", "breathing"),
        ("Arrollamiento", "injury"),
        ("accidente con lesionados en la autopista", "injury"),
        ("SALVAMENTO EN ALTURA", "entrapment"),
        ("Ascensor detenido con personas", "entrapment"),
        ("MAT. PELIGROSOS / FUGA GAS GLP", "gas_leak"),
        ("PATOLOGÍA GINECOBSTÉTRICA", "childbirth"),
        ("herido por arma de fuego", "violence"),
        ("Descarrila un tren de pasajeros cerca de la estación", "injury"),
    ],
)
def test_call_types_and_caller_words_in_spanish(engine: Engine, text: str, concept: str) -> None:
    """The same families in the call types of Spanish-speaking centres (Bogotá, Buenos Aires, Perú)."""
    result = engine.triage(text)
    assert result.life_safety, result.reasons
    assert concept in result.concepts


@pytest.mark.parametrize(
    "text",
    [
        "At least 60 dead in building collapse in Bangladesh",  # a count of the dead: a summary
        "Al menos nueve muertos al descarrilar un tren de pasajeros",  # numbers written as words too
        "Se necesitan donantes de sangre por el accidente de tren",  # an appeal
        "Large number of dead and wounded in train derailment",
        "Thoughts and prayers with all affected by this helicopter crash",  # sympathy: people elsewhere
        "Mucho consuelo y fortaleza para las familias de los fallecidos en el accidente",
        "Vaya imágenes del accidente de tren",
    ],
)
def test_a_report_of_casualties_elsewhere_is_not_a_call(engine: Engine, text: str) -> None:
    """Counts of the dead, condolences, blood appeals and pictures frame a whole text as a report."""
    result = engine.triage(text)
    assert not result.life_safety, result.reasons
    assert any("a report, not a call" in item.why or "not here" in item.why for item in result.ignored)


@pytest.mark.parametrize(
    "text",
    [
        "Death toll rises to 80, hundreds still trapped under the rubble",  # people still trapped
        "Al menos 20 muertos y siguen atrapados bajo los escombros",
        "No deaths reported, two people injured in the crash",  # a negated frame frames nothing
    ],
)
def test_a_report_that_still_needs_a_rescue_counts(engine: Engine, text: str) -> None:
    """A frame another frame hides (people still trapped) or a negated one does not set concepts aside."""
    assert engine.triage(text).life_safety, engine.triage(text).reasons


@pytest.mark.parametrize(
    "text",
    [
        "Bomb scare - no bomb",  # NFIRS outcomes: nothing found
        "HazMat release investigation w/no HazMat",
        "Carbon monoxide detector activation, no CO",
        "CO detector activation due to malfunction",
        "PROPERTY DAMAGE COLLISION",
        "Rescate Animal",  # an animal, not a person
        "Quema Controlada",  # a controlled burn
        "BANK ALARM",  # a robbery alarm, not a fire alarm
        "Escape de gas en vía pública, sala de medidores",  # outdoors, at the meters
        "I was in a horrible car accident this past Sunday",  # days ago
        "makes me wanna drown myself",  # a figure of speech
        "Hollywood movie about trapped miners",  # fiction
        "I got drowned like 5 times in the game today",
        "Sohel was found minutes after he was rescued",  # over
        "looting on Main St",  # property crime, no threat
    ],
)
def test_what_dispatch_outcomes_and_figures_of_speech_do_not_flag(engine: Engine, text: str) -> None:
    """No-incident outcomes, property-only crashes, animals, controlled burns, the past, fiction: no 911."""
    assert not engine.triage(text).life_safety, engine.triage(text).reasons


@pytest.mark.parametrize(
    "text",
    [
        "no hay nadie herido por arma de fuego, solo se escucharon cohetes",
        "no one is trapped in the elevator, it is just stuck",
        "RTC, no injuries, vehicles on the shoulder",
    ],
)
def test_new_words_are_negated_like_the_old(engine: Engine, text: str) -> None:
    """The new vocabulary is read in context like the rest: negated, it makes no transfer."""
    assert not engine.triage(text).life_safety, engine.triage(text).reasons


def test_numbers_are_one_word_to_match_by(engine: Engine) -> None:
    """Any number, in digits or in words, matches a term's "0"; the caller's digits stay in the reasons."""
    for text in (
        "42 dead after the blast",
        "forty dead after the blast",
        "cuarenta muertos tras la explosión",
    ):
        result = engine.triage(text)
        assert not result.life_safety, (text, result.reasons)
    result = engine.triage("blood sugar of 40 and he is shaking")
    assert result.life_safety
    assert any("40" in word for reason in result.reasons for word in reason.words)
