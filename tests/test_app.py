"""The Gradio app through its API client, launched on a free loopback port (fake embedder, no LLM)."""

import threading

import pytest

gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture
def client(app_url):
    return gradio_client.Client(app_url, verbose=False)


def test_ask_cites_and_marks_not_covered(client):
    answer = client.predict("What does Dropout mean?", api_name="/ask")
    assert "[p3-q26]" in answer and "<details><summary>[p3-q26]" in answer
    assert "Not covered" in client.predict("zxqv plorf wibble", api_name="/ask")


def test_a_whole_interview_round(client):
    question, result, _, download, chart = client.predict(["Part 3: Model training and Evaluation"], 2, api_name="/interview_start")
    assert "Question 1 of 2" in question and "`p3-" in question  # the part chosen (which one depends on progress)
    question, result, answer_box, download, chart = client.predict(
        "The cost function measures the difference between predicted and true values.", api_name="/interview_answer")
    assert "Question 2 of 2" in question and "### Score" in result and answer_box == ""
    second = question.split("`")[1]
    question, result, _, download, chart = client.predict(api_name="/interview_show")
    assert f"Reference answer for [{second}]" in result and "# Interview summary" in result
    path = download["value"] if isinstance(download, dict) else download  # an update that also shows the file box
    assert open(path, encoding="utf-8").read().startswith("# Interview summary")


def test_grade_escapes_user_text(client):
    out = client.predict("p3-q26", "", "", "Dropout deactivates neurons during training <script>alert(1)</script> <img src=x onerror=alert(2)>",
                         api_name="/grade")
    assert "### Score" in out and "<script>" not in out and "<img src=x" not in out
    assert "&lt;script&gt;" in out or "script" not in out.split("Reference answer")[0]


def test_bad_input_gets_a_message(client):
    assert "characters" in client.predict("p3-q26", "", "", "x" * 50_000, api_name="/grade")
    assert "empty" in client.predict("p3-q26", "", "", " \x00\x01 ", api_name="/grade")
    assert "Pick a question" in client.predict(None, "", "", "an answer", api_name="/grade")
    assert "No question has the id 'p9-q99'" in client.predict("p9-q99", "", "", "an answer", api_name="/grade")


def test_progress_after_grading(client):
    client.predict("p3-q27", "", "", "Batch normalization normalizes activations over the mini-batch.", api_name="/grade")
    over_days, one_day, queue = client.predict(api_name="/progress")
    assert "Part 3: Model training and Evaluation" in str(one_day) and "day" in str(one_day) and "Review queue" in queue


def test_two_users_never_see_each_other(app_url):
    url = app_url
    results = {}

    def interview(name, part, prefix):
        c = gradio_client.Client(url, verbose=False)
        seen = [c.predict([part], 3, api_name="/interview_start")[0]]
        for _ in range(2):
            seen.append(c.predict(f"{name} answers something about the topic here.", api_name="/interview_answer")[0])
        results[name] = (prefix, seen)

    threads = [threading.Thread(target=interview, args=("ann", "Part 2: Tensorflow, Keras and Pytorch", "`p2-")),
               threading.Thread(target=interview, args=("bob", "Part 4: Advanced neural network architectures", "`p4-"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for name, (prefix, seen) in results.items():
        assert len(seen) == 3 and all(prefix in q for q in seen), (name, seen)
        assert [q.split("Question ")[1][:6] for q in seen] == ["1 of 3", "2 of 3", "3 of 3"]


def test_follow_up_keeps_the_thread_with_gradio_6_history(app_url):
    """Gradio 6 passes each history message's content as a list of parts; the follow-up must see them."""
    import app

    first = "is dropout used at inference?"
    *_, reply = app.ask(first, [])
    history = [{"role": "user", "content": [{"type": "text", "text": first}]},
               {"role": "assistant", "content": [{"type": "text", "text": reply}]}]
    *_, follow_up = app.ask("and why does it help?", history)
    assert "[p3-q26]" in reply and "<details><summary>[p3-q26]" in follow_up
    *_, alone = app.ask("and why does it help?", [])
    assert "[p3-q26]" not in alone  # so the thread, not the words, found the record
    assert app.message_text([{"type": "text", "text": "a"}, {"type": "file", "file": {"path": "x.wav"}}, "b"]) == "a b"


def test_grade_shows_the_quick_grade_then_the_judged_one(app_url, monkeypatch):
    import app
    from assistant.coach.step import AnswerStep
    from assistant.grading.judged import JudgedGrader
    from assistant.judge import Judge, ScriptedChoice
    from assistant.models.language import LanguageModel

    judged = JudgedGrader(app.ENGINE.grader, LanguageModel.of(judge=Judge(ScriptedChoice(lambda m, o: [0.95, 0.05])), log=lambda m: None))
    monkeypatch.setattr(app.ENGINE, "answer_step", AnswerStep(app.ENGINE.grader, judged, app.ENGINE.coach, app.ENGINE.corpus))
    quick, final = list(app.grade_answer("p3-q26", "", "", "Dropout switches off random neurons while training."))
    assert "quick grade" in quick and "checking what your answer says" in quick and "### Score" in quick
    assert "judged (scripted-judge): correctness 9.5/10" in final and "checking" not in final
    assert "correct, incomplete" in final and "**Missed**" in final


def test_gradio_server_variables_are_honoured_and_ours_win(monkeypatch):
    from assistant.config import Settings
    from assistant.errors import AssistantError

    def address(**env):
        for name in ("ASSISTANT_HOST", "ASSISTANT_PORT", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return Settings().address

    assert address() == ("127.0.0.1", 7860)
    assert address(GRADIO_SERVER_NAME="0.0.0.0", GRADIO_SERVER_PORT="8080") == ("0.0.0.0", 8080)
    assert address(GRADIO_SERVER_PORT="8080", ASSISTANT_PORT="9000", ASSISTANT_HOST="::1") == ("::1", 9000)
    with pytest.raises(AssistantError, match="not a number"):
        address(GRADIO_SERVER_PORT="http")


def test_listening_beyond_loopback_needs_credentials(monkeypatch, capsys):
    import app
    from assistant.config import Settings

    def main():  # the app reads its settings once, at start: a new start reads the changed environment
        monkeypatch.setattr(app.ENGINE, "settings", Settings())
        return app.main()

    launched = []  # (auth, host, port) of each server that would start
    monkeypatch.setattr(app, "serve", lambda auth, host, port: launched.append((auth, host, port)))
    monkeypatch.setattr(app, "web_app", lambda auth: auth)
    monkeypatch.setenv("ASSISTANT_HOST", "0.0.0.0")
    monkeypatch.delenv("ASSISTANT_USERNAME", raising=False)
    assert main() == 2 and launched == []
    assert "needs logins" in capsys.readouterr().err
    monkeypatch.setenv("ASSISTANT_USERNAME", "ann")
    monkeypatch.setenv("ASSISTANT_PASSWORD", "s3cret")
    assert main() == 0 and launched[0][:2] == (("ann", "s3cret"), "0.0.0.0")
    monkeypatch.setenv("ASSISTANT_HOST", "127.0.0.1")
    assert main() == 0 and launched[1][:2] == (("ann", "s3cret"), "127.0.0.1")  # set, so asked for on loopback too
    monkeypatch.delenv("ASSISTANT_USERNAME")
    assert main() == 0 and launched[2][:2] == (None, "127.0.0.1")  # a laptop: no login
    monkeypatch.delenv("ASSISTANT_HOST")
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")  # Gradio's own variable: the credentials rule holds too
    assert main() == 2 and len(launched) == 3


def test_sigkill_of_the_app_mid_burst_loses_no_acknowledged_grade(tmp_path):
    """Kill -9 the app process while a client is grading; every grade it acknowledged is on disk."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    from assistant.progress import SQLiteStore

    root = Path(__file__).resolve().parent.parent
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ASSISTANT_PORT": str(port), "CI": "1"}  # fake embedder, tmp dirs: from the autouse fixture
    server = subprocess.Popen([sys.executable, str(root / "app.py")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    acknowledged = []
    try:
        client, deadline = None, time.time() + 120
        while client is None and time.time() < deadline:
            try:
                client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:
                time.sleep(0.3)
        assert client is not None, "the app did not start"
        for i in range(15):
            out = client.predict("p3-q26", "", "", f"burst {i}: dropout deactivates neurons in training", api_name="/grade")
            assert "### Score" in out
            acknowledged.append(f"burst {i}: dropout deactivates neurons in training")
        job = client.submit("p3-q26", "", "", "burst 15: in flight when the process dies", api_name="/grade")
        os.kill(server.pid, signal.SIGKILL)  # mid-burst: one request may be in flight
        server.wait(10)
        del job
    finally:
        if server.poll() is None:
            server.kill()
    store = SQLiteStore(Path(os.environ["ASSISTANT_DATA_DIR"]) / "progress.sqlite3")
    stored = [a.answer for a in store.attempts()]
    assert set(acknowledged) <= set(stored) and store.integrity_ok()


def test_the_request_log_has_one_line_per_call_and_never_the_text():
    import logging

    from assistant.requestlog import LOG, logged

    class Keep(logging.Handler):
        def __init__(self):
            super().__init__()
            self.lines = []

        def emit(self, record):
            self.lines.append(record.getMessage())

    @logged("grade", lambda args, kwargs: kwargs.get("user", ""))
    def streaming(answer, user=""):
        yield "quick"
        raise ValueError(answer)

    @logged("ask", lambda args, kwargs: "ada")
    def plain(question):
        return question.upper()

    keep, level = Keep(), LOG.level
    LOG.addHandler(keep)
    LOG.setLevel(logging.INFO)
    try:
        assert plain("secret question") == "SECRET QUESTION"
        with pytest.raises(ValueError):
            list(streaming("my secret answer", user="bob"))
    finally:
        LOG.removeHandler(keep)
        LOG.setLevel(level)
    lines = keep.lines
    assert len(lines) == 2 and lines[0].startswith("user=ada action=ask ms=") and lines[0].endswith(" ok")
    assert lines[1].startswith("user=bob action=grade ms=") and lines[1].endswith("error=ValueError")
    assert not any("secret" in line for line in lines)
