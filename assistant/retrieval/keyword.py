"""Keyword retrieval: BM25 (bm25s) with English stop words and Snowball stemming."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english").stemWords
    except ImportError:  # still works, only less forgiving of word forms
        return None


class KeywordIndex:
    def __init__(self, bm25) -> None:
        self._bm25 = bm25
        self._stem = _stemmer()

    @classmethod
    def build(cls, texts: Sequence[str]) -> "KeywordIndex":
        import bm25s

        tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False)
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        return cls(bm25)

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> "KeywordIndex":
        import bm25s

        return cls(bm25s.BM25.load(str(directory), show_progress=False, verbosity=0))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for the query (zeros when no query word is known)."""
        import bm25s

        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self._stem, return_ids=False, show_progress=False)[0]
        vocab = self._bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return np.zeros(self._bm25.scores["num_docs"], dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
