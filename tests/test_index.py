import json

import pytest

from assistant.corpus import load_corpus
from assistant.models.embedders import FakeEmbedder
from assistant.retrieval.index import CorruptIndex, StaleIndex, build_index, load_index, open_index


@pytest.fixture
def built(tmp_path, corpus):
    directory = tmp_path / "idx" / "fake"
    build_index(corpus.records, corpus.content_hash, FakeEmbedder(), directory)
    return directory


def test_round_trip_and_manifest(built, corpus):
    index = load_index(built, corpus.content_hash, FakeEmbedder())
    manifest = index.manifest
    assert manifest.count == 101 and manifest.ids[0] == "p1-q0" and manifest.dim == FakeEmbedder().dim
    assert manifest.chunk_count == index.answer_vectors.ntotal >= 101
    assert manifest.corpus_hash == corpus.content_hash and manifest.embedder == FakeEmbedder().name
    assert set(manifest.files) >= {"record.faiss", "question.faiss", "answer.faiss", "chunk_rows.npy"}
    assert not list(built.parent.glob(".*building*"))  # no temporary folders left behind


def test_stale_corpus_and_other_model_are_refused(built, corpus):
    with pytest.raises(StaleIndex, match="corpus has changed"):
        load_index(built, "another-hash", FakeEmbedder())
    with pytest.raises(StaleIndex, match="built with"):
        load_index(built, corpus.content_hash, FakeEmbedder(dim=64))


def test_corrupt_file_is_detected_and_rebuilt(built, corpus):
    (built / "question.faiss").write_bytes(b"garbage")
    with pytest.raises(CorruptIndex, match="question.faiss"):
        load_index(built, corpus.content_hash, FakeEmbedder())
    messages = []
    index = open_index(corpus.records, corpus.content_hash, FakeEmbedder(), built, messages.append)
    assert index.manifest.count == 101
    assert messages and "Rebuilding" in messages[0] and "damaged" in messages[0]
    load_index(built, corpus.content_hash, FakeEmbedder())  # sound again


def test_unreadable_manifest_is_corrupt(built, corpus):
    (built / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorruptIndex, match="manifest"):
        load_index(built, corpus.content_hash, FakeEmbedder())


def test_old_format_is_stale(built, corpus):
    data = json.loads((built / "manifest.json").read_text())
    data["format_version"] = 0
    (built / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(StaleIndex, match="format"):
        load_index(built, corpus.content_hash, FakeEmbedder())


def test_changed_corpus_triggers_a_rebuild(tmp_path, corpus_dir):
    directory = tmp_path / "idx"
    first = load_corpus(corpus_dir)
    open_index(first.records, first.content_hash, FakeEmbedder(), directory, lambda m: None)
    (corpus_dir / "extra.md").write_text("## Part 1: X\n### Q1- What is a tensor core?\n- Hardware for matmul.\n")
    second = load_corpus(corpus_dir)
    messages = []
    index = open_index(second.records, second.content_hash, FakeEmbedder(), directory, messages.append)
    assert index.manifest.count == 102 and "corpus has changed" in messages[0]


def test_crash_mid_build_keeps_the_old_index(built, corpus, monkeypatch):
    import assistant.retrieval.index as index_module

    def explode(self, directory):
        raise RuntimeError("power cut")

    monkeypatch.setattr(index_module.KeywordIndex, "save", explode)
    with pytest.raises(RuntimeError, match="power cut"):
        build_index(corpus.records, "new-hash", FakeEmbedder(), built)
    assert load_index(built, corpus.content_hash, FakeEmbedder()).manifest.count == 101
    assert not list(built.parent.glob(".*building*"))


def test_crash_before_first_build_leaves_nothing_that_loads(tmp_path, corpus, monkeypatch):
    import assistant.retrieval.index as index_module

    monkeypatch.setattr(index_module.KeywordIndex, "save", lambda self, d: (_ for _ in ()).throw(RuntimeError("boom")))
    directory = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        build_index(corpus.records, corpus.content_hash, FakeEmbedder(), directory)
    with pytest.raises(StaleIndex, match="no index"):
        load_index(directory, corpus.content_hash, FakeEmbedder())


def test_hnsw_kind_builds_and_searches(tmp_path, corpus):
    index = build_index(corpus.records[:20], "h", FakeEmbedder(), tmp_path / "hnsw", kind="hnsw")
    assert index.manifest.kind == "hnsw"
    vector = FakeEmbedder().encode([corpus.records[3].question])
    _, rows = index.question_vectors.search(vector, 1)
    assert rows[0][0] == 3
