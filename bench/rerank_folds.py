"""What else the learnt ranking was measured against: five folds over every hand-written dev query.

    .venv/bin/python bench/rerank_folds.py                       # the learnt ranking and the alternatives below
    .venv/bin/python bench/rerank_folds.py --written DIR         # + a cross-encoder's probability as a feature
    .venv/bin/python bench/rerank_folds.py --cross-encoder FOLD  # a cross-encoder trained on the other folds' queries

The queries are the ones `assistant train ranking` fits on (rerank/learned.py: the retrieval set,
issue #11's set and #19's second set, 611, all reported before); retrieval_heldout3.tsv is never
read. Each query goes to one of five folds by a hash of its text, and every number is out of fold:
fitted on four folds, read on the fifth. Queries, not records, are split: a held-out set asks new
questions of the same bank.

Measured 2026-12-04 on the 611 (520 in scope; R@1 / R@5 / MRR / scope accuracy):
- the fusion alone 0.769 / 0.936 / 0.844 / 0.910; the learnt ranking (trees) 0.819 / 0.971 / 0.883 / 0.941;
- a logistic regression for the order 0.802 / 0.969 / 0.873 / 0.944 (behind the trees in 4 of 5
  folds, at each of five tree settings tried: 0.818-0.824 mean per-fold R@1);
- without the tuned view 0.788 / 0.952 / 0.860 / 0.949;
- a listwise (softmax) loss, order only: 0.800 / 0.965;
- the probability of the cross-encoder trained on the written queries of every record (`assistant
  train reranker --every-record`) as a feature 0.811 / 0.967 / 0.879 / 0.943;
Earlier, on the first 442 with the regression: plain MiniLM as a third view 0.856 against 0.858;
the tuned MiniLM's answer-chunk and written-search cosines 0.853; the written-query cross-encoder
blended with the fusion instead 0.774 at weight 0.25, 0.538 at 1; and a cross-encoder trained on
the hand-written queries of four folds (3,471 pairs, 3 epochs, 604 s) gave every pair of fold 0 a
probability between 0.087 and 0.109, the share of answering pairs: it learnt nothing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.rerank.learned import (CANDIDATE_FEATURES, DEFAULT_QUERIES, FOLDS, Candidates, Example, cross_validate,  # noqa: E402
                                      examples_for, fit_logistic, read_queries)

TUNED_COLUMNS = [i for i, name in enumerate(CANDIDATE_FEATURES) if name.startswith("tuned")]


def with_columns(examples: list[Example], keep: list[int] | None = None, extra: dict[str, np.ndarray] | None = None) -> list[Example]:
    """The examples with some candidate features only, and/or one more per candidate."""
    out = []
    for e in examples:
        x = e.candidates.features if keep is None else e.candidates.features[:, keep]
        if extra is not None:
            x = np.hstack([x, extra[e.text][:, None]])
        out.append(replace(e, candidates=Candidates(e.candidates.rows, x, e.candidates.scope)))
    return out


def order_only(examples: list[Example], make_scorer) -> tuple[float, float]:
    """R@1 and R@5 out of fold for another order model: ``make_scorer(train) -> scores(features)``."""
    r1, r5 = [], []
    for fold in range(FOLDS):
        score = make_scorer([e for e in examples if e.fold != fold and e.ids and set(e.candidate_ids) & e.ids])
        for e in examples:
            if e.fold == fold and e.ids:
                s = score(e.candidates.features)
                ids = [e.candidate_ids[i] for i in sorted(range(len(s)), key=lambda i: (-s[i], i))]
                r1.append(ids[0] in e.ids)
                r5.append(bool(set(ids[:5]) & e.ids))
    return float(np.mean(r1)), float(np.mean(r5))


def logistic(train):
    return fit_logistic(np.vstack([e.candidates.features for e in train]), [rid in e.ids for e in train for rid in e.candidate_ids]).decision


def listwise(train):
    import torch

    xs = [torch.tensor(e.candidates.features, dtype=torch.float32) for e in train]
    ys = [torch.tensor([rid in e.ids for rid in e.candidate_ids], dtype=torch.float32) for e in train]
    every = torch.cat(xs)
    mean, scale = every.mean(0), every.std(0) + 1e-6
    w = torch.zeros(every.shape[1], requires_grad=True)
    optimizer = torch.optim.LBFGS([w], max_iter=300)

    def closure():
        optimizer.zero_grad()
        loss = -sum((torch.log_softmax(((x - mean) / scale) @ w, 0) * y / y.sum()).sum() for x, y in zip(xs, ys)) / len(xs)
        loss = loss + 1e-3 * (w * w).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return lambda x: (((torch.tensor(x, dtype=torch.float32) - mean) / scale) @ w).detach().numpy()


def written_probabilities(folder: Path, examples: list[Example], records) -> dict[str, np.ndarray]:
    from assistant.rerank.reranker import OnnxReranker, record_text

    reranker, texts = OnnxReranker(folder), {r.id: record_text(r) for r in records}
    return {e.text: reranker.scores(e.text, [texts[i] for i in e.candidate_ids]) for e in examples}


def cross_encoder_fold(examples: list[Example], records, fold: int, cache_dir: Path) -> None:
    """A cross-encoder trained on the other folds' queries (their record 1, other candidates 0), read on ``fold``."""
    from assistant.models.crossencoder import fine_tune, torch_probabilities
    from assistant.models.weights import _minilm_path
    from assistant.rerank.reranker import record_text
    from assistant.rerank.train import FREEZE_EMBEDDINGS, MAX_TOKENS

    texts = {r.id: record_text(r) for r in records}
    pairs, labels = [], []
    for e in examples:
        if e.fold != fold:
            for rid in sorted(e.ids | set(e.candidate_ids)):
                pairs.append((e.text, texts[rid]))
                labels.append(float(rid in e.ids))
    model, tokenizer, seconds = fine_tune(pairs, np.array([[1 - v, v] for v in labels], dtype=np.float32), _minilm_path(cache_dir),
                                          max_tokens=MAX_TOKENS, epochs=3, desc=f"fold {fold}", freeze_embeddings=FREEZE_EMBEDDINGS)
    held = [e for e in examples if e.fold == fold]
    p = torch_probabilities(model, tokenizer, [(e.text, texts[i]) for e in held for i in e.candidate_ids], MAX_TOKENS)[:, 1]
    print(f"{len(pairs)} pairs, {seconds:.0f} s; on fold {fold} the probabilities lie in [{p.min():.3f}, {p.max():.3f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--written", type=Path, help="a reranker trained on the written queries: its probability as a feature")
    parser.add_argument("--cross-encoder", type=int, metavar="FOLD", help="train a cross-encoder on the other folds (about 10 min)")
    args = parser.parse_args()

    from assistant.engine import Engine
    from assistant.retrieval.retriever import Retriever

    engine = Engine(log=lambda m: print(m, file=sys.stderr))
    records = engine.corpus.records
    fusion = Retriever(records, engine.index, engine.embedder, engine.retrieval_config)
    examples = examples_for(fusion, engine.view, read_queries(DEFAULT_QUERIES, {r.id for r in records}))
    if args.cross_encoder is not None:
        cross_encoder_fold(examples, records, args.cross_encoder, engine.settings.cache_dir)
        return
    names = (fusion.embedder.name, engine.view.embedder.name)

    def show(label, m):
        print(f"{label:<44} R@1 {m['r1']:.3f}  R@5 {m['r5']:.3f}  MRR {m['mrr']:.3f}  scope {m['scope_accuracy']:.3f}")

    found = cross_validate(examples, *names, fusion.threshold)
    print(f"{len(examples)} queries, {found['learned']['in_scope']} in scope, {FOLDS} folds, out of fold:")
    show("the fusion alone (its cosine threshold)", found["fusion"])
    show("the learnt ranking", found["learned"])
    base = [i for i in range(len(CANDIDATE_FEATURES)) if i not in TUNED_COLUMNS]
    print("  (without the tuned view, the scope model still reads it)")
    show("without the tuned view", cross_validate(with_columns(examples, base), *names, fusion.threshold)["learned"])
    for label, scorer in (("a logistic regression, same features", logistic), ("a listwise loss, same features", listwise)):
        r1, r5 = order_only(examples, scorer)
        print(f"{label:<44} R@1 {r1:.3f}  R@5 {r5:.3f}")
    if args.written:
        extra = written_probabilities(args.written, examples, records)
        show("+ the written-query cross-encoder", cross_validate(with_columns(examples, extra=extra), *names, fusion.threshold)["learned"])


if __name__ == "__main__":
    main()
