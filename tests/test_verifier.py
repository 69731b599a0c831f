"""The verifier: its data (split by record, rule-made flips), the verdict rule, its use in Ask and
`assistant check`, all on fakes; the shipped model in slow tests."""

import hashlib
import io
import json

import numpy as np
import pytest

from assistant.cli import main
from assistant.errors import ModelError
from assistant.verify.data import LABELS, negated, parse_statements, split_of, swapped
from assistant.verify.verifier import OnnxVerifier, ScriptedVerifier, check, decide

DROPOUT = "It randomly deactivate a fraction of neurons during training. Dropout is applied during the training phase but is turned off during inference."


def by_phrase(table, default=(0.05, 0.05, 0.9)):
    """A scripted verifier: the scores of the first phrase of ``table`` found in the statement."""
    return ScriptedVerifier(lambda point, statement: next((v for k, v in table.items() if k in statement.lower()), default))


def test_records_are_split_once_by_their_id(corpus):
    splits = {r.id: split_of(r.id) for r in corpus}
    assert set(splits.values()) == {"train", "dev", "test"} and all(split_of(i) == s for i, s in splits.items())
    assert 0.6 < sum(s == "train" for s in splits.values()) / len(splits) < 0.8


def test_rule_made_flips():
    assert swapped("An epoch is one pass over the dataset; an iteration is one update.") == [
        "An iteration is one pass over the dataset; an epoch is one update."]
    assert negated("Dropout is applied during training.") == "Dropout is not applied during training."
    assert negated("Dropout is not applied at inference.") is None  # already denies: no double negation
    written = parse_statements("true: It keeps a subset.\nfalse: It keeps all.\nnoise\ntrue: It keeps a subset.\nfalse: the point", "the point")
    assert written == {"true": ["It keeps a subset."], "false": ["It keeps all."]}


def test_pairs_read_each_point_after_its_question_and_flip_the_written_true_statements(corpus, tmp_path):
    from assistant.verify.data import StatementStore, build_pairs, flips, points_of

    assert flips("Dropout is applied during training.") == ["Dropout is applied during inference.", "Dropout is not applied during training."]
    record = corpus.get("p3-q26")
    point = points_of(record)[0]
    store = StatementStore(tmp_path / "statements.json")
    store.put(record, point, {"true": ["Dropout is used during training only."], "false": [], "judge": {}})
    pairs = build_pairs(corpus, store, {})
    flipped = [p for p in pairs if p.how == "written-flip"]
    assert [(p.statement, p.label, p.point) for p in flipped] == [
        ("Dropout is used during inference only.", "contradicted", point), ("Dropout is not used during training only.", "contradicted", point)]
    assert all(p.premise == f"{' '.join(corpus.get(p.record).question.split())} {p.point}" for p in pairs)
    assert len({p.split for p in pairs}) == 3 and all(p.split == flipped[0].split for p in flipped)


def test_the_verdict_rests_on_the_strongest_point():
    points = ["Dropout is used during training.", "Dropout is turned off at inference."]
    rows = np.array([[0.8, 0.1, 0.1], [0.1, 0.85, 0.05]])
    verdict = decide("Dropout stays on at inference.", points, rows)
    assert verdict.verdict == "contradicted" and verdict.evidence == points[1]  # one contradiction outweighs a support
    assert decide("x", points, np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])).verdict == "supported"
    unsure = decide("x", points, np.array([[0.3, 0.3, 0.4], [0.2, 0.1, 0.7]]))
    assert unsure.verdict == "not addressed" and unsure.evidence is None
    timed = check(by_phrase({"stays on": (0.1, 0.8, 0.1)}), "What is dropout?", points, "Dropout stays on at inference.")
    assert timed.verdict == "contradicted" and timed.ms >= 0 and set(timed.to_json("p3-q26")) == {"id", "statement", "verdict", "scores", "evidence", "ms"}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from assistant.config import PROJECT_ROOT, Settings
    from assistant.engine import Engine
    from assistant.models.embedders import FakeEmbedder

    settings = Settings(corpus_dir=PROJECT_ROOT / "corpus", index_dir=tmp_path_factory.mktemp("index"), backend="extractive")
    return Engine(settings, embedder=FakeEmbedder(), log=lambda m: None)


def verified_chat(engine, reply, verifier):
    from assistant.coach.ask import Chat
    from assistant.models.embedders import FakeEmbedder
    from assistant.models.generation import ScriptedGenerator
    from assistant.models.language import LanguageModel

    return Chat(engine.search, engine.corpus, FakeEmbedder(), LanguageModel.of(ScriptedGenerator([reply]), log=lambda m: None), verifier)


def test_a_contradicted_sentence_never_reaches_the_stream_and_ends_the_answer(engine):
    from assistant.coach.answer import Answer

    reply = ("Dropout randomly deactivates neurons during training. Dropout stays switched on when the model makes predictions. "
             "Dropout is turned off during inference.")
    verifier = by_phrase({"deactivates": (0.9, 0.05, 0.05), "stays switched on": (0.05, 0.9, 0.05), "turned off": (0.9, 0.05, 0.05)})
    events = list(verified_chat(engine, reply, verifier).ask_stream("What does Dropout mean?"))
    shown = "".join(e for e in events if isinstance(e, str))
    answer = events[-1]
    assert isinstance(answer, Answer) and "stays switched on" not in shown and shown.startswith("Dropout randomly deactivates")
    assert "What [" in shown and "says:" in shown  # the rest is the reference's own points
    assert "turned off during inference" not in shown.split("says:")[0]  # the model was not read past the contradiction
    assert answer.fallback and "contradicts" in answer.notices[-1] and answer.text == shown.strip()
    none_first = verified_chat(engine, "Dropout stays switched on when the model makes predictions.", verifier).ask("What does Dropout mean?")
    assert none_first.fallback and "contradicts its reference" in none_first.notices[-1]


def test_ask_leaves_out_what_no_point_addresses_and_says_so(engine):
    reply = "Dropout randomly deactivates neurons during training. It was first used in the Netflix prize in 2009. Dropout is turned off during inference."
    verifier = by_phrase({"deactivates": (0.9, 0.05, 0.05), "turned off": (0.9, 0.05, 0.05)})
    answer = verified_chat(engine, reply, verifier).ask("What does Dropout mean?")
    assert not answer.fallback and "Netflix" not in answer.text and "Netflix" in answer.notices[-1]
    assert answer.text.count("[p3-q26]") == 2 and all(premise.startswith("What does Dropout mean? ") for premise, statement in verifier.calls if "deactivates" in statement)


@pytest.fixture
def scripted_engine(monkeypatch):
    from assistant.engine import Engine

    verifier = by_phrase({"turned off": (0.9, 0.05, 0.05), "kept on": (0.05, 0.9, 0.05)})
    monkeypatch.setattr(Engine, "verifier", property(lambda self: verifier))
    return verifier


def test_check_prints_the_verdict_and_the_point_it_rests_on(scripted_engine):
    out = io.StringIO()
    assert main(["check", "p3-q26", "Dropout is kept on at inference."], stdout=out) == 0
    assert out.getvalue().startswith("Contradicted by the bank") and "The reference says:" in out.getvalue()
    out = io.StringIO()
    assert main(["check", "p3-q26", "dropout is turned off at test time", "--json"], stdout=out) == 0
    data = json.loads(out.getvalue())
    assert data["verdict"] == "supported" and data["id"] == "p3-q26" and data["evidence"] and set(data["scores"]) == set(LABELS)


def test_check_refuses_an_unknown_id_or_an_empty_statement(scripted_engine, capsys):
    assert main(["check", "p9-q99", "anything"]) == 2
    assert main(["check", "p3-q26", "  "]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)


def test_check_batch_answers_every_line(scripted_engine):
    lines = '{"id": "p3-q26", "statement": "dropout is kept on"}\nnot json\n{"id": "nope", "statement": "x"}\n{"id": "p3-q26", "statement": "dropout is turned off"}\n'
    out = io.StringIO()
    code = main(["check", "--json", "-"], stdin=io.StringIO(lines), stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 1 and [r.get("verdict") for r in rows] == ["contradicted", None, None, "supported"]
    assert "error" in rows[1] and "error" in rows[2]


def test_weights_whose_sha256_differs_are_refused(tmp_path):
    (tmp_path / "verifier.onnx").write_bytes(b"not the trained model")
    (tmp_path / "meta.json").write_text(json.dumps({"sha256": hashlib.sha256(b"the trained model").hexdigest()}))
    with pytest.raises(ModelError, match="does not match its known SHA-256"):
        OnnxVerifier(tmp_path).scores([("a", "b")])
    with pytest.raises(ModelError, match="train verifier"):
        OnnxVerifier(tmp_path / "missing").scores([("a", "b")])


def test_an_own_verifier_from_before_questions_were_read_gives_way_to_the_shipped_one(tmp_path):
    from assistant.verify.verifier import SHIPPED_DIR, trained_verifier

    own = tmp_path / "verifier"
    own.mkdir()
    (own / "verifier.onnx").write_bytes(b"weights")
    (own / "meta.json").write_text(json.dumps({"sha256": "x"}))
    assert trained_verifier(tmp_path).folder == SHIPPED_DIR
    (own / "meta.json").write_text(json.dumps({"sha256": "x", "premise": "question + key point"}))
    assert trained_verifier(tmp_path).folder == own


@pytest.fixture(scope="module")
def shipped():
    from assistant.verify.verifier import SHIPPED_DIR, SHIPPED_SHA256

    return OnnxVerifier(SHIPPED_DIR, SHIPPED_SHA256)


@pytest.mark.slow
def test_the_shipped_verifier_catches_inversions_and_role_swaps(shipped, corpus):
    from assistant.verify.data import points_of

    def verdict(record_id, statement):
        return check(shipped, corpus.get(record_id).question, points_of(corpus.get(record_id)), statement).verdict

    assert verdict("p3-q26", "Dropout is kept switched on at inference time.") == "contradicted"
    assert verdict("p1-q10", "ReLU keeps negative values and sets positive ones to zero.") == "contradicted"
    assert verdict("p1-q27", "An iteration is one pass over the whole dataset, and an epoch is one update of the weights.") == "contradicted"


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured: the shipped verifier calls this true paraphrase contradicted (0.87, by "
                   "'... turned off during inference'); strict, so a verifier that gets it right must update this test")
def test_the_shipped_verifier_supports_a_paraphrase(shipped, corpus):
    from assistant.verify.data import points_of

    found = check(shipped, corpus.get("p3-q26").question, points_of(corpus.get("p3-q26")), "During training, dropout randomly switches off some of the neurons.")
    assert found.verdict == "supported"


def test_grading_takes_the_verifiers_findings_per_key_point(corpus):
    from assistant.grading import Grader
    from assistant.models.embedders import FakeEmbedder

    def script(point, statement):
        if "kept on" in statement:  # contradicts the point about inference, says nothing of the others
            return (0.02, 0.95, 0.03) if "inference" in point else (0.05, 0.05, 0.9)
        return (0.9, 0.05, 0.05) if "deactivate" in point.lower() else (0.05, 0.05, 0.9)

    verifier = ScriptedVerifier(script)
    answer = "Dropout switches off random neurons while training. Dropout is kept on when predicting."
    plain = Grader(FakeEmbedder(), corpus).grade("p3-q26", answer)
    verified = Grader(FakeEmbedder(), corpus, verifier=verifier).grade("p3-q26", answer)
    contradicted = [p for p in verified.points if p.contradicted]
    assert contradicted and contradicted[0].evidence == "Dropout is kept on when predicting."
    flag = next(f for f in verified.flags if f.kind == "contradiction")
    assert "you said “Dropout is kept on when predicting.”; the reference says “" in flag.message and verified.score <= flag.cap
    stated = [p for p in verified.covered if p.evidence == "Dropout switches off random neurons while training."]
    assert stated and len(verified.covered) >= len(plain.covered) - 1
