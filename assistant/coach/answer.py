"""Answers composed from retrieved reference answers (extractive: no language model)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.corpus import Corpus
from assistant.retrieval.retriever import SearchResult

RELATED_MIN_SCORE = 0.6  # other hits shown as "see also" when their score (the reranker's probability, else the fused score) reaches this


@dataclass(frozen=True)
class Answer:
    query: str
    text: str  # markdown
    citations: tuple[str, ...]
    in_scope: bool
    backend: str = "extractive"
    fallback: bool = False
    notices: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "answer": self.text,
            "citations": list(self.citations),
            "in_scope": self.in_scope,
            "backend": self.backend,
            "fallback": self.fallback,
        }


def answer_hits(result: SearchResult, limit: int = 3) -> list:
    """The hits an answer draws on: the best one, and the next ones scoring RELATED_MIN_SCORE or more."""
    return [*result.hits[:1], *(h for h in result.hits[1:limit] if h.score >= RELATED_MIN_SCORE)]


def extractive_answer(result: SearchResult, corpus: Corpus) -> Answer:
    """The best matching reference answer, cited, with close runners-up; or an honest 'not covered'."""
    if not result.in_scope or not result.hits:
        closest = ", ".join(f"[{h.id}] {h.question}" for h in result.hits[:3])
        text = "Not covered: the question bank does not answer this."
        if closest:
            text += f" The closest questions it has are: {closest}."
        return Answer(result.query, text, (), False, notices=result.notices)
    best = corpus.get(result.hits[0].id)
    related = answer_hits(result)[1:]
    lines = [f"**[{best.id}] {best.question}**", "", best.answer]
    if related:
        lines += ["", "See also: " + "; ".join(f"[{h.id}] {h.question}" for h in related)]
    return Answer(result.query, "\n".join(lines), (best.id,), True, notices=result.notices)
