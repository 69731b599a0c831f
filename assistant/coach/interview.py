"""An interview session: which questions to ask, in what order, and the summary at the end.

Order: questions due for review first (FSRS, most overdue first), then never-seen ones in
document order, then the rest weakest first; never the same question twice in a session.
Sessions are plain values: the UI keeps one per user, nothing lives in module globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterable

from assistant.corpus import Corpus
from assistant.progress import ProgressStore


def plan_questions(corpus: Corpus, store: ProgressStore, parts: Iterable[str] | None = None, count: int = 5,
                   now: datetime | None = None) -> tuple[str, ...]:
    allowed = [r.id for r in corpus if not parts or r.part_label in set(parts)]
    allowed_set = set(allowed)
    due = [q for q in store.due(now) if q in allowed_set]
    latest = store.latest_scores()
    unseen = [q for q in allowed if q not in latest]
    weakest = sorted((q for q in allowed if q in latest), key=lambda q: (latest[q], allowed.index(q)))
    ordered = list(dict.fromkeys(due + unseen + weakest))
    return tuple(ordered[: max(1, count)])


@dataclass(frozen=True)
class Result:
    question_id: str
    score: float | None  # None: skipped


@dataclass(frozen=True)
class Session:
    questions: tuple[str, ...]
    results: tuple[Result, ...] = field(default=())

    @property
    def current(self) -> str | None:
        return self.questions[len(self.results)] if len(self.results) < len(self.questions) else None

    @property
    def finished(self) -> bool:
        return self.current is None

    def answered(self, score: float) -> "Session":
        return self._advance(score)

    def skipped(self) -> "Session":
        return self._advance(None)

    def ended(self) -> "Session":
        """End early: the questions not reached are dropped from the session."""
        return replace(self, questions=self.questions[: len(self.results)])

    def _advance(self, score: float | None) -> "Session":
        if self.current is None:
            raise ValueError("the session is over")
        return replace(self, results=self.results + (Result(self.current, score),))


@dataclass(frozen=True)
class Summary:
    per_part: dict[str, float]  # mean score (0-10) of the answered questions of each part
    weakest: tuple[tuple[str, float], ...]  # (question id, score), lowest first
    answered: int
    skipped: int
    markdown: str


def summarize(session: Session, corpus: Corpus) -> Summary:
    scored = [r for r in session.results if r.score is not None]
    parts: dict[str, list[float]] = {}
    for r in scored:
        parts.setdefault(corpus.get(r.question_id).part_label, []).append(r.score)
    per_part = {p: round(sum(s) / len(s), 1) for p, s in parts.items()}
    weakest = tuple(sorted(((r.question_id, r.score) for r in scored), key=lambda x: x[1])[:3])
    lines = ["# Interview summary", "", f"Answered {len(scored)}, skipped {len(session.results) - len(scored)}.", "",
             "| part | mean score |", "|---|---|"]
    lines += [f"| {p} | {s:.1f}/10 |" for p, s in per_part.items()]
    lines += ["", "## Questions", ""]
    for r in session.results:
        record = corpus.get(r.question_id)
        lines.append(f"- [{record.id}] {record.question}: " + ("skipped" if r.score is None else f"{r.score:.1f}/10"))
    if weakest:
        lines += ["", "## Review next", ""] + [f"- [{q}] {corpus.get(q).question}" for q, _ in weakest]
    return Summary(per_part, weakest, len(scored), len(session.results) - len(scored), "\n".join(lines) + "\n")
