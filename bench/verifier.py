"""Verifier benchmark: the trained cross-encoder beside the 1.5B judge and plain cosine, same pairs, one run.

    .venv/bin/python bench/verifier.py --dev          # the dev split and the hand-written sets reported before: where choices are made
    .venv/bin/python bench/verifier.py                # the test split and the newest hand-written set, heldout4 (report it once, for the next verifier)
    .venv/bin/python bench/verifier.py --judge 150    # + the judge on a fixed sample of that many pairs, and the cascade
    .venv/bin/python bench/verifier.py --model DIR    # another verifier folder (e.g. the one before, from git), read the same way

Pairs come from verify/data.py (records split by a hash of their id; test records are never
trained on). The hand-written sets (60, 64, 78 and 82 statements on the 16 test records, each written
before the verifier it was first reported for; the first three have been reported and are dev sets now,
the fourth has not been read) are checked per record: the statement against every
key point, the verdict from the strongest finding, as `assistant check` gives it. With --judge the
cascade (verify/cascade.py: the judge only where the verifier is unsure) is read at several
confidences on the dev set, and at the chosen CONFIDENT_FROM on the held-out one.

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
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HAND = ROOT / "bench" / "data" / "verifier_handwritten.jsonl"  # reported once (34/60, session 7): a dev set since
HELDOUT2 = ROOT / "bench" / "data" / "verifier_heldout2.jsonl"  # reported once (29/64, session 8): a dev set since
HELDOUT3 = ROOT / "bench" / "data" / "verifier_heldout3.jsonl"  # reported once (43/78, session 10): a dev set since
HELDOUT4 = ROOT / "bench" / "data" / "verifier_heldout4.jsonl"  # written in session 11 before any training; not yet reported


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
    parser.add_argument("--dev", action="store_true", help="the dev split and the three hand-written sets, instead of the test split and the newest set")
    parser.add_argument("--model", type=Path, help="another verifier folder (verifier.onnx, meta.json) instead of the shipped one, "
                        "e.g. an earlier one from git; one made before questions were read gets the point alone")
    parser.add_argument("--judge", type=int, default=0, help="also run the 1.5B judge on a fixed sample of this many pairs, and on the hand-written set (with the cascade)")
    args = parser.parse_args()

    from assistant.engine import Engine
    from assistant.verify.data import LABELS
    from assistant.verify.train import pairs_for
    from assistant.verify.verifier import decide

    engine = Engine()
    from assistant.verify.verifier import OnnxVerifier

    verifier, embedder = (OnnxVerifier(args.model) if args.model else engine.verifier), engine.grading_embedder
    split = "dev" if args.dev else "test"
    pairs = [p for p in pairs_for(engine) if p.split == split]
    meta = json.loads((verifier.folder / "meta.json").read_text())
    if not verifier.reads_question:  # made before the verifier read the question with each point
        pairs = [replace(p, question="") for p in pairs]
    print(f"verifier: {verifier.folder} ({meta.get('records', '?')}, {meta['pairs']} pairs, seed {meta['seed']})")
    print(f"\n## {split} split: {len(pairs)} pairs")
    verifier.scores([("warm", "up")])
    started = time.perf_counter()
    rows = verifier.scores([(p.premise, p.statement) for p in pairs])
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
            verifier.scores([(pairs[i].premise, pairs[i].statement)])
        one_ms = 1000 * (time.perf_counter() - started) / len(sample)
        print(f"- the same {len(sample)}-pair sample: judge P(yes) >= 0.6 accuracy {np.mean([(p >= 0.6) == t for p, t in zip(p_yes, truth)]):.3f}, "
              f"AUC {auc(p_yes, truth):.3f}, {judge_ms:.0f} ms per pair; verifier accuracy "
              f"{np.mean([(predicted[i] == 'supported') == supported[i] for i in sample]):.3f}, {one_ms:.1f} ms per pair one at a time "
              f"({judge_ms / one_ms:.0f}x faster)")
    for path in (HAND, HELDOUT2, HELDOUT3) if args.dev else (HELDOUT4,):
        hand_set(engine, verifier, embedder, path, bool(args.judge), args.dev, verifier.reads_question)
    return 0


def hand_set(engine, verifier, embedder, path: Path, with_judge: bool, dev: bool, questions: bool = True) -> None:
    """A hand-written set, checked per record by the verifier, cosine and (with_judge) the judge and the cascade."""
    from assistant.judge.prompts import key_point_block
    from assistant.verify.cascade import CONFIDENT_FROM, SUPPORT_P, settle, unsure
    from assistant.verify.data import LABELS, points_of
    from assistant.verify.verifier import check

    hand = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    print(f"\n## {path.name}: {len(hand)} statements on {len({h['id'] for h in hand})} test records")
    question = lambda record_id: engine.corpus.get(record_id).question if questions else ""
    found = [check(verifier, question(h["id"]), points_of(engine.corpus.get(h["id"])), h["statement"]) for h in hand]
    labels = [h["label"] for h in hand]
    print(confusion(labels, [f.verdict for f in found], LABELS))
    truth = [label == "supported" for label in labels]
    binary = lambda verdicts: float(np.mean([(v == "supported") == t for v, t in zip(verdicts, truth)]))
    print(f"binary: verifier {binary([f.verdict for f in found]):.3f}; a check (one statement against every point "
          f"of its record) p50 {np.median([f.ms for f in found]):.1f} ms")
    best_cos = []
    for item in hand:
        v = embedder.encode([item["statement"], *points_of(engine.corpus.get(item["id"]))])
        best_cos.append(float(np.max(v[1:] @ v[0])))
    print(f"binary: cosine >= 0.5 {np.mean([(c >= 0.5) == t for c, t in zip(best_cos, truth)]):.3f}, AUC {auc(best_cos, truth):.3f}")
    if not with_judge or engine.model.judge is None:
        return
    from assistant.judge import Judge
    from bench.grading import CachedJudge  # the judge's answers by prompt hash, in bench/results (as bench/grading.py)

    cached = CachedJudge(engine.model.judge)
    judge = Judge(cached)
    judged = []
    for item in hand:
        record = engine.corpus.get(item["id"])
        judged.append(judge.supports(f"{record.question}\n{key_point_block(points_of(record))}", item["statement"]))
    cached.save()
    asked = len(cached.seconds)
    print(f"binary: judge P(yes) >= {SUPPORT_P} {np.mean([(p >= SUPPORT_P) == t for p, t in zip(judged, truth)]):.3f}, "
          f"AUC {auc(judged, truth):.3f}" + (f", {1000 * np.mean(cached.seconds):.0f} ms per statement ({asked} asked, the rest cached)"
                                             if asked else " (cached)"))
    contradicted = [label == "contradicted" for label in labels]
    print(f"false statements (contradicted, {sum(contradicted)}): verifier says contradicted "
          f"{sum(f.verdict == 'contradicted' for f, c in zip(found, contradicted) if c)}, judge says no (P < {SUPPORT_P}) "
          f"{sum(p < SUPPORT_P for p, c in zip(judged, contradicted) if c)}")
    print("\ncascade (the judge only where the verifier's probability for its verdict is below the confidence):")
    print("| confidence | to the judge | 3-way | binary | false ones rejected |\n|---|---|---|---|---|")
    for confident in (0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01) if dev else (CONFIDENT_FROM,):
        verdicts = [settle(f, p) if unsure(f, confident) else f.verdict for f, p in zip(found, judged)]
        routed = sum(unsure(f, confident) for f in found)
        print(f"| {confident} | {routed}/{len(hand)} | {np.mean([v == t for v, t in zip(verdicts, labels)]):.3f} | "
              f"{binary(verdicts):.3f} | {sum(v != 'supported' for v, c in zip(verdicts, contradicted) if c)}/{sum(contradicted)} |")


if __name__ == "__main__":
    raise SystemExit(main())
