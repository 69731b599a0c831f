"""The learnt ranking: the fusion's first candidates reordered, and scope decided, by two small
models over the scores the search already computes, fitted on queries people wrote.

Why this and not the cross-encoder: trained on what the 1.5B model writes as users' queries, the
cross-encoder lowered dev R@1 at every blend (README, "The reranker"); trained on the hand-written
dev queries it learnt nothing (one fold: every probability 0.09 to 0.11, the share of answering
pairs). What people write is too little data for a 22M-parameter model, and enough for these.

Per candidate (``gather``, ``CANDIDATE_FEATURES``): the fused score and position, each ranking's score and
reciprocal rank (record, question, answer-chunk and written-search cosines, BM25 over its best), and
a second view: the embedder tuned on the bank (retrieval/tuning.py, shipped for ``--embedder
tuned``), its cosines to the record's text and question, their distance to the best and their
ranks. 100 boosted trees of 7 leaves read them (``Trees``: scikit-learn fits them, numpy reads
them). Per query (``SCOPE_FEATURES``): the best of each score, the trees' top score and the
fusion's margin, read by a logistic regression: the probability that the bank covers the query.
Out of fold on the 611 dev queries (``assistant train ranking`` prints it; README "The learnt
ranking"), R@1 went from 0.769 to 0.819 and scope accuracy from 0.910 to 0.941; a logistic
regression for the order reached 0.802 (the first version shipped, reported once on #19's second
held-out set); a listwise loss, plain MiniLM as a third view and the written-query cross-encoder's
probability as a feature did no better (bench/rerank_folds.py).

The weights are an artefact like every model's: ``assistant train ranking`` fits them from
committed query files (deterministic: fixed seeds, Newton's method) into ``learned/`` beside this
file, whose SHA-256 is pinned here, or into the cache folder for a user's own bank; they are read
through the SHA-256 their meta.json recorded.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from assistant.errors import InvalidInputError, ModelError
from assistant.rerank.reranker import DEPTH  # the fusion's candidates reordered

SHIPPED = Path(__file__).resolve().parent / "learned"
SHIPPED_SHA256 = "788297cb06743774b616ed4f024bb344d6e34570d3b74516644ac48402b379e8"  # learned/ranking.json (make ranking)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The queries people wrote, with the records that answer them (bench/README.md): the retrieval set,
# issue #11's set and #19's second set, all reported before and so dev sets now (611 queries).
# retrieval_heldout3.tsv is never read here.
DEFAULT_QUERIES = tuple(PROJECT_ROOT / "bench" / "data" / name
                        for name in ("retrieval_queries.tsv", "retrieval_heldout.tsv", "retrieval_heldout2.tsv"))
FOLDS = 5
L2 = 1.0  # the scope regression's penalty on standardised features (for an order regression on the first 442 queries, 0.1 and 10 moved out-of-fold R@1 by at most 0.2 points)
SIGNALS = ("record", "question", "answer", "search", "bm25")
VIEW = ("tuned record", "tuned question")
CANDIDATE_FEATURES = ("fused", "fused position") + tuple(f"{s} {kind}" for s in SIGNALS for kind in ("score", "rank")) + tuple(
    f"{v} {kind}" for v in VIEW for kind in ("score", "below best", "rank"))
SCOPE_FEATURES = tuple(f"best {s}" for s in SIGNALS) + tuple(f"best {v}" for v in VIEW) + ("top ranking score", "fused margin")


# ----------------------------------------------------------------------------- features (pure)


def _reciprocal_ranks(scores: np.ndarray) -> np.ndarray:
    """1 / (rank + 1) of every row in one ranking (best first; rows without a score last, by row)."""
    finite = np.where(np.isfinite(scores), scores, -1e9)
    order = np.lexsort((np.arange(len(scores)), -finite))
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(len(scores))
    return 1.0 / (ranks + 1.0)


def _best(scores: np.ndarray) -> float:
    return float(np.max(np.where(np.isfinite(scores), scores, -1.0), initial=-1.0))


@dataclass(frozen=True)
class Candidates:
    """One query's fusion candidates and what the learnt ranking reads of them."""

    rows: tuple[int, ...]  # record rows, the fusion's order
    features: np.ndarray  # (candidates, CANDIDATE_FEATURES)
    scope: np.ndarray  # (SCOPE_FEATURES - 1,): without the ranking's top score, added when it is known


def gather(signals: Sequence[np.ndarray], view: Sequence[np.ndarray], ranked: Sequence[tuple[int, float]]) -> Candidates:
    """The features of the fusion's ``ranked`` candidates (row, fused score in [0, 1]), from the
    search's five per-record signals (dense ones -inf outside their top) and the view's two cosines
    (``Retriever.cosines``)."""
    ranked = list(ranked)[:DEPTH]
    bm25_top = float(np.max(signals[4], initial=0.0))
    scores = [np.where(np.isfinite(s), s, 0.0) for s in signals[:4]] + [signals[4] / bm25_top if bm25_top > 0 else np.zeros_like(signals[4])]
    ranks = [_reciprocal_ranks(s) for s in signals]
    view_scores = [np.where(np.isfinite(v), v, 0.0) for v in view]
    view_best = [_best(v) for v in view]
    view_ranks = [_reciprocal_ranks(v) for v in view]
    features = []
    for position, (row, fused) in enumerate(ranked):
        row_features = [fused, 1.0 / (position + 1)]
        for s, r in zip(scores, ranks):
            row_features += [float(s[row]), float(r[row])]
        for v, best, r in zip(view_scores, view_best, view_ranks):
            row_features += [float(v[row]), float(v[row]) - best, float(r[row])]
        features.append(row_features)
    margin = ranked[0][1] - ranked[1][1] if len(ranked) > 1 else (ranked[0][1] if ranked else 0.0)
    scope = [_best(s) for s in signals[:4]] + [float(np.log1p(max(bm25_top, 0.0)))] + view_best + [margin]
    return Candidates(tuple(row for row, _ in ranked), np.array(features, dtype=np.float64).reshape(len(ranked), len(CANDIDATE_FEATURES)),
                      np.array(scope, dtype=np.float64))


def _scope_row(candidates: Candidates, top: float) -> np.ndarray:
    """SCOPE_FEATURES in their order: the query's best scores, the ranking's top score, the margin."""
    return np.concatenate([candidates.scope[:-1], [top], candidates.scope[-1:]])


# ----------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Logistic:
    """A logistic regression on standardised features."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    bias: float

    def decision(self, x: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef + self.bias

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision(x)))

    def to_json(self, names: Sequence[str]) -> dict:
        return {"features": list(names), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "bias": self.bias}

    @classmethod
    def from_json(cls, data: dict, names: Sequence[str]) -> "Logistic":
        if list(data["features"]) != list(names):
            raise ModelError("The learnt ranking was saved with other features; run 'assistant train ranking' to fit it anew.")
        return cls(np.array(data["mean"]), np.array(data["scale"]), np.array(data["coef"]), float(data["bias"]))


def fit_logistic(x: np.ndarray, y: Sequence[bool], l2: float = L2, steps: int = 50) -> Logistic:
    """L2-regularised logistic regression by Newton's method (pure, deterministic); the bias is not penalised."""
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(y, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        gradient = z.T @ (p - target) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return Logistic(mean, scale, w[:-1], float(w[-1]))


TREES = {"max_iter": 100, "learning_rate": 0.05, "max_leaf_nodes": 7}  # the order's boosted trees (bench/rerank_folds.py)


@dataclass(frozen=True)
class Trees:
    """Gradient-boosted regression trees, flattened: tree t starts at node ``roots[t]``; a row goes
    left where its feature is at most the node's threshold. The decision is log-odds."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    leaf: np.ndarray
    roots: np.ndarray
    baseline: float

    def decision(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        rows = np.arange(len(x))[None, :]
        nodes = np.repeat(self.roots[:, None], len(x), axis=1)  # (trees, rows)
        while not self.leaf[nodes].all():
            goes_left = x[rows, self.feature[nodes]] <= self.threshold[nodes]
            nodes = np.where(self.leaf[nodes], nodes, np.where(goes_left, self.left[nodes], self.right[nodes]))
        return self.baseline + self.value[nodes].sum(axis=0)

    def to_json(self, names: Sequence[str]) -> dict:
        return {"features": list(names), "baseline": self.baseline, "roots": self.roots.tolist(), "feature": self.feature.tolist(),
                "threshold": self.threshold.tolist(), "left": self.left.tolist(), "right": self.right.tolist(),
                "value": self.value.tolist(), "leaf": self.leaf.astype(int).tolist()}

    @classmethod
    def from_json(cls, data: dict, names: Sequence[str]) -> "Trees":
        if list(data["features"]) != list(names):
            raise ModelError("The learnt ranking was saved with other features; run 'assistant train ranking' to fit it anew.")
        ints = {k: np.array(data[k], dtype=np.int64) for k in ("feature", "left", "right", "roots")}
        return cls(ints["feature"], np.array(data["threshold"], dtype=np.float64), ints["left"], ints["right"],
                   np.array(data["value"], dtype=np.float64), np.array(data["leaf"], dtype=bool), ints["roots"], float(data["baseline"]))


def fit_trees(x: np.ndarray, y: Sequence[bool]) -> Trees:
    """scikit-learn's histogram gradient boosting (deterministic for its seed; no early stopping
    below 10,000 rows), flattened into ``Trees`` so that reading them needs numpy only."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(**TREES, random_state=0, early_stopping=False).fit(np.asarray(x, dtype=np.float64), list(y))
    parts, roots, offset = [], [], 0
    for (tree,) in model._predictors:  # one tree per iteration for two classes
        nodes = tree.nodes
        parts.append((nodes["feature_idx"], nodes["num_threshold"], nodes["left"] + offset, nodes["right"] + offset,
                      nodes["value"], nodes["is_leaf"].astype(bool)))
        roots.append(offset)
        offset += len(nodes)
    feature, threshold, left, right, value, leaf = (np.concatenate(column) for column in zip(*parts))
    return Trees(feature.astype(np.int64), threshold.astype(np.float64), left.astype(np.int64), right.astype(np.int64),
                 value.astype(np.float64), leaf, np.array(roots, dtype=np.int64), float(np.ravel(model._baseline_prediction)[0]))


@dataclass(frozen=True)
class LearnedRanking:
    order: Trees | Logistic  # per candidate: does it answer the query? (trees when fitted; tests set a regression)
    scope: Logistic  # per query: does the bank cover it?
    embedder: str  # the search's embedder and the view's: the features mean nothing with others
    view: str
    name: str = "learnt ranking"

    def rerank(self, candidates: Candidates) -> tuple[list[tuple[int, float]], float]:
        """The candidates best first, each with its probability of answering, and the probability
        that the bank covers the query (pure)."""
        if not candidates.rows:
            return [], 0.0
        decision = self.order.decision(candidates.features)
        probability = 1.0 / (1.0 + np.exp(-decision))
        order = sorted(range(len(candidates.rows)), key=lambda i: (-decision[i], i))
        covered = float(self.scope.probability(_scope_row(candidates, float(decision.max())))[0])
        return [(candidates.rows[i], float(probability[i])) for i in order], covered

    def to_json(self) -> dict:
        return {"embedder": self.embedder, "view": self.view, "depth": DEPTH,
                "order": self.order.to_json(CANDIDATE_FEATURES), "scope": self.scope.to_json(SCOPE_FEATURES)}

    @classmethod
    def load(cls, folder: Path, sha256: str | None = None) -> "LearnedRanking":
        """The ranking saved in ``folder``, refused unless ranking.json's SHA-256 is ``sha256`` (the
        shipped one's is pinned) or, when that is None, the one its meta.json recorded."""
        from assistant.models.weights import sha256_of

        path = folder / "ranking.json"
        if not path.is_file():
            raise ModelError(f"No learnt ranking in {folder}; run 'assistant train ranking' to fit one.")
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if sha256_of(path) != (sha256 or meta.get("sha256", "")):
            raise ModelError(f"{path} does not match its known SHA-256; it may be damaged. Reinstall the project, "
                             "or run 'assistant train ranking' to fit it anew.")
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(Trees.from_json(data["order"], CANDIDATE_FEATURES), Logistic.from_json(data["scope"], SCOPE_FEATURES),
                   data["embedder"], data["view"])


def learned_ranking(cache_dir: Path) -> LearnedRanking:
    """The user's own fitted ranking (the cache folder's), else the shipped one."""
    own = cache_dir / "ranking"
    if (own / "ranking.json").is_file():
        return LearnedRanking.load(own)
    return LearnedRanking.load(SHIPPED, SHIPPED_SHA256)


# ----------------------------------------------------------------------------- fitting and measuring


@dataclass(frozen=True)
class Example:
    text: str
    ids: frozenset[str]  # the records that answer it; empty: out of scope
    candidates: Candidates
    record_ids: tuple[str, ...]  # row -> id
    best_cosine: float  # what the fusion's scope decision reads

    @property
    def fold(self) -> int:
        return int(hashlib.sha1(f"fold:{self.text}".encode()).hexdigest(), 16) % FOLDS

    @property
    def candidate_ids(self) -> list[str]:
        return [self.record_ids[row] for row in self.candidates.rows]


def read_queries(paths: Iterable[Path], known: set[str]) -> list[tuple[str, frozenset[str]]]:
    """Query files: one 'query<TAB>ids' a line (ids comma-separated, none: out of scope; '#' comments)."""
    queries = []
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InvalidInputError(f"Cannot read the query file {path} ({exc.strerror or exc}).") from None
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.startswith("#"):
                continue
            text, _, ids = line.partition("\t")
            wanted = frozenset(i.strip() for i in ids.split("\t")[0].split(",") if i.strip())
            if wanted - known:
                raise InvalidInputError(f"{path}:{number}: no question has the id {', '.join(sorted(wanted - known))}; "
                                        "run 'assistant search' to find ids (they look like p3-q26).")
            if text.strip():
                queries.append((" ".join(text.split()), wanted))
    if not queries:
        raise InvalidInputError("No queries to fit the ranking on: give files of 'query<TAB>ids' lines.")
    return queries


def examples_for(retriever, view, queries: Sequence[tuple[str, frozenset[str]]], progress: bool = True) -> list[Example]:
    """Each query searched as the product does: the fusion's candidates and their features."""
    from tqdm import tqdm

    record_ids = tuple(r.id for r in retriever.records)
    out = []
    for text, ids in tqdm(queries, desc="Searching the queries", unit="query", file=sys.stderr, disable=None if progress else True):
        signals = retriever.signals(text)
        ranked, cosine = retriever.fused(signals)
        out.append(Example(text, ids, gather(signals, view.cosines(text), ranked[:DEPTH]), record_ids, cosine))
    return out


def fit(examples: Sequence[Example], embedder: str, view: str) -> LearnedRanking:
    """Both regressions: the order on the candidates of in-scope queries whose record is among them,
    the scope on every query with the fitted order's top score."""
    ranked = [e for e in examples if e.ids and set(e.candidate_ids) & e.ids]
    if not ranked or all(e.ids for e in examples):
        raise InvalidInputError("Fitting the ranking needs in-scope queries whose record the search finds, and out-of-scope ones.")
    order = fit_trees(np.vstack([e.candidates.features for e in ranked]), [rid in e.ids for e in ranked for rid in e.candidate_ids])
    rows = [_scope_row(e.candidates, float(order.decision(e.candidates.features).max()) if e.candidates.rows else -10.0)
            for e in examples]
    scope = fit_logistic(np.vstack(rows), [bool(e.ids) for e in examples])
    return LearnedRanking(order, scope, embedder, view)


def measure(read: Sequence[tuple[Example, LearnedRanking | None]], threshold: float) -> dict:
    """R@1, R@5 and MRR among in-scope queries, and scope accuracy, each query read by its ranking
    (None: the fusion's order and its cosine threshold)."""
    ranks, correct = [], []
    for e, ranking in read:
        if ranking is None:
            ids, covered = e.candidate_ids, e.best_cosine >= threshold
        else:
            order, probability = ranking.rerank(e.candidates)
            ids, covered = [e.record_ids[row] for row, _ in order], probability >= 0.5
        correct.append(covered == bool(e.ids))
        if e.ids:
            ranks.append(next((i for i, rid in enumerate(ids) if rid in e.ids), None))
    return {"r1": round(float(np.mean([r == 0 for r in ranks])), 4), "r5": round(float(np.mean([r is not None and r < 5 for r in ranks])), 4),
            "mrr": round(float(np.mean([1 / (r + 1) if r is not None else 0.0 for r in ranks])), 4),
            "scope_accuracy": round(float(np.mean(correct)), 4), "queries": len(correct), "in_scope": len(ranks)}


def cross_validate(examples: Sequence[Example], embedder: str, view: str, threshold: float) -> dict:
    """Out of fold (five folds by a hash of the query): the fusion and the learnt ranking on the same queries."""
    read = []
    for fold in range(FOLDS):
        ranking = fit([e for e in examples if e.fold != fold], embedder, view)
        read += [(e, ranking) for e in examples if e.fold == fold]
    return {"fusion": measure([(e, None) for e, _ in read], threshold), "learned": measure(read, threshold)}


def train(retriever, view, paths: Sequence[Path], out: Path, log=lambda msg: print(msg, file=sys.stderr)) -> dict:
    """`assistant train ranking`: search every query, report five folds, fit on all, save with its SHA-256."""
    from assistant.models.weights import sha256_of

    started = time.perf_counter()
    queries = read_queries(paths, set(r.id for r in retriever.records))
    examples = examples_for(retriever, view, queries)
    embedder, view_name = retriever.embedder.name, view.embedder.name
    folds = cross_validate(examples, embedder, view_name, retriever.threshold) if len(examples) >= 5 * FOLDS else {}
    ranking = fit(examples, embedder, view_name)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ranking.json").write_text(json.dumps(ranking.to_json(), indent=1) + "\n", encoding="utf-8")
    data = hashlib.sha256("\n".join(f"{t}\t{','.join(sorted(i))}" for t, i in queries).encode()).hexdigest()[:16]
    meta = {"queries": len(examples), "in_scope": sum(bool(e.ids) for e in examples), "files": [Path(p).name for p in paths],
            "data": data, "l2": L2, "depth": DEPTH, "embedder": embedder, "view": view_name, "cross_validation": folds,
            "seconds": round(time.perf_counter() - started, 1), "sha256": sha256_of(out / "ranking.json"),
            "trained_at": time.strftime("%Y-%m-%d")}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta
