"""Document expansion: the searches the model writes for each record, stored, indexed and searched."""

import json

import pytest

from assistant.cli import main
from assistant.models.embedders import FakeEmbedder
from assistant.retrieval.expansion import SHIPPED, ExpansionStore, expand, parse_searches, prompt, record_key
from assistant.models.generation import ScriptedGenerator
from assistant.retrieval.index import StaleIndex, build_index, load_index
from assistant.retrieval.retriever import RetrievalConfig, Retriever

REPLY = """short: relu
short: rectifed linear unit
casual: what is relu
casual: What is ReLU?
unnamed: the activation that outputs zero for negative inputs and the input otherwise
formula: max(0, x)
Explain ReLU (Rectified Linear Unit) function
here is a line that rambles on and on, far too long to be anything that a person would ever type into a search box when looking for this one question in a bank"""


def test_parse_keeps_searches_and_drops_labels_repeats_the_question_and_rambling():
    searches = parse_searches(REPLY, "Explain ReLU (Rectified Linear Unit) function")
    assert searches == [
        "relu", "rectifed linear unit", "what is relu",
        "the activation that outputs zero for negative inputs and the input otherwise", "max(0, x)",
    ]


def test_the_prompt_shows_the_record_last_and_no_bank_question_in_its_examples(corpus):
    record = corpus.get("p1-q10")
    messages = prompt(record)
    assert record.question in messages[-1]["content"] and messages[-1]["role"] == "user"
    examples = " ".join(m["content"] for m in messages[:-1]).lower()
    assert not any(r.question.lower() in examples for r in corpus.records)


def test_expand_writes_only_what_is_missing_and_saves_after_each_record(corpus, tmp_path):
    records = corpus.records[:3]
    store = ExpansionStore(tmp_path / "cache" / "expansions.json", shipped=tmp_path / "none.json")
    store.put(records[0], ["already there"])
    generator = ScriptedGenerator(lambda messages: "short: a search\ncasual: another search")
    assert expand(records, store, generator) == 2 and len(generator.prompts) == 2
    again = ExpansionStore(tmp_path / "cache" / "expansions.json", shipped=tmp_path / "none.json")
    assert again.get(records[1]) == ("a search", "another search")
    assert again.get(records[0]) == ("already there",)  # kept beside them
    assert expand(records, store, generator) == 0  # nothing left to write


def test_the_shipped_bank_has_searches_for_every_question_keyed_by_its_text(corpus):
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    store = ExpansionStore(SHIPPED.with_name("no-cache.json"))
    assert store.missing(corpus.records) == [] and set(shipped) == {record_key(r) for r in corpus.records}
    assert all(len(store.get(r)) >= 3 for r in corpus.records)


def test_an_edited_record_loses_its_searches(corpus, tmp_path):
    from dataclasses import replace

    store = ExpansionStore(tmp_path / "c.json")
    edited = replace(corpus.get("p3-q26"), answer_text="Something else entirely.")
    assert store.get(corpus.get("p3-q26")) and store.get(edited) == () and store.missing([edited]) == [edited]


def test_a_search_written_for_a_record_finds_it(corpus, tmp_path):
    records = corpus.records
    target = corpus.get("p3-q19")
    odd = "zyzzyva quokka"  # words no record contains
    index = build_index(records, corpus.content_hash, FakeEmbedder(), tmp_path / "i", expansions={target.id: [odd]})
    assert index.manifest.expansion_count == 1
    searches_only = Retriever(records, index, FakeEmbedder(), RetrievalConfig(weights=(0, 0, 0, 1, 0)))
    assert searches_only.search(odd, k=1).hits[0].id == "p3-q19"
    bm25_only = Retriever(records, index, FakeEmbedder(), RetrievalConfig(weights=(0, 0, 0, 0, 1)))
    assert bm25_only.search("quokka", k=1).hits[0].id == "p3-q19"  # BM25 reads them too


def test_the_index_is_stale_when_the_searches_change(corpus, tmp_path):
    built = tmp_path / "i"
    build_index(corpus.records, corpus.content_hash, FakeEmbedder(), built, expansions={"p1-q0": ["dl"]})
    assert load_index(built, corpus.content_hash, FakeEmbedder(), {"p1-q0": ["dl"]}).manifest.expansion_count == 1
    with pytest.raises(StaleIndex, match="searches"):
        load_index(built, corpus.content_hash, FakeEmbedder(), {"p1-q0": ["deep learning"]})


def test_index_build_expand_needs_a_model(capsys):
    assert main(["--backend", "extractive", "index", "build", "--expand"]) == 2
    assert "needs a language model" in capsys.readouterr().err


def test_index_build_expand_writes_searches_for_a_users_own_bank(tmp_path, monkeypatch, capsys):
    import assistant.engine as engine_module
    from assistant.models.language import LanguageModel

    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "mine.md").write_text("## Part 1: Mine\n\n### Q1- What is a quokka?\nA small marsupial from Western Australia.\n", encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(bank))
    generator = ScriptedGenerator(["short: quokka facts\ncasual: what kind of animal is a quokka"])
    monkeypatch.setattr(engine_module.Engine, "model", property(lambda self: LanguageModel.of(generator)))
    assert main(["index", "build", "--expand"]) == 0
    out = capsys.readouterr().out
    assert "Wrote searches for 1 questions" in out and "2 written searches" in out
    assert main(["index", "status"]) == 0 and "up to date" in capsys.readouterr().out
