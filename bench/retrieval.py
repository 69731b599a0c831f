"""Retrieval benchmark: our hybrid against the pipelines a user would write, side by side.

    .venv/bin/python bench/retrieval.py              # the table (held-out half and all queries)
    .venv/bin/python bench/retrieval.py --calibrate  # also print the dev-half in-scope thresholds
    .venv/bin/python bench/retrieval.py --heldout    # issue #11's held-out set (report once)

Queries: bench/data/retrieval_queries.tsv, split by a hash of the query text into a dev half
(used to pick every system's in-scope threshold and to tune) and a held-out half (reported).
bench/data/retrieval_heldout.tsv was written later, before any system ran on it, and is never
tuned on: `--heldout` reports it (plain systems' thresholds still come from the dev half).
"hybrid-*" systems use the shipped written searches (corpus/expansions.json); "*-noexp" leave
them out.
Each system runs in a fresh subprocess so its build time, peak memory and latency are its own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUERIES = ROOT / "bench" / "data" / "retrieval_queries.tsv"
HELDOUT = ROOT / "bench" / "data" / "retrieval_heldout.tsv"
SYSTEMS = ("plain-minilm", "plain-mpnet", "bm25", "hybrid-minilm", "hybrid-mpnet-noexp", "hybrid-mpnet")


@dataclass(frozen=True)
class Query:
    text: str
    ids: frozenset[str]  # empty: out of scope
    split: str  # "dev" or "test"


def load_queries(path: Path = QUERIES, heldout: bool = False) -> list[Query]:
    """The retrieval set's queries (dev and test halves), then, with ``heldout``, #11's set ("heldout")."""
    queries = []
    lines = [(line, None) for line in path.read_text(encoding="utf-8").splitlines()]
    if heldout:
        lines += [(line, "heldout") for line in HELDOUT.read_text(encoding="utf-8").splitlines()]
    for line, fixed in lines:
        if not line.strip() or line.startswith("#"):
            continue
        text, _, ids = line.partition("\t")
        split = fixed or ("dev" if int(hashlib.sha1(text.encode()).hexdigest(), 16) % 2 == 0 else "test")
        queries.append(Query(text, frozenset(i for i in ids.split(",") if i), split))
    return queries


# ----------------------------------------------------------------------------- one system


def run_system(name: str, heldout: bool = False) -> dict:
    """Build the system, run every query (warm), return per-query rankings, scope scores and costs."""
    from assistant.corpus import load_corpus
    from assistant.models.embedders import make_embedder
    from assistant.config import Settings
    from assistant.retrieval.fusion import top_k

    settings = Settings()
    corpus = load_corpus(settings.corpus_dir)
    records = corpus.records
    queries = load_queries(heldout=heldout)
    kind, _, model = name.partition("-")
    model, _, variant = model.partition("-")
    started = time.perf_counter()

    if kind == "plain":
        import faiss

        embedder = make_embedder(model, settings.cache_dir, runtime="torch" if kind == "plain" else "onnx")
        index = faiss.IndexFlatIP(embedder.dim)
        index.add(embedder.encode([f"{r.question}\n{r.answer_text}" for r in records]))

        def search(text: str):
            sims, rows = index.search(embedder.encode([text]), 10)
            return [records[i].id for i in rows[0]], float(sims[0][0])

    elif kind == "bm25":
        from assistant.retrieval.keyword import KeywordIndex

        keyword = KeywordIndex.build([f"{r.question}\n{r.answer_text}" for r in records])

        def search(text: str):
            scores = keyword.scores(text)
            return [records[i].id for i in top_k(scores, 10)], float(scores.max())

    else:
        from assistant.retrieval.expansion import ExpansionStore
        from assistant.retrieval.index import build_index
        from assistant.retrieval.retriever import Retriever

        embedder = make_embedder(model, settings.cache_dir, runtime="torch" if kind == "plain" else "onnx")
        expansions = {} if variant == "noexp" else ExpansionStore(Path("/nonexistent")).for_records(records)
        with tempfile.TemporaryDirectory() as tmp:
            index = build_index(records, corpus.content_hash, embedder, Path(tmp) / "idx", expansions=expansions)
        retriever = Retriever(records, index, embedder)

        def search(text: str):
            result = retriever.search(text, k=10)
            return [h.id for h in result.hits], result.similarity

    build_seconds = time.perf_counter() - started
    search(queries[0].text)  # warm-up
    rows, latencies = [], []
    for q in queries:
        t = time.perf_counter()
        ranked, scope = search(q.text)
        latencies.append((time.perf_counter() - t) * 1000)
        rows.append({"ranked": ranked, "scope": scope})
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"name": name, "rows": rows, "latencies_ms": latencies, "build_s": build_seconds, "peak_mb": peak_mb}


# ----------------------------------------------------------------------------- metrics


def calibrate(queries: list[Query], scopes: list[float]) -> float:
    """The threshold that best separates in-scope from out-of-scope queries (max accuracy)."""
    candidates = sorted(set(scopes))
    best, best_acc = candidates[0], -1.0
    for i, t in enumerate(candidates):
        acc = np.mean([(s >= t) == bool(q.ids) for q, s in zip(queries, scopes)])
        if acc > best_acc:  # midpoint to the previous score: a margin on both sides
            best, best_acc = (t + candidates[i - 1]) / 2 if i else t, acc
    return float(best)


def metrics(queries: list[Query], rows: list[dict], threshold: float) -> dict:
    inscope = [(q, r) for q, r in zip(queries, rows) if q.ids]
    ranks = [next((i for i, d in enumerate(r["ranked"]) if d in q.ids), None) for q, r in inscope]
    oos_true = [not q.ids for q in queries]
    oos_pred = [r["scope"] < threshold for r in rows]
    tp = sum(t and p for t, p in zip(oos_true, oos_pred))
    return {
        "n_in": len(inscope),
        "n_out": sum(oos_true),
        "r1": np.mean([r == 0 for r in ranks]),
        "r5": np.mean([r is not None and r < 5 for r in ranks]),
        "mrr": np.mean([1 / (r + 1) if r is not None and r < 10 else 0 for r in ranks]),
        "oos_p": tp / max(1, sum(oos_pred)),
        "oos_r": tp / max(1, sum(oos_true)),
        "scope_acc": np.mean([t == p for t, p in zip(oos_true, oos_pred)]),
        "misses": [q.text for (q, _), r in zip(inscope, ranks) if r != 0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--calibrate", action="store_true", help="print dev-calibrated thresholds for every system")
    parser.add_argument("--misses", action="store_true", help="list the held-out queries each system ranks wrong")
    parser.add_argument("--heldout", action="store_true", help="report issue #11's held-out set (once, at the end)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one system, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_system(args.one, args.heldout)))
        return

    queries = load_queries(heldout=args.heldout)
    dev = [i for i, q in enumerate(queries) if q.split == "dev"]
    test = [i for i, q in enumerate(queries) if q.split == "test"]
    new = [i for i, q in enumerate(queries) if q.split == "heldout"]
    reported = [("new", new)] if args.heldout else [("held-out", test), ("all", dev + test)]
    shown = [queries[i] for i in (new if args.heldout else dev + test)]
    print(f"queries: {sum(bool(q.ids) for q in shown)} in scope, {sum(not q.ids for q in shown)} out of scope; "
          f"dev {len(dev)}, held-out {len(test)}" + (f", new held-out {len(new)}" if args.heldout else ""))
    header = f"{'system':<14} {'split':<8} {'R@1':>5} {'R@5':>5} {'MRR':>5} {'OOS-P':>6} {'OOS-R':>6} {'scope-acc':>9} {'p50 ms':>7} {'p95 ms':>7} {'build s':>8} {'peak MB':>8}"
    print(header)
    print("-" * len(header))
    for name in args.systems.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", name] + (["--heldout"] if args.heldout else []),
                             capture_output=True, text=True)
        if out.returncode:
            print(f"{name:<14} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        rows = result["rows"]
        pick = lambda idx: ([queries[i] for i in idx], [rows[i] for i in idx])  # noqa: E731
        if name.startswith("hybrid"):
            from assistant.retrieval.retriever import IN_SCOPE_THRESHOLDS
            from assistant.models.weights import embedding_model

            threshold = IN_SCOPE_THRESHOLDS[embedding_model(name.split("-")[1]).name]  # the product's own
        else:
            threshold = calibrate(*zip(*[(queries[i], rows[i]["scope"]) for i in dev]))
        lat = np.percentile(result["latencies_ms"], [50, 95])
        for split, idx in reported:
            m = metrics(*pick(idx), threshold)
            print(f"{name:<14} {split:<8} {m['r1']:5.3f} {m['r5']:5.3f} {m['mrr']:5.3f} {m['oos_p']:6.3f} {m['oos_r']:6.3f} "
                  f"{m['scope_acc']:9.3f} {lat[0]:7.1f} {lat[1]:7.1f} {result['build_s']:8.1f} {result['peak_mb']:8.0f}")
        if args.calibrate:
            dev_threshold = calibrate(*zip(*[(queries[i], rows[i]["scope"]) for i in dev]))
            print(f"{'':<14} dev-calibrated in-scope threshold: {dev_threshold:.3f} (in use: {threshold:.3f})")
        if args.misses:
            for miss in metrics(*pick(reported[0][1]), threshold)["misses"]:
                print(f"{'':<14}   miss: {miss}")


if __name__ == "__main__":
    main()
