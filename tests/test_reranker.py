"""The reranker (#19): it reorders the fusion's first candidates, only those, and its best
probability decides scope; its weights are refused when their SHA-256 differs. On fakes; the
shipped model in slow tests."""

import hashlib
import json

import numpy as np
import pytest

from assistant.errors import ModelError
from assistant.models.embedders import FakeEmbedder
from assistant.rerank.reranker import DEPTH, OnnxReranker, ScriptedReranker, record_text, rerank
from assistant.rerank.train import best_threshold, evaluate
from assistant.retrieval.retriever import RetrievalConfig, Retriever


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from assistant.config import PROJECT_ROOT, Settings
    from assistant.engine import Engine

    settings = Settings(corpus_dir=PROJECT_ROOT / "corpus", index_dir=tmp_path_factory.mktemp("index"), reranker="off")
    return Engine(settings, embedder=FakeEmbedder(), log=lambda m: None)


def with_reranker(engine, reranker, weight=1.0):
    return Retriever(engine.corpus.records, engine.index, engine.embedder, RetrievalConfig(rerank_weight=weight), reranker)


def test_rerank_orders_by_the_blend_and_keeps_the_fusions_order_on_ties():
    fused = [(7, 0.9), (3, 0.8), (5, 0.5), (9, 0.1)]
    assert rerank(fused, [0.2, 0.9, 0.2, 0.5], weight=1.0) == [(3, 0.9), (9, 0.5), (7, 0.2), (5, 0.2)]
    assert [row for row, _ in rerank(fused, [0.2, 0.9, 0.2, 0.5], weight=0.0)] == [7, 3, 5, 9]
    assert rerank(fused, [0.0, 0.2, 0.0, 0.0], weight=0.5) == [(3, pytest.approx(0.5)), (7, pytest.approx(0.45)),
                                                               (5, pytest.approx(0.25)), (9, pytest.approx(0.05))]
    assert rerank([], []) == []


def test_the_reranker_reorders_only_the_fusions_first_candidates(engine):
    fused = [engine.corpus.records[row].id for row, _ in engine.retriever.fuse("what does dropout mean")[0][:DEPTH]]
    last = engine.corpus.get(fused[-1])  # the fusion's tenth: the reranker puts it first
    reranker = ScriptedReranker(lambda query, text: 0.95 if text == record_text(last) else 0.1)
    result = with_reranker(engine, reranker).search("what does dropout mean", k=3)
    assert [h.id for h in result.hits][0] == last.id
    assert result.hits[1].id == fused[0]  # the rest keep the fusion's order (equal scores)
    assert len(reranker.calls) == DEPTH and {t for _, t in reranker.calls} == {record_text(engine.corpus.get(i)) for i in fused}
    assert result.in_scope and result.similarity == pytest.approx(0.95)
    blended = with_reranker(engine, reranker, weight=0.2).search("what does dropout mean", k=3)
    assert blended.hits[0].id == fused[0]  # mostly the fusion's order: its first keeps its place


def test_the_rerankers_best_probability_decides_scope(engine):
    low = with_reranker(engine, ScriptedReranker(lambda query, text: 0.2)).search("what does dropout mean")
    assert not low.in_scope and low.similarity == pytest.approx(0.2)  # the fusion alone calls this in scope
    assert engine.search("what does dropout mean").in_scope


def test_a_record_is_read_as_its_question_and_the_first_words_of_its_answer(corpus):
    record = corpus.get("p3-q26")
    text = record_text(record, words=5)
    assert text.startswith(record.question.strip()) and len(text.split()) == len(record.question.split()) + 5


def test_the_dev_reading_is_r1_and_the_best_scope_cut():
    from assistant.rerank.data import Query

    queries = [Query("a", "r1", "written-unnamed", "dev"), Query("b", "r2", "search", "dev"), Query("c", None, "out-of-scope", "dev")]
    candidates = {"a": ["r2", "r1"], "b": ["r1", "r3"], "c": ["r1", "r3"]}
    scores = {("a", "T1"): 0.9, ("a", "T2"): 0.3, ("b", "T1"): 0.4, ("b", "T3"): 0.7, ("c", "T1"): 0.2, ("c", "T3"): 0.1}
    texts = {"r1": "T1", "r2": "T2", "r3": "T3"}

    def probabilities(pairs):
        p = np.array([scores[pair] for pair in pairs])
        return np.stack([1 - p, p], axis=1)

    found = evaluate(probabilities, queries, candidates, texts)
    assert found["r1"] == 0.5 and found["in_candidates"] == 0.5  # "a" is right; "b" picks r3 (its record is not a candidate)
    assert found["scope_accuracy"] == 1.0 and 0.2 < found["threshold"] < 0.7
    assert best_threshold([0.9, 0.8, 0.1], [True, False, False]) == (pytest.approx(0.85), 1.0)


def test_weights_whose_sha256_differs_are_refused(tmp_path):
    (tmp_path / "reranker.onnx").write_bytes(b"not the trained model")
    (tmp_path / "meta.json").write_text(json.dumps({"sha256": hashlib.sha256(b"the trained model").hexdigest()}))
    with pytest.raises(ModelError, match="does not match its known SHA-256"):
        OnnxReranker(tmp_path).scores("a query", ["a record"])
    with pytest.raises(ModelError, match="train reranker"):
        OnnxReranker(tmp_path / "missing").scores("a query", ["a record"])


def test_asking_for_a_reranker_that_was_never_trained_says_so_and_searches_without_it(tmp_path):
    from assistant.config import PROJECT_ROOT, Settings
    from assistant.engine import Engine

    said = []
    settings = Settings(corpus_dir=PROJECT_ROOT / "corpus", index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", reranker="cross-encoder")
    engine = Engine(settings, embedder=FakeEmbedder(), log=said.append)
    assert engine.search("what does dropout mean").hits[0].id == "p3-q26" and engine.retriever.reranker is None
    assert any("assistant train reranker" in line for line in said)
