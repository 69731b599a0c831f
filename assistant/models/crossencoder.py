"""Cross-encoders this project trains itself: fine-tuning, export to int8 ONNX, and running them.

The verifier (key point, statement) -> supported / contradicted / not addressed and the reranker
(query, record) -> relevant / not are both the packaged all-MiniLM-L6-v2 (6 layers, 22M parameters:
a pair in a few milliseconds on 2 cores) with a new classification head, trained here with soft
targets, exported to ONNX and quantised to int8 (dynamic, weights of the matrix products only),
and run under ONNX Runtime with the tokenizer saved beside it. Only the data, the labels and the
lengths differ, so this one module does the machinery for both.

Deterministic for a seed: the batches, their order and the initial head come from it. Torch is
imported only to train; running needs ONNX Runtime and tokenizers.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from assistant.errors import ModelError
from assistant.models.weights import sha256_of

TextPair = tuple[str, str]
BATCH, LEARNING_RATE, WARMUP = 16, 4e-5, 0.1


class OnnxCrossEncoder:
    """A trained cross-encoder under ONNX Runtime; loads (and checks) its weights on first use.

    ``folder`` holds ``filename`` (the int8 model), tokenizer.json and meta.json. The file is refused
    unless its SHA-256 is ``sha256`` (the shipped models pin theirs in code) or, when that is None,
    the one its meta.json recorded (a model a user retrained). ``retrain`` is the command that
    makes a new one, named in the errors."""

    def __init__(self, folder: Path, filename: str, sha256: str | None = None, retrain: str = "") -> None:
        self.folder, self.filename, self._sha256, self._retrain = folder, filename, sha256, retrain
        self._session = self._tokenizer = None

    def load(self):
        if self._session is None:
            model = self.folder / self.filename
            if not model.is_file():
                raise ModelError(f"No {model.stem} model in {self.folder}; run '{self._retrain}' to train one.")
            meta = json.loads((self.folder / "meta.json").read_text())
            if sha256_of(model) != (self._sha256 or meta.get("sha256", "")):
                raise ModelError(f"{model} does not match its known SHA-256; it may be damaged. Reinstall the project, "
                                 f"or run '{self._retrain}' to train it anew.")
            import onnxruntime
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tokenizer.enable_truncation(int(meta.get("max_tokens", 128)), strategy="longest_first")
            tokenizer.enable_padding()
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3
            options.intra_op_num_threads = 2
            self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
            self._inputs = [i.name for i in self._session.get_inputs()]  # mpnet has no token_type_ids
            self._tokenizer = tokenizer
        return self._session

    def probabilities(self, pairs: Sequence[TextPair], batch: int = 32) -> np.ndarray:
        """One row per (first, second) pair: the softmax over the model's labels."""
        session = self.load()
        rows = []
        for start in range(0, len(pairs), batch):
            encodings = self._tokenizer.encode_batch([tuple(p) for p in pairs[start:start + batch]])
            feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
            logits = session.run(None, {name: feed[name] for name in self._inputs})[0]
            exp = np.exp(logits - logits.max(axis=1, keepdims=True))
            rows.append(exp / exp.sum(axis=1, keepdims=True))
        return np.concatenate(rows) if rows else np.zeros((0, 0))


# ----------------------------------------------------------------------------- training


def length_batches(lengths: Sequence[int], seed: int, size: int = BATCH) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding: about twice as fast on 2 cores), deterministic for a seed."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    out = []
    for start in range(0, len(order), 50 * size):  # sort within windows of 50 batches, then shuffle the batches
        window = sorted(order[start:start + 50 * size], key=lambda i: lengths[i])
        out += [window[k:k + size] for k in range(0, len(window), size)]
    rng.shuffle(out)
    return out


def fine_tune(pairs: Sequence[TextPair], targets: np.ndarray, base: Path, *, max_tokens: int, seed: int = 0, epochs: int = 3,
              desc: str = "Training", after_epoch: Callable[[int, object, object], None] = lambda epoch, model, tokenizer: None,
              learning_rate: float = LEARNING_RATE, freeze_embeddings: bool = False):
    """Fine-tune ``base`` with a new head of ``targets.shape[1]`` labels on soft targets (cross-entropy),
    with a progress bar; returns (model, tokenizer, seconds). ``after_epoch`` sees the model after each
    epoch. ``freeze_embeddings`` keeps the word embeddings (half of MiniLM's weights) as they are:
    their dense gradient and optimiser step are a large share of a step on 2 cores."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=targets.shape[1])
    if freeze_embeddings:
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    y = torch.tensor(targets, dtype=torch.float32)
    lengths = [len(a) + len(b) for a, b in pairs]
    steps = epochs * ((len(pairs) + BATCH - 1) // BATCH)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate, weight_decay=0.01)
    warm = max(1, int(WARMUP * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    started = time.perf_counter()
    bar = tqdm(total=steps, desc=desc, unit="batch", file=sys.stderr, disable=None)
    for epoch in range(epochs):
        model.train()
        for rows in length_batches(lengths, seed + epoch):
            batch = tokenizer([pairs[i][0] for i in rows], [pairs[i][1] for i in rows], truncation="longest_first",
                              max_length=max_tokens, padding=True, return_tensors="pt")
            loss = -(y[rows] * torch.log_softmax(model(**batch).logits, dim=-1)).sum(dim=-1).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
        after_epoch(epoch, model, tokenizer)
    bar.close()
    model.eval()
    return model, tokenizer, time.perf_counter() - started


def torch_probabilities(model, tokenizer, pairs: Sequence[TextPair], max_tokens: int) -> np.ndarray:
    """The trained (fp32) model's softmax rows, for dev numbers during training."""
    import torch

    was_training = model.training
    model.eval()
    rows = []
    with torch.no_grad():
        for start in range(0, len(pairs), 64):
            chunk = pairs[start:start + 64]
            batch = tokenizer([a for a, _ in chunk], [b for _, b in chunk], truncation="longest_first",
                              max_length=max_tokens, padding=True, return_tensors="pt")
            rows.append(torch.softmax(model(**batch).logits, dim=-1).numpy())
    model.train(was_training)
    return np.concatenate(rows)


def export_int8(model, tokenizer, out: Path, filename: str, max_tokens: int, probes: Sequence[TextPair]) -> dict:
    """torch -> ONNX (fp32, temporary) -> int8 weights of the matrix products (dynamic quantisation,
    per channel) in ``out/filename``; the tokenizer beside it and a meta.json with ``max_tokens`` and
    the SHA-256 (the caller adds what made it). Returns how often the int8 model's top label agrees
    with the trained one's on ``probes`` and the largest change of a probability, then both models'
    rows for the probes."""
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["a first text", "another first text here"], ["a second", "and one more"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]  # mpnet has no token_type_ids
    fp32 = out / f"{Path(filename).stem}.fp32.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(sample[n] for n in names), str(fp32), input_names=names, output_names=["logits"],
                          dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(out / filename), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])
    fp32.unlink()
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    sha = sha256_of(out / filename)
    (out / "meta.json").write_text(json.dumps({"max_tokens": max_tokens, "sha256": sha}))
    full = torch_probabilities(model, tokenizer, probes, max_tokens)
    small = OnnxCrossEncoder(out, filename, sha).probabilities(probes)
    found = {"int8_agreement": round(float(np.mean(np.argmax(full, axis=1) == np.argmax(small, axis=1))), 4),
             "int8_max_change": round(float(np.abs(full - small).max()), 4), "sha256": sha}
    return found, full, small
