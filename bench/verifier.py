"""Verifier benchmark: the trained cross-encoder beside the 1.5B judge and plain cosine, same pairs, one run.

    .venv/bin/python bench/verifier.py --dev          # the dev split: where thresholds are chosen
    .venv/bin/python bench/verifier.py                # the test split and the hand-written set (reported once)
    .venv/bin/python bench/verifier.py --judge 150    # + the judge on a fixed sample of that many pairs

Pairs come from verify/data.py (records split by a hash of their id; test records are never
trained on). The hand-written set (data/verifier_handwritten.jsonl: 60 statements on the 16
test records, written before anything was trained) is checked per record: the statement against
every key point, the verdict from the strongest finding, as `assistant check` gives it.

The judge answers yes/no, so beside it every system is also read as a binary "supported or not"
(contradicted and not addressed together); the judge's P(yes) >= 0.6 is the threshold Ask uses,
and cosine's 0.5 is the no-judge check Ask uses. ms: per pair (verifier: per check of one statement
against every point of its record), warm, on this machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HAND = ROOT / "bench" / "data" / "verifier_handwritten.jsonl"


def confusion(truth: list[str], predicted: list[str], labels) -> str:
    rows = ["| true \\ predicted | " + " | ".join(labels) + " | accuracy |", "|---" * (len(labels) + 2) + "|"]
    for label in labels:
        picked = [p for t, p in zip(truth, predicted) if t == label]
        counts = [sum(p == other for p in picked) for other in labels]
        rows.append(f"| {label} | " + " | ".join(map(str, counts)) + f" | {counts[labels.index(label)]}/{len(picked)} |")
    correct = sum(t == p for t, p in zip(truth, predicted))
    rows.append(f"\nall: {correct}/{len(truth)} = {correct / max(1, len(truth)):.3f}")
    return "\n".join(rows)


def auc(scores: list[float], positive: list[bool]) -> float:
    pos = [s for s, y in zip(scores, positive) if y]
    neg = [s for s, y in zip(scores, positive) if not y]
    if not pos or not neg:
        return float("nan")
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dev", action="store_true", help="the dev split instead of the test split and the hand-written set")
    parser.add_argument("--judge", type=int, default=0, help="also run the 1.5B judge on a fixed sample of this many pairs")
    args = parser.parse_args()

    from assistant.engine import Engine
    from assistant.verify.data import LABELS, points_of
    from assistant.verify.train import pairs_for
    from assistant.verify.verifier import check, decide

    engine = Engine()
    verifier, embedder = engine.verifier, engine.grading_embedder
    split = "dev" if args.dev else "test"
    pairs = [p for p in pairs_for(engine) if p.split == split]
    meta = json.loads((verifier.folder / "meta.json").read_text())
    print(f"verifier: {verifier.folder} ({meta.get('records', '?')}, {meta['pairs']} pairs, seed {meta['seed']})")
    print(f"\n## {split} split: {len(pairs)} pairs")
    verifier.scores([("warm", "up")])
    started = time.perf_counter()
    rows = verifier.scores([(p.point, p.statement) for p in pairs])
    per_pair = 1000 * (time.perf_counter() - started) / len(pairs)
    predicted = [decide(p.statement, [p.point], row[None, :]).verdict for p, row in zip(pairs, rows)]
    print(confusion([p.label for p in pairs], predicted, LABELS))
    by_how: dict[str, list[bool]] = {}
    for p, v in zip(pairs, predicted):
        by_how.setdefault(p.how, []).append(p.label == v)
    print("by how it was made: " + ", ".join(f"{h} {sum(v)}/{len(v)}" for h, v in sorted(by_how.items())))
    vectors = embedder.encode([p.point for p in pairs] + [p.statement for p in pairs])
    cosine = np.sum(vectors[: len(pairs)] * vectors[len(pairs):], axis=1)
    supported = [p.label == "supported" for p in pairs]
    print(f"\nbinary (supported or not), {len(pairs)} pairs:")
    print(f"- verifier: accuracy {np.mean([(v == 'supported') == s for v, s in zip(predicted, supported)]):.3f}, "
          f"AUC {auc(list(rows[:, 0]), supported):.3f}, {per_pair:.1f} ms per pair (batched)")
    print(f"- cosine (MiniLM) >= 0.5: accuracy {np.mean([(c >= 0.5) == s for c, s in zip(cosine, supported)]):.3f}, "
          f"AUC {auc(list(cosine), supported):.3f}")
    if args.judge and engine.model.judge is not None:
        sample = random.Random(0).sample(range(len(pairs)), min(args.judge, len(pairs)))
        judge, record = engine.model.judge, engine.corpus.get
        started = time.perf_counter()
        p_yes = [judge.supports(f"{record(pairs[i].record).question}\n{pairs[i].point}", pairs[i].statement) for i in sample]
        judge_ms = 1000 * (time.perf_counter() - started) / len(sample)
        truth = [supported[i] for i in sample]
        started = time.perf_counter()
        for i in sample:
            verifier.scores([(pairs[i].point, pairs[i].statement)])
        one_ms = 1000 * (time.perf_counter() - started) / len(sample)
        print(f"- the same {len(sample)}-pair sample: judge P(yes) >= 0.6 accuracy {np.mean([(p >= 0.6) == t for p, t in zip(p_yes, truth)]):.3f}, "
              f"AUC {auc(p_yes, truth):.3f}, {judge_ms:.0f} ms per pair; verifier accuracy "
              f"{np.mean([(predicted[i] == 'supported') == supported[i] for i in sample]):.3f}, {one_ms:.1f} ms per pair one at a time "
              f"({judge_ms / one_ms:.0f}x faster)")
    if args.dev:
        return 0
    hand = [json.loads(line) for line in HAND.read_text().splitlines() if line.strip()]
    print(f"\n## hand-written set: {len(hand)} statements on {len({h['id'] for h in hand})} test records")
    verdicts, times, judged = [], [], []
    for item in hand:
        record = engine.corpus.get(item["id"])
        verdict = check(verifier, points_of(record), item["statement"])
        verdicts.append(verdict.verdict)
        times.append(verdict.ms)
    print(confusion([h["label"] for h in hand], verdicts, LABELS))
    truth = [h["label"] == "supported" for h in hand]
    print(f"binary: verifier {np.mean([(v == 'supported') == t for v, t in zip(verdicts, truth)]):.3f}; "
          f"a check (one statement against every point of its record) p50 {np.median(times):.1f} ms")
    best_cos = []
    for item in hand:
        points = points_of(engine.corpus.get(item["id"]))
        v = embedder.encode([item["statement"], *points])
        best_cos.append(float(np.max(v[1:] @ v[0])))
    print(f"binary: cosine >= 0.5 {np.mean([(c >= 0.5) == t for c, t in zip(best_cos, truth)]):.3f}, AUC {auc(best_cos, truth):.3f}")
    if engine.model.judge is not None and args.judge:
        from assistant.judge.prompts import key_point_block

        started = time.perf_counter()
        for item in hand:
            record = engine.corpus.get(item["id"])
            judged.append(engine.model.judge.supports(f"{record.question}\n{key_point_block(points_of(record))}", item["statement"]))
        ms = 1000 * (time.perf_counter() - started) / len(hand)
        print(f"binary: judge P(yes) >= 0.6 {np.mean([(p >= 0.6) == t for p, t in zip(judged, truth)]):.3f}, "
              f"AUC {auc(judged, truth):.3f}, {ms:.0f} ms per statement")
        contradicted = [h["label"] == "contradicted" for h in hand]
        print(f"role swaps and other false statements (contradicted, {sum(contradicted)}): verifier says contradicted "
              f"{sum(v == 'contradicted' for v, c in zip(verdicts, contradicted) if c)}, judge says no (P < 0.6) "
              f"{sum(p < 0.6 for p, c in zip(judged, contradicted) if c)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
