"""Grading benchmark: agreement with human graders (UNT) and our own good/partial/wrong/trick set.

    .venv/bin/python bench/grading.py            # both parts
    .venv/bin/python bench/grading.py --no-unt   # only the team-written set

UNT short-answer grading v2.0 (Mohler, Bunescu & Mihalcea 2011) is read from
../shared/benchmarks/unt-short-answer-grading-v2 (or $UNT_DIR); it is not copied here. Every
student answer of the questions the literature uses (2,273; lines of docs/files starting with
'#' are left out, as in the published work) is graded with grade_custom against the instructor
answer; Pearson r and RMSE are against the average human grade (0-5; ours is divided by 2).
The plain-cosine baseline (MiniLM embeddings of answer and reference) is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
UNT = Path(os.environ.get("UNT_DIR", ROOT.parent / "shared" / "benchmarks" / "unt-short-answer-grading-v2"))
TEAM_SET = ROOT / "bench" / "data" / "grading_set.jsonl"


def _table(path: Path) -> dict[str, str]:
    rows = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            key, _, value = line.partition(" ")
            rows[key] = value.strip()
    return rows


def load_unt(root: Path = UNT) -> list[tuple[str, str, str, str, float]]:
    """(question id, question, instructor answer, student answer, average human grade 0-5)."""
    questions, answers = _table(root / "raw" / "questions"), _table(root / "raw" / "answers")
    items = []
    for line in (root / "docs" / "files").read_text().split():
        if line.startswith("#"):
            continue
        student = [l.partition(" ")[2] for l in (root / "raw" / line).read_text(encoding="utf-8", errors="replace").splitlines() if l.strip()]
        grades = [float(x) for x in (root / "scores" / line / "ave").read_text().split()]
        if len(student) != len(grades):
            raise SystemExit(f"UNT {line}: {len(student)} answers but {len(grades)} grades")
        for text, grade in zip(student, grades):
            items.append((line, questions[line], answers[line], re.sub(r"<br\s*/?>", " ", text), grade))
    return items


def pearson(x, y) -> float:
    return float(np.corrcoef(np.asarray(x, float), np.asarray(y, float))[0, 1])


def rmse(x, y) -> float:
    return float(np.sqrt(np.mean((np.asarray(x, float) - np.asarray(y, float)) ** 2)))


def cross_validated_rescale(x: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int = 5) -> np.ndarray:
    """Predictions a + b*x, with a and b fitted on the other folds' questions only."""
    names = sorted(set(groups))
    fold_of = {name: i % folds for i, name in enumerate(names)}
    fold = np.array([fold_of[g] for g in groups])
    out = np.empty_like(x, dtype=float)
    for k in range(folds):
        train, test = fold != k, fold == k
        b, a = np.polyfit(x[train], y[train], 1)
        out[test] = np.clip(a + b * x[test], 0, 5)
    return out


def run_unt(grader, embedder) -> None:
    from assistant.errors import InvalidInputError

    items = load_unt()
    human = np.array([i[4] for i in items])
    ours, latencies = [], []
    for _, question, reference, answer, _ in items:
        started = time.perf_counter()
        try:
            ours.append(grader.grade_custom(question, reference, answer).score / 2)
        except InvalidInputError:
            ours.append(0.0)  # an empty student answer
        latencies.append(time.perf_counter() - started)
    texts = sorted({t for i in items for t in (i[2], i[3] or "-")})
    vectors = dict(zip(texts, embedder.encode(texts)))
    cosine = np.array([float(vectors[i[2]] @ vectors[i[3] or "-"]) for i in items])
    ours = np.array(ours)
    print(f"UNT: {len(items)} answers to {len({i[0] for i in items})} questions")
    print(f"  ours          r = {pearson(ours, human):.3f}   RMSE = {rmse(ours, human):.3f} (0-5 scale)")
    print(f"  plain cosine  r = {pearson(cosine, human):.3f}   RMSE = {rmse(np.clip(cosine, 0, 1) * 5, human):.3f} (cosine x 5)")
    groups = np.array([i[0] for i in items])
    print(f"  RMSE after a linear rescale fitted by 5-fold cross-validation by question (r unchanged): "
          f"ours {rmse(cross_validated_rescale(ours, human, groups), human):.3f}, "
          f"plain cosine {rmse(cross_validated_rescale(cosine, human, groups), human):.3f}")
    print(f"  grading: p50 {np.percentile(latencies, 50) * 1000:.0f} ms, p95 {np.percentile(latencies, 95) * 1000:.0f} ms, "
          f"{len(items) / sum(latencies):.0f} answers/s")
    by_assignment = defaultdict(list)
    for item, o, c in zip(items, ours, cosine):
        by_assignment[item[0].split(".")[0]].append((o, c, item[4]))
    print("  per assignment (r ours / r cosine):", ", ".join(
        f"{a}: {pearson([x[0] for x in v], [x[2] for x in v]):.2f}/{pearson([x[1] for x in v], [x[2] for x in v]):.2f}"
        for a, v in sorted(by_assignment.items(), key=lambda kv: int(kv[0]))))


def run_team(grader) -> None:
    rows = [json.loads(line) for line in TEAM_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    ordered, below, n_tricks, latencies = 0, 0, 0, []
    failures = []
    for row in rows:
        scores = {}
        for kind in ("good", "partial", "wrong"):
            started = time.perf_counter()
            scores[kind] = grader.grade(row["id"], row[kind]).score
            latencies.append(time.perf_counter() - started)
        if scores["good"] > scores["partial"] > scores["wrong"]:
            ordered += 1
        else:
            failures.append(f"{row['id']}: good {scores['good']} partial {scores['partial']} wrong {scores['wrong']}")
        for name, trick in row.get("tricks", {}).items():
            n_tricks += 1
            score = grader.grade(row["id"], trick).score
            if score < scores["partial"]:
                below += 1
            else:
                failures.append(f"{row['id']}: trick '{name}' {score} >= partial {scores['partial']}")
    print(f"Team set: {len(rows)} questions")
    print(f"  ordering good > partial > wrong: {ordered}/{len(rows)} ({ordered / len(rows):.0%})")
    print(f"  tricks scored below the partial answer: {below}/{n_tricks} ({below / max(1, n_tricks):.0%})")
    print(f"  grading: p50 {np.percentile(latencies, 50) * 1000:.0f} ms, p95 {np.percentile(latencies, 95) * 1000:.0f} ms")
    for failure in failures:
        print(f"  miss: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-unt", action="store_true")
    parser.add_argument("--no-team", action="store_true")
    args = parser.parse_args()
    from assistant.engine import Engine

    engine = Engine(log=lambda m: None)
    grader = engine.grader
    grader.grade("p3-q26", "warm-up: dropout switches neurons off")
    if not args.no_team:
        run_team(grader)
    if not args.no_unt:
        if not UNT.is_dir():
            raise SystemExit(f"UNT data not found at {UNT}; set UNT_DIR")
        run_unt(grader, engine.grading_embedder)


if __name__ == "__main__":
    main()
