import multiprocessing
import os
import signal
import sqlite3
import time
from datetime import datetime, timedelta, timezone

import pytest

from assistant.models.embedders import FakeEmbedder
from assistant.grading import Grader
from assistant.coach.interview import Session, plan_questions, summarize
from assistant.progress import ProgressError, SQLiteStore
from assistant.progress.portable import export_progress, import_progress

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    return SQLiteStore(tmp_path / "progress.sqlite3")


@pytest.fixture(scope="module")
def grader(corpus):
    return Grader(FakeEmbedder(), corpus)


def grade(grader, qid, answer="Dropout randomly deactivates a fraction of neurons during training."):
    return grader.grade(qid, answer)


def test_wal_mode_and_round_trip(store, grader, corpus):
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    g = grade(grader, "p3-q26")
    saved = store.record(g, corpus.get("p3-q26").part_label, "my answer", T0)
    (attempt,) = store.attempts()
    assert attempt == saved and attempt.score == g.score and attempt.answer == "my answer"
    assert attempt.covered == tuple(p.point for p in g.covered) and attempt.created_at == T0


def test_low_scores_come_back_sooner(store, grader, corpus):
    from dataclasses import replace

    bad = replace(grade(grader, "p3-q26"), score=1.0)  # the scheduler's input is the score alone
    good = replace(grade(grader, "p3-q27"), score=9.5, question_id="p3-q27")
    store.record(bad, "Part 3", "x", T0)
    store.record(good, "Part 3", "y", T0)
    assert store.due(T0 + timedelta(minutes=30)) == ["p3-q26"]  # 'again' is due within minutes, the good one is not
    assert set(store.due(T0 + timedelta(days=365))) == {"p3-q26", "p3-q27"}


def test_plan_due_then_unseen_then_weakest(store, grader, corpus):
    store.record(grader.grade("p1-q0", "no idea at all honestly"), "Part 1", "x", T0)
    plan = plan_questions(corpus, store, count=3, now=T0 + timedelta(hours=1))
    assert plan == ("p1-q0", "p1-q1", "p1-q2")
    only_part_4 = plan_questions(corpus, store, parts=["Part 4: Advanced neural network architectures"], count=50)
    assert len(only_part_4) == 22 and all(q.startswith("p4-") for q in only_part_4)
    assert len(set(only_part_4)) == len(only_part_4)  # never twice


def test_session_values_and_summary(corpus):
    session = Session(("p3-q26", "p3-q27", "p4-q7"))
    session = session.answered(8.0).skipped()
    assert session.current == "p4-q7" and not session.finished
    session = session.ended()
    assert session.finished
    with pytest.raises(ValueError):
        session.answered(1.0)
    summary = summarize(session, corpus)
    assert summary.per_part == {"Part 3: Model training and Evaluation": 8.0}
    assert summary.answered == 1 and summary.skipped == 1 and summary.weakest == (("p3-q26", 8.0),)
    assert "| Part 3: Model training and Evaluation | 8.0/10 |" in summary.markdown and "skipped" in summary.markdown


def test_mastery_over_time(store, grader):
    from dataclasses import replace

    g = grade(grader, "p3-q26")
    store.record(replace(g, score=2.0), "Part 3", "a", T0)
    store.record(replace(g, score=6.0), "Part 3", "b", T0 + timedelta(hours=1))
    store.record(replace(g, score=8.0, question_id="p3-q27"), "Part 3", "c", T0 + timedelta(days=1))
    assert store.mastery_over_time() == [("2026-11-01", "Part 3", 6.0), ("2026-11-02", "Part 3", 7.0)]


def test_mastery_export_import_reset(store, grader, tmp_path):
    store.record(grade(grader, "p3-q26"), "Part 3", "a", T0)
    store.record(grade(grader, "p3-q26"), "Part 3", "b", T0 + timedelta(days=1))
    assert list(store.mastery_by_part()) == ["Part 3"]
    exported = export_progress(store, tmp_path / "backup.sqlite3")
    with pytest.raises(ProgressError, match="confirm"):
        store.reset()
    store.reset(confirm=True)
    assert store.attempts() == []
    import_progress(store, exported)
    assert [a.answer for a in store.attempts()] == ["a", "b"]
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ProgressError, match="not a progress file"):
        import_progress(store, bogus)
    assert len(store.attempts()) == 2  # nothing changed


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ProgressError, match="ASSISTANT_DATA_DIR"):
        SQLiteStore(blocker / "progress.sqlite3")


def _burst(path, acknowledged):
    """Child process: record grades as fast as it can, reporting each one after it is saved."""
    from assistant.corpus import load_corpus
    from assistant.config import PROJECT_ROOT

    corpus = load_corpus(PROJECT_ROOT / "corpus")
    store, grader = SQLiteStore(path), Grader(FakeEmbedder(), corpus)
    g = grader.grade("p3-q26", "Dropout deactivates neurons.")
    for i in range(100_000):
        attempt = store.record(g, "Part 3", f"answer {i}", T0 + timedelta(seconds=i))
        acknowledged.put(attempt.answer)


def test_sigkill_mid_burst_loses_nothing_acknowledged(tmp_path):
    path = tmp_path / "progress.sqlite3"
    SQLiteStore(path)
    acknowledged = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(target=_burst, args=(path, acknowledged))
    child.start()
    deadline = time.time() + 60
    seen = []
    while len(seen) < 30 and time.time() < deadline:  # let it get well into the burst
        seen.append(acknowledged.get(timeout=60))
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    while True:
        try:
            seen.append(acknowledged.get(timeout=1))
        except Exception:
            break
    store = SQLiteStore(path)
    stored = {a.answer for a in store.attempts()}
    assert len(seen) >= 30 and set(seen) <= stored
    assert store.integrity_ok()
