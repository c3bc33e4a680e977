"""Triage: a call's words and answers to a category, a priority and, when a life is at risk, to 911."""

from incident.records import AskNext, Ignored, Reason, TriageResult
from incident.triage.engine import Engine

__all__ = ["AskNext", "Engine", "Ignored", "Reason", "TriageResult"]
