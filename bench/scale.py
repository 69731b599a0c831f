"""Scale benchmark: what a corpus of 10^3..10^5 records costs, flat (exact) against HNSW (approximate).

    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000] [--embedder mpnet|minilm]

FAISS and BM25 are measured on synthetic records: random unit vectors of the embedder's size
(768-d for mpnet, the default; --per-record of them per record: record, question, one answer
chunk and, since retrieval reads written searches, 8 of those, as the shipped bank averages) and texts
drawn from the real corpus's vocabulary. Embedding time is not simulated: it is extrapolated
from the embedder's throughput measured here on real answer chunks, and printed apart. HNSW
recall@10 is measured against the flat index.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--per-record", type=int, default=11, help="vectors per record (3 without written searches)")
    parser.add_argument("--embedder", default=None, help="default: the retrieval default (Settings().embedder)")
    args = parser.parse_args()

    from assistant.config import Settings
    from assistant.corpus import load_corpus
    from assistant.models.embedders import make_embedder
    from assistant.retrieval.index import _new_faiss_index, answer_chunks
    from assistant.retrieval.keyword import KeywordIndex

    records = load_corpus(Settings().corpus_dir).records
    chunks = [c for r in records for c in answer_chunks(r)]
    embedder = make_embedder(args.embedder or Settings().embedder, Settings().cache_dir)
    embedder.encode(chunks[:8])
    started = time.perf_counter()
    embedder.encode(chunks)
    per_text = (time.perf_counter() - started) / len(chunks)
    print(f"{embedder.name} embedding throughput on this machine: {1 / per_text:.0f} texts/s ({len(chunks)} real answer chunks)")

    vocab = sorted({w for r in records for w in (r.question + " " + r.answer_text).lower().split() if w.isalpha()})
    rng = np.random.default_rng(0)
    dim = embedder.dim
    header = f"{'records':>8} {'kind':<5} {'build s':>8} {'index MB':>9} {'query p50 ms':>13} {'p95 ms':>7} {'recall@10':>9} {'bm25 build s':>13} {'bm25 p50 ms':>12} {'embed (est.)':>13}"
    print(header)
    print("-" * len(header))
    for n in (int(s) for s in args.sizes.split(",")):
        vectors = rng.normal(size=(args.per_record * n, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        queries = vectors[rng.integers(0, args.per_record * n, args.queries)] + rng.normal(scale=0.05, size=(args.queries, dim)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        texts = [" ".join(rng.choice(vocab, size=60)) for _ in range(n)]
        t = time.perf_counter()
        keyword = KeywordIndex.build(texts)
        bm25_build = time.perf_counter() - t
        bm25_lat = []
        for text in texts[: min(100, n)]:
            t = time.perf_counter()
            keyword.scores(" ".join(text.split()[:5]))
            bm25_lat.append((time.perf_counter() - t) * 1000)
        truth = None
        for kind in ("flat", "hnsw"):
            before = rss_mb()
            t = time.perf_counter()
            index = _new_faiss_index(dim, kind)
            index.add(vectors)
            build = time.perf_counter() - t
            size = rss_mb() - before
            lat, found = [], []
            for q in queries:
                t = time.perf_counter()
                _, rows = index.search(q[None, :], 10)
                lat.append((time.perf_counter() - t) * 1000)
                found.append(rows[0])
            if kind == "flat":
                truth = found
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])
            p50, p95 = np.percentile(lat, [50, 95])
            embed_est = args.per_record * n * per_text
            print(f"{n:>8} {kind:<5} {build:8.2f} {size:9.0f} {p50:13.3f} {p95:7.3f} {recall:9.3f} {bm25_build:13.2f} "
                  f"{np.percentile(bm25_lat, 50):12.2f} {embed_est / 60:10.1f} min")
            del index


if __name__ == "__main__":
    main()
