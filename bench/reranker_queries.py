"""How hard the reranker's written training queries are for today's fusion (#19), by style.

    .venv/bin/python bench/reranker_queries.py

For every kept query in corpus/reranker_queries.json: is its record ranked first (R@1) and in the
top 5 (R@5) by the shipped retrieval (mpnet hybrid)? Low numbers mean the queries are the kind the
fusion misses (what a reranker must learn) or that the writer wrote queries the point does not
answer (noise): read a sample before training on a style. Train and dev records only, so this is
not a held-out measurement.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings  # noqa: E402
from assistant.engine import Engine  # noqa: E402
from assistant.rerank.data import QueryStore, survival  # noqa: E402


def main() -> None:
    engine = Engine(Settings().with_overrides(backend="extractive"))
    store = QueryStore()
    counts: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for entry in store.data.values():
        for style, text in entry["kept"].items():
            ids = [hit.id for hit in engine.search(text, k=5).hits]
            row = counts[style]
            row[0] += 1
            row[1] += ids[:1] == [entry["record"]]
            row[2] += entry["record"] in ids
    kept, rejected = survival(store)
    print(f"{len(store.data)} key points; {kept} queries kept, {rejected} rejected for naming their record\n")
    print("| style | queries | R@1 | R@5 |\n|---|---|---|---|")
    for style, (n, r1, r5) in sorted(counts.items()) + [("all", [sum(c[i] for c in counts.values()) for i in range(3)])]:
        print(f"| {style} | {n} | {r1 / n:.2f} | {r5 / n:.2f} |")


if __name__ == "__main__":
    main()
