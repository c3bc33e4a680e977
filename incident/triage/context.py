"""ConText: what the words around a concept do to it.

The algorithm of Harkema, Dowling, Thornblade and Chapman (2009), the generalisation of NegEx: a
trigger affects each concept in its scope, which runs from the trigger in its direction to the end
of the clause, at most `scope` words, and ends early at a terminating term. Its category says what it
does: negated, historical, hypothetical and not present (about somewhere or someone not here) set
the concept aside; resolved does too ("was bleeding earlier, fine now"), and reaches back into the
clause before its own when that clause is told in the past; possible counts the concept (a possible
stroke is a stroke); minor counts it, but not for a 911 transfer by itself.

Unlike clinical notes, a call about someone else ("my mother is not breathing") is as urgent as one
about the caller, so the experiencer is not a trigger; only "not present" (on the news, in another
state) sets a concept aside.
"""

from __future__ import annotations

from typing import NamedTuple

from incident.config import Trigger
from incident.triage.words import Text

# When two triggers reach one concept, the one earlier in this list decides.
_PRECEDENCE = ("negated", "resolved", "historical", "hypothetical", "not_present", "minor", "possible")
_RANK = {category: rank for rank, category in enumerate(_PRECEDENCE)}
_WHY = {
    "negated": "negated by {!r}",
    "resolved": "over now ({!r})",
    "historical": "in the past ({!r})",
    "hypothetical": "asked about, not reported ({!r})",
    "not_present": "not here ({!r})",
}


class Hit(NamedTuple):
    """A phrase of the vocabulary found in a call: words start…end (exclusive)."""

    start: int
    end: int
    concept: int  # index of the concept, or -1
    trigger: int  # index of the trigger, or -1


class Reading(NamedTuple):
    """A concept found, as its context reads it."""

    hit: Hit
    counts: bool
    minor: bool
    why: str  # why it does not count, or what weakened it
    category: str = ""  # the category of the trigger that decided ("" when none reached it)


def read(concepts: list[Hit], triggers: list[Hit], rules: list[Trigger], words: Text) -> list[Reading]:
    """Read every concept hit in the context of the trigger hits."""
    clause = words.clause
    active = [hit for hit in triggers if rules[hit.trigger].category not in ("pseudo", "terminate", "past")]
    stops = [hit.start for hit in triggers if rules[hit.trigger].category == "terminate"]
    past = {clause[hit.start] for hit in triggers if rules[hit.trigger].category == "past"}
    readings = []
    for hit in concepts:
        best: tuple[int, Hit] | None = None
        for trigger in active:
            rule = rules[trigger.trigger]
            if trigger.end <= hit.start and rule.direction != "backward":
                if clause[trigger.start] != clause[hit.start] or hit.start - trigger.end >= rule.scope:
                    continue
                if any(trigger.end <= stop < hit.start for stop in stops):
                    continue
            elif trigger.start >= hit.end and rule.direction != "forward":
                same = clause[trigger.start] == clause[hit.start]
                # "was bleeding earlier, sat down, fine now": over, told across the clauses of a sentence.
                reaching = (
                    rule.category == "resolved"
                    and clause[hit.start] in past
                    and words.sentence[trigger.start] == words.sentence[hit.start]
                )
                if not (same or reaching) or trigger.start - hit.end >= rule.scope + (4 if reaching else 0):
                    continue
                # "was sparking, but quiet now": a contrast ends other triggers' scope, not the end of it.
                if rule.category != "resolved" and any(hit.end <= stop < trigger.start for stop in stops):
                    continue
            elif not (trigger.start == hit.start and trigger.end == hit.end and rule.category == "resolved"):
                continue  # (a resolved trigger that is the concept's own word tells it over: "300 rescued")
            rank = _RANK[rule.category]
            if best is None or rank < best[0]:
                best = (rank, trigger)
        if best is None:
            readings.append(Reading(hit, counts=True, minor=False, why=""))
            continue
        category = _PRECEDENCE[best[0]]
        said = " ".join(words.written[best[1].start : best[1].end])
        if category in _WHY:
            readings.append(Reading(hit, False, False, _WHY[category].format(said), category))
        else:
            readings.append(Reading(hit, True, category == "minor", f"{category}: {said!r}", category))
    return readings
