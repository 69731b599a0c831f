"""Hybrid retrieval: record, question, answer-chunk and written-search vectors and BM25, fused by
reciprocal rank; then the learnt ranking (rerank/learned.py: the default) or the trained
cross-encoder over the fusion's first candidates, which also decides scope."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from assistant.corpus import Record
from assistant.models.embedders import Embedder
from assistant.errors import InvalidInputError
from assistant.retrieval.fusion import max_per_group, max_rrf_score, reciprocal_rank_fusion, top_k
from assistant.rerank.learned import LearnedRanking, gather
from assistant.rerank.reranker import DEPTH, IN_SCOPE_FROM, WEIGHT as RERANK_WEIGHT, Reranker, record_text, rerank
from assistant.retrieval.index import SearchIndex

# Best cosine similarity (question or answer chunk) at or above which the corpus is taken to
# cover a query. Calibrated on the dev half of bench/data/retrieval_queries.tsv by
# `python bench/retrieval.py --calibrate`; the held-out half is reported apart.
IN_SCOPE_THRESHOLDS = {
    "sentence-transformers/all-MiniLM-L6-v2": 0.354,
    "sentence-transformers/all-mpnet-base-v2": 0.292,
    "dl-interview-coach/all-MiniLM-L6-v2-tuned": 0.341,  # retrieval/tuning.py; dev half, 2026-12-02
}
DEFAULT_THRESHOLD = 0.30  # for embedders not calibrated (the test fake)


@dataclass(frozen=True)
class RetrievalConfig:
    depth: int = 30  # candidates each ranking contributes to the fusion
    # RRF constant and the weights of the rankings (whole-record vectors, question vectors,
    # answer-chunk vectors, written-search vectors, BM25), chosen on the dev half of the retrieval
    # set; see bench/README.md.
    rrf_k: float = 10.0
    weights: tuple[float, float, float, float, float] = (1.0, 0.5, 1.0, 0.25, 0.5)
    in_scope_threshold: float | None = None  # None: the embedder's calibrated value (the reranker's, with one)
    rerank_weight: float = RERANK_WEIGHT  # of the reranker's probability against the fused score

    def __post_init__(self) -> None:
        if len(self.weights) != 5:
            raise ValueError(f"weights: one per ranking (record, question, answer, search, BM25), not {len(self.weights)}")


@dataclass(frozen=True)
class Hit:
    id: str
    question: str
    part: str
    score: float  # the learnt ranking's probability that it answers; without it the fused score scaled to [0, 1] (1: first by every signal), blended with the reranker's probability when there is one


@dataclass(frozen=True)
class SearchResult:
    query: str
    in_scope: bool
    hits: tuple[Hit, ...]
    similarity: float = 0.0  # the score behind the in-scope decision: the learnt ranking's probability of being covered, the reranker's best probability, else the best cosine
    notices: tuple[str, ...] = field(default=())

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "in_scope": self.in_scope,
            "hits": [{"id": h.id, "question": h.question, "part": h.part, "score": round(h.score, 4)} for h in self.hits],
        }


def prepare_query(text: str, max_chars: int) -> tuple[str, tuple[str, ...]]:
    """Normalise user text; refuse an empty one and truncate a very long one (with a notice)."""
    cleaned = "".join(
        ch if not unicodedata.category(ch).startswith("C") else " " for ch in unicodedata.normalize("NFC", text or "")
    )
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise InvalidInputError("The question is empty; type a question such as 'what is dropout?'.")
    notices: tuple[str, ...] = ()
    if len(cleaned) > max_chars:
        notices = (f"Your question was {len(cleaned):,} characters long; only its first {max_chars:,} were used.",)
        cleaned = cleaned[:max_chars]
    return cleaned, notices


class Retriever:
    def __init__(
        self, records: Sequence[Record], index: SearchIndex, embedder: Embedder, config: RetrievalConfig = RetrievalConfig(),
        reranker: Reranker | None = None, ranking: LearnedRanking | None = None, view: "Retriever | None" = None,
    ) -> None:
        """``ranking`` reads ``view``'s record and question cosines (a retriever over the same records
        with the tuned embedder); a ``reranker`` is the cross-encoder, used when there is no ranking."""
        if tuple(r.id for r in records) != index.manifest.ids:
            raise ValueError("the index was built from other records")
        if ranking is not None and (view is None or view.records != tuple(records)):
            raise ValueError("the learnt ranking needs a view over the same records")
        self.records, self.index, self.embedder, self.config = tuple(records), index, embedder, config
        self.reranker, self.ranking, self.view = reranker, ranking, view
        self._texts = [record_text(r) for r in self.records] if reranker is not None else []
        if ranking is not None:
            self.threshold = 0.5  # its own probability that the bank covers the query
        elif config.in_scope_threshold is not None:
            self.threshold = config.in_scope_threshold
        elif reranker is not None:
            self.threshold = IN_SCOPE_FROM
        else:
            self.threshold = IN_SCOPE_THRESHOLDS.get(embedder.name, DEFAULT_THRESHOLD)

    def signals(self, query: str) -> tuple[np.ndarray, ...]:
        """Per-record scores: record cosine, question cosine, best answer-chunk cosine, best
        written-search cosine, BM25.

        Dense scores are -inf for records outside each index's top candidates."""
        n, depth = len(self.records), self.config.depth
        vector = self.embedder.encode([query])
        dense = self._record_cosines(vector)
        grouped = []
        for faiss_index, rows in (
            (self.index.answer_vectors, self.index.chunk_rows),
            (self.index.expansion_vectors, self.index.expansion_rows),
        ):
            if faiss_index.ntotal == 0:
                grouped.append(np.full(n, -np.inf, dtype=np.float32))
                continue
            sims, found = faiss_index.search(vector, min(depth * 4, faiss_index.ntotal))
            valid = found[0] >= 0
            grouped.append(max_per_group(sims[0][valid], rows[found[0][valid]], n))
        return dense[0], dense[1], grouped[0], grouped[1], self.index.keyword.scores(query)

    def cosines(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """The first two of ``signals`` alone (record and question cosines): what the learnt ranking
        reads of its view, without the chunk, search and BM25 lookups it does not use."""
        return self._record_cosines(self.embedder.encode([query]))

    def _record_cosines(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.records)
        dense = []
        for faiss_index in (self.index.record_vectors, self.index.question_vectors):
            scores = np.full(n, -np.inf, dtype=np.float32)
            sims, rows = faiss_index.search(vector, min(self.config.depth, n))
            valid = rows[0] >= 0
            scores[rows[0][valid]] = sims[0][valid]
            dense.append(scores)
        return dense[0], dense[1]

    def fuse(self, query: str) -> tuple[list[tuple[int, float]], float]:
        """The fusion's ranking (row, score scaled to [0, 1]) and the best cosine similarity."""
        return self.fused(self.signals(query))

    def fused(self, signals: tuple[np.ndarray, ...]) -> tuple[list[tuple[int, float]], float]:
        """``fuse`` on signals already computed (pure)."""
        *dense, bm25 = signals
        depth = self.config.depth
        rankings = [[r for r in top_k(s, depth) if np.isfinite(s[r])] for s in dense]
        rankings.append([r for r in top_k(bm25, depth) if bm25[r] > 0])
        weights = self.config.weights
        kept = [(ranking, w) for ranking, w in zip(rankings, weights) if w > 0]
        fused = reciprocal_rank_fusion([r for r, _ in kept], [w for _, w in kept], self.config.rrf_k)
        scale = max_rrf_score([w for _, w in kept], self.config.rrf_k)
        # In scope by the bank's own text: the written searches rank, but do not decide coverage
        # (counting them moved the dev half's scope accuracy by one query; the threshold stays).
        similarity = float(max(s.max(initial=-1.0) for s in dense[:3]))
        return [(row, score / scale) for row, score in fused], similarity

    def search(self, query: str, k: int = 5, notices: tuple[str, ...] = ()) -> SearchResult:
        signals = self.signals(query)
        ranked, similarity = self.fused(signals)
        if self.ranking is not None and ranked:
            ranked, similarity = self.ranking.rerank(gather(signals, self.view.cosines(query), ranked[:DEPTH]))
        elif self.reranker is not None and ranked:
            candidates = ranked[:DEPTH]
            probabilities = self.reranker.scores(query, [self._texts[row] for row, _ in candidates])
            ranked, similarity = rerank(candidates, probabilities, self.config.rerank_weight), float(max(probabilities))
        hits = tuple(
            Hit(self.records[row].id, self.records[row].question, self.records[row].part_label, score) for row, score in ranked[:k]
        )
        return SearchResult(query, similarity >= self.threshold, hits, similarity, notices)
