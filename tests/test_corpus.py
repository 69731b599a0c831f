from collections import Counter
from pathlib import Path

import pytest

from assistant.corpus import DEFAULT_CORPUS, load_corpus, parse_markdown, read_text
from assistant.errors import CorpusError, UnknownQuestionError

SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds" / "000_7b6451005ca3038c.txt"


def test_all_101_questions_parse_with_part_counts(corpus):
    assert len(corpus) == 101
    assert Counter(r.part for r in corpus) == {1: 29, 2: 11, 3: 39, 4: 22}
    assert [r.number for r in corpus if r.part == 1] == list(range(29))
    assert {r.part_title for r in corpus} == {
        "Deep Learning and Neural Networks",
        "Tensorflow, Keras and Pytorch",
        "Model training and Evaluation",
        "Advanced neural network architectures",
    }


@pytest.mark.parametrize(
    "rid, question",
    [
        ("p1-q0", "What is Deep Learning?"),
        ("p1-q3", "What is neural network?"),  # '###  Q3- …' (two spaces)
        ("p2-q5", "Explain a Computational Graph."),  # 'Q5-  Explain' (two spaces)
        ("p3-q26", "What does Dropout mean?"),
        ("p3-q31", "What does Model Checkpointing mean?"),  # 'Q31 - …'
        ("p4-q22", "Give some real-life applications of GANs"),
    ],
)
def test_ids_and_questions(corpus, rid, question):
    assert corpus.get(rid).question == question


def test_key_points_are_top_level_bullets_with_sub_bullets(corpus):
    dropout = corpus.get("p3-q26")
    assert [kp.text for kp in dropout.key_points] == [
        "As mentioned before, it is a regularization technique used to prevent overfitting.",
        "It randomly deactivate a fraction of neurons during training.",
        "This action prevents the network from relying too heavily on any particular feature and encourages "
        "robustness by forcing the network to learn redundant representations.",
        "Dropout is applied during the training phase but is turned off during inference.",
    ]
    components = corpus.get("p1-q3").key_points[-1]
    assert components.text == "Here are the characteristics and components of neural networks:"
    assert components.sub_points[:3] == ("Neurons", "Layers", "Connections (Weights)")
    assert all(r.key_points for r in corpus)


def test_images_and_sources_are_kept_apart_from_the_answer(corpus):
    sigmoid = corpus.get("p1-q8")
    assert sigmoid.images == ("images/sigmoid-function.png",)
    assert sigmoid.sources == ("https://www.codecademy.com/resources/docs/ai/neural-networks/sigmoid-activation-function",)
    assert "<img" not in sigmoid.answer and "Source" not in sigmoid.answer
    leaky = corpus.get("p1-q12")  # <img> inside the last list item's paragraph
    assert leaky.images == ("images/LeakyReLU.png",) and "<img" not in leaky.answer
    assert not any(kp.text.startswith("Illustration") for kp in leaky.key_points)
    assert sum(len(r.images) for r in corpus) == 16
    assert sum(len(r.sources) for r in corpus) == 9
    assert all("<img" not in r.answer for r in corpus)


def test_mojibake_is_repaired(corpus):
    assert "σ(x)" in corpus.get("p1-q8").answer
    text = "".join(r.answer + r.question for r in corpus)
    assert "Ã" not in text and "â€" not in text and "Ïƒ" not in text


@pytest.mark.skipif(not SEED.exists(), reason="shared seed not present")
def test_committed_corpus_is_the_repaired_seed():
    repaired = read_text(SEED)
    assert "🧠" in repaired and "ðŸ§" not in repaired
    assert repaired == (Path(__file__).resolve().parent.parent / "corpus" / "deep_learning.md").read_text("utf-8")


def test_reader_repairs_mojibake_in_any_file(tmp_path):
    path = tmp_path / "bank.md"
    path.write_text("## Part 1: Basics\n### Q1- What is Ïƒ?\n- It is the sigmoid ðŸ§ \n", encoding="utf-8")
    (record,) = load_corpus(tmp_path).records
    assert record.question == "What is σ?"
    assert record.key_points[0].text == "It is the sigmoid 🧠"


def test_second_bank_gets_prefixed_ids(corpus_dir):
    (corpus_dir / "ml_basics.md").write_text(
        "# ML\n## Part 1: Classic ML\n### Q3- What is a decision tree?\n- A tree of if/else splits.\n", encoding="utf-8"
    )
    corpus = load_corpus(corpus_dir)
    assert len(corpus) == 102
    assert corpus.records[0].id == "p1-q0"  # the default bank comes first
    assert corpus.get("ml_basics/p1-q3").question == "What is a decision tree?"


def test_non_text_file_is_named_in_the_error(corpus_dir):
    (corpus_dir / "broken.md").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(CorpusError, match="broken.md is not a text file"):
        load_corpus(corpus_dir)


def test_file_without_questions_is_an_error(corpus_dir):
    (corpus_dir / "notes.md").write_text("# Just notes\nNothing to ask here.\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="notes.md has no questions"):
        load_corpus(corpus_dir)


def test_missing_folder_and_empty_folder(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="has no .md files"):
        load_corpus(tmp_path)


def test_duplicate_ids_are_refused():
    text = "## Part 1: A\n### Q1- One?\n- a\n### Q1- Again?\n- b\n"
    from assistant.corpus import Corpus

    with pytest.raises(CorpusError, match="appears twice"):
        Corpus(parse_markdown(text, DEFAULT_CORPUS))


def test_unknown_id(corpus):
    with pytest.raises(UnknownQuestionError, match="p9-q9"):
        corpus.get("p9-q9")


def test_content_hash_changes_with_the_text(corpus_dir):
    before = load_corpus(corpus_dir).content_hash
    path = corpus_dir / "deep_learning.md"
    path.write_text(path.read_text("utf-8") + "\n", encoding="utf-8")
    assert load_corpus(corpus_dir).content_hash != before
