"""The learnt ranking (#19): boosted trees and a logistic regression over the search's own scores
reorder the fusion's first candidates and decide scope; fitted deterministically from query files, refused when
their SHA-256 differs, and used only with the embedder they were fitted for. On fakes; the shipped
weights on the real models in a slow test."""

import hashlib
import json

import numpy as np
import pytest

from assistant.errors import InvalidInputError, ModelError
from assistant.models.embedders import FakeEmbedder
from assistant.rerank.learned import (CANDIDATE_FEATURES, SCOPE_FEATURES, SHIPPED, SHIPPED_SHA256, TREES, LearnedRanking, Logistic,
                                      Trees, fit_logistic, fit_trees, gather, learned_ranking, read_queries)
from assistant.rerank.reranker import DEPTH
from assistant.retrieval.retriever import Retriever


def _model(names, **weights) -> Logistic:
    """A regression that reads only the named features (no standardising)."""
    return Logistic(np.zeros(len(names)), np.ones(len(names)), np.array([weights.get(n, 0.0) for n in names]), weights.get("bias", 0.0))


def _ranking(order: dict, scope: dict, embedder="fake") -> LearnedRanking:
    return LearnedRanking(_model(CANDIDATE_FEATURES, **order), _model(SCOPE_FEATURES, **scope), embedder, "fake")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from assistant.config import PROJECT_ROOT, Settings
    from assistant.engine import Engine

    settings = Settings(corpus_dir=PROJECT_ROOT / "corpus", index_dir=tmp_path_factory.mktemp("index"), reranker="off")
    return Engine(settings, embedder=FakeEmbedder(), log=lambda m: None)


def test_the_regression_is_fitted_deterministically_and_separates_what_it_can():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x[:, 0] - 0.5 * x[:, 2] > 0
    first, second = fit_logistic(x, y), fit_logistic(x, y)
    assert np.array_equal(first.coef, second.coef) and first.bias == second.bias
    assert np.mean((first.decision(x) > 0) == y) > 0.95
    assert first.coef[0] > 0 > first.coef[2] and abs(first.coef[1]) < abs(first.coef[0]) / 5
    assert fit_logistic(x, y, l2=1000.0).coef[0] < first.coef[0]  # the penalty shrinks the weights


def test_the_trees_read_with_numpy_give_scikit_learns_decisions_and_learn_what_a_line_cannot():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    y = x[:, 0] * x[:, 1] > 0  # a checkerboard: no line separates it
    trees = fit_trees(x, y)
    fresh = rng.normal(size=(50, 4))
    fitted = HistGradientBoostingClassifier(**TREES, random_state=0, early_stopping=False).fit(x, list(y))
    assert np.allclose(trees.decision(fresh), fitted.decision_function(fresh))
    assert np.mean((trees.decision(x) > 0) == y) > 0.9 > np.mean((fit_logistic(x, y).decision(x) > 0) == y)
    again = Trees.from_json(json.loads(json.dumps(trees.to_json("abcd"))), "abcd")
    assert np.array_equal(again.decision(fresh), trees.decision(fresh)) and np.array_equal(fit_trees(x, y).value, trees.value)


def test_the_features_are_read_from_the_searchs_own_scores():
    inf = -np.inf
    signals = (np.array([0.9, 0.5, inf]), np.array([0.8, inf, 0.1]), np.array([0.7, 0.6, 0.2]),
               np.array([inf, inf, 0.3]), np.array([2.0, 4.0, 0.0]))
    view = (np.array([0.4, 0.6, 0.1]), np.array([0.3, 0.2, inf]))
    found = gather(signals, view, [(1, 0.9), (0, 0.6), (2, 0.1)])
    assert found.rows == (1, 0, 2) and found.features.shape == (3, len(CANDIDATE_FEATURES))
    first = dict(zip(CANDIDATE_FEATURES, found.features[0]))  # record 1, the fusion's first
    assert first["fused"] == 0.9 and first["fused position"] == 1.0
    assert first["record score"] == 0.5 and first["record rank"] == 0.5  # second by the record cosine
    assert first["question score"] == 0.0  # outside that ranking's top: no score
    assert first["bm25 score"] == 1.0 and first["bm25 rank"] == 1.0  # BM25 over its best
    assert first["tuned record score"] == 0.6 and first["tuned record below best"] == 0.0 and first["tuned record rank"] == 1.0
    assert dict(zip(CANDIDATE_FEATURES, found.features[1]))["tuned record below best"] == pytest.approx(-0.2)
    assert list(found.scope) == pytest.approx([0.9, 0.8, 0.7, 0.3, np.log1p(4.0), 0.6, 0.3, 0.9 - 0.6])


def test_the_ranking_orders_by_its_regression_and_its_scope_model_decides_coverage():
    signals = tuple(np.array([0.1, 0.2, 0.3]) for _ in range(4)) + (np.zeros(3),)
    view = (np.array([0.9, 0.1, 0.5]), np.array([0.0, 0.0, 0.0]))
    found = gather(signals, view, [(0, 0.5), (1, 0.4), (2, 0.3)])
    by_view = _ranking({"tuned record score": 5.0}, {"best tuned record": 10.0, "bias": -5.0})
    order, covered = by_view.rerank(found)
    assert [row for row, _ in order] == [0, 2, 1] and order[0][1] > order[1][1] > order[2][1]
    assert covered == pytest.approx(1 / (1 + np.exp(-(10 * 0.9 - 5))))
    assert not _ranking({}, {"best tuned record": 10.0, "bias": -10.0}).rerank(found)[1] >= 0.5
    assert [row for row, _ in _ranking({}, {}).rerank(found)[0]] == [0, 1, 2]  # ties keep the fusion's order


def test_the_retriever_reorders_only_the_fusions_first_candidates_and_takes_scope_from_the_ranking(engine):
    records = engine.corpus.records
    fused = [records[row].id for row, _ in engine.retriever.fuse("what does dropout mean")[0][:DEPTH]]
    backwards = _ranking({"fused position": -1.0}, {"bias": -3.0})  # the fusion's tenth first; nothing covered
    retriever = Retriever(records, engine.index, engine.embedder, ranking=backwards, view=engine.retriever)
    result = retriever.search("what does dropout mean", k=DEPTH)
    assert [h.id for h in result.hits] == fused[::-1]
    assert not result.in_scope and result.similarity == pytest.approx(1 / (1 + np.exp(3.0)))
    covered = Retriever(records, engine.index, engine.embedder, ranking=_ranking({}, {"bias": 3.0}), view=engine.retriever)
    assert covered.search("what does dropout mean").in_scope
    with pytest.raises(ValueError, match="view"):
        Retriever(records, engine.index, engine.embedder, ranking=backwards)


def test_the_shipped_weights_load_and_damaged_or_missing_ones_are_refused(tmp_path):
    shipped = learned_ranking(tmp_path)  # no ranking of the user's own: the shipped one
    assert shipped.embedder == "sentence-transformers/all-mpnet-base-v2" and shipped.view.endswith("MiniLM-L6-v2-tuned")
    assert hashlib.sha256((SHIPPED / "ranking.json").read_bytes()).hexdigest() == SHIPPED_SHA256
    own = tmp_path / "ranking"
    own.mkdir()
    (own / "ranking.json").write_text((SHIPPED / "ranking.json").read_text() + " ")
    (own / "meta.json").write_text(json.dumps({"sha256": SHIPPED_SHA256}))
    with pytest.raises(ModelError, match="does not match its known SHA-256"):
        learned_ranking(tmp_path)
    with pytest.raises(ModelError, match="train ranking"):
        LearnedRanking.load(tmp_path / "missing")


def test_a_ranking_fitted_for_another_embedder_is_not_used_and_an_unknown_setting_is_refused(tmp_path):
    from assistant.config import PROJECT_ROOT, Settings
    from assistant.engine import Engine

    said = []
    settings = Settings(corpus_dir=PROJECT_ROOT / "corpus", index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", reranker="learned")
    engine = Engine(settings, embedder=FakeEmbedder(), log=said.append)
    assert engine.search("what does dropout mean").hits[0].id == "p3-q26" and engine.retriever.ranking is None
    assert any("fitted for sentence-transformers/all-mpnet-base-v2" in line for line in said)
    with pytest.raises(InvalidInputError, match="Unknown reranker 'on'"):
        Engine(Settings(corpus_dir=PROJECT_ROOT / "corpus", index_dir=tmp_path / "index", reranker="on"),
               embedder=FakeEmbedder()).search("what does dropout mean")


def test_query_files_with_unknown_ids_or_no_queries_are_clear_errors(tmp_path):
    good = tmp_path / "good.tsv"
    good.write_text("# a comment\nwhat is dropout\tp3-q26\nhow to bake bread\t\n")
    assert read_queries([good], {"p3-q26"}) == [("what is dropout", frozenset({"p3-q26"})), ("how to bake bread", frozenset())]
    bad = tmp_path / "bad.tsv"
    bad.write_text("what is dropout\tp9-q99\n")
    with pytest.raises(InvalidInputError, match="bad.tsv:1: no question has the id p9-q99; run .assistant search."):
        read_queries([bad], {"p3-q26"})
    empty = tmp_path / "empty.tsv"
    empty.write_text("# nothing\n")
    with pytest.raises(InvalidInputError, match="No queries"):
        read_queries([empty], {"p3-q26"})
    with pytest.raises(InvalidInputError, match="Cannot read"):
        read_queries([tmp_path / "missing.tsv"], {"p3-q26"})


def test_train_ranking_measures_five_folds_saves_checked_weights_and_the_engine_uses_them(tmp_path, capsys):
    from assistant.cli import main
    from assistant.config import PROJECT_ROOT, Settings
    from assistant.engine import Engine

    queries = PROJECT_ROOT / "bench" / "data" / "retrieval_queries.tsv"
    assert main(["--reranker", "learned", "train", "ranking", "--queries", str(queries)]) == 0
    said = capsys.readouterr().out
    assert "Fitted the learnt ranking on" in said and "out of fold, the fusion alone: R@1" in said and "it is used from now on" in said
    settings = Settings()
    meta = json.loads((settings.cache_dir / "ranking" / "meta.json").read_text())
    assert meta["files"] == ["retrieval_queries.tsv"] and set(meta["cross_validation"]) == {"fusion", "learned"}
    engine = Engine(settings.with_overrides(reranker="learned"), embedder=FakeEmbedder(), log=lambda m: None)
    assert engine.retriever.ranking is not None and engine.retriever.ranking.embedder == FakeEmbedder().name
    result = engine.search("what does dropout mean")
    assert 0.0 <= result.similarity <= 1.0 and all(0.0 <= h.score <= 1.0 for h in result.hits)
