"""Triage: what the caller said, and the answers to the key questions, sorted.

The result: a category, a priority, a life-safety flag (a 911 transfer), the reasons, the questions
still worth asking, and the agencies to refer to.

How: the call's words are matched against the vocabulary's concepts (whole words, lemmatised,
misspellings corrected, names of streets and places set aside: `words.py`); each concept found is
read in its context (ConText: negated, historical, hypothetical, not present, resolved, possible or
minor: `context.py`); the rules of `surge_config.yaml` then decide. Every decision comes with the
rule and the words that made it, and every mention that did not count says why. A medical or
danger concept that no rule settles puts the life-safety screen questions first.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from incident.config import AnswerValue, Concept, Priority, Question, SurgeConfig, Trigger, vocabulary
from incident.records import AskNext, Ignored, Reason, TriageResult
from incident.triage.context import Hit, Reading, read
from incident.triage.model import Model, features, logit, shipped_model, weighed_words
from incident.triage.shorthand import Shorthand
from incident.triage.words import TOKEN, WORD, Places, Speller, Text, analyse, fold, term_keys, word

_AGE = re.compile(r"\b(\d{2,3})\s*(?:-|\s)?(?:years?|yrs?|y/?o)(?:\s*-?\s*old)?\b|\bage(?:d)?\s+(\d{2,3})\b")
_DURATION = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|a|an)\s*(?:\+\s*)?(hours?|hrs?|days?|nights?)\b"
)
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10, "twelve": 12, "a": 1, "an": 1}  # fmt: skip
_DIGIT = re.compile(r"\d")
_ORDER = list(Priority)
_RANK = {priority: rank for rank, priority in enumerate(_ORDER)}
_LANGS = {"en": 0, "es": 1}
FRAME_SUFFIX = "_frame"  # a concept whose id ends so is a frame (see Engine.frames)


class _Entry(NamedTuple):
    concept: int  # index into Engine.concepts, or -1 for a trigger
    trigger: int  # index into Engine.triggers, or -1 for a concept
    upper_only: bool  # an abbreviation: only when written in capitals


class _Node(dict[str, "_Node"]):
    """A trie node: each next word leads to a node; `entries` are the phrases that end here."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[_Entry] = []


class Engine:
    """The rules of one config and its vocabulary, compiled. Build once; `triage` is pure."""

    def __init__(self, config: SurgeConfig, model: Model | None = None) -> None:
        triage = config.triage
        self.config = config
        self.model = shipped_model() if model is None else model
        self.rules = triage.rules
        self.factors = triage.vulnerability
        self.categories = {category.code: category for category in config.categories}
        words = vocabulary(triage)
        self.concepts: list[Concept] = words.concepts
        self.triggers: list[Trigger] = words.context
        self.concept_index = {concept.id: index for index, concept in enumerate(self.concepts)}
        self.concept_ids = [concept.id for concept in self.concepts]
        self.concept_names = {concept.id: concept.name or concept.id for concept in self.concepts}
        self.hides = {
            index: frozenset(self.concept_index[code] for code in concept.hides)
            for index, concept in enumerate(self.concepts)
            if concept.hides
        }
        self.danger = frozenset(index for index, concept in enumerate(self.concepts) if concept.danger)
        # Frames ("report_frame": a count of the dead, condolences) set aside what they hide in the whole
        # text, not only where their words overlap; a frame another frame found hides does not apply.
        self.frames = {
            index: frozenset(self.concept_index[code] for code in concept.hides)
            for index, concept in enumerate(self.concepts)
            if concept.id.endswith(FRAME_SUFFIX)
        }
        self.lemmas = _Node()  # phrases by their lemmas
        self.surfaces = _Node()  # phrases by their words as written
        spelled: list[tuple[str, int]] = []
        for index, concept in enumerate(self.concepts):
            for lang_name, phrases in concept.terms.items():
                lang = _LANGS[lang_name]
                for phrase in phrases:
                    self._add(self.lemmas, term_keys(phrase, lang, exact=False), _Entry(index, -1, False))
                    spelled += [(key, lang) for key in term_keys(phrase, lang, exact=True)]
            for lang_name, phrases in concept.exact.items():
                for phrase in phrases:
                    self._add(
                        self.surfaces,
                        term_keys(phrase, _LANGS[lang_name], exact=True),
                        _Entry(index, -1, False),
                    )
            for abbreviation in concept.abbreviations:
                self._add(self.surfaces, (fold(abbreviation),), _Entry(index, -1, True))
        for index, trigger in enumerate(self.triggers):
            for lang_name, phrases in trigger.terms.items():
                for phrase in phrases:
                    # Triggers are function words, matched as written: a lemma would read "was" as "be".
                    self._add(
                        self.surfaces,
                        term_keys(phrase, _LANGS[lang_name], exact=True),
                        _Entry(-1, index, False),
                    )
        self.speller = Speller(spelled)
        self.shorthand = Shorthand(
            (term_keys(phrase, _LANGS[lang_name], exact=True), index)
            for index, concept in enumerate(self.concepts)
            if concept.danger
            for field in (concept.terms, concept.exact)
            for lang_name, phrases in field.items()
            for phrase in phrases
        )
        self.streets: frozenset[str] = frozenset()
        self.places: Places = {}
        self.when = [
            [frozenset(self.concept_index[code] for code in group) for group in rule.when]
            for rule in self.rules
        ]
        self.without = [frozenset(self.concept_index[code] for code in rule.without) for rule in self.rules]
        self.rule_index = {rule.id: index for index, rule in enumerate(self.rules)}
        self.answered_by: dict[str, set[int]] = defaultdict(set)  # question → rules it can fire
        self.by_concept: dict[int, set[int]] = defaultdict(set)  # concept → rules it can fire
        for index, rule in enumerate(self.rules):
            for question in rule.answers:
                self.answered_by[question].add(index)
            for group in self.when[index]:
                for member in group:
                    self.by_concept[member].add(index)
        self.factor_concepts = [
            frozenset(self.concept_index[code] for code in factor.concepts) for factor in self.factors
        ]
        self.any_factor = frozenset().union(*self.factor_concepts)
        self.by_age = any(factor.age_at_least is not None for factor in self.factors)
        self.questions_by_id = {q.id: q for q in triage.screen} | {
            q.id: q for category in config.categories for q in category.questions
        }
        self.cold = triage.cold
        self.limits = sorted(triage.cold.limits, key=lambda limit: limit.at_or_below_f)

    @staticmethod
    def _add(trie: _Node, keys: tuple[str, ...], entry: _Entry) -> None:
        if not keys or not all(keys):
            return
        node = trie
        for key in keys:
            node = node.setdefault(key, _Node())
        node.entries.append(entry)

    def learn_names(self, streets: Iterable[str], places: Iterable[str]) -> None:
        """Street names and place names the gazetteer knows: never read as what happened."""
        self.streets = frozenset(fold(street) for street in streets)
        names: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        for place in places:
            keys = tuple(word(token).surface for token in TOKEN.findall(place) if word(token).kind == WORD)
            if len(keys) >= 2:
                names[keys[0]].add(keys)
        self.places = {first: sorted(found, key=len, reverse=True) for first, found in names.items()}

    def triage(self, text: str, answers: Mapping[str, AnswerValue] | None = None) -> TriageResult:
        """Triage one call. `answers` maps question ids to what the caller answered."""
        given = {key: _normal(value) for key, value in (answers or {}).items()}
        words, readings = self._read(text)
        return self._decide(text.lower(), words, given, readings)

    def features(self, text: str) -> set[str]:
        """What the learnt model reads in a call (`model.py`); `learn.py` learns from the same."""
        return features(*self._read(text), self.concept_ids)

    def _read(self, text: str) -> tuple[Text, list[Reading]]:
        words = analyse(text, self.speller, self.streets, self.places)
        concept_hits, trigger_hits = self._hits(words)
        readings = read(concept_hits, trigger_hits, self.triggers, words)
        if self.frames and concept_hits:
            readings = self._framed(readings, words)
        return words, readings

    def _hits(self, words: Text) -> tuple[list[Hit], list[Hit]]:
        """Every phrase of the vocabulary found, concepts and triggers apart, overlaps resolved."""
        found: set[Hit] = set()
        upper = words.upper
        for trie, keys in ((self.lemmas, words.keys), (self.surfaces, words.surfaces)):
            count = len(keys)
            get = trie.get
            for start in range(count):
                node = get(keys[start])
                end = start + 1
                while node is not None:
                    for entry in node.entries:
                        if not entry.upper_only or all(upper[start:end]):
                            found.add(Hit(start, end, entry.concept, entry.trigger))
                    if end >= count:
                        break
                    node = node.get(keys[end])
                    end += 1
        if any(words.unknown):
            found.update(
                Hit(item.start, item.end, item.concept, -1)
                for item in self.shorthand.find(words.surfaces, words.unknown)
            )
        if not found:
            return [], []
        concepts = sorted(hit for hit in found if hit.concept >= 0)
        triggers = sorted(hit for hit in found if hit.trigger >= 0)
        if len(found) == 1:
            return concepts, triggers
        # One concept, one longest mention of each place; a concept's words overlapping another's that
        # hides it ("fire hydrant") do not count; a trigger inside a longer concept's words is part of
        # them ("not breathing"); a concept inside a longer trigger is the trigger's ("no fire now").
        hides = self.hides
        kept = []
        for hit in concepts:
            for other in concepts:
                if other is hit:
                    continue
                inside = other.start <= hit.start and hit.end <= other.end
                if inside and other.concept == hit.concept and other.end - other.start > hit.end - hit.start:
                    break
                # Overlap is enough to hide: "fell asleep" hides the fall in "she fell asleep".
                if (
                    other.start < hit.end
                    and hit.start < other.end
                    and hit.concept in hides.get(other.concept, ())
                ):
                    break
            else:
                kept.append(hit)
        concepts = kept
        kept = []
        for hit in triggers:
            length = hit.end - hit.start
            if not any(
                other.start <= hit.start and hit.end <= other.end and other.end - other.start > length
                for other in (*concepts, *triggers)
            ):
                kept.append(hit)
        triggers = kept
        if triggers:
            concepts = [
                hit
                for hit in concepts
                if not any(
                    other.start <= hit.start
                    and hit.end <= other.end
                    and other.end - other.start > hit.end - hit.start
                    for other in triggers
                )
            ]
        return concepts, triggers

    def _framed(self, readings: list[Reading], words: Text) -> list[Reading]:
        """Readings with what a frame found in the text hides set aside, and why."""
        frames = self.frames
        # A frame is how the text as a whole is told: hearsay or a conditional ("habría una decena de
        # muertos") does not undo it; only a negation ("no deaths reported") does.
        found = {
            reading.hit.concept: reading
            for reading in readings
            if reading.hit.concept in frames and reading.category != "negated"
        }
        if not found:
            return readings
        hidden: dict[int, str] = {}
        for frame, reading in found.items():
            if any(frame in frames[other] for other in found if other != frame):
                continue
            said = " ".join(words.written[reading.hit.start : reading.hit.end])
            for concept in frames[frame]:
                hidden.setdefault(concept, f"a report, not a call ({said!r})")
        if not hidden:
            return readings
        return [
            Reading(reading.hit, counts=False, minor=False, why=hidden[reading.hit.concept])
            if reading.counts and reading.hit.concept in hidden
            else reading
            for reading in readings
        ]

    def _decide(
        self, lowered: str, words: Text, given: dict[str, str], readings: list[Reading]
    ) -> TriageResult:
        said: dict[int, list[str]] = defaultdict(list)  # concept → the caller's words for it
        counted: set[int] = set()  # concepts found and counted in full
        found: set[int] = set()  # … or counted as minor
        ignored: list[Ignored] = []
        written = words.written
        for reading in readings:
            hit = reading.hit
            phrase = " ".join(written[hit.start : hit.end])
            if reading.counts:
                said[hit.concept].append(phrase)
                found.add(hit.concept)
                if not reading.minor:
                    counted.add(hit.concept)
            else:
                ignored.append(Ignored(words=phrase, why=reading.why))
        vulnerable, reasons = self._vulnerable(lowered, given, found, said)
        candidates: set[int] = set()
        for concept in found:
            candidates |= self.by_concept.get(concept, set())
        for question in given:
            candidates |= self.answered_by.get(question, set())
        fired: list[int] = []
        by_answers: set[int] = set()
        for index in sorted(candidates):
            rule = self.rules[index]
            usable = counted if rule.life_safety else found
            if rule.answers and all(_meets(given.get(q), v) for q, v in rule.answers.items()):
                by_answers.add(index)
            elif not (
                rule.when
                and all(not usable.isdisjoint(group) for group in self.when[index])
                and self.without[index].isdisjoint(found)
                and (vulnerable or not rule.vulnerable)
            ):
                continue
            fired.append(index)
        overridden = {
            self.rule_index[code]: self.rules[index].id
            for index in fired
            for code in self.rules[index].overrides
        }
        for index in fired:
            if index in overridden:
                ignored.append(Ignored(words=self.rules[index].id, why=f"set aside by {overridden[index]}"))
        fired = [index for index in fired if index not in overridden]

        life_safety = False
        refer: list[str] = []
        ask_first: list[str] = []
        ranked: list[tuple[int, int, str]] = []  # (priority rank, rule index, category)
        leading: tuple[int, int, str] | None = None
        decided: list[Reason] = []
        for index in fired:
            rule = self.rules[index]
            life_safety |= rule.life_safety
            rank = _RANK[rule.priority]
            ranked.append((rank, index, rule.category))
            ranked += [(rank, index, code) for code in rule.also]
            if rule.primary and leading is None:
                leading = (rank, index, rule.category)
            refer += rule.refer
            ask_first += rule.ask_first
            effect = f"{rule.category} {rule.priority}" + (
                ", life safety: transfer to 911" if rule.life_safety else ""
            )
            decided.append(
                Reason(
                    rule=rule.id,
                    category=rule.category,
                    words=_unique(
                        [
                            phrase
                            for group in self.when[index]
                            for c in sorted(group)
                            for phrase in said.get(c, ())
                        ]
                    ),
                    answer=", ".join(f"{q}={given[q]}" for q in rule.answers if q in given)
                    if index in by_answers
                    else None,
                    effect=effect,
                )
            )
        ranked.sort()
        if life_safety:
            category, priority = "emergency", Priority.P1
        elif leading is not None:
            # A question about something ("who pays for the tree on my fence") is not a report of it.
            category, priority = leading[2], _ORDER[leading[0]]
        elif ranked:
            category, priority = ranked[0][2], _ORDER[ranked[0][0]]
        else:
            category = self.config.intake.default_category
            priority = self.categories[category].default_priority
            decided.append(
                Reason(rule="default", category=category, effect=f"{category} {priority}: no rule matched")
            )
        categories = _unique([category, *(code for _, _, code in ranked)])
        danger = sorted(found & self.danger) if not life_safety else []
        learnt = False
        if danger:
            lifted = _RANK[priority] > _RANK[Priority.P2]
            decided.append(
                Reason(
                    rule="unsettled",
                    category=category,
                    words=_unique([phrase for c in danger for phrase in said[c]]),
                    effect=(f"raises {priority} to P2: " if lifted else "")
                    + "ask the life-safety questions first",
                )
            )
            priority = Priority.P2 if lifted else priority
        elif not life_safety and self.model.weights:
            weighed = features(words, readings, self.concept_ids)
            learnt = logit(self.model, weighed) >= self.model.threshold
            if learnt:
                # Only the order of the questions: a model right about one call in eight it asks about
                # must not move the others up the queue (the rules' priority stands).
                decided.append(
                    Reason(
                        rule="learnt",
                        category=category,
                        words=weighed_words(self.model, weighed, self.concept_names),
                        effect="words like earlier life-safety calls: ask the life-safety questions first",
                    )
                )
        reasons = decided + reasons
        cold = self._cold(lowered, given, fired, reasons)
        steps = (1 if vulnerable else 0) + (1 if len(vulnerable) >= 2 or cold else 0)
        if steps and not life_safety and self.categories[category].vulnerability_raises:
            raised = _ORDER[max(0, _RANK[priority] - steps)]
            if raised != priority:
                reasons.append(
                    Reason(rule="vulnerability", category=category, effect=f"raises {priority} to {raised}")
                )
                priority = raised
        for code in categories:
            refer += self.categories[code].refer
        return TriageResult(
            category=category,
            categories=categories,
            priority=priority,
            life_safety=life_safety,
            reasons=reasons,
            ignored=_unique(ignored),
            vulnerable=vulnerable + (["cold_exposure"] if cold else []),
            questions=list(
                self._questions(
                    tuple(categories), frozenset(given), life_safety, bool(danger or learnt), tuple(ask_first)
                )
            ),
            refer=_unique(refer),
            concepts=[self.concepts[c].id for c in sorted(counted)],
            unsettled=[self.concepts[c].id for c in danger],
            screen_first=bool(danger or learnt),
            language=words.lang,
        )

    def _vulnerable(
        self, text: str, given: dict[str, str], found: set[int], said: dict[int, list[str]]
    ) -> tuple[list[str], list[Reason]]:
        """The vulnerability factors a call shows, by its words, the answers or an age said."""
        age = _age(text, given) if self.by_age else None
        out: list[str] = []
        reasons: list[Reason] = []
        if age is None and not given and self.any_factor.isdisjoint(found):
            return out, reasons
        for index, factor in enumerate(self.factors):
            concepts = sorted(self.factor_concepts[index] & found)
            by_answer = bool(given and factor.answers) and all(
                _meets(given.get(q), v) for q, v in factor.answers.items()
            )
            by_age = age is not None and factor.age_at_least is not None and age >= factor.age_at_least
            if concepts or by_answer or by_age:
                out.append(factor.id)
                reasons.append(
                    Reason(
                        rule=f"vulnerable:{factor.id}",
                        words=_unique([phrase for c in concepts for phrase in said[c]])
                        + ([f"age {age}"] if by_age else []),
                        answer=", ".join(f"{q}={given[q]}" for q in factor.answers if q in given)
                        if by_answer
                        else None,
                        effect="a vulnerable person",
                    )
                )
        return out, reasons

    def _cold(self, text: str, given: dict[str, str], fired: list[int], reasons: list[Reason]) -> bool:
        """Hours without heat past the limit for the outdoor temperature."""
        if (
            not any(self.rules[index].id == "no_heat" for index in fired)
            and self.cold.hours_question not in given
        ):
            return False
        hours = _number(given.get(self.cold.hours_question))
        if hours is None:
            hours = _hours_said(text)
        if hours is None:
            return False
        temperature = _number(given.get(self.cold.temperature_question))
        temperature = self.cold.default_outdoor_temp_f if temperature is None else temperature
        for limit in self.limits:
            if temperature <= limit.at_or_below_f:
                if hours >= limit.hours:
                    reasons.append(
                        Reason(
                            rule="cold_exposure",
                            words=[f"{hours:g} h without heat at {temperature:g} °F"],
                            effect=f"past {limit.hours:g} h at or below {limit.at_or_below_f:g} °F",
                        )
                    )
                    return True
                return False
        return False

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one engine per config; the cache dies with it
    def _questions(
        self,
        categories: tuple[str, ...],
        given: frozenset[str],
        life_safety: bool,
        screen_first: bool,
        ask_first: tuple[str, ...],
    ) -> tuple[AskNext, ...]:
        """The questions still worth asking, in the order to ask them."""
        screen: list[Question] = [] if life_safety else list(self.config.triage.screen)
        of_category = [question for code in categories for question in self.categories[code].questions]
        first = [self.questions_by_id[code] for code in ask_first]
        wanted = first + (screen + of_category if screen_first else of_category + screen)
        seen: set[str] = set()
        out = []
        for question in wanted:
            if question.id not in given and question.id not in seen:
                seen.add(question.id)
                out.append(AskNext(id=question.id, ask=question.ask, kind=question.kind))
        return tuple(out)


def _normal(value: AnswerValue) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().lower()
    return {"y": "yes", "true": "yes", "n": "no", "false": "no"}.get(text, text)


def _meets(answer: str | None, wanted: AnswerValue) -> bool:
    """An answer meets a rule's value: the same yes/no or text; for numbers, at least that much."""
    if answer is None:
        return False
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        number = _number(answer)
        return number is not None and number >= wanted
    return answer == _normal(wanted)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _age(text: str, given: dict[str, str]) -> int | None:
    stated = _number(given.get("age"))
    if stated is not None:
        return int(stated)
    # Every age _AGE reads has a digit, and a "y" (years, yrs, y/o) or "age" by it: cheap tests first.
    match = _AGE.search(text) if ("y" in text or "age" in text) and _DIGIT.search(text) else None
    if match:
        return int(match.group(1) or match.group(2))
    return None


def _hours_said(text: str) -> float | None:
    if "since yesterday" in text or "since last night" in text:
        return 12.0
    best = None
    for amount, unit in _DURATION.findall(text):
        value = float(_NUMBERS.get(amount, amount) if not amount.isdigit() else amount)
        hours = value * (24 if unit.startswith(("day", "night")) else 1)
        best = hours if best is None else max(best, hours)
    return best


def _unique(items: list[Ignored] | list[str]) -> list:  # type: ignore[type-arg]
    seen: list = []  # type: ignore[type-arg]
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
