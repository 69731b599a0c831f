import pytest

from assistant.models.embedders import FakeEmbedder
from assistant.engine import Engine
from assistant.errors import InvalidInputError
from assistant.retrieval.retriever import RetrievalConfig, prepare_query


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from assistant.config import Settings, PROJECT_ROOT

    settings = Settings(corpus_dir=PROJECT_ROOT / "corpus", index_dir=tmp_path_factory.mktemp("index"))
    return Engine(settings, embedder=FakeEmbedder(), log=lambda m: None)


def test_every_question_finds_itself_through_its_question_vector(engine):
    from assistant.retrieval.retriever import Retriever

    questions_only = Retriever(engine.corpus.records, engine.index, engine.embedder, RetrievalConfig(weights=(0, 1, 0, 0, 0)))
    misses = [r.id for r in engine.corpus if questions_only.search(r.question, k=1).hits[0].id != r.id]
    assert misses == []


def test_hits_are_ranked_and_scaled(engine):
    result = engine.search("what does dropout mean", k=5)
    assert result.in_scope and result.hits[0].id == "p3-q26"
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] <= 1.0
    assert result.hits[0].part == "Part 3: Model training and Evaluation"
    assert len({h.id for h in result.hits}) == 5


def test_json_shape(engine):
    data = engine.search("batch normalization").to_json()
    assert set(data) == {"query", "in_scope", "hits"}
    assert set(data["hits"][0]) == {"id", "question", "part", "score"}


def test_unrelated_text_is_out_of_scope(engine):
    result = engine.search("zxqv plorf wibble")
    assert not result.in_scope
    assert result.similarity < engine.retriever.threshold


def test_bm25_only_config_still_ranks(engine):
    from assistant.retrieval.retriever import Retriever

    bm25_only = Retriever(engine.corpus.records, engine.index, engine.embedder, RetrievalConfig(weights=(0, 0, 0, 0, 1)))
    assert bm25_only.search("early stopping", k=1).hits[0].id == "p3-q25"


def test_prepare_query():
    assert prepare_query("  what\tis\x00 relu?\n", 100) == ("what is relu?", ())
    with pytest.raises(InvalidInputError, match="empty"):
        prepare_query(" \n\t ", 100)
    with pytest.raises(InvalidInputError):
        prepare_query("\x00\x01", 100)
    text, notices = prepare_query("x" * 100_000, 2000)
    assert len(text) == 2000 and "100,000 characters" in notices[0]
