"""One contract for every progress store: SQLite (the laptop default) and PostgreSQL (a real server)."""

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from itertools import count

import pytest

from assistant.models.embedders import FakeEmbedder
from assistant.grading import Grader
from assistant.progress import LATEST, MIGRATIONS, ProgressError, SQLiteStore
from assistant.progress.portable import export_progress, import_progress
from assistant.progress.postgres import PostgresStore

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
_DATABASES = count()


@pytest.fixture(scope="module")
def grader(corpus):
    return Grader(FakeEmbedder(), corpus)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield SQLiteStore(tmp_path / "progress.sqlite3")
        return
    server = request.getfixturevalue("postgres")
    import psycopg

    name = f"contract_{next(_DATABASES)}"
    with psycopg.connect(server.url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    store = PostgresStore(server.url.rsplit("/", 1)[0] + f"/{name}")
    yield store
    store.close()


def graded(grader, qid="p3-q26", score=None):
    g = grader.grade(qid, "Dropout randomly deactivates a fraction of neurons during training.")
    return g if score is None else replace(g, score=score)


def test_a_round_trip_keeps_every_field(store, grader):
    saved = store.record(graded(grader), "Part 3", "my answer", T0, delivery={"words_per_minute": 120})
    (attempt,) = store.attempts()
    assert attempt == saved and attempt.created_at == T0 and attempt.delivery == {"words_per_minute": 120}
    second = store.record(graded(grader, "p3-q27"), "Part 3", "another", T0 + timedelta(minutes=1))
    assert second.id > saved.id and [a.answer for a in store.attempts("p3-q27")] == ["another"]


def test_the_schema_is_at_the_latest_migration_and_migrating_again_changes_nothing(store):
    assert LATEST == MIGRATIONS[-1].version == store.migrate() == store.migrate()


def test_one_user_never_sees_or_changes_anothers_progress(store, grader):
    ada, bob = store.for_user("ada"), store.for_user("bob")
    ada.record(graded(grader, score=1.0), "Part 3", "ada's", T0)
    bob.record(graded(grader, "p3-q27", score=9.0), "Part 3", "bob's", T0)
    assert [a.answer for a in ada.attempts()] == ["ada's"] and [a.answer for a in bob.attempts()] == ["bob's"]
    assert ada.due(T0 + timedelta(hours=1)) == ["p3-q26"] and bob.due(T0 + timedelta(hours=1)) == []
    assert list(ada.mastery_by_part().values()) == [1.0] and list(bob.mastery_by_part().values()) == [9.0]
    ada.reset(confirm=True)
    assert ada.attempts() == [] and len(bob.attempts()) == 1 and store.attempts() == []  # "" is a user too


def test_export_then_import_moves_one_users_progress_between_any_stores(store, grader, tmp_path):
    ada = store.for_user("ada")
    ada.record(graded(grader, score=2.0), "Part 3", "first", T0)
    ada.record(graded(grader, score=8.0), "Part 3", "second", T0 + timedelta(days=1))
    store.for_user("bob").record(graded(grader), "Part 3", "bob's", T0)
    exported = export_progress(ada, tmp_path / "ada.sqlite3")

    laptop = SQLiteStore(tmp_path / "laptop.sqlite3")
    import_progress(laptop, exported)
    assert [a.answer for a in laptop.attempts()] == ["first", "second"]
    assert laptop.mastery_over_time() == ada.mastery_over_time() and laptop.due(T0 + timedelta(days=400)) == ["p3-q26"]

    carol = store.for_user("carol")
    carol.record(graded(grader), "Part 3", "replaced", T0)
    import_progress(carol, exported)  # replaces carol's progress, and hers only
    assert [a.answer for a in carol.attempts()] == ["first", "second"] and [a.answer for a in ada.attempts()] == ["first", "second"]
    assert [a.answer for a in store.for_user("bob").attempts()] == ["bob's"]


def test_a_file_that_is_not_progress_changes_nothing(store, grader, tmp_path):
    store.record(graded(grader), "Part 3", "kept", T0)
    bad = tmp_path / "notes.sqlite3"
    bad.write_bytes(b"not a database at all")
    with pytest.raises(ProgressError, match="not a progress file"):
        import_progress(store, bad)
    assert [a.answer for a in store.attempts()] == ["kept"]


def test_concurrent_writers_lose_nothing(store, grader):
    def work(user):
        mine = store.for_user(user)
        for i in range(10):
            mine.record(graded(grader), "Part 3", f"{user}-{i}", T0 + timedelta(seconds=i))
    threads = [threading.Thread(target=work, args=(f"u{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(store.for_user(f"u{n}").attempts()) == 10 for n in range(4))
    assert all(store.for_user(f"u{n}").healthy() for n in range(4))


def test_an_unreachable_database_is_one_clear_error():
    with pytest.raises(ProgressError, match=r"Cannot reach the progress database postgresql://coach@127\.0\.0\.1:9/coach.*ASSISTANT_DATABASE_URL"):
        PostgresStore("postgresql://coach:secret@127.0.0.1:9/coach", timeout=2)


def test_a_database_that_goes_away_mid_run_fails_one_action_cleanly_and_recovers(postgres, grader):
    import psycopg

    with psycopg.connect(postgres.url, autocommit=True) as db:
        db.execute("CREATE DATABASE goes_away")
    store = PostgresStore(postgres.url.rsplit("/", 1)[0] + "/goes_away", timeout=3)
    store.record(graded(grader), "Part 3", "before", T0)
    postgres.stop()
    try:
        with pytest.raises(ProgressError, match="unavailable.*nothing was saved"):
            store.record(graded(grader), "Part 3", "during", T0)
        assert not store.healthy()
    finally:
        postgres.restart()
    for _ in range(10):  # the pool reconnects in the background: a user's next try goes through
        try:
            store.record(graded(grader), "Part 3", "after", T0 + timedelta(minutes=1))
            break
        except ProgressError:
            continue
    assert [a.answer for a in store.attempts()] == ["before", "after"]
    store.close()


def test_open_store_picks_postgresql_from_the_database_url(postgres, monkeypatch):
    from assistant.config import Settings
    from assistant.progress import open_store

    monkeypatch.setenv("ASSISTANT_DATABASE_URL", postgres.url)
    store = open_store(Settings(), user="ada")
    assert isinstance(store, PostgresStore) and store.user == "ada" and "coach@" in store.where and "coach:coach" not in store.where
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "mysql://x")
    with pytest.raises(ProgressError, match="postgresql://"):
        open_store(Settings())
