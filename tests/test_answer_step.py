"""One answer step behind every front end: the app's Grade tab, `assistant grade` and
`assistant interview` grade, save and coach the same way."""

import io

from assistant.cli import main
from assistant.judge import Judge, ScriptedChoice
from assistant.models.language import LanguageModel

ANSWER = "Dropout switches off random neurons while training."


def test_the_app_the_grade_command_and_the_interview_store_the_same_attempt(app_url, monkeypatch):
    import app
    from assistant.engine import Engine
    from assistant.progress import open_store

    model = LanguageModel.of(judge=Judge(ScriptedChoice(lambda m, o: [0.9, 0.1])), log=lambda m: None)
    monkeypatch.setattr(Engine, "model", property(lambda self: model))  # one scripted judge for every engine
    for built in ("judged_grader", "coach", "answer_step"):  # the app's engine built these before: build them anew
        monkeypatch.delitem(app.ENGINE.__dict__, built, raising=False)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(app.ENGINE.settings.data_dir))  # the CLI keeps progress where the app does
    monkeypatch.setattr("assistant.cli.interview.plan_questions", lambda corpus, store, parts, count: ["p3-q26"])
    store = open_store(app.ENGINE.settings)
    before = len(store.attempts("p3-q26"))

    *_, shown = app.grade_answer("p3-q26", "", "", ANSWER)
    assert "judged (scripted-judge)" in shown
    out = io.StringIO()
    assert main(["grade", "p3-q26", "--answer", ANSWER], stdout=out) == 0 and "Kept in your progress" in out.getvalue()
    out = io.StringIO()
    assert main(["interview", "--count", "1"], stdin=io.StringIO(ANSWER + "\n\n"), stdout=out) == 0
    assert "judged (scripted-judge)" in out.getvalue()
    out = io.StringIO()
    assert main(["grade", "p3-q26", "--answer", ANSWER, "--no-save"], stdout=out) == 0 and "Kept" not in out.getvalue()

    attempts = store.attempts("p3-q26")[before:]
    assert len(attempts) == 3  # the app, the grade command, the interview; --no-save kept nothing
    assert len({(a.answer, a.score, a.verdict, a.covered, a.missed) for a in attempts}) == 1


def test_a_custom_question_is_never_saved(tmp_path):
    out = io.StringIO()
    code = main(["grade", "--question", "What is a variable?", "--reference", "A named memory location.",
                 "--answer", "A named place in memory.", "--json"], stdout=out)
    assert code == 0 and '"saved": false' in out.getvalue()
    from assistant.config import Settings
    from assistant.progress import open_store

    assert open_store(Settings()).attempts() == []
