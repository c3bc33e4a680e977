"""`stormline triage evaluate [FILE]`: how triage does on a labelled set of calls, and how fast.

Prints, per category, precision and recall; macro-F1 over the categories other than emergency; the
confusion matrix; every missed emergency (a labelled emergency triage did not flag as life safety);
and the speed, with a baseline measured in the same run (splitting the text into words, the least
any triage must do). Exits 1 if any emergency was missed.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import yaml

from incident.config import AnswerValue, SurgeConfig
from incident.triage import _TOKEN, Engine

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "incident" / "triage_calls.yaml"


class Labelled(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: str
    category: str
    life_safety: bool
    also: list[str] = []
    answers: dict[str, AnswerValue] = {}
    note: str | None = None


def load(path: Path) -> list[Labelled]:
    return msgspec.convert(yaml.safe_load(path.read_text(encoding="utf-8")), list[Labelled])


def evaluate(config: SurgeConfig, calls: list[Labelled]) -> dict[str, Any]:
    engine = Engine(config)
    codes = [category.code for category in config.categories]
    pairs: Counter[tuple[str, str]] = Counter()
    missed, false_alarms = [], []
    for call in calls:
        result = engine.triage(call.text, call.answers)
        pairs[(call.category, result.category)] += 1
        if call.life_safety and not result.life_safety:
            missed.append(
                {"text": call.text, "got": result.category, "reasons": [r.rule for r in result.reasons]}
            )
        if result.life_safety and not call.life_safety:
            false_alarms.append(
                {"text": call.text, "labelled": call.category, "reasons": [r.rule for r in result.reasons]}
            )
    per_category = {}
    for code in codes:
        true_positive = pairs[(code, code)]
        predicted = sum(count for (_, got), count in pairs.items() if got == code)
        actual = sum(count for (label, _), count in pairs.items() if label == code)
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_category[code] = {"n": actual, "precision": precision, "recall": recall, "f1": f1}
    others = [scores["f1"] for code, scores in per_category.items() if code != "emergency" and scores["n"]]
    return {
        "calls": len(calls),
        "per_category": per_category,
        "macro_f1_non_emergency": statistics.fmean(others) if others else 0.0,
        "confusion": {label: {got: pairs[(label, got)] for got in codes} for label in codes},
        "missed_emergencies": missed,
        "false_alarms": false_alarms,
        "accuracy": sum(pairs[(code, code)] for code in codes) / len(calls) if calls else 0.0,
    }


def speed(config: SurgeConfig, calls: list[Labelled], rounds: int = 5) -> dict[str, float]:
    engine = Engine(config)
    texts = [(call.text, call.answers) for call in calls]

    def rate(work: Any) -> float:
        best = 0.0
        for _ in range(rounds):
            started = time.perf_counter()
            for text, answers in texts:
                work(text, answers)
            best = max(best, len(texts) / (time.perf_counter() - started))
        return best

    baseline = rate(lambda text, answers: _TOKEN.findall(text.lower()))
    triage = rate(engine.triage)
    return {"baseline_split_per_s": baseline, "triages_per_s": triage, "cost_vs_baseline": baseline / triage}


def report(config: SurgeConfig, path: Path) -> int:
    calls = load(path)
    figures = evaluate(config, calls)
    out = sys.stdout.write
    out(f"{figures['calls']} labelled calls from {path}\n\n")
    out(f"{'category':<18} {'n':>4} {'precision':>9} {'recall':>7} {'F1':>6}\n")
    for code, scores in figures["per_category"].items():
        p, r, f = scores["precision"], scores["recall"], scores["f1"]
        out(f"{code:<18} {scores['n']:>4} {p:>9.3f} {r:>7.3f} {f:>6.3f}\n")
    out(f"\nmacro-F1 over the non-emergency categories: {figures['macro_f1_non_emergency']:.3f}")
    out(f"   accuracy: {figures['accuracy']:.3f}\n\nconfusion (rows: labelled, columns: triaged)\n")
    codes = list(figures["per_category"])
    short = [code[:6] for code in codes]
    out(" " * 18 + " ".join(f"{name:>6}" for name in short) + "\n")
    for label in codes:
        out(f"{label:<18}" + " ".join(f"{figures['confusion'][label][got]:>6}" for got in codes) + "\n")
    out(f"\nmissed emergencies: {len(figures['missed_emergencies'])}\n")
    for miss in figures["missed_emergencies"]:
        out(f"  MISSED  {miss['text']!r} -> {miss['got']} ({', '.join(miss['reasons'])})\n")
    out(f"emergencies flagged that were labelled otherwise: {len(figures['false_alarms'])}\n")
    for alarm in figures["false_alarms"]:
        out(f"  extra   {alarm['text']!r} (labelled {alarm['labelled']}; {', '.join(alarm['reasons'])})\n")
    timing = speed(config, calls)
    out(
        f"\nspeed, one core: {timing['triages_per_s']:,.0f} triages/s "
        f"(baseline, splitting into words: {timing['baseline_split_per_s']:,.0f}/s; "
        f"triage costs {timing['cost_vs_baseline']:.1f}x that)\n"
    )
    return 1 if figures["missed_emergencies"] else 0
