"""The judged grade: the local model judges how correct the answer is, the key-point evidence
explains it (covered, missed, where), and the guards cap what tricks could inflate.

    score = min(cap, ½ × correctness + ½ × completeness)

where correctness is 10 × the judge's P(what the answer says is true), completeness is the quick
grader's key-point coverage (0–10), and cap is the guards' limit (a restated question, a keyword
list, another question's answer, a contradiction), and 3 when the judge says the answer is false
(P < FALSE_BELOW): key words in a false answer earn no partial credit. The other-question guard
yields when the judge finds the answer true for its own question (P >= TRUE_ENOUGH): a close
neighbour in the bank is no reason to cap a right answer. Sentences addressed to the grader are
never shown to the judge. The equal weights were set before measuring; the team set
(dev, bench/grading.py --sweep) confirmed them and chose the false cap (any threshold from 0.3 to
0.4 scored the same there).
"""

from __future__ import annotations

from dataclasses import replace

from assistant.config import LIMITS
from assistant.errors import ModelError
from assistant.grading.grader import Flag, Grade, Grader, claims_of, feedback_for, verdict_for
from assistant.models.language import LanguageModel

JUDGE_WEIGHT = 0.5
FALSE_BELOW, CAP_FALSE = 0.4, 3.0  # the judge says false: the answer reads "incorrect"
TRUE_ENOUGH = 0.5  # the judge finds the answer true for its own question: the other-question guard does not cap it
TRUE_FROM = 0.7  # P(true) from which an answer that misses points is "correct, incomplete"


def combine(completeness: float, correctness: float, cap: float) -> float:
    return round(min(cap, JUDGE_WEIGHT * correctness + (1 - JUDGE_WEIGHT) * completeness), 1)


def judged_verdict(score: float, truth: float, capped: bool, missed: bool) -> str:
    """The verdict says what the judge found, and agrees with the evidence: false (or capped by a
    guard) is "incorrect"; true but missing points is "correct, incomplete"; in between, "partial"."""
    if capped or truth < FALSE_BELOW:
        return verdict_for(score)
    if score >= 7:
        return "correct"
    return "correct, incomplete" if truth >= TRUE_FROM and missed else "partial"


class JudgedGrader:
    """The quick grader's evidence and guards, with the judge's correctness in the score."""

    def __init__(self, grader: Grader, model: LanguageModel) -> None:
        self.grader, self.model = grader, model

    @property
    def available(self) -> bool:
        """Is the judge usable now (the model's owner says)?"""
        return self.model.judge is not None

    @property
    def name(self) -> str:
        judge = self.model.judge
        return f"judged ({judge.name})" if judge else "quick"

    def grade(self, question_id: str, answer: str) -> Grade:
        return self.refine(self.grader.grade(question_id, answer), answer)

    def grade_custom(self, question: str, reference: str, answer: str, **kwargs) -> Grade:
        return self.refine(self.grader.grade_custom(question, reference, answer, **kwargs), answer)

    def refine(self, quick: Grade, answer: str) -> Grade:
        """The judged grade for an answer the quick grader has graded; the quick grade if the model fails."""
        judge = self.model.judge
        if judge is None:
            return quick
        if quick.cap == 0:  # nothing to judge: a restated question, or not English
            return replace(quick, grader=self.name)
        try:
            truth = self.truth(quick, answer)
        except ModelError as exc:
            self.model.failed(exc)  # said once, by the owner: grades are quick from now on
            return quick
        flags = quick.flags
        if truth >= TRUE_ENOUGH:  # it answers this question truly: a closer neighbour in the bank is no reason to cap
            flags = tuple(f for f in flags if f.kind != "other_question")
        if truth < FALSE_BELOW:
            flags += (Flag("judged_false", "The local model judges what your answer says to be false; "
                           "the key words it uses earn no credit.", CAP_FALSE),)
        grade = replace(quick, flags=flags, correctness=10 * truth, grader=self.name)
        score = combine(quick.completeness, grade.correctness, grade.cap)
        grade = replace(grade, score=score, verdict=judged_verdict(score, truth, grade.cap < 10, bool(quick.missed)))
        return replace(grade, feedback=feedback_for(grade))

    def truth(self, quick: Grade, answer: str) -> float:
        """The judge's P(true) for the answer's claims (never the sentences addressed to the grader)."""
        claims, _ = claims_of(answer)
        text = " ".join(" ".join(claims).split()[:LIMITS.judged_words])
        return self.model.judge.correctness(quick.question, [p.point for p in quick.points], text)

    def warm(self, question_id: str) -> None:
        """Read a bank question's shared prompt now, while the candidate is still answering."""
        if (judge := self.model.judge) is not None:
            record = self.grader.corpus.get(question_id)
            try:
                judge.warm(record.question, self.grader.key_points(record))
            except ModelError:
                pass  # the next grade reports it
