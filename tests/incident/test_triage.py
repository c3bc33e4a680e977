"""Triage: concepts found on whole words, read in context, decided by rules; the sets and the API."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from geo.build import build
from geo.gazetteer import Gazetteer
from incident.auth.roles import Role
from incident.config import ConfigError, SurgeConfig, decode_config, load_config
from incident.triage import Engine
from incident.triage.evaluate import (
    FALSE_TRANSFER_TARGET,
    PUBLIC_DEV,
    PUBLIC_HELDOUT,
    PUBLIC_HELDOUT_2,
    PUBLIC_HELDOUT_3,
    PUBLIC_HELDOUT_4,
    PUBLIC_HELDOUT_5,
    RECALL_TARGET,
    SETS,
    WRITTEN_HERE,
    Labelled,
    SecondLabel,
    agreement,
    evaluate,
    load,
    load_second,
    second_labels_of,
    text_key,
)
from tests.support import CONFIG, as_role

# The held-out sets were frozen before they were run; nothing may change them (SOURCE.txt, 2 … 6).
FROZEN = {
    "public_heldout.yaml": "c834c6368971dcff9ae5f9d0b6b9cdc46bef2420a4590e6c668034fc0a786d2b",
    "public_heldout2.yaml": "12ae390866690fbbded35bec58e6c8355205abee94dd4899b12d5f5e6bd239dc",
    "public_heldout3.yaml": "6a2d864aa075fd7c7971f9d94bde860f2f3eddd362c19d27141f564a4e7817bd",
    "public_heldout4.yaml": "8c8e8b43c6cc7adb80d18746dea552e02fc9c5d72f8ddf4858544954156f84a4",
    "public_heldout5.yaml": "fc120c9df7389c3b7c926bd285d832ead2a77286ae53920ec2ca67d51ac55e58",
    "public_heldout6.yaml": "4a175259ae97b771428526878301a0720861c3981d6b068febc62b0e886bfaf2",
    "public_heldout7.yaml": "79d2651e020f915f08acffeef563ba64fd600536217da199e84d7142f4e1b46f",
}


@pytest.fixture(scope="module")
def engine(config: SurgeConfig) -> Engine:
    """An engine that knows the shipped gazetteer's street and place names, as a serving worker does."""
    built = Engine(config)
    built.learn_names(*Gazetteer(build()).names())
    return built


def _flags(engine: Engine, text: str) -> bool:
    return engine.triage(text).life_safety


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


# Each concept family, in the words of dispatch vocabularies and in a caller's own words.
_FAMILIES = [
    ("cardiac_arrest", "EMS: CARDIAC ARREST", "my husband has no pulse, I'm doing CPR"),
    ("breathing", "respiratory emergency", "she can't catch her breath and her lips are turning blue"),
    ("chest_pain", "chest pains", "my dad says it feels like an elephant is on his chest, crushing pain"),
    ("choking", "choking", "baby has something stuck in her throat"),
    ("seizure", "convulsions/seizures", "my son is having a fit, shaking all over"),
    ("stroke", "CVA/stroke", "grandma's face is drooping and she's slurring her words"),
    ("unconscious", "unconscious person", "found my neighbor passed out on the kitchen floor"),
    ("bleeding", "hemorrhaging", "he cut himself with the chainsaw and it won't stop bleeding"),
    ("overdose_poisoning", "overdose", "my brother OD'd, we gave him narcan"),
    ("diabetic", "diabetic emergency", "her blood sugar dropped and she's shaky and sweaty"),
    ("allergic", "allergic reaction", "stung by a bee and his throat is closing up"),
    ("burns", "burn victim", "she got burned badly by the boiling water"),
    ("electrocution", "electrocution", "he touched the power line and got shocked"),
    ("drowning", "water rescue", "a kid fell through the ice on the pond"),
    ("exposure", "hypothermia", "found a man outside who can't stop shivering, skin is ice cold"),
    ("entrapment", "entrapment", "the porch collapsed on my brother and we can't get him out"),
    ("fire", "structure fire", "smoke pouring out of the upstairs window next door"),
    ("gas_leak", "gas odor/leak", "smells like rotten eggs in the kitchen"),
    ("carbon_monoxide", "carbon monoxide", "CO alarm going off and we all have headaches"),
    ("hazmat", "hazardous materials incident", "a tanker is leaking chemical fumes on the highway"),
    ("violence", "assault", "my boyfriend is hitting me"),
    ("self_harm", "suicide threat", "my son says he wants to kill himself"),
    ("childbirth", "childbirth", "my wife's water broke and the contractions are close"),
    ("injury", "fall victim", "my mother fell down the stairs and hit her head"),
    ("sick_person", "sick person", "he keeps throwing up and is too weak to stand"),
    ("missing_person", "missing child", "my dad has dementia and he wandered off in the snow"),
]


@pytest.mark.parametrize(("concept", "clinical", "lay"), _FAMILIES, ids=[family[0] for family in _FAMILIES])
def test_each_concept_family_in_clinical_and_lay_words(
    engine: Engine, concept: str, clinical: str, lay: str
) -> None:
    """Every emergency concept is a 911 transfer in a dispatch vocabulary's words and in a caller's."""
    for text in (clinical, lay):
        result = engine.triage(text)
        assert result.life_safety, (text, result.reasons)
        assert concept in result.concepts, (text, result.concepts)


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("caller reports seizures", "seizure"),  # an inflection the vocabulary does not list
        ("he is unconcious", "unconscious"),  # misspellings, corrected by the spelling library
        ("siezure in progress", "seizure"),
        ("she has a hemorage", "bleeding"),
        ("CVA", "stroke"),  # abbreviations, in capitals
        ("pt SOB", "breathing"),
        ("caller says OD", "overdose_poisoning"),
    ],
)
def test_inflections_misspellings_and_abbreviations(engine: Engine, text: str, wanted: str) -> None:
    """A lemmatiser, a spelling library and capitals-only abbreviations widen every concept."""
    assert wanted in engine.triage(text).concepts


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("DIFF BRE", "breathing"),  # words a dispatch screen cut short
        ("CARD ARR", "cardiac_arrest"),
        ("SICK PSN", "sick_person"),
        ("pt uncon on floor", "unconscious"),
        ("26A01", "ems_response"),  # a medical dispatch determinant code
        ("74yof weak", "patient"),  # a patient in shorthand, with a complaint
    ],
)
def test_dispatch_shorthand(engine: Engine, text: str, wanted: str) -> None:
    """Shortened words, determinant codes and patient shorthand are read as the terms they stand for."""
    result = engine.triage(text)
    assert result.life_safety, result.reasons
    assert wanted in result.concepts


@pytest.mark.parametrize(
    "text",
    [
        "heat problem in the basement apartment",  # "heat" is a word, not a shortening of "heart"
        "my car is a Dodge Caliber",  # a name is not shorthand
        "smoke detectors for the senior center",  # a device named, not an alarm sounding
        "photos of the storm #stroke #fire",  # hashtags label a post
        "she fell asleep on the couch",
    ],
)
def test_what_shorthand_and_devices_do_not_flag(engine: Engine, text: str) -> None:
    """Known words, names, a device named alone, hashtags and 'fell asleep' make no transfer."""
    assert not engine.triage(text).life_safety, engine.triage(text).reasons


@pytest.mark.parametrize(
    "text",
    [
        "disabled vehicle at S Trappe Rd",  # "Trappe" is not "trapped"
        "DISABLED VEHICLE AT S TRAPPE RD",
        "tree limb down on Burns Ave",  # a street named like a wound
        "the co-op on Main is out of milk",  # "co" written small is not carbon monoxide
        "my sob story: the plow missed us again",  # "sob" is not shortness of breath
        "trappe",  # nor a misspelling of it, written alone
    ],
)
def test_whole_words_and_names_are_not_symptoms(engine: Engine, text: str) -> None:
    """Matching is on whole words; a street's name and a small-letter word are not read as a concept."""
    result = engine.triage(text)
    assert not result.life_safety, result.reasons
    assert not set(result.concepts) & {"entrapment", "burns", "carbon_monoxide", "breathing"}


def test_street_names_the_gazetteer_knows_are_names(config: SurgeConfig) -> None:
    """A Buffalo street written like a word ("Walker") is a name once the gazetteer's names are known."""
    plain = Engine(config)
    assert "disability" in plain.triage("big limb down on Walker, blocking the road").vulnerable
    taught = Engine(config)
    taught.learn_names(*Gazetteer(build()).names())
    assert "disability" not in taught.triage("big limb down on Walker, blocking the road").vulnerable
    assert "disability" in taught.triage("my mother uses a walker and the heat is out").vulnerable


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("no one is bleeding, the tree just hit the car", "negated"),
        ("he is not unconscious, he's talking", "negated"),
        ("she has a history of seizures, needs her meds picked up", "in the past"),
        ("he had a stroke years ago and can't get out to the store", "in the past"),
        ("what do I do if the power goes out and my oxygen stops", "asked about"),
        ("saw on the news a house caught fire in Cheektowaga", "not here"),
        ("was choking earlier but he's fine now", "over now"),
    ],
)
def test_context_sets_a_concept_aside(engine: Engine, text: str, why: str) -> None:
    """Negation, history, a question, elsewhere and over-now set a concept aside, and say so (ConText)."""
    result = engine.triage(text)
    assert not result.life_safety, result.reasons
    assert any(why in item.why for item in result.ignored), result.ignored


def test_possible_counts_and_minor_asks_first(engine: Engine) -> None:
    """A possible stroke is a stroke; a minor cut cannot make a transfer by itself but asks the screen."""
    assert engine.triage("I think my mom might be having a stroke").life_safety
    minor = engine.triage("my son has a little bleeding from a scrape")
    assert not minor.life_safety
    assert minor.screen_first
    assert "bleeding" in minor.unsettled


@pytest.mark.parametrize(
    ("text", "life_safety", "rule"),
    [
        (
            "no heat for two days, my 88 year old mother is here, the house is 41 degrees inside",
            True,
            "cold_and_vulnerable",
        ),
        ("no heat, house is cold but we're all healthy adults", False, "no_heat"),
        (
            "power out and my dad's oxygen concentrator won't run, he has no backup",
            True,
            "equipment_without_power",
        ),
        (
            "power out, oxygen concentrator stopped, he's on the backup tank with 6 hours left",
            False,
            "equipment_on_backup",
        ),
        ("big maple came down, my husband is under the tree", True, "entrapment"),
        ("running a charcoal grill inside to keep warm", True, "fuel_burning_indoors"),
        ("car running in the garage with the door down to warm up", True, "fuel_burning_indoors"),
        ("we're stranded in our car on the 190, snow up to the windows", True, "stranded_vehicle"),
        ("my car is stuck in the snow at the end of the driveway", False, "needs_shelter"),
    ],
)
def test_storm_life_safety(engine: Engine, text: str, life_safety: bool, rule: str) -> None:
    """The storm's own dangers: cold with someone vulnerable, powered equipment, debris, CO, cars in snow."""
    result = engine.triage(text)
    assert result.life_safety is life_safety, result.reasons
    assert rule in [reason.rule for reason in result.reasons]


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("mi esposo no respira", "cardiac_arrest"),
        ("mi mamá tiene dolor en el pecho", "chest_pain"),
        ("el niño está convulsionando", "seizure"),
        ("creo que a mi abuela le dio un derrame, tiene la cara caída", "stroke"),
        ("hay un olor a gas muy fuerte en la cocina", "gas_leak"),
        ("se está incendiando la casa de al lado", "fire"),
        ("un árbol cayó sobre mi hermano y está atrapado", "entrapment"),
        ("estamos varados en el carro en la nieve", "stranded_vehicle"),
    ],
)
def test_spanish(engine: Engine, text: str, concept: str) -> None:
    """The same concepts in Spanish: the call's language is recognised and its lemmas matched."""
    result = engine.triage(text)
    assert result.language == "es"
    assert result.life_safety, result.reasons
    assert concept in result.concepts


def test_spanish_negation_and_non_emergencies(engine: Engine) -> None:
    """Spanish context words set concepts aside, and everyday Spanish requests are not transfers."""
    assert not engine.triage("no hay nadie herido, solo se cayó un árbol en la calle").life_safety
    result = engine.triage("se fue la luz en toda la cuadra desde ayer")
    assert (result.category, result.life_safety, result.language) == ("utility", False, "es")


def test_an_unsettled_medical_concept_puts_the_screen_first(engine: Engine) -> None:
    """A medical word no rule settles makes no transfer but puts the life-safety questions first."""
    screen = [question.id for question in engine.config.triage.screen]
    unsettled = engine.triage("my mother is sick and the heat is out")
    assert not unsettled.life_safety
    assert unsettled.screen_first
    assert "medical_mention" in unsettled.unsettled
    assert [question.id for question in unsettled.questions[: len(screen)]] == screen
    assert unsettled.priority == "P2"
    settled = engine.triage("the heat is out")
    assert not settled.screen_first
    assert settled.questions[0].id not in screen  # the category's own questions first


def test_gas_outdoors_asks_whether_it_is_inside(engine: Engine) -> None:
    """A gas smell outdoors is a utility call that asks first whether gas is smelled inside."""
    result = engine.triage("I smell gas out by the meter in the yard")
    assert (result.category, result.life_safety) == ("utility", False)
    assert result.questions[0].id == "gas_inside"
    assert any("set aside by gas_outdoors" in item.why for item in result.ignored)


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


def test_a_city_adds_a_term_in_its_config() -> None:
    """A term added under triage.concepts with a shipped concept's id joins that concept."""
    text = CONFIG.read_text(encoding="utf-8").replace(
        "  concepts:\n", "  concepts:\n    - {id: stroke, terms: {en: [brain attack]}}\n", 1
    )
    engine = Engine(decode_config(text))
    assert engine.triage("I think it's a brain attack").life_safety
    assert not Engine(load_config(CONFIG)).triage("I think it's a brain attack").life_safety


def test_a_rule_naming_an_unknown_concept_is_a_config_error() -> None:
    """A rule's `when` naming no concept is refused with the key and the line."""
    text = CONFIG.read_text(encoding="utf-8").replace("when: [[stroke]]", "when: [[strok]]", 1)
    with pytest.raises(
        ConfigError, match=r"surge_config.yaml:\d+: triage.rules\[\d+\].when\[0\]: 'strok' is no concept"
    ):
        decode_config(text)


def test_written_here_set_meets_the_targets(config: SurgeConfig, engine: Engine) -> None:
    """On the 358 calls written here: recall and false transfers within target, macro-F1 at least 0.85."""
    calls = load(WRITTEN_HERE)
    assert {call.category for call in calls} == {category.code for category in config.categories}
    figures = evaluate(config, calls, engine)
    assert figures["recall"] >= RECALL_TARGET, figures["missed_emergencies"]
    assert figures["false_transfer_rate"] <= FALSE_TRANSFER_TARGET, figures["false_alarms"]
    assert figures["macro_f1_non_emergency"] >= 0.85


def test_public_development_set_meets_the_recall_target(config: SurgeConfig, engine: Engine) -> None:
    """On the public development set (real call types and messages) life-safety recall meets the target."""
    figures = evaluate(config, load(PUBLIC_DEV), engine)
    assert figures["calls"] == 500
    assert figures["recall"] >= RECALL_TARGET, figures["missed_emergencies"]
    assert figures["by_language"]["es"]["recall"] >= RECALL_TARGET


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_held_out_sets_are_frozen(name: str) -> None:
    """Each held-out set is byte for byte the one labelled before it was first run."""
    assert hashlib.sha256((PUBLIC_HELDOUT.parent / name).read_bytes()).hexdigest() == FROZEN[name]


def test_agreement_counts_kappa_and_triage_on_the_calls_both_labellers_agree_on(engine: Engine) -> None:
    """Labellers agreeing on 3 of 4 calls (chance 0.5) give kappa 0.5; triage is scored on those 3."""
    calls = [
        Labelled(text="he is not breathing", category="emergency", life_safety=True),
        Labelled(text="my mother fell and hit her head", category="emergency", life_safety=True),
        Labelled(text="tree limb down on my car", category="debris", life_safety=False),
        Labelled(text="pothole on Main Street", category="general", life_safety=False),
    ]
    second = {
        text_key(call.text): SecondLabel(life_safety=call.text == "he is not breathing") for call in calls
    }
    both = agreement(calls, second, engine)
    assert (both["observed"], both["kappa"]) == (0.75, 0.5)
    assert (both["second_recall"], both["second_false"]) == (0.5, 0.0)
    assert (both["both_emergencies"], both["both_others"]) == (1, 2)
    assert (both["recall_agreed"], both["false_agreed"]) == (1.0, 0.0)


def test_second_labels_cover_every_call_of_their_set(tmp_path: Path) -> None:
    """A shipped second-labels file labels every call of its set; one missing a call is refused."""
    shipped = [path for path in SETS.values() if second_labels_of(path).exists()]
    assert shipped, "no set has second labels"
    for path in shipped:
        calls = load(path)
        assert len(load_second(second_labels_of(path), calls)) == len(calls)
    short = tmp_path / "short.json"
    short.write_text("{}")
    with pytest.raises(ValueError, match="no second label for 1 of 1"):
        load_second(short, [Labelled(text="smoke in the hall", category="emergency", life_safety=True)])


def test_the_first_held_out_set_keeps_what_tuning_on_it_gained(config: SurgeConfig, engine: Engine) -> None:
    """Seen since its first run (67.7 %), held-out 1 is development now: recall stays at least 95 %."""
    figures = evaluate(config, load(PUBLIC_HELDOUT), engine)
    assert figures["recall"] >= 0.95, [miss["text"] for miss in figures["missed_emergencies"]]


def test_the_second_held_out_set_keeps_what_tuning_on_it_gained(config: SurgeConfig, engine: Engine) -> None:
    """Seen since its one run (75.3 %, 28.5 %), held-out 2 is development now: recall ≥ 94 %, false ≤ 15 %."""
    figures = evaluate(config, load(PUBLIC_HELDOUT_2), engine)
    assert figures["recall"] >= 0.94, [miss["text"] for miss in figures["missed_emergencies"]]
    assert figures["false_transfer_rate"] <= 0.15, [alarm["text"] for alarm in figures["false_alarms"]]


def test_the_third_held_out_set_keeps_what_tuning_on_it_gained(config: SurgeConfig, engine: Engine) -> None:
    """Seen since its one run (78.7 %, 14.5 %), held-out 3 is development now: recall ≥ 90 %, false ≤ 14 %."""
    figures = evaluate(config, load(PUBLIC_HELDOUT_3), engine)
    assert figures["recall"] >= 0.90, [miss["text"] for miss in figures["missed_emergencies"]]
    assert figures["false_transfer_rate"] <= 0.14, [alarm["text"] for alarm in figures["false_alarms"]]


def test_the_fourth_held_out_set_keeps_what_tuning_on_it_gained(config: SurgeConfig, engine: Engine) -> None:
    """Seen since its one run (43.6 %, 14.2 %), held-out 4 is development now: recall ≥ 80 %, false ≤ 11 %."""
    figures = evaluate(config, load(PUBLIC_HELDOUT_4), engine)
    assert figures["recall"] >= 0.80, [miss["text"] for miss in figures["missed_emergencies"]]
    assert figures["false_transfer_rate"] <= 0.11, [alarm["text"] for alarm in figures["false_alarms"]]


def test_the_fifth_held_out_set_keeps_what_tuning_on_it_gained(config: SurgeConfig, engine: Engine) -> None:
    """Seen since its one run (56.3 %, 12.2 %), held-out 5 is development now: recall ≥ 60 %, false ≤ 13 %."""
    figures = evaluate(config, load(PUBLIC_HELDOUT_5), engine)
    assert figures["recall"] >= 0.60, [miss["text"] for miss in figures["missed_emergencies"]]
    assert figures["false_transfer_rate"] <= 0.13, [alarm["text"] for alarm in figures["false_alarms"]]


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("we are trapped on the second floor, please come get us", True),
        ("two people trapped who haven't been rescued yet", True),
        ("twenty people were rescued from the flood last night", False),
        ("por favor vengan a rescatarnos, el agua sigue subiendo", True),
        ("hay personas atrapadas que no han sido rescatadas", True),
        ("lograron rescatar a los abuelitos atrapados", False),
        ("los bomberos ya han sacado a mis padres del coche", False),
    ],
)
def test_a_plea_to_be_rescued_is_not_a_rescue_told(engine: Engine, text: str, flagged: bool) -> None:
    """'Rescue us' is entrapment; 'were rescued' is over (sharing a lemma, pleas match as written)."""
    assert engine.triage(text).life_safety is flagged, engine.triage(text).reasons


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("Extinguished fire", False),
        ("the fire was extinguished, just smoke smell left", False),
        ("Trouble Alarm", False),
        ("Door Alarm", False),
        ("PORTE ILEGAL DE ARMA DE FUEGO", False),
        ("¡Fuego, fuego, fuego aquí detrás de mí!", True),
        ("¡La va a matar!", True),
        ("My husband is dead!", True),
        ("the battery is dead and the phone is dead", False),
        ("nos estamos inundando, ya se nos está metiendo el agua", True),
        ("Apenas respira", True),
        ("Electrical Emergency", True),
        ("Sinking vehicle", True),
    ],
)
def test_round_four_wordings(engine: Engine, text: str, flagged: bool) -> None:
    """Round 4 (tuned on held-out 3): the set's missed kinds of wording, and their look-alikes."""
    assert engine.triage(text).life_safety is flagged, engine.triage(text).reasons


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("PARO CARDIO-RESPIRATORIO", "cardiac_arrest"),
        ("EVENTO CEREBRO-VASCULAR", "stroke"),
        ("POLI TRAUMATIZADO", "injury"),
        ("BRONCO ESPASMO", "breathing"),
        ("E.P.O.C.", "breathing"),
    ],
)
def test_split_compounds_and_dotted_acronyms_are_one_word(engine: Engine, text: str, concept: str) -> None:
    """A hyphen, a space after a prefix, or dots between capitals do not hide the word they split."""
    result = engine.triage(text)
    assert concept in result.concepts, result.reasons


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("There is water everywhere, we cannot move. We are upstairs and the water is rising.", True),
        ("Estamos arriba del techo, el agua sigue subiendo", True),
        ("families stuck on the roof, flood waters rising", True),
        ("my basement is flooded again", False),
        ("the street flooded and my car is stuck", False),
        ("basement flooded, I moved everything upstairs", False),
        ("flooding on the 2nd floor bathroom from a burst pipe", False),
        ("se inundó la calle, estamos aislados pero bien", False),
        ("we're stuck at home for hours, the car won't start", False),
        ("I'm stuck at work, my car is in the lot, been here since this morning", False),
        ("estamos atascados en el tráfico", False),
        ("my mom is in the ICU at the hospital, and our power is out", False),
        ("we have been stuck on the thruway for 10 hours, running out of gas", True),
        ("stuck in traffic on the thruway", False),
    ],
)
def test_a_situation_told_in_parts(engine: Engine, text: str, flagged: bool) -> None:
    """Floodwater with people cut off or up high, or hours stuck on a road, is an emergency; a part is not."""
    assert engine.triage(text).life_safety is flagged, engine.triage(text).reasons


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("300 persons rescued from the flood", False),
        ("582 families at the school, no food yet", False),
        ("415 FAMILY", True),
        ("My power keep goin in and out", False),
        ("he's in and out, can barely keep his eyes open", True),
        ("CAIDA DE ARBOL", False),
        ("they rescued my neighbor and my husband is bleeding badly", True),
        ("lograron rescatar a mi hijo y mi esposo está inconsciente", True),
        ("mi papá está sofocado", True),
        ("Nothing since 8 a.m. Smoke coming from the outlet", True),
        ("hay gente gritando en la calle, es una fiesta", False),
    ],
)
def test_round_five_look_alikes(engine: Engine, text: str, flagged: bool) -> None:
    """Round 5 (tuned on held-out 4): a rescue told as done, a count read as a code, power flickering."""
    assert engine.triage(text).life_safety is flagged, engine.triage(text).reasons


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("he shot me, I'm in the kitchen", True),
        ("someone shot me", True),
        ("hot prowl, they're in the house now", True),
        ("we hit a gas line while digging and it's hissing", True),
        ("the baby's head is out, what do I do", True),
        ("se ve la cabeza del bebé", True),
        ("tenemos el agua hasta el pecho", True),
        ("mi hijo fue atacado por un perro", True),
        ("my kids are burning up with fever", True),  # a sick child, not a fire
        ("my baby is out of formula", False),
        ("the streetlight head is out on the pole at 5th and Main", False),
        ("my baby's head cold is worse, is the clinic open", False),
        ("ya salió el bebé del hospital, necesitamos fórmula", False),
        ("the officer down the street told me to call 311", False),
        ("they shot me a text saying power is back", False),
        ("it's burning up in here, the AC is out since the storm", False),
        ("my neighbor's house burning trash in the yard again", False),
        ("my car is buried in mud after the flood, need a tow", False),
        ("el árbol se le vino encima a mi carro", False),
        ("mi gato se cayó en un pozo", False),
        ("el cable de luz quedó agarrado a un árbol", False),
        ("abandoned baby stroller on the sidewalk", False),
        ("dangerous dog, worried about a dog attack, animal control please", False),
        ("la manifestación violenta de ayer dejó grafitis en la plaza", False),
        ("the contractor hit gas service yesterday, gas company fixed it, now the sidewalk is broken", False),
        ("la toma de gas rota ya la arreglaron pero dejaron el bache", False),
        ("the water just broke through the basement wall", False),
        ("me está entrando agua en casa por el techo, gotea", False),
        ("the plane crash on the news", False),
    ],
)
def test_round_six_wordings(engine: Engine, text: str, flagged: bool) -> None:
    """Round 6 (tuned on held-out 5): first-hand shootings, a struck gas line, a birth; not look-alikes."""
    assert engine.triage(text).life_safety is flagged, engine.triage(text).reasons


def test_a_fever_told_as_burning_up_is_a_sick_person_not_a_fire(engine: Engine) -> None:
    """A child "burning up with fever" is a sick person: the fire concept the words overlap is hidden."""
    reasons = engine.triage("my kids are burning up with fever").reasons
    assert [reason.rule for reason in reasons] == ["sick_person"]


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
        _ENGINES.append(Engine(load_config(CONFIG)))
    return _ENGINES[0]


async def test_triage_endpoint_files_nothing(client: Client) -> None:
    """POST /triage answers with the decision and stores no incident."""
    response = await client.post("/api/v1/triage", json={"text": "she isnt breathing", "answers": {}})
    body = await response.get_json()
    assert response.status_code == 200
    assert (body["category"], body["priority"], body["life_safety"]) == ("emergency", "P1", True)
    assert body["reasons"][0]["rule"] == "cardiac_arrest"
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
