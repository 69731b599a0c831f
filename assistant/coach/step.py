"""One answer step, the same for every front end: grade (quick, then judged when the judge is
usable), save the attempt, coach, and move the interview to its next question.

The app's Grade and Interview tabs, `assistant grade` and `assistant interview` all call it and
only render what it yields. A bank question's attempt is saved when a store is given; a custom
question is never saved (there is no record to schedule it by).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterator

from assistant.coach.coaching import Coach, Coaching
from assistant.coach.interview import Session
from assistant.corpus import Corpus
from assistant.errors import InvalidInputError
from assistant.grading import Grade, Grader
from assistant.grading.judged import JudgedGrader


@dataclass(frozen=True)
class Outcome:
    grade: Grade
    coaching: Coaching | None = None
    saved: bool = False  # the attempt is in progress (committed)
    session: Session | None = None  # the interview after this answer: its next question, or finished


class AnswerStep:
    def __init__(self, quick: Grader, judged: JudgedGrader, coach: Coach, corpus: Corpus) -> None:
        self.quick, self.judged, self.coach, self.corpus = quick, judged, coach, corpus

    def run(self, answer: str, question_id: str | None = None, *, question: str = "", reference: str = "",
            store=None, delivery: dict | None = None, fast: bool = False, coaching: bool = True,
            session: Session | None = None) -> Iterator[Grade | Outcome]:
        """The quick grade first when a judged one follows (so it can be shown at once), then the Outcome.

        ``question_id`` names a bank question; else ``question`` and ``reference`` are a custom one.
        ``store``: where the attempt of a bank question is saved (None: not saved). Errors (bad input,
        a store that is down) are raised before anything is saved."""
        custom = not question_id
        if custom and not (question.strip() and reference.strip()):
            raise InvalidInputError("Name a bank question, or give both a question and its reference answer.")
        quick = self.quick.grade_custom(question, reference, answer) if custom else self.quick.grade(question_id, answer)
        grade = quick
        if not fast and self.judged.available:
            yield quick
            grade = self.judged.refine(quick, answer)
        saved = False
        if store is not None and not custom:
            store.record(grade, self.corpus.get(question_id).part_label, answer, delivery=delivery)
            saved = True
        advice = self.coach.coach(grade) if coaching else None
        yield Outcome(grade, advice, saved, session.answered(grade.score) if session is not None else None)

    def final(self, answer: str, question_id: str | None = None, **kwargs) -> Outcome:
        """The Outcome alone (for front ends that show only the final grade)."""
        *_, outcome = self.run(answer, question_id, **kwargs)
        return outcome

    def warm(self, question_id: str | None) -> None:
        """Let the judge read a bank question's shared prompt while the candidate is still answering."""
        if question_id and self.judged.available:
            threading.Thread(target=self.judged.warm, args=(question_id,), daemon=True).start()
