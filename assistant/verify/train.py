"""Training the verifier: a cross-encoder fine-tuned from the packaged MiniLM-L6 on the bank's pairs.

(key point, statement) -> supported / contradicted / not addressed. The encoder is the packaged
all-MiniLM-L6-v2 (6 layers, 22M parameters: a pair in a few milliseconds on 2 cores, so every key
point of an answer can be checked; mpnet is 5x the compute for each pair) with a new 3-way head.
Targets are the labels known by construction, and for the statements the model wrote, half that
label and half the judge's opinion (P(yes) as supported, the rest as contradicted): the writer
sometimes writes a "false" statement that is true, and the judge catches most of those.

Deterministic for a seed: the pairs, their order and the initial head come from it. The result is
exported to ONNX and quantised to int8 (dynamic, weights only), with a meta.json that says what made
it (base model, data hash, seed, date, dev accuracy, the file's SHA-256).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from assistant.verify.data import LABELS, Pair

MAX_TOKENS = 96  # a key point and a statement (median 16 + 14 words); the longest points are cut
BATCH, EPOCHS, LEARNING_RATE, WARMUP = 16, 3, 4e-5, 0.1
JUDGE_SHARE = 0.5  # of a written statement's target that is the judge's opinion


def targets(pairs: list[Pair], judge_share: float = JUDGE_SHARE) -> np.ndarray:
    """Soft targets, one row per pair over LABELS."""
    out = np.zeros((len(pairs), len(LABELS)), dtype=np.float32)
    for row, pair in zip(out, pairs):
        row[LABELS.index(pair.label)] = 1.0
        if pair.judge is not None and pair.how.startswith("written"):
            row *= 1 - judge_share
            row[0] += judge_share * pair.judge
            row[1] += judge_share * (1 - pair.judge)
    return out


def batches(pairs: list[Pair], seed: int) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding: about twice as fast on 2 cores), deterministic for a seed."""
    rng = random.Random(seed)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    out = []
    for start in range(0, len(order), 50 * BATCH):  # sort within windows of 50 batches, then shuffle the batches
        window = sorted(order[start:start + 50 * BATCH], key=lambda i: len(pairs[i].point) + len(pairs[i].statement))
        out += [window[k:k + BATCH] for k in range(0, len(window), BATCH)]
    rng.shuffle(out)
    return out


def data_hash(pairs: list[Pair]) -> str:
    return hashlib.sha256("\n".join(json.dumps(asdict(p), sort_keys=True) for p in pairs).encode()).hexdigest()[:16]


def train(pairs: list[Pair], base: Path, out: Path, seed: int = 0, epochs: int = EPOCHS,
          dev: list[Pair] | None = None, judge_share: float = JUDGE_SHARE, log=lambda msg: print(msg, file=sys.stderr)) -> dict:
    """Fine-tune, export to ONNX (int8) in ``out`` and return its meta (also written to meta.json)."""
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
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=len(LABELS))
    y = torch.tensor(targets(pairs, judge_share))
    steps = epochs * ((len(pairs) + BATCH - 1) // BATCH)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    warm = max(1, int(WARMUP * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm))))
    started = time.perf_counter()
    bar = tqdm(total=steps, desc="Training the verifier", unit="batch", file=sys.stderr, disable=None)
    history = []
    for epoch in range(epochs):
        model.train()
        for rows in batches(pairs, seed + epoch):
            batch = tokenizer([pairs[i].point for i in rows], [pairs[i].statement for i in rows], truncation="longest_first",
                              max_length=MAX_TOKENS, padding=True, return_tensors="pt")
            logits = model(**batch).logits
            loss = -(y[rows] * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
        if dev:
            accuracy = float(np.mean(np.argmax(_torch_scores(model, tokenizer, dev), axis=1) == [LABELS.index(p.label) for p in dev]))
            history.append(round(accuracy, 4))
            log(f"epoch {epoch + 1}: dev accuracy {accuracy:.3f}")
    bar.close()
    seconds = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    probes = (dev or pairs)[:300]
    exported = _export(model, tokenizer, out, probes, log)
    meta = {"base": base.name, "labels": list(LABELS), "data": data_hash(pairs), "pairs": len(pairs), "seed": seed,
            "epochs": epochs, "judge_share": judge_share, "train_seconds": round(seconds, 1), "dev_accuracy_by_epoch": history,
            "max_tokens": MAX_TOKENS, **exported, "trained_at": time.strftime("%Y-%m-%d"),
            "sha256": hashlib.sha256((out / "verifier.onnx").read_bytes()).hexdigest()}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta


def _torch_scores(model, tokenizer, pairs: list[Pair]) -> np.ndarray:
    import torch

    model.eval()
    rows = []
    with torch.no_grad():
        for start in range(0, len(pairs), 64):
            chunk = pairs[start:start + 64]
            batch = tokenizer([p.point for p in chunk], [p.statement for p in chunk], truncation="longest_first",
                              max_length=MAX_TOKENS, padding=True, return_tensors="pt")
            rows.append(torch.softmax(model(**batch).logits, dim=-1).numpy())
    model.train()
    return np.concatenate(rows)


def _export(model, tokenizer, out: Path, probes: list[Pair], log) -> dict:
    """torch -> ONNX (fp32, temporary) -> int8 weights of the matrix products (dynamic quantisation,
    per channel); the tokenizer beside it. Returns how the int8 model compares with the trained one
    on ``probes`` (label agreement, and each one's accuracy); a loss of over a point is said."""
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from assistant.verify.verifier import OnnxVerifier

    sample = tokenizer(["a key point", "another key point here"], ["a statement", "and one more"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    fp32 = out / "verifier.fp32.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(sample[n] for n in names), str(fp32), input_names=names, output_names=["logits"],
                          dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(out / "verifier.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    pairs = [(p.point, p.statement) for p in probes]
    full = _torch_scores(model, tokenizer, probes)
    (out / "meta.json").write_text(json.dumps({"max_tokens": MAX_TOKENS}))
    small = OnnxVerifier(out, hashlib.sha256((out / "verifier.onnx").read_bytes()).hexdigest()).scores(pairs)
    fp32.unlink()
    truth = np.array([LABELS.index(p.label) for p in probes])
    found = {"int8_agreement": float(np.mean(np.argmax(full, axis=1) == np.argmax(small, axis=1))),
             "fp32_probe_accuracy": float(np.mean(np.argmax(full, axis=1) == truth)),
             "int8_probe_accuracy": float(np.mean(np.argmax(small, axis=1) == truth))}
    if found["int8_probe_accuracy"] < found["fp32_probe_accuracy"] - 0.01:
        log(f"note: int8 costs {found['fp32_probe_accuracy'] - found['int8_probe_accuracy']:.1%} accuracy on {len(probes)} probes.")
    return {k: round(v, 4) for k, v in found.items()}

def pairs_for(engine, log=lambda msg: print(msg, file=sys.stderr)) -> list[Pair]:
    """Every pair of the engine's bank: the written statements (shipped and the user's) and the
    rule-made ones, with the nearest records by the grading embedder."""
    from assistant.verify.data import SHIPPED, StatementStore, build_pairs, nearest_records

    store = StatementStore(SHIPPED)
    own = StatementStore(engine.settings.cache_dir / "verifier_statements.json")
    store.data.update(own.data)
    return build_pairs(engine.corpus, store, nearest_records(engine.corpus, engine.grading_embedder))


def run(engine, out: Path | None = None, every_record: bool = False, epochs: int = EPOCHS, seed: int = 0,
        judge_share: float = JUDGE_SHARE) -> tuple[Path, dict]:
    """`assistant train verifier`: train on the train split (or every record), into the cache folder
    (or ``out``), and say what it made."""
    from assistant.models.weights import _minilm_path
    from assistant.verify.data import label_counts

    pairs = pairs_for(engine)
    counts = label_counts(pairs)
    train_pairs = [p for p in pairs if every_record or p.split == "train"]
    dev = [p for p in pairs if p.split == "dev"] if not every_record else []
    print(f"{len(pairs)} pairs: " + "; ".join(f"{split} {sum(c.values())} ({', '.join(f'{k} {v}' for k, v in c.items())})"
                                             for split, c in sorted(counts.items())), file=sys.stderr)
    out = out or engine.settings.cache_dir / "verifier"
    meta = train(train_pairs, _minilm_path(engine.settings.cache_dir), out, seed=seed, epochs=epochs, dev=dev,
                 judge_share=judge_share)
    meta["records"] = "every record" if every_record else "train split"
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return out, meta
