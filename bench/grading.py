"""Grading benchmark: agreement with human graders (UNT) and our own good/partial/wrong/trick sets.

    .venv/bin/python bench/grading.py                 # quick grader: team set and all of UNT
    .venv/bin/python bench/grading.py --judge         # + the judged grader: team set, UNT sample
    .venv/bin/python bench/grading.py --judge --heldout   # the held-out set, reported once
    .venv/bin/python bench/grading.py --judge --sweep     # combinations on the team set (dev) only

The judged grader's model outputs are cached in bench/results/judge-cache.json, keyed by the
prompt's hash (a changed prompt is judged anew), so combinations can be compared without
re-running the model; --fresh ignores the cache and times every judge call.

The team set (data/grading_set.jsonl) is the dev set: the judge's combination was chosen on it.
The held-out set (data/grading_heldout.jsonl: 36 other bank questions) was written before any
tuning and is not used for choosing anything.

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
HELDOUT_SET = ROOT / "bench" / "data" / "grading_heldout.jsonl"
CACHE = ROOT / "bench" / "results" / "judge-cache.json"
UNT_PER_QUESTION = 8  # the judged sample: 8 answers of each of the 81 questions (648), seed 0


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


class CachedJudge:
    """The judge with its answers cached by prompt hash; the time of every call made is kept."""

    def __init__(self, judge, fresh: bool = False) -> None:
        import hashlib

        self._judge, self._hash = judge, lambda m: hashlib.sha256(json.dumps(m).encode()).hexdigest()
        self._cache = {} if fresh or not CACHE.is_file() else json.loads(CACHE.read_text())
        self.name, self.seconds = judge.name, []
        self.backend = self  # Judge.correctness calls backend.choose

    def choose(self, messages, options):
        key = self._hash([messages, options])
        if key not in self._cache:
            started = time.perf_counter()
            self._cache[key] = self._judge.backend.choose(messages, options)
            self.seconds.append(time.perf_counter() - started)
        return self._cache[key]

    def save(self) -> None:
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_text(json.dumps(self._cache))


def unt_sample(items, per_question: int = UNT_PER_QUESTION, seed: int = 0):
    """The same stratified sample every run: ``per_question`` answers of each question."""
    rng = np.random.default_rng(seed)
    by_question = defaultdict(list)
    for item in items:
        by_question[item[0]].append(item)
    out = []
    for name in sorted(by_question, key=lambda q: [int(x) for x in q.split(".")]):
        group = by_question[name]
        picked = sorted(rng.choice(len(group), size=min(per_question, len(group)), replace=False))
        out += [group[i] for i in picked]
    return out


def grade_all(grade, items) -> tuple[np.ndarray, list[float]]:
    """Scores on 0-5 and the seconds per grade; an empty answer scores 0."""
    from assistant.errors import InvalidInputError

    scores, seconds = [], []
    for _, question, reference, answer, _ in items:
        started = time.perf_counter()
        try:
            scores.append(grade(question, reference, answer).score / 2)
        except InvalidInputError:
            scores.append(0.0)
        seconds.append(time.perf_counter() - started)
    return np.array(scores), seconds


def run_unt(graders: dict, embedder, sample: bool) -> None:
    items = load_unt()
    if sample:
        items = unt_sample(items)
    human = np.array([i[4] for i in items])
    groups = np.array([i[0] for i in items])
    texts = sorted({t for i in items for t in (i[2], i[3] or "-")})
    vectors = dict(zip(texts, embedder.encode(texts)))
    cosine = np.array([float(vectors[i[2]] @ vectors[i[3] or "-"]) for i in items])
    print(f"UNT: {len(items)} answers to {len(set(groups))} questions" + (f" (a fixed sample, {UNT_PER_QUESTION} per question)" if sample else ""))
    print(f"  plain cosine  r = {pearson(cosine, human):.3f}   RMSE after a CV-fitted rescale = "
          f"{rmse(cross_validated_rescale(cosine, human, groups), human):.3f}")
    for name, grade in graders.items():
        ours, seconds = grade_all(grade, items)
        print(f"  {name:<13} r = {pearson(ours, human):.3f}   RMSE raw = {rmse(ours, human):.3f}, after a CV-fitted rescale = "
              f"{rmse(cross_validated_rescale(ours, human, groups), human):.3f}   "
              f"p50 {np.percentile(seconds, 50) * 1000:.0f} ms, p95 {np.percentile(seconds, 95) * 1000:.0f} ms per grade")


def load_set(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_set(name: str, path: Path, graders: dict, show_misses: bool = True) -> None:
    rows = load_set(path)
    print(f"{name}: {len(rows)} questions, {sum(len(r.get('tricks', {})) for r in rows)} tricks")
    for label, grade in graders.items():
        ordered = below = n_tricks = good_high = wrong_low = 0
        seconds, failures = [], []
        verdicts = defaultdict(lambda: defaultdict(int))
        for row in rows:
            scores = {}
            for kind in ("good", "partial", "wrong"):
                started = time.perf_counter()
                g = grade(row["id"], row[kind])
                seconds.append(time.perf_counter() - started)
                scores[kind] = g.score
                verdicts[kind][g.verdict] += 1
            ordered += scores["good"] > scores["partial"] > scores["wrong"]
            good_high += scores["good"] >= 7
            wrong_low += scores["wrong"] <= 3
            if not scores["good"] > scores["partial"] > scores["wrong"]:
                failures.append(f"{row['id']}: good {scores['good']} partial {scores['partial']} wrong {scores['wrong']}")
            for trick_name, trick in row.get("tricks", {}).items():
                n_tricks += 1
                score = grade(row["id"], trick).score
                if score < scores["partial"]:
                    below += 1
                else:
                    failures.append(f"{row['id']}: trick '{trick_name}' {score} >= partial {scores['partial']}")
        n = len(rows)
        print(f"  {label:<13} ordering good > partial > wrong {ordered}/{n}; tricks below partial {below}/{n_tricks}; "
              f"good >= 7 {good_high}/{n}; wrong <= 3 {wrong_low}/{n}; p50 {np.percentile(seconds, 50) * 1000:.0f} ms, "
              f"p95 {np.percentile(seconds, 95) * 1000:.0f} ms per grade")
        print("                verdicts: " + "; ".join(f"{kind}: " + ", ".join(f"{v} {c}" for v, c in sorted(counts.items()))
                                                      for kind, counts in verdicts.items()))
        if show_misses:
            for failure in failures:
                print(f"    miss: {failure}")


def sweep(judged) -> None:
    """Weights of the judge against the quick grade, on the team set (dev) only."""
    rows = load_set(TEAM_SET)
    parts = {}
    for row in rows:
        for kind, answer in [("good", row["good"]), ("partial", row["partial"]), ("wrong", row["wrong"]), *row.get("tricks", {}).items()]:
            q = judged.grader.grade(row["id"], answer)
            parts[row["id"], kind] = (q, judged.truth(q, answer) if q.cap > 0 else 0.0)
    tricks = [(r["id"], t) for r in rows for t in r.get("tricks", {})]
    print("Sweep on the team set (dev): judge weight, cap when the judge says false -> "
          "ordering, tricks below partial, good >= 7, wrong <= 3")
    settings = [(w, 10.0, 0.0) for w in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)]
    settings += [(0.5, c, t) for c in (2.0, 3.0, 4.0) for t in (0.3, 0.35, 0.4, 0.5)]
    for weight, false_cap, false_below in settings:
        def score(key):
            q, truth = parts[key]
            cap = min(q.cap, false_cap) if truth < false_below else q.cap
            return round(min(cap, weight * 10 * truth + (1 - weight) * q.completeness), 1)
        ordered = sum(score((r["id"], "good")) > score((r["id"], "partial")) > score((r["id"], "wrong")) for r in rows)
        below = sum(score(k) < score((k[0], "partial")) for k in tricks)
        good = sum(score((r["id"], "good")) >= 7 for r in rows)
        wrong = sum(score((r["id"], "wrong")) <= 3 for r in rows)
        print(f"  weight {weight:.1f}, false cap {false_cap:4.1f} below P {false_below:.2f}: {ordered}/{len(rows)}, {below}/{len(tricks)}, {good}/{len(rows)}, {wrong}/{len(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-unt", action="store_true")
    parser.add_argument("--no-team", action="store_true")
    parser.add_argument("--judge", action="store_true", help="also the judged grader (the local model)")
    parser.add_argument("--heldout", action="store_true", help="report the held-out set (once, at the end)")
    parser.add_argument("--sweep", action="store_true", help="with --judge: combinations on the team set only")
    parser.add_argument("--fresh", action="store_true", help="ignore the judge cache (and time every call)")
    parser.add_argument("--verifier", action="store_true", help="also each grader with the trained verifier's key-point findings")
    args = parser.parse_args()
    from assistant.engine import Engine

    engine = Engine(log=lambda m: None)
    from assistant.grading import Grader

    grader = Grader(engine.grading_embedder, engine.corpus, engine.grading_index.record_vectors)  # without the verifier
    grader.grade("p3-q26", "warm-up: dropout switches neurons off")
    graders = {"quick": grader}
    verified = None
    if args.verifier:
        verified = Grader(engine.grading_embedder, engine.corpus, engine.grading_index.record_vectors, engine.verifier)
        graders["quick + verifier"] = verified
    judge = None
    if args.judge:
        from assistant.grading.judged import JudgedGrader
        from assistant.models.language import LanguageModel

        judge = CachedJudge(engine.model.judge, fresh=args.fresh)
        from assistant.judge import Judge

        graders["judged"] = JudgedGrader(grader, LanguageModel.of(judge=Judge(judge), log=print))
        if verified is not None:
            graders["judged + verifier"] = JudgedGrader(verified, LanguageModel.of(judge=Judge(judge), log=print))
    try:
        if args.sweep:
            sweep(graders["judged"])
            return
        bank = {name: g.grade for name, g in graders.items()}
        custom = {name: (lambda g: lambda q, r, a: g.grade_custom(q, r, a))(g) for name, g in graders.items()}
        if not args.no_team:
            run_set("Team set (dev)", TEAM_SET, bank)
        if args.heldout:
            run_set("Held-out set", HELDOUT_SET, bank)
        if not args.no_unt:
            if not UNT.is_dir():
                raise SystemExit(f"UNT data not found at {UNT}; set UNT_DIR")
            run_unt(custom, engine.grading_embedder, sample=args.judge)
    finally:
        if judge is not None:
            judge.save()
            if judge.seconds:
                print(f"judge calls made: {len(judge.seconds)}, p50 {np.percentile(judge.seconds, 50):.2f} s, "
                      f"p95 {np.percentile(judge.seconds, 95):.2f} s")


if __name__ == "__main__":
    main()
