"""Coaching after a grade: what you covered comes from the grader's evidence; the model writes
only advice on what you missed, never crediting you with anything, never a score."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from assistant.errors import ModelError
from assistant.grading import Grade
from assistant.models.language import LanguageModel
from assistant.text import clip, sentences

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


class Coach:
    """Coaching after a grade, and the follow-up question. It gets the language model's owner and a
    search function (for the closest other question), nothing more."""

    def __init__(self, model: LanguageModel, search: Callable) -> None:
        self.model, self.search = model, search

    def coach(self, grade: Grade) -> Coaching:
        """What you covered (from the grader's evidence), advice on what you missed (the model's words,
        never crediting you with anything), and one follow-up question. The grade is never touched."""
        follow_up = self.follow_up(grade)
        writer = self.model.writer
        if writer is None or not grade.missed:
            return Coaching(grade.feedback, follow_up, writer.name if writer else "extractive")
        try:
            text = "".join(writer.stream(coach_messages(grade), COACH_TOKENS)).strip()
        except ModelError as exc:
            self.model.failed(exc)
            return Coaching(grade.feedback, follow_up, "extractive")
        advice = [s for s in sentences(text) if not _CREDIT.search(s) and not _SCORE.search(s)][:3]
        if not advice:
            return Coaching(grade.feedback, follow_up, writer.name, fallback=True)
        return Coaching(" ".join([covered_line(grade), *advice]), follow_up, writer.name)

    def follow_up(self, grade: Grade) -> str:
        """From the weakest missed point; with nothing missed, the closest other question of the bank."""
        if grade.missed:
            point = min(grade.missed, key=lambda p: p.coverage).point
            return f"Follow-up: how would you explain this part — {point.rstrip('.')}?"
        if grade.question_id:
            for hit in self.search(grade.question, k=3).hits:
                if hit.id != grade.question_id:
                    return f"Follow-up: [{hit.id}] {hit.question}"
        return "Follow-up: can you give a concrete example from a project?"
