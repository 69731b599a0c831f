"""Text embedders behind one protocol: the packaged sentence-transformers models, run by ONNX
Runtime (exported once, checked against sentence-transformers) or by PyTorch, and a fake."""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from assistant.errors import ModelError
from assistant.models.weights import EMBEDDING_MODELS, EmbeddingModel, embedding_model


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


ONNX_FORMAT = 1  # bump when the export below changes; older exports are then redone


def onnx_model_file(spec: EmbeddingModel, cache_dir: Path, log: Callable[[str], None]) -> Path:
    """The packaged sentence-transformers model exported once to ONNX (tokens -> unit vectors).

    The export runs the model's own modules (transformer, pooling, normalisation) under
    torch.onnx and is checked against sentence-transformers on probe texts before it is kept,
    so ONNX Runtime gives the same vectors about three times faster on a 2-core CPU.
    """
    source = spec.locate(cache_dir)
    weights = source / "model.safetensors"
    # the folder and the weights' time as well: retrained weights (the tuned embedder) keep the name and size
    found = weights.stat() if weights.is_file() else None
    stamp = f"{spec.name} {found.st_size if found else 0} {source} {found.st_mtime_ns if found else 0} format {ONNX_FORMAT}"
    target = cache_dir / "models" / "onnx" / spec.key / "model.onnx"
    marker = target.with_suffix(".source")
    if target.is_file() and marker.is_file() and marker.read_text() == stamp:
        return target
    log(f"Preparing the {spec.key} embedding model for fast CPU use (once, about 10 seconds)…")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staged = Path(tmp) / "model.onnx"
        try:
            _export_onnx(source, staged)
        except ModelError:
            raise
        except Exception as exc:  # a broken install must reach the user as one sentence
            raise ModelError(f"Cannot export the {spec.key} embedding model to ONNX ({exc}); reinstall onnx and onnxruntime.") from exc
        os.replace(staged, target)  # atomic: a crash leaves the old export or none
    marker.write_text(stamp)
    return target


PROBE_TEXTS = ("What does dropout mean?", "Gradients vanish in the early layers of deep networks. " * 60, "x")


def _export_onnx(source: Path, out: Path) -> None:
    import warnings

    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    st = SentenceTransformer(str(source), device="cpu").eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.st = st

        def forward(self, input_ids, attention_mask):
            return self.st({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]

    sample = [torch.tensor(ids) for ids in _token_arrays(_tokenizer(source), ["a short text", "and a longer second text"])]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about Python control flow: checked below by the probes
        torch.onnx.export(
            Encoder(), tuple(sample), str(out),
            input_names=["input_ids", "attention_mask"], output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}},
            opset_version=17, dynamo=False,
        )
    expected = st.encode(list(PROBE_TEXTS), normalize_embeddings=True, convert_to_numpy=True)
    got = OnnxEncoder(out, source).encode(PROBE_TEXTS)
    worst = float(np.min(np.sum(expected * got, axis=1)))
    if worst < 0.999:
        raise ModelError(f"The ONNX export of {source.name} disagrees with sentence-transformers (cosine {worst:.4f}); it was not kept.")


class OnnxEncoder:
    """ONNX Runtime session plus the model's own tokenizer (tokenizer.json): texts -> unit vectors."""

    def __init__(self, model_file: Path, source: Path) -> None:
        import onnxruntime

        self.tokenizer = _tokenizer(source)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initialisers are noise to users
        # Threads that spin after a run starve the next model's run: a search encodes the query with
        # mpnet, then with the tuned MiniLM (the learnt ranking's view), and took p50 54 ms spinning
        # against 35 ms not (one run each way, twice, this machine, 2026-12-04); an mpnet encode alone
        # costs 2-3 ms more without spinning.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

    def encode(self, texts, batch_size: int = 8):  # on 2 cores, 8 embeds 20% faster than 32
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        rows: dict[int, np.ndarray] = {}
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            ids, mask = _token_arrays(self.tokenizer, [texts[i] for i in batch])
            for i, vector in zip(batch, self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]):
                rows[i] = vector
        return np.ascontiguousarray([rows[i] for i in range(len(texts))], dtype=np.float32)


def _tokenizer(source: Path):
    """The model's fast tokenizer, truncating and padding as sentence-transformers does."""
    import json

    from tokenizers import Tokenizer

    config = json.loads((source / "sentence_bert_config.json").read_text())
    tokenizer_config = json.loads((source / "tokenizer_config.json").read_text())
    pad = tokenizer_config.get("pad_token", "[PAD]")
    pad = pad["content"] if isinstance(pad, dict) else pad
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    # sentence-transformers 6 saves the length in the tokenizer's config, no longer in its own
    tokenizer.enable_truncation(int(config.get("max_seq_length", tokenizer_config.get("model_max_length", 256))))
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad), pad_token=pad)
    return tokenizer


def _token_arrays(tokenizer, texts):
    encodings = tokenizer.encode_batch(list(texts))
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    return ids, np.array([e.attention_mask for e in encodings], dtype=np.int64)


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
                model_file = onnx_model_file(self._spec, self._cache_dir, self._log)
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
    if key not in EMBEDDING_MODELS:
        raise ModelError(f"Unknown embedder {key!r}; choose {', '.join(EMBEDDING_MODELS)}.")
    return OnnxEmbedder(key, cache_dir, log) if runtime == "onnx" else SentenceTransformerEmbedder(key, cache_dir)
