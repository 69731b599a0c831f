"""Training the verifier: a cross-encoder fine-tuned from the packaged MiniLM-L6 on the bank's pairs.

(question + key point, statement) -> supported / contradicted / not addressed. The encoder is the packaged
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
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from assistant.models.crossencoder import export_int8, fine_tune, torch_probabilities
from assistant.verify.data import LABELS, Pair

MAX_TOKENS = 128  # the question, a key point and a statement (median 8 + 16 + 14 words); the longest points are cut
EPOCHS = 3
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


def data_hash(pairs: list) -> str:
    return hashlib.sha256("\n".join(json.dumps(asdict(p), sort_keys=True) for p in pairs).encode()).hexdigest()[:16]


def train(pairs: list[Pair], base: Path, out: Path, seed: int = 0, epochs: int = EPOCHS,
          dev: list[Pair] | None = None, judge_share: float = JUDGE_SHARE, log=lambda msg: print(msg, file=sys.stderr)) -> dict:
    """Fine-tune, export to ONNX (int8) in ``out`` and return its meta (also written to meta.json)."""
    history = []
    truth = [LABELS.index(p.label) for p in dev or []]

    def after_epoch(epoch, model, tokenizer):
        if dev:
            rows = torch_probabilities(model, tokenizer, [(p.premise, p.statement) for p in dev], MAX_TOKENS)
            history.append(round(float(np.mean(np.argmax(rows, axis=1) == truth)), 4))
            log(f"epoch {epoch + 1}: dev accuracy {history[-1]:.3f}")

    model, tokenizer, seconds = fine_tune([(p.premise, p.statement) for p in pairs], targets(pairs, judge_share), base,
                                          max_tokens=MAX_TOKENS, seed=seed, epochs=epochs, desc="Training the verifier",
                                          after_epoch=after_epoch)
    probes = (dev or pairs)[:300]
    found, full, small = export_int8(model, tokenizer, out, "verifier.onnx", MAX_TOKENS, [(p.premise, p.statement) for p in probes])
    labels = np.array([LABELS.index(p.label) for p in probes])
    fp32_accuracy, int8_accuracy = (float(np.mean(np.argmax(rows, axis=1) == labels)) for rows in (full, small))
    if int8_accuracy < fp32_accuracy - 0.01:
        log(f"note: int8 costs {fp32_accuracy - int8_accuracy:.1%} accuracy on {len(probes)} probes.")
    meta = {"base": base.name, "labels": list(LABELS), "premise": "question + key point", "data": data_hash(pairs), "pairs": len(pairs), "seed": seed,
            "epochs": epochs, "judge_share": judge_share, "train_seconds": round(seconds, 1), "dev_accuracy_by_epoch": history,
            "max_tokens": MAX_TOKENS, "int8_agreement": found["int8_agreement"], "fp32_probe_accuracy": round(fp32_accuracy, 4),
            "int8_probe_accuracy": round(int8_accuracy, 4), "trained_at": time.strftime("%Y-%m-%d"), "sha256": found["sha256"]}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta


def pairs_for(engine, log=lambda msg: print(msg, file=sys.stderr)) -> list[Pair]:
    """Every pair of the engine's bank: the written statements (shipped and the user's) and the
    rule-made ones, with the nearest records by the grading embedder."""
    from assistant.verify.data import StatementStore, build_pairs, nearest_records

    store = StatementStore.shipped_and_own(engine.settings.cache_dir / "verifier_statements.json")
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
