import io
import json

from assistant.cli import main


def run(args, stdin=""):
    out = io.StringIO()
    code = main(args, stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def test_search_json(capsys):
    code, out = run(["search", "what does dropout mean", "--json", "--k", "3"])
    data = json.loads(out)
    assert code == 0 and data["query"] == "what does dropout mean" and data["in_scope"] is True
    assert len(data["hits"]) == 3 and data["hits"][0]["id"] == "p3-q26"


def test_search_batch_reads_lines_and_survives_bad_ones():
    code, out = run(["search", "--json", "-"], stdin="early stopping\n\n   \nWhat does Layer Normalization mean?\n")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r.get("error") is not None for r in rows] == [False, True, True, False]
    assert rows[0]["hits"][0]["id"] == "p3-q25" and rows[3]["hits"][0]["id"] == "p3-q28"
    assert code == 1  # some lines could not be searched


def test_search_text_output():
    code, out = run(["search", "leaky relu", "--k", "2"])
    assert code == 0 and out.startswith("1. [p1-q12] Explain Leaky ReLU function")


def test_ask_cites_the_reference():
    code, out = run(["ask", "what does dropout mean", "--json"])
    data = json.loads(out)
    assert code == 0 and data["citations"] == ["p3-q26"] and data["in_scope"] and not data["fallback"]
    assert "turned off during inference" in data["answer"]


def test_ask_out_of_scope_says_not_covered():
    code, out = run(["ask", "zxqv plorf wibble", "--json"])
    data = json.loads(out)
    assert code == 0 and data["in_scope"] is False and data["citations"] == []
    assert data["answer"].startswith("Not covered")


def test_show_and_unknown_id(capsys):
    code, out = run(["show", "p3-q26"])
    assert code == 0 and "What does Dropout mean?" in out
    code, _ = run(["show", "p9-q99"])
    assert code == 2 and "No question has the id 'p9-q99'" in capsys.readouterr().err


def test_empty_query_is_one_clear_line(capsys):
    code, out = run(["search", "   "])
    err = capsys.readouterr().err
    assert code == 2 and out == "" and err.startswith("error: The question is empty") and "Traceback" not in err


def test_huge_query_is_truncated_with_a_notice(capsys):
    code, out = run(["search", "dropout " * 12_500, "--json"])
    assert code == 0 and len(json.loads(out)["query"]) == 2000
    assert "only its first 2,000 were used" in capsys.readouterr().err


def test_unreadable_corpus_dir(tmp_path, capsys):
    code, _ = run(["--corpus", str(tmp_path / "missing"), "search", "x"])
    assert code == 2 and "Corpus folder" in capsys.readouterr().err


def test_unwritable_index_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _ = run(["--index", str(blocker), "search", "dropout"])
    err = capsys.readouterr().err
    assert code == 2 and "Cannot write the index" in err and "Traceback" not in err


def test_index_build_then_status():
    code, out = run(["index", "status"])
    assert code == 1 and "not usable" in out
    code, out = run(["index", "build"])
    assert code == 0 and "101 questions" in out
    code, out = run(["index", "status"])
    assert code == 0 and "up to date" in out


def test_interactive_session():
    code, out = run([], stdin="What does Layer Normalization mean?\nshow p3-q26\n\nquit\n")
    assert code == 0 and "[p3-q28]" in out and "What does Dropout mean?" in out and "error: The question is empty" in out


def test_grade_text_and_json(tmp_path):
    code, out = run(["grade", "p3-q26", "--answer", "Dropout randomly deactivates neurons during training."])
    assert code == 0 and out.startswith("Score ") and "Reference answer:" in out
    answer_file = tmp_path / "answer.txt"
    answer_file.write_text("Dropout randomly deactivates neurons during training.", encoding="utf-8")
    code, out = run(["grade", "p3-q26", "--answer-file", str(answer_file), "--json"])
    assert code == 0 and json.loads(out)["id"] == "p3-q26"
    code, out = run(["grade", "p3-q26", "--json"], stdin="Dropout randomly deactivates neurons during training.")
    assert code == 0 and 0 <= json.loads(out)["score"] <= 10
    code, out = run(["grade", "--question", "What is a variable?", "--reference", "A location in memory.", "--answer", "Memory location.", "--json"])
    assert code == 0 and json.loads(out)["id"] is None


def test_grade_batch_goes_on_after_bad_lines():
    lines = "\n".join([
        json.dumps({"id": "p3-q26", "answer": "Dropout deactivates neurons during training."}),
        json.dumps({"id": "p3-q26", "answer": "   "}),
        "not json",
        json.dumps({"id": "p9-q9", "answer": "x"}),
        json.dumps({"question": "What is a variable?", "reference": "A location in memory.", "answer": "A memory location."}),
    ])
    code, out = run(["grade", "--json", "-"], stdin=lines)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(rows) == 5
    assert "score" in rows[0] and rows[0]["id"] == "p3-q26" and "reference" not in rows[0]
    assert rows[0]["grader"] == "quick" and rows[0]["judge"] is None  # no model in these tests: the quick grade
    assert "empty" in rows[1]["error"] and "not valid JSON" in rows[2]["error"] and "p9-q9" in rows[3]["error"]
    assert rows[4]["id"] is None and "score" in rows[4]


def test_grade_uses_the_judge_unless_fast(monkeypatch):
    from assistant.engine import Engine
    from assistant.grading.judged import JudgedGrader
    from assistant.models.language import LanguageModel
    from assistant.judge import Judge, ScriptedChoice

    monkeypatch.setattr(Engine, "judged_grader", property(
        lambda self: JudgedGrader(self.grader, LanguageModel.of(judge=Judge(ScriptedChoice(lambda m, o: [0.9, 0.1])), log=lambda m: None))))
    answer = ["--answer", "Dropout randomly deactivates neurons during training."]
    code, out = run(["grade", "p3-q26", "--json", *answer])
    judged = json.loads(out)
    assert code == 0 and judged["grader"] == "judged (scripted-judge)" and judged["judge"] == 9.0
    code, out = run(["grade", "p3-q26", "--json", "--fast", *answer])
    assert json.loads(out)["grader"] == "quick"
    code, out = run(["grade", "p3-q26", *answer])
    assert "correctness 9.0/10" in out.splitlines()[0]


def test_grade_needs_a_question(capsys):
    code, _ = run(["grade", "--answer", "x"])
    assert code == 2 and "Name a question id" in capsys.readouterr().err


def test_interview_round_records_progress_and_exports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    summary = tmp_path / "summary.md"
    script = "Dropout randomly deactivates neurons during training.\n\n/skip\n/show\n"
    code, out = run(["interview", "--count", "3", "--part", "3", "--export", str(summary)], stdin=script)
    assert code == 0 and "Question 1/3 [p3-q1]" in out and "Score " in out and "Coach:" in out
    assert "Reference answer:" in out and "Answered 1, skipped 2." in out
    assert summary.read_text().startswith("# Interview summary")
    code, out = run(["progress"])
    assert code == 0 and "Part 3: Model training and Evaluation" in out
    code, out = run(["interview", "--part", "9"])
    assert code == 2 and "No part 9; the parts are 1, 2, 3, 4." in capsys.readouterr().err


def test_progress_reset_needs_yes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    run(["interview", "--count", "1"], stdin="An epoch is a pass over the data.\n\n")
    code, _ = run(["progress", "--reset"], stdin="no\n")
    assert code == 2 and "confirm" in capsys.readouterr().err
    code, out = run(["progress", "--reset"], stdin="yes\n")
    assert code == 0 and "Progress reset." in out
    code, out = run(["progress"])
    assert "No graded attempts yet" in out


def test_an_unknown_checker_is_one_clear_line(capsys, monkeypatch):
    monkeypatch.setenv("ASSISTANT_CHECKER", "oracle")
    code, _ = run(["ask", "what does dropout mean"])
    assert code == 2 and "ASSISTANT_CHECKER is 'oracle'; choose one of judge, verifier, cascade." in capsys.readouterr().err
