"""Grading a typed answer against a reference answer's key points: explainable and deterministic.

For each key point the grader finds the sentence of the answer that matches it best (sentence
embeddings) and how many of its content words the answer uses (stemmed). Words that only repeat
the question earn nothing (question demoting, Mohler et al. 2011). The score is

    10 × mean(ramp(similarity of whole answer and reference), mean point coverage, mean point coverage)

where a point's coverage is the mean of ramp(its best sentence similarity) and its word recall
(full credit at LEXICAL_FULL_CREDIT). Guards then cap the score of answers that only restate the
question, list keywords, answer a different question, address the grader, or contradict a point;
each cap is reported as a flag. No parameter was fitted on any benchmark (see bench/grading.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from assistant.config import LIMITS
from assistant.corpus import Corpus, KeyPoint
from assistant.models.embedders import Embedder
from assistant.errors import InvalidInputError
from assistant.grading.guards import contradicts, is_instruction, is_keyword_list, looks_non_english
from assistant.text import content_stems, demote, sentences

# Cosine similarity (MiniLM) mapped to credit: nothing at or below LOW, full credit at or above HIGH.
SIMILARITY_LOW, SIMILARITY_HIGH = 0.2, 0.8
LEXICAL_FULL_CREDIT = 0.6  # share of a point's content words for full lexical credit
COVERED = 0.5  # a key point with at least this coverage counts as covered
CAP_KEYWORDS, CAP_OTHER_QUESTION, CAP_CONTRADICTION = 1.0, 2.0, 2.0
OTHER_QUESTION_MARGIN = 0.08  # answer closer to another question's reference by this much
OTHER_QUESTION_MIN_WORDS = 8  # shorter answers are too ambiguous to say which question they answer
ALIGNED = 0.3  # a point's coverage from which its best sentence counts as talking about it
ALIGNED_FOR_CONTRADICTION = 0.5  # cosine from which a sentence and a point say things about the same matter
# The verifier's probabilities from which a sentence states a point / contradicts it (bench/grading.py, team set).
VERIFIED_SUPPORT, VERIFIED_CONTRADICTION = 0.5, 0.7


@dataclass(frozen=True)
class PointResult:
    point: str
    coverage: float  # 0..1
    evidence: str | None  # the answer's sentence that matched the point best
    contradicted: bool = False

    def to_json(self) -> dict:
        return {"point": self.point, "coverage": round(self.coverage, 3), "evidence": self.evidence,
                "contradicted": self.contradicted}


@dataclass(frozen=True)
class Flag:
    """What a guard (or the judge) found, said to the user; ``cap`` limits the score (10: a note only)."""

    kind: str  # instruction, non_english, restated, keywords, contradiction, other_question, judged_false
    message: str
    cap: float = 10.0


@dataclass(frozen=True)
class Grade:
    question: str
    score: float  # 0..10, one decimal
    verdict: str  # correct / correct, incomplete / partial / incorrect
    points: tuple[PointResult, ...]  # in the reference's order
    feedback: str
    reference: str
    question_id: str | None = None
    flags: tuple[Flag, ...] = field(default=())
    completeness: float = 0.0  # 0..10: key-point coverage before any cap (the quick grade's own score)
    correctness: float | None = None  # 0..10: the judge's correctness, when a judge ran
    grader: str = "quick"  # which grader ran: "quick", or "judged (<model>)"

    @property
    def cap(self) -> float:
        """The flags' limit on the score (10: none)."""
        return min((f.cap for f in self.flags), default=10.0)

    @property
    def covered(self) -> tuple[PointResult, ...]:
        return tuple(p for p in self.points if p.coverage >= COVERED)

    @property
    def missed(self) -> tuple[PointResult, ...]:
        return tuple(p for p in self.points if p.coverage < COVERED)

    @property
    def origin(self) -> str:
        """Which grader ran, in words: a judged grade shows the judge's share, a quick grade says it is quick."""
        if self.correctness is None:
            return "quick grade (key-point coverage only)" if self.grader == "quick" else self.grader
        return f"{self.grader}: correctness {self.correctness:.1f}/10, key points {self.completeness:.1f}/10"

    def to_json(self) -> dict:
        return {
            "id": self.question_id,
            "score": self.score,
            "verdict": self.verdict,
            "covered": [p.to_json() for p in self.covered],
            "missed": [p.to_json() for p in self.missed],
            "feedback": self.feedback,
            "flags": [f.message for f in self.flags],
            "correctness": None if self.correctness is None else round(self.correctness, 2),
            "judge": None if self.correctness is None else round(self.correctness, 2),  # the old key, kept for scripts
            "grader": self.grader,
            "reference": self.reference,
        }


def ramp(x: float, low: float = SIMILARITY_LOW, high: float = SIMILARITY_HIGH) -> float:
    return float(np.clip((x - low) / (high - low), 0.0, 1.0))


def verdict_for(score: float) -> str:
    return "correct" if score >= 7 else "partial" if score >= 4 else "incorrect"


def claims_of(answer: str) -> tuple[list[str], bool]:
    """The answer's sentences that make claims, and whether any sentence addressed the grader."""
    segments = sentences(answer) or [answer]
    claims = [s for s in segments if not is_instruction(s)]
    return claims, len(claims) < len(segments)


def key_points_from_reference(reference: str) -> list[str]:
    """A free-text reference's key points: its sentences (bullets count as sentences)."""
    return sentences(reference) or [reference.strip()]


class Grader:
    def __init__(self, embedder: Embedder, corpus: Corpus | None = None, record_vectors=None, verifier=None) -> None:
        """``corpus`` and its ``record_vectors`` (a FAISS index in corpus order) enable the
        'answers a different question' check for corpus questions. ``verifier`` (the trained one)
        reads each key point against each sentence: a point a sentence states is covered, a
        sentence that contradicts a point is shown with it and caps the grade."""
        self.embedder, self.corpus, self.record_vectors, self.verifier = embedder, corpus, record_vectors, verifier
        self._vocabulary = frozenset(
            s for r in (corpus or ()) for s in content_stems(f"{r.question} {r.answer_text}")
        )

    def grade(self, question_id: str, answer: str) -> Grade:
        if self.corpus is None:
            raise ValueError("grade() needs a corpus; use grade_custom()")
        record = self.corpus.get(question_id)
        return self.grade_custom(record.question, record.answer_text, answer, self.key_points(record), record.id, record.answer)

    @staticmethod
    def key_points(record) -> list[str]:
        """A bank question's key points: its top-level bullets (with their sub-bullets), else its sentences."""
        return [kp.full_text for kp in record.key_points] or key_points_from_reference(record.answer_text)

    def grade_custom(
        self,
        question: str,
        reference: str,
        answer: str,
        key_points: Sequence[str] | Sequence[KeyPoint] | None = None,
        question_id: str | None = None,
        reference_markdown: str | None = None,
    ) -> Grade:
        if not question.strip() or not reference.strip():
            raise InvalidInputError("A custom grade needs both a question and a reference answer.")
        answer = (answer or "").strip()
        if not answer:
            raise InvalidInputError("The answer is empty; type what you would say in the interview.")
        n_words = len(answer.split())
        if n_words > LIMITS.answer_words:
            raise InvalidInputError(
                f"The answer has {n_words:,} words; answers are graded up to {LIMITS.answer_words:,} words, so shorten it to its key points."
            )
        points = [p.full_text if isinstance(p, KeyPoint) else str(p) for p in (key_points or key_points_from_reference(reference))]
        shown_reference = reference_markdown or reference
        flags: list[Flag] = []

        claims, addressed_grader = claims_of(answer)
        if addressed_grader:
            flags.append(Flag("instruction", "Instructions addressed to the grader were ignored; only claims about the topic earn credit."))
        vocabulary = self._vocabulary | frozenset(content_stems(f"{question} {reference}"))
        if not claims or looks_non_english(" ".join(claims), vocabulary):
            if claims:
                flags.append(Flag("non_english", "The answer does not look like English text; the grader only understands English.", 0.0))
            return self._result(question, 0.0, [PointResult(p, 0.0, None) for p in points], flags, shown_reference, question_id)

        question_stems = frozenset(content_stems(question))
        body = " ".join(claims)
        demoted_body = demote(body, question_stems)
        demoted_points = [demote(p, question_stems) or p for p in points]  # for word recall
        demoted_reference = demote(reference, question_stems) or reference

        answer_stems = set(content_stems(body, question_stems))
        if not answer_stems:
            flags.append(Flag("restated", "The answer mostly restates the question; say what the concept is, does or why it matters.", 0.0))
            return self._result(question, 0.0, [PointResult(p, 0.0, None) for p in points], flags, shown_reference, question_id)

        # Points are matched to sentences as written: a short sentence without the question's words
        # embeds as noise. Demoting serves the whole-answer similarity and the word recall.
        vectors = self.embedder.encode(points + claims + [demoted_reference, demoted_body, body])
        n_p = len(points)
        similarity = vectors[:n_p] @ vectors[n_p:-3].T  # points × claims
        reference_vec, body_vec, raw_body_vec = vectors[-3], vectors[-2], vectors[-1]

        verified = self._verify(question, points, claims)
        results = []
        for i, point in enumerate(points):
            if verified is not None:
                finding = self._verified_point(point, claims, verified[i])
                if finding is not None:
                    results.append(finding)
                    continue
            best = int(np.argmax(similarity[i]))
            stems = set(content_stems(demoted_points[i]))
            recall = len(stems & answer_stems) / len(stems) if stems else ramp(float(similarity[i, best]))
            coverage = (ramp(float(similarity[i, best])) + min(1.0, recall / LEXICAL_FULL_CREDIT)) / 2
            evidence = claims[best] if coverage >= ALIGNED else None
            if evidence and similarity[i, best] >= ALIGNED_FOR_CONTRADICTION and contradicts(evidence, point):
                results.append(PointResult(point, 0.0, evidence, contradicted=True))
            else:
                results.append(PointResult(point, coverage, evidence))

        holistic = ramp(float(reference_vec @ body_vec))
        point_mean = float(np.mean([r.coverage for r in results]))
        score = 10 * (holistic + 2 * point_mean) / 3

        if is_keyword_list(body):
            flags.append(Flag("keywords", "The answer lists keywords without explaining them; write sentences that make claims.", CAP_KEYWORDS))
        if any(r.contradicted for r in results):
            flags.append(Flag("contradiction", "Part of the answer contradicts the reference: " + "; ".join(
                f"you said “{r.evidence}”; the reference says “{r.point}”" for r in results if r.contradicted), CAP_CONTRADICTION))
        other = self._closer_question(raw_body_vec, question_id) if len(body.split()) >= OTHER_QUESTION_MIN_WORDS else None
        if other:
            flags.append(Flag("other_question", f"The answer fits another question better: [{other.id}] {other.question}",
                              CAP_OTHER_QUESTION))
        return self._result(question, score, results, flags, shown_reference, question_id)

    def _verify(self, question: str, points: list[str], claims: list[str]):
        """points × claims × LABELS from the verifier (None without one, or when it cannot load)."""
        if self.verifier is None:
            return None
        from assistant.errors import ModelError
        from assistant.verify.data import premise

        try:
            rows = self.verifier.scores([(premise(question, p), c) for p in points for c in claims])
        except ModelError:
            self.verifier = None  # the shipped weights are missing or damaged: key points by similarity alone
            return None
        return rows.reshape(len(points), len(claims), -1)

    @staticmethod
    def _verified_point(point: str, claims: list[str], rows: np.ndarray) -> PointResult | None:
        """The verifier's finding for one point: contradicted by a sentence, or stated by one; None
        when it finds neither (the similarity evidence decides)."""
        contradicted, supported = rows[:, 1], rows[:, 0]
        worst = int(np.argmax(contradicted))
        if contradicted[worst] >= VERIFIED_CONTRADICTION and contradicted[worst] > supported[worst]:
            return PointResult(point, 0.0, claims[worst], contradicted=True)
        best = int(np.argmax(supported))
        if supported[best] >= VERIFIED_SUPPORT:
            return PointResult(point, max(COVERED, float(supported[best])), claims[best])
        return None

    def _closer_question(self, answer_vec: np.ndarray, question_id: str | None):
        """The corpus record the answer matches clearly better than its own question, if any."""
        if self.record_vectors is None or self.corpus is None or question_id not in self.corpus:
            return None
        own_row = next(i for i, r in enumerate(self.corpus.records) if r.id == question_id)
        own = float(self.record_vectors.reconstruct(own_row) @ answer_vec)
        sims, rows = self.record_vectors.search(answer_vec[None, :].astype(np.float32), 1)
        best_row, best = int(rows[0][0]), float(sims[0][0])
        if best_row != own_row and best - own >= OTHER_QUESTION_MARGIN:
            return self.corpus.records[best_row]
        return None

    @staticmethod
    def _result(question, completeness, results, flags, reference, question_id) -> Grade:
        grade = Grade(question, 0.0, "", tuple(results), "", reference, question_id, tuple(flags), float(np.clip(completeness, 0, 10)))
        score = round(min(grade.completeness, grade.cap), 1)
        return replace(grade, score=score, verdict=verdict_for(score), feedback=feedback_for(replace(grade, score=score)))


_VERDICT_SENTENCE = {
    "correct": "Correct.",
    "correct, incomplete": "Correct, but incomplete.",
    "partial": "Partly correct.",
    "incorrect": "Not correct yet.",
}


def feedback_for(grade: Grade) -> str:
    """Short feedback from the verdict and the evidence alone."""
    parts = [f.message for f in grade.flags]
    if grade.correctness is not None:
        parts.append(_VERDICT_SENTENCE[grade.verdict])
    covered, missed = grade.covered, grade.missed
    parts.append(f"You covered {len(covered)} of {len(grade.points)} key points ({grade.score:.1f}/10).")
    if missed:
        top = sorted(missed, key=lambda r: r.coverage)[:3]
        parts.append("Add: " + " | ".join(_short(r.point) for r in top))
    elif covered:
        parts.append("Every key point is there.")
    if grade.grader == "quick":
        parts.append("(Quick grade: key-point coverage only, without the language model's judgement.)")
    return " ".join(parts)


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


