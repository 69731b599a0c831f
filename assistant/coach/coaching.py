"""Coaching after a grade: what you covered comes from the grader's evidence; the model writes
only advice on what you missed, never crediting you with anything, never a score."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.grading import Grade

COACH_TOKENS = 160

COACH_SYSTEM = (
    "You are a deep-learning interview coach talking to a candidate; call them \"you\". Below are the key points "
    "their answer missed. Write 2 short sentences of advice: what to add next time and how to say it in an "
    "interview. Only give advice about the missed points; do not say what the answer got right, and do not give "
    "a score."
)

# A sentence of coaching that credits the candidate: only the grader's evidence may do that.
_CREDIT = re.compile(
    r"\bcandidate\b|\b(correctly|rightly|good job|well done|great job|nice work)\b"
    r"|\byou(?:'ve| have)?\s+(?:also\s+|already\s+)?(said|mentioned|noted|explained|identified|covered|stated|described|"
    r"got|included|pointed out|highlighted|understood|understand|know|recognized|recognised)\b",
    re.IGNORECASE,
)
_SCORE = re.compile(r"\b\d+(\.\d+)?\s*(/|out of)\s*10\b")


@dataclass(frozen=True)
class Coaching:
    feedback: str
    follow_up: str
    backend: str
    fallback: bool = False


def covered_line(grade: Grade) -> str:
    """What the answer got right, from the grader's evidence alone."""
    if not grade.covered:
        return "Your answer did not cover the key points yet."
    return "You covered: " + "; ".join(clip(p.point, 14).rstrip(".") for p in grade.covered) + "."


def coach_messages(grade: Grade) -> list[dict]:
    missed = "\n".join(f"- {p.point}" for p in grade.missed)
    flags = "\n".join(f"- {f.message}" for f in grade.flags) or "- none"
    evidence = f"Interview question: {grade.question}\nKey points the answer missed:\n{missed}\nGrader's notes:\n{flags}"
    return [{"role": "system", "content": COACH_SYSTEM}, {"role": "user", "content": evidence}]


def clip(text: str, words: int) -> str:
    tokens = text.split()
    return text if len(tokens) <= words else " ".join(tokens[:words]) + " …"
