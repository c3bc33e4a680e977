"""Triage: a call's words and answers to a category, a priority and, when a life is at risk, to 911."""

from incident.triage.engine import AskNext, Engine, Ignored, Reason, TriageResult

__all__ = ["AskNext", "Engine", "Ignored", "Reason", "TriageResult"]
