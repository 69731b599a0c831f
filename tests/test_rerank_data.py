"""The reranker's training data (#19): queries that name their record are rejected, only train and dev
records get written queries, a stopped run goes on where it stopped, hard negatives skip near-twins."""

from assistant.models.generation import ScriptedGenerator
from assistant.rerank.data import (
    Query, QueryStore, build_pairs, names_record, parse_queries, read_out_of_scope, title_words, write_queries)
from assistant.verify.data import points_of, split_of

REPLY = ("unnamed: randomly switching off units while training\n"
         "symptom: what does dropout do to my validation loss\n"
         "formula: none\n"
         "compare: dropout vs weight decay\n"
         "casual: why turn neurons of at random\n"
         "followup: why is it off at inference\n"
         "casual: a second casual line is ignored\n"
         "not a query line")


def test_a_query_that_names_its_record_is_rejected():
    question = "What does Dropout mean?"
    assert title_words(question) == {"dropout"}
    assert names_record("Dropouts in keras", question) and not names_record("zeroing activations at random", question)
    assert names_record("what is batch normalisation", "What does Batch Normalization mean?")  # a 5-letter prefix counts
    kept, rejected = parse_queries(REPLY, question)
    assert kept == {"unnamed": "randomly switching off units while training", "compare": "dropout vs weight decay",
                    "casual": "why turn neurons of at random", "followup": "why is it off at inference"}
    assert rejected == {"symptom": "what does dropout do to my validation loss"}  # and 'formula: none' is dropped


def test_queries_are_written_for_train_and_dev_records_only_and_resume(corpus, tmp_path):
    store = QueryStore(tmp_path / "queries.json")
    generator = ScriptedGenerator([REPLY])
    assert write_queries(corpus, store, generator, limit=12) == 12
    written = {entry["record"] for entry in store.data.values()}
    assert written and all(split_of(rid) in ("train", "dev") for rid in written)
    again = QueryStore(tmp_path / "queries.json")  # read back from disk: nothing lost, nothing rewritten
    assert again.data == store.data
    assert write_queries(corpus, again, ScriptedGenerator([REPLY]), limit=5) == 5
    assert len(again.data) == 17 and len(generator.prompts) == 12


def test_hard_negatives_are_the_fusions_candidates_but_not_near_twins():
    queries = [Query("params vs hyperparams", "p1-q23", "written-compare", "train"), Query("capital of france", None, "out-of-scope", "dev")]
    ranked = {"params vs hyperparams": ["p3-q4", "p1-q23", "p3-q5", "p3-q10", "p1-q24", "p3-q9"],
              "capital of france": ["p1-q0", "p1-q1"]}
    pairs = build_pairs(queries, ranked.get, {"p1-q23": {"p3-q4"}}, negatives=3)
    positives = [(p.query, p.record) for p in pairs if p.label == 1.0]
    negatives = [(p.query, p.record) for p in pairs if p.label == 0.0]
    assert positives == [("params vs hyperparams", "p1-q23")]
    assert ("params vs hyperparams", "p3-q4") not in negatives  # its near-twin answers it too
    assert negatives[:2] == [("params vs hyperparams", "p3-q5"), ("params vs hyperparams", "p3-q10")]
    assert len([n for n in negatives if n[0] == "params vs hyperparams"]) == 3
    assert [n for n in negatives if n[0] == "capital of france"] == [("capital of france", "p1-q0"), ("capital of france", "p1-q1")]


def test_the_shipped_out_of_scope_queries_are_read():
    queries = read_out_of_scope()
    assert len(queries) >= 100 and not any(q.startswith("#") for q in queries)


def test_writing_the_rerankers_queries_needs_the_language_model(capsys):
    from assistant.cli import main

    assert main(["--backend", "extractive", "train", "reranker", "--write"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs the language model" in err[0]


def test_every_source_of_queries_keeps_its_record_and_split(corpus, tmp_path):
    from assistant.rerank.data import training_queries
    from assistant.verify.data import StatementStore

    record = corpus.get("p3-q26")
    store, statements = QueryStore(tmp_path / "q.json"), StatementStore(tmp_path / "s.json")
    point = points_of(record)[0]
    store.put(record, point, {"kept": {"unnamed": "switching off random units while training"}, "rejected": {"casual": "dropout?"}})
    statements.put(record, point, {"true": ["units are dropped at random in training"], "false": ["it is kept on at inference"]})
    queries = training_queries(corpus, store, {"p3-q26": ["dropout keras"]}, statements, ["capital of france"])
    assert {(q.text, q.record, q.how) for q in queries} == {
        ("switching off random units while training", "p3-q26", "written-unnamed"),
        ("units are dropped at random in training", "p3-q26", "statement"),
        ("dropout keras", "p3-q26", "search"), ("capital of france", None, "out-of-scope")}
    assert all(q.split == split_of("p3-q26") for q in queries if q.record)


def test_near_twins_are_the_records_whose_questions_embed_alike(corpus):
    import numpy as np

    from assistant.rerank.data import near_twins

    class Twins:  # p1-q23 and p3-q4 (both "parameters and hyperparameters") share a vector; every other record its own
        def encode(self, texts):
            vectors = np.eye(len(texts), dtype=np.float32)
            ids = [r.id for r in corpus]
            vectors[ids.index("p3-q4")] = vectors[ids.index("p1-q23")]
            return vectors

    twins = near_twins(corpus, Twins())
    assert twins["p1-q23"] == {"p3-q4"} and twins["p3-q4"] == {"p1-q23"} and twins["p3-q26"] == set()
