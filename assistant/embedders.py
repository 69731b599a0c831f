"""Text embedders behind one protocol: the real sentence-transformers model and a deterministic fake."""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from assistant.errors import ModelError
from assistant.models import OnnxEncoder, embedding_model, onnx_path


@runtime_checkable
class Embedder(Protocol):
    name: str  # recorded in the index manifest; a different name means a rebuild
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


class SentenceTransformerEmbedder:
    """A packaged sentence-transformers model run by PyTorch, loaded on first use.

    What a user would write; the benchmark's plain pipeline uses it. The product uses
    OnnxEmbedder: the same model and vectors, about three times faster per query."""

    def __init__(self, key: str, cache_dir: Path) -> None:
        spec = embedding_model(key)
        self.key, self.name, self.dim = key, spec.name, spec.dim
        self._spec, self._cache_dir = spec, cache_dir
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                path = self._spec.locate(self._cache_dir)
                try:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # a per-load weights bar is noise to users

                    self._model = SentenceTransformer(str(path), device="cpu")
                except Exception as exc:  # a broken install must not reach the user as a traceback
                    raise ModelError(f"Cannot load the embedding model from {path}: {exc}. Reinstall {', '.join(self._spec.packages)}.") from exc
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._model or self._load()
        vectors = model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class OnnxEmbedder:
    """A packaged sentence-transformers model exported once to ONNX and run by ONNX Runtime.

    Loaded on first use and shared by all callers; torch is imported only for the one-time export."""

    def __init__(self, key: str, cache_dir: Path, log: Callable[[str], None]) -> None:
        spec = embedding_model(key)
        self.key, self.name, self.dim = key, spec.name, spec.dim
        self._spec, self._cache_dir, self._log = spec, cache_dir, log
        self._encoder: OnnxEncoder | None = None
        self._lock = threading.Lock()

    def _load(self) -> OnnxEncoder:
        with self._lock:
            if self._encoder is None:
                model_file = onnx_path(self._spec, self._cache_dir, self._log)
                try:
                    self._encoder = OnnxEncoder(model_file, self._spec.locate(self._cache_dir))
                except Exception as exc:  # a broken install must not reach the user as a traceback
                    raise ModelError(f"Cannot load the embedding model {model_file}: {exc}. Reinstall onnxruntime and {', '.join(self._spec.packages)}.") from exc
        return self._encoder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return (self._encoder or self._load()).encode(list(texts))


class FakeEmbedder:
    """Deterministic hashed bag of words and character trigrams: fast, offline, similar texts score high.

    For unit tests only; it captures word overlap, not meaning.
    """

    def __init__(self, dim: int = 256) -> None:
        self.name, self.dim = f"fake-hash-{dim}", dim

    def _features(self, text: str) -> list[str]:
        words = re.findall(r"\w+", text.lower())
        grams = [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        return words + grams

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def make_embedder(
    key: str, cache_dir: Path, log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr), runtime: str = "onnx"
) -> Embedder:
    """The embedder for a model key; runtime "torch" is the plain sentence-transformers one."""
    if key.startswith("fake"):
        return FakeEmbedder()
    if key not in ("minilm", "mpnet"):
        raise ModelError(f"Unknown embedder {key!r}; choose minilm or mpnet.")
    return OnnxEmbedder(key, cache_dir, log) if runtime == "onnx" else SentenceTransformerEmbedder(key, cache_dir)
