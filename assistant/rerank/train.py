"""Training the reranker: the packaged MiniLM-L6 fine-tuned on (query, record text) pairs from the bank.

The pairs are rerank/data.py's: each training query against its record (1) and against the hard
negatives the fusion ranks 2-10 (0); out-of-scope queries only against their hard negatives, so a
low best probability means "not covered". The machinery (fine-tuning with a progress bar and a
fixed seed, int8 ONNX export, the SHA-256 in meta.json) is models/crossencoder.py, shared with the
verifier. After each epoch the dev records' queries are reranked over their real candidates, so the
number printed is the one retrieval would get (R@1 among in-scope queries, and scope accuracy at
the threshold that is best on them).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from assistant.models.crossencoder import export_int8, fine_tune, torch_probabilities
from assistant.rerank.data import Pair, Query
from assistant.rerank.reranker import DEPTH, record_text
from assistant.verify.data import split_of
from assistant.verify.train import data_hash

MAX_TOKENS = 96  # a query (median 11 words) and a record's question and first 40 answer words
EPOCHS = 2
# The word embeddings stay as packaged: 28 pairs/s against 22 when they train too (one run of 400
# pairs each, this machine, 2026-12-02), and the queries' words are mostly the bank's.
FREEZE_EMBEDDINGS = True


def targets(pairs: Sequence[Pair]) -> np.ndarray:
    return np.array([[1.0 - p.label, p.label] for p in pairs], dtype=np.float32)


def best_threshold(best: Sequence[float], in_scope: Sequence[bool]) -> tuple[float, float]:
    """The scope threshold with the highest accuracy on these queries (midway between two scores), and that accuracy (pure)."""
    scores = sorted(set(best))
    cuts = [scores[0] - 1e-6] + [(a + b) / 2 for a, b in zip(scores, scores[1:])] + [scores[-1] + 1e-6]
    accuracy = [float(np.mean([(s >= cut) == inside for s, inside in zip(best, in_scope)])) for cut in cuts]
    top = int(np.argmax(accuracy))
    return cuts[top], accuracy[top]


def evaluate(probabilities, queries: Sequence[Query], candidates: dict[str, list[str]], texts: dict[str, str]) -> dict:
    """R@1 of reranking each query's candidates with ``probabilities(pairs)``, how often the record is
    among the candidates at all (the most R@1 can be), and the best scope accuracy."""
    pairs = [(q.text, texts[rid]) for q in queries for rid in candidates[q.text][:DEPTH]]
    rows = probabilities(pairs)[:, 1] if pairs else np.zeros(0)
    hits, found, best, start = [], [], [], 0
    for q in queries:
        ids = candidates[q.text][:DEPTH]
        scores = rows[start:start + len(ids)]
        start += len(ids)
        best.append(float(scores.max()) if len(ids) else 0.0)
        if q.record is not None:
            hits.append(bool(len(ids)) and ids[int(np.argmax(scores))] == q.record)
            found.append(q.record in ids)
    cut, scope = best_threshold(best, [q.record is not None for q in queries])
    return {"r1": round(float(np.mean(hits)), 4), "in_candidates": round(float(np.mean(found)), 4),
            "scope_accuracy": round(scope, 4), "threshold": round(cut, 4), "queries": len(queries)}


def pairs_for(engine) -> tuple[list[Query], list[Pair], dict[str, list[str]]]:
    """Every query of the engine's bank, its pairs, and each query's fusion candidates (the shipped
    written queries and statements with the user's own)."""
    from tqdm import tqdm

    from assistant.rerank.data import QueryStore, build_pairs, near_twins, read_out_of_scope, training_queries
    from assistant.retrieval.retriever import Retriever
    from assistant.verify.data import StatementStore

    store = QueryStore.shipped_and_own(engine.settings.cache_dir / "reranker_queries.json")
    statements = StatementStore.shipped_and_own(engine.settings.cache_dir / "verifier_statements.json")
    searches = engine.expansions.for_records(engine.corpus.records)
    queries = training_queries(engine.corpus, store, searches, statements, read_out_of_scope())
    fusion = Retriever(engine.corpus.records, engine.index, engine.embedder, engine.retrieval_config)
    ids = [r.id for r in engine.corpus.records]
    candidates = {q.text: [ids[row] for row, _ in fusion.fuse(q.text)[0][:DEPTH]]
                  for q in tqdm(queries, desc="Finding hard negatives", unit="query", file=sys.stderr, disable=None)}
    pairs = build_pairs(queries, candidates.__getitem__, near_twins(engine.corpus, engine.embedder))
    return queries, pairs, candidates


def run(engine, out: Path | None = None, every_record: bool = False, epochs: int = EPOCHS, seed: int = 0,
        log=lambda msg: print(msg, file=sys.stderr)) -> tuple[Path, dict]:
    """`assistant train reranker`: train on the train split's queries (or every record's), into the
    cache folder (or ``out``), report the dev split after each epoch, and say what it made."""
    from assistant.models.weights import _minilm_path

    queries, pairs, candidates = pairs_for(engine)
    texts = {r.id: record_text(r) for r in engine.corpus.records}
    # A train query's pairs whose candidate is a dev or test record are left out too: a record text
    # the model sees only as a negative is learnt as "never the answer" (the first run, with them:
    # dev R@1 0.019 after one epoch, below the 0.08 of a random order; the fusion alone gets 0.53).
    train_pairs = [p for p in pairs if every_record or (p.split == "train" and split_of(p.record) == "train")]
    dev = [q for q in queries if q.split == "dev"]
    log(f"{len(queries)} queries, {len(pairs)} pairs; training on {len(train_pairs)} "
        f"({sum(p.label == 1 for p in train_pairs)} answering), {len(dev)} dev queries")
    history: list[dict] = []

    def after_epoch(epoch, model, tokenizer):
        if dev and not every_record:
            history.append(evaluate(lambda pairs: torch_probabilities(model, tokenizer, pairs, MAX_TOKENS), dev, candidates, texts))
            log(f"epoch {epoch + 1}: dev {history[-1]}")

    model, tokenizer, seconds = fine_tune([(p.query, texts[p.record]) for p in train_pairs], targets(train_pairs),
                                          _minilm_path(engine.settings.cache_dir), max_tokens=MAX_TOKENS, seed=seed,
                                          epochs=epochs, desc="Training the reranker", after_epoch=after_epoch,
                                          freeze_embeddings=FREEZE_EMBEDDINGS)
    out = out or engine.settings.cache_dir / "reranker"
    probes = [(p.query, texts[p.record]) for p in (pairs if every_record else [p for p in pairs if p.split == "dev"])[:300]]
    found, _, _ = export_int8(model, tokenizer, out, "reranker.onnx", MAX_TOKENS, probes)
    meta = {"base": "all-MiniLM-L6-v2", "labels": ["other", "answers"], "data": data_hash(train_pairs), "pairs": len(train_pairs),
            "seed": seed, "epochs": epochs, "freeze_embeddings": FREEZE_EMBEDDINGS, "train_seconds": round(seconds, 1), "dev_by_epoch": history,
            "records": "every record" if every_record else "train split", "max_tokens": MAX_TOKENS, **found,
            "trained_at": time.strftime("%Y-%m-%d")}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return out, meta
