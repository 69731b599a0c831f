"""The reranker: does this record answer this query? A cross-encoder this project trains on its
own bank (rerank/train.py), run under ONNX Runtime over the fusion's first candidates, loaded on
first use. Its best probability also decides scope (in the bank, or "not covered").

A record is read as its question and the first words of its answer (``record_text``): the
question names the concept, the answer's opening describes it, which is what a query without the
name matches.

Measured, it does not win yet: trained on the bank's written queries it lowered dev R@1 at every
weight of its blend with the fusion (README, "The reranker"), so none is shipped; the default
reorders with the learnt ranking instead (rerank/learned.py). ``assistant train reranker`` trains one into the cache folder (checked on load against
the SHA-256 its meta.json recorded), ``--reranker cross-encoder`` uses it, and bench/retrieval.py measures it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from assistant.corpus import Record
from assistant.models.crossencoder import OnnxCrossEncoder

LABELS = ("other", "answers")
RECORD_WORDS = 40  # of the answer read after the question
DEPTH = 10  # fusion candidates reranked
# Neither is tuned: the reranker trained here is off (bench/retrieval.py --dev --weights, 2026-12-02:
# dev R@1 fell at every weight above 0, from 0.799 to 0.473 at 1; its best scope cut, 0.105, reads
# 0.870 against the cosine's 0.918). A reranker that wins gets its weight and threshold from that run.
WEIGHT = 1.0  # of the reranker's probability against the fused score
IN_SCOPE_FROM = 0.5  # the best candidate's probability from which the bank covers a query


@runtime_checkable
class Reranker(Protocol):
    name: str

    def scores(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """For each record text, the probability that it answers the query."""
        ...


def record_text(record: Record, words: int = RECORD_WORDS) -> str:
    return f"{' '.join(record.question.split())} {' '.join(record.answer_text.split()[:words])}"


def rerank(candidates: Sequence[tuple[int, float]], probabilities: Sequence[float], weight: float = WEIGHT) -> list[tuple[int, float]]:
    """The fusion's candidates (row, fused score in [0, 1], best first) reordered by ``weight`` x the
    reranker's probability + (1 - weight) x the fused score; ties keep the fusion's order (pure)."""
    scores = [weight * float(p) + (1 - weight) * fused for (_, fused), p in zip(candidates, probabilities)]
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    return [(candidates[i][0], scores[i]) for i in order]


class OnnxReranker(OnnxCrossEncoder):
    """The trained reranker under ONNX Runtime (models/crossencoder.py)."""

    def __init__(self, folder: Path, sha256: str | None = None) -> None:
        super().__init__(folder, "reranker.onnx", sha256, retrain="assistant train reranker")
        self.name = f"reranker ({folder.name})"

    def scores(self, query: str, texts: Sequence[str]) -> np.ndarray:
        rows = self.probabilities([(query, text) for text in texts], batch=len(texts) or 1)
        return rows[:, 1] if len(rows) else np.zeros(0)


def trained_reranker(cache_dir: Path) -> OnnxReranker | None:
    """The reranker trained into the cache folder by 'assistant train reranker'; None when there is none."""
    own = cache_dir / "reranker"
    return OnnxReranker(own) if (own / "reranker.onnx").is_file() else None


class ScriptedReranker:
    """For tests: ``script(query, text)`` gives the probability; calls are recorded."""

    name = "scripted-reranker"

    def __init__(self, script: Callable[[str, str], float]) -> None:
        self._script = script
        self.calls: list[tuple[str, str]] = []

    def scores(self, query: str, texts: Sequence[str]) -> np.ndarray:
        self.calls += [(query, t) for t in texts]
        return np.array([float(self._script(query, t)) for t in texts])
