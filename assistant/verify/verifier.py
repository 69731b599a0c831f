"""The verifier: does a key point support a statement, contradict it, or not address it?

A cross-encoder this project trains on its own bank (verify/train.py), run under ONNX Runtime,
loaded on first use. A statement is checked against every key point of a record in one batch; the
verdict is the strongest finding: *contradicted* when some point contradicts it with confidence,
else *supported* when some point supports it, else *not addressed*. The evidence is the point the
verdict rests on.

The shipped weights (``assistant/verify/model/``) are refused unless their SHA-256 is the one
below; a model retrained by a user (``assistant train verifier``, into the cache folder) is checked
against the SHA-256 its own meta.json recorded.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from assistant.models.crossencoder import OnnxCrossEncoder
from assistant.verify.data import LABELS, premise

SHIPPED_DIR = Path(__file__).resolve().parent / "model"
SHIPPED_SHA256 = "0ca41406bac1b641fbc9879ed2980a63f0982726f0bd1f7e575f98e2f8389f76"  # assistant/verify/model/verifier.onnx (make verifier)
# Thresholds chosen on the dev split (bench/verifier.py --dev), never on the test split.
CONTRADICTED_FROM = 0.5
SUPPORTED_FROM = 0.5


@runtime_checkable
class Verifier(Protocol):
    name: str

    def scores(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """One row per (premise, statement) pair: probabilities over LABELS (premise: data.premise)."""
        ...


@dataclass(frozen=True)
class Verdict:
    statement: str
    verdict: str  # supported / contradicted / not addressed
    scores: dict  # label -> probability, for the point the verdict rests on
    evidence: str | None  # that point (None when nothing addresses the statement)
    ms: float = 0.0

    def to_json(self, record_id: str | None = None) -> dict:
        return {"id": record_id, "statement": self.statement, "verdict": self.verdict,
                "scores": {k: round(v, 4) for k, v in self.scores.items()}, "evidence": self.evidence, "ms": round(self.ms, 1)}


def decide(statement: str, points: Sequence[str], rows: np.ndarray) -> Verdict:
    """The verdict over a record's points from their score rows (pure)."""
    if not len(points):
        return Verdict(statement, "not addressed", {label: 0.0 for label in LABELS}, None)
    supported, contradicted = rows[:, 0], rows[:, 1]
    best = int(np.argmax(contradicted))
    if contradicted[best] >= CONTRADICTED_FROM and contradicted[best] > rows[best, 0]:
        verdict = "contradicted"
    else:
        best = int(np.argmax(supported))
        verdict = "supported" if supported[best] >= SUPPORTED_FROM else "not addressed"
    scores = dict(zip(LABELS, map(float, rows[best])))
    return Verdict(statement, verdict, scores, points[best] if verdict != "not addressed" else None)


def check(verifier: Verifier, question: str, points: Sequence[str], statement: str) -> Verdict:
    """Check one statement against every point of a question (each read after the question: data.premise),
    timed (the check itself, not the model's load). The evidence is the point alone."""
    if hasattr(verifier, "load"):
        verifier.load()
    started = time.perf_counter()
    rows = verifier.scores([(premise(question, p), statement) for p in points]) if points else np.zeros((0, len(LABELS)))
    verdict = decide(statement, points, rows)
    return Verdict(verdict.statement, verdict.verdict, verdict.scores, verdict.evidence, 1000 * (time.perf_counter() - started))


class OnnxVerifier(OnnxCrossEncoder):
    """The trained verifier under ONNX Runtime (models/crossencoder.py); loads and checks its weights on first use."""

    def __init__(self, folder: Path, sha256: str | None = None) -> None:
        super().__init__(folder, "verifier.onnx", sha256, retrain="assistant train verifier")
        self.name = f"verifier ({folder.name})"

    @property
    def reads_question(self) -> bool:
        """Was it trained on data.premise (question + point)? Models made before say no "premise" in meta.json."""
        try:
            return "premise" in json.loads((self.folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False

    def scores(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        rows = self.probabilities(pairs)
        return rows if len(rows) else np.zeros((0, len(LABELS)))


def trained_verifier(cache_dir: Path) -> OnnxVerifier:
    """A user's own retrained verifier when there is one, else the shipped one. An own model made
    before the verifier read the question with each point (no "premise" in its meta.json) would be
    read wrongly, so the shipped one serves until it is retrained."""
    own = OnnxVerifier(cache_dir / "verifier")
    if (own.folder / "verifier.onnx").is_file() and own.reads_question:
        return own
    return OnnxVerifier(SHIPPED_DIR, SHIPPED_SHA256 or None)


class ScriptedVerifier:
    """For tests: ``script(premise, statement)`` gives the probabilities over LABELS; calls are recorded."""

    name = "scripted-verifier"

    def __init__(self, script: Callable[[str, str], Sequence[float]]) -> None:
        self._script = script
        self.calls: list[tuple[str, str]] = []

    def scores(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        self.calls += list(pairs)
        return np.array([list(self._script(p, s)) for p, s in pairs], dtype=float).reshape(len(pairs), len(LABELS))
