"""Triage: what the caller said, and the answers to the key questions, sorted.

The result: a category, a priority, a life-safety flag (a 911 transfer), the reasons, the questions
still worth asking, and the agencies to refer to.

Deterministic and explainable: every rule is in `surge_config.yaml`; every decision comes with the
rule, the words and the answer that made it, and every mention that did not count says why (negated:
"not sparking"; over: "was bleeding earlier, fine now"; or an `unless` phrase). Matching is done on
words, with each phrase looked up in one dictionary, so a triage costs tens of microseconds.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import NamedTuple

import msgspec

from incident.config import AnswerValue, Priority, Question, SurgeConfig

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.;!?,\n]")
_BREAKS = frozenset(".;!?,\n")
_AGE = re.compile(r"\b(\d{2,3})\s*(?:-|\s)?(?:years?|yrs?|y/?o)(?:\s*-?\s*old)?\b|\bage(?:d)?\s+(\d{2,3})\b")
_DURATION = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|a|an)\s*(?:\+\s*)?(hours?|hrs?|days?|nights?)\b"
)
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10, "twelve": 12, "a": 1, "an": 1}  # fmt: skip
_ORDER = list(Priority)
_RANK = {priority: rank for rank, priority in enumerate(_ORDER)}


class Reason(msgspec.Struct, kw_only=True):
    """Why the result is what it is: one rule, factor or answer that counted."""

    rule: str
    category: str | None = None
    words: list[str] = []
    answer: str | None = None
    effect: str  # what it did: "emergency P1, life safety", "raises priority", …


class Ignored(msgspec.Struct, kw_only=True):
    """A mention that did not count, and why."""

    words: str
    why: str


class AskNext(msgspec.Struct, kw_only=True):
    id: str
    ask: str
    kind: str


class TriageResult(msgspec.Struct, kw_only=True):
    category: str
    categories: list[str]
    priority: Priority
    life_safety: bool
    reasons: list[Reason]
    ignored: list[Ignored] = []
    vulnerable: list[str] = []
    questions: list[AskNext] = []
    refer: list[str] = []


class _Entry(NamedTuple):
    kind: str  # "rule", "unless", "negator", "past", "resolved", "factor"
    item: int = 0  # which rule or factor
    group: int = 0


class _Hit(NamedTuple):  # a tuple: made tens of times per triage, so it must be cheap
    start: int
    end: int  # exclusive
    clause: int
    phrase: str
    entry: _Entry


class Engine:
    """The rules of one config, compiled. Build once; `triage` is pure and thread-safe."""

    def __init__(self, config: SurgeConfig) -> None:
        triage = config.triage
        self.config = config
        self.rules = triage.rules
        self.factors = triage.vulnerability
        self.window = triage.negation_window
        self.categories = {category.code: category for category in config.categories}
        self.index: dict[str, list[_Entry]] = defaultdict(list)
        for index, rule in enumerate(self.rules):
            for group, phrases in enumerate(rule.when):
                for phrase in phrases:
                    self._add(phrase, _Entry("rule", index, group))
            for phrase in rule.unless:
                self._add(phrase, _Entry("unless", index))
        for index, factor in enumerate(self.factors):
            for phrase in factor.words:
                self._add(phrase, _Entry("factor", index))
        for kind, phrases in (
            ("negator", triage.negators),
            ("past", triage.past_markers),
            ("resolved", triage.resolved_markers),
        ):
            for phrase in phrases:
                self._add(phrase, _Entry(kind))
        self.longest = max((len(key.split()) for key in self.index), default=1)
        # Every phrase's word-prefixes: the scan stops extending as soon as no phrase can continue.
        self.prefixes = {
            " ".join(key.split()[:n]) for key in self.index for n in range(1, len(key.split()) + 1)
        }
        self.answered_by: dict[str, set[int]] = defaultdict(set)  # question → rules it can fire
        for index, rule in enumerate(self.rules):
            for question in rule.answers:
                self.answered_by[question].add(index)
        self.cold = triage.cold
        self.limits = sorted(triage.cold.limits, key=lambda limit: limit.at_or_below_f)

    def _add(self, phrase: str, entry: _Entry) -> None:
        key = " ".join(token for token in _tokens(phrase.lower()) if token not in _BREAKS)
        if key:
            self.index[key].append(entry)

    def triage(self, text: str, answers: Mapping[str, AnswerValue] | None = None) -> TriageResult:
        """Triage one call. `answers` maps question ids to what the caller answered."""
        given = {key: _normal(value) for key, value in (answers or {}).items()}
        lowered = text.lower().replace("\u2019", "'")
        words, written, clauses = _split(lowered)
        hits = self._hits(words, written, clauses)
        negations = [hit for hit in hits if hit.entry.kind == "negator"]
        over = self._over_clauses(hits)
        unless: dict[int, set[int]] = defaultdict(set)
        for hit in hits:
            if hit.entry.kind == "unless":
                unless[hit.entry.item].add(hit.clause)
        ignored: list[Ignored] = []
        matched: dict[tuple[int, int], list[str]] = defaultdict(list)  # (rule, group) → phrases
        factor_words: dict[int, list[str]] = defaultdict(list)
        for hit in hits:
            if hit.entry.kind not in ("rule", "factor"):
                continue
            why = self._cancelled(hit, negations, over, unless)
            if why:
                if hit.entry.kind == "rule":
                    ignored.append(Ignored(words=hit.phrase, why=why))
                continue
            if hit.entry.kind == "rule":
                matched[(hit.entry.item, hit.entry.group)].append(hit.phrase)
            else:
                factor_words[hit.entry.item].append(hit.phrase)
        return self._decide(lowered, given, matched, factor_words, _unique(ignored))

    def _hits(self, words: list[str], written: list[str], clauses: list[int]) -> list[_Hit]:
        hits = []
        index, prefixes = self.index, self.prefixes
        count = len(words)
        for start in range(count):
            key = words[start]
            clause = clauses[start]
            for end in range(start + 1, min(count, start + self.longest) + 1):
                if end > start + 1:
                    if clauses[end - 1] != clause:
                        break
                    key = f"{key} {words[end - 1]}"
                if key not in prefixes:
                    break
                entries = index.get(key)
                if entries:
                    said = " ".join(written[start:end])  # reasons quote the caller, not the stems
                    for entry in entries:
                        hits.append(_Hit(start, end, clause, said, entry))
        return hits

    def _over_clauses(self, hits: list[_Hit]) -> set[int]:
        """Clauses in the past whose trouble is over: a past marker, and "fine now" there or just after."""
        past = {hit.clause for hit in hits if hit.entry.kind == "past"}
        resolved = {hit.clause for hit in hits if hit.entry.kind == "resolved"}
        return {clause for clause in past if clause in resolved or clause + 1 in resolved}

    def _cancelled(
        self, hit: _Hit, negations: list[_Hit], over: set[int], unless: dict[int, set[int]]
    ) -> str:
        for negation in negations:
            if negation.clause == hit.clause and hit.start - self.window <= negation.end - 1 < hit.start:
                return f"negated by {negation.phrase!r}"
        if hit.clause in over:
            return "in the past, and over now"
        if hit.entry.kind == "rule" and hit.clause in unless.get(hit.entry.item, ()):
            return f"does not count here ({self.rules[hit.entry.item].id}: unless)"
        return ""

    def _decide(
        self,
        text: str,
        given: dict[str, str],
        matched: dict[tuple[int, int], list[str]],
        factor_words: dict[int, list[str]],
        ignored: list[Ignored],
    ) -> TriageResult:
        reasons: list[Reason] = []
        fired: list[tuple[int, Priority, str]] = []  # (rule index, priority, category)
        life_safety = False
        refer: list[str] = []
        # Only rules with a phrase found or a question answered can fire: look at those alone.
        candidates = {index for index, _ in matched}
        for question in given:
            candidates |= self.answered_by.get(question, set())
        for index in sorted(candidates):
            rule = self.rules[index]
            by_words = bool(rule.when) and all((index, group) in matched for group in range(len(rule.when)))
            by_answer = bool(rule.answers) and all(_meets(given.get(q), v) for q, v in rule.answers.items())
            if not (by_words or by_answer):
                continue
            fired.append((index, rule.priority, rule.category))
            fired += [(index, rule.priority, code) for code in rule.also]
            life_safety |= rule.life_safety
            refer += rule.refer
            words = [phrase for group in range(len(rule.when)) for phrase in matched.get((index, group), [])]
            answer = ", ".join(f"{q}={given[q]}" for q in rule.answers if q in given) if by_answer else None
            effect = f"{rule.category} {rule.priority}" + (
                ", life safety: transfer to 911" if rule.life_safety else ""
            )
            reasons.append(
                Reason(rule=rule.id, category=rule.category, words=words, answer=answer, effect=effect)
            )

        leading = [item for item in fired if self.rules[item[0]].primary]
        if life_safety:
            category, priority = "emergency", Priority.P1
        elif leading:
            # A question about something ("who pays for the tree on my fence") is not a report of it.
            _, priority, category = leading[0]
        elif fired:
            _, priority, category = min(fired, key=lambda item: (_RANK[item[1]], item[0]))
        else:
            category = self.config.intake.default_category
            priority = self.categories[category].default_priority
            reasons.append(
                Reason(rule="default", category=category, effect=f"{category} {priority}: no rule matched")
            )
        categories = _unique(
            [category, *(c for _, _, c in sorted(fired, key=lambda item: (_RANK[item[1]], item[0])))]
        )

        vulnerable = self._vulnerable(text, given, factor_words, reasons)
        cold = self._cold(text, given, fired, reasons)
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
            ignored=ignored,
            vulnerable=vulnerable + (["cold_exposure"] if cold else []),
            questions=list(self._questions(tuple(categories), frozenset(given), life_safety)),
            refer=_unique(refer),
        )

    def _vulnerable(
        self, text: str, given: dict[str, str], factor_words: dict[int, list[str]], reasons: list[Reason]
    ) -> list[str]:
        found = []
        age = _age(text, given)
        for index, factor in enumerate(self.factors):
            words = factor_words.get(index, [])
            by_answer = bool(factor.answers) and all(
                _meets(given.get(q), v) for q, v in factor.answers.items()
            )
            by_age = factor.age_at_least is not None and age is not None and age >= factor.age_at_least
            if words or by_answer or by_age:
                found.append(factor.id)
                reasons.append(
                    Reason(
                        rule=f"vulnerable:{factor.id}",
                        words=_unique(words) + ([f"age {age}"] if by_age else []),
                        answer=", ".join(f"{q}={given[q]}" for q in factor.answers if q in given)
                        if by_answer
                        else None,
                        effect="a vulnerable person",
                    )
                )
        return found

    def _cold(
        self, text: str, given: dict[str, str], fired: list[tuple[int, Priority, str]], reasons: list[Reason]
    ) -> bool:
        """Hours without heat past the limit for the outdoor temperature."""
        if (
            not any(self.rules[index].id == "no_heat" for index, _, _ in fired)
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
        self, categories: tuple[str, ...], given: frozenset[str], life_safety: bool
    ) -> tuple[AskNext, ...]:
        wanted: list[Question] = [] if life_safety else list(self.config.triage.screen)
        for code in categories:
            wanted += self.categories[code].questions
        seen: set[str] = set()
        out = []
        for question in wanted:
            if question.id not in given and question.id not in seen:
                seen.add(question.id)
                out.append(AskNext(id=question.id, ask=question.ask, kind=question.kind))
        return tuple(out)


def _tokens(text: str) -> list[str]:
    return [token if token in _BREAKS else stem(token) for token in _TOKEN.findall(text)]


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light stem, the same for the caller's words and the rules' phrases.

    It drops apostrophes ("doesn't" and "doesnt" meet) and plural, -ing, -ed and final-e endings
    ("sparks", "sparking" and "spark" meet; "breathe" and "breathing" too).
    """
    word = word.replace("'", "")
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith(("ied", "ies")):
        word = word[:-3] + "y"
    elif (len(word) > 4 and word.endswith("ed")) or (
        len(word) > 3 and word.endswith("es") and word[-3] in "sxz"
    ):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def _split(text: str) -> tuple[list[str], list[str], list[int]]:
    """Stems, the words as written, and the clause of each (punctuation and "but" end a clause)."""
    stems: list[str] = []
    written: list[str] = []
    clauses: list[int] = []
    clause = 0
    for token in _TOKEN.findall(text):
        if token in _BREAKS or token == "but":  # noqa: S105 - a word, not a password
            clause += 1
            continue
        stems.append(stem(token))
        written.append(token)
        clauses.append(clause)
    return stems, written, clauses


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
    match = _AGE.search(text)
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
