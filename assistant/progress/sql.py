"""What the SQLite and PostgreSQL stores share: the queries and the migrations runner.
A store subclass only says how to connect (one transaction per operation) and its dialect."""

from __future__ import annotations

import copy
import json
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

from assistant.grading import Grade
from assistant.progress.base import (
    MIGRATIONS,
    Attempt,
    ProgressError,
    attempt_from_row,
    mastery_over_time,
    now,
    rating_for,
)

_COLUMNS = "id, question_id, part, answer, score, verdict, covered, missed, created_at, delivery"
_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, what TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


class SQLStore:
    dialect = ""
    placeholder = "?"

    def __init__(self, user: str = "") -> None:
        self.user = user

    # ------------------------------------------------------------------ what a subclass provides

    @contextmanager
    def _transaction(self) -> Iterator:
        """A connection in one transaction: committed on success, rolled back on error."""
        raise NotImplementedError
        yield

    def _applied(self, db) -> int:
        """The schema version the database is at (0: empty)."""
        rows = db.execute("SELECT version FROM schema_migrations").fetchall()
        return max((r[0] for r in rows), default=0)

    def _lock_for_migration(self, db) -> None:
        """Keep other processes from migrating at the same time (within this transaction)."""

    # ------------------------------------------------------------------ shared

    def _q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def migrate(self) -> int:
        """Apply the migrations the database lacks, in order, in one transaction; returns the version."""
        with self._transaction() as db:
            self._lock_for_migration(db)
            db.execute(_MIGRATIONS_TABLE)
            version = self._applied(db)
            for migration in MIGRATIONS:
                if migration.version > version:
                    for statement in migration.sql[self.dialect]:
                        db.execute(statement)
                    db.execute(self._q("INSERT INTO schema_migrations (version, what, applied_at) VALUES (?, ?, ?)"),
                               (migration.version, migration.what, now().isoformat()))
                    version = migration.version
        return version

    def record(self, grade: Grade, part: str, answer: str, when: datetime | None = None,
               delivery: dict | None = None) -> Attempt:
        from fsrs import Card, Scheduler

        if not grade.question_id:
            raise ProgressError("Only answers to questions of the bank are kept in progress.")
        when = when or now()
        covered = tuple(p.point for p in grade.covered)
        missed = tuple(p.point for p in grade.missed)
        with self._transaction() as db:
            row = db.execute(self._q("SELECT card FROM cards WHERE user_name = ? AND question_id = ?"),
                             (self.user, grade.question_id)).fetchone()
            card = Card.from_json(row[0]) if row else Card()
            card, _ = Scheduler(enable_fuzzing=False).review_card(card, rating_for(grade.score), when)
            (attempt_id,) = db.execute(self._q(
                "INSERT INTO attempts (user_name, question_id, part, answer, score, verdict, covered, missed, created_at,"
                " delivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"),
                (self.user, grade.question_id, part, answer, grade.score, grade.verdict, json.dumps(covered),
                 json.dumps(missed), when.isoformat(), json.dumps(delivery) if delivery else None),
            ).fetchone()
            self._put_card(db, grade.question_id, card.to_json(), card.due.isoformat())
        return Attempt(attempt_id, grade.question_id, part, answer, grade.score, grade.verdict, covered, missed, when, delivery)

    def _put_card(self, db, question_id: str, card: str, due: str) -> None:
        db.execute(self._q(
            "INSERT INTO cards (user_name, question_id, card, due) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_name, question_id) DO UPDATE SET card = excluded.card, due = excluded.due"),
            (self.user, question_id, card, due))

    def attempts(self, question_id: str | None = None) -> list[Attempt]:
        query, args = f"SELECT {_COLUMNS} FROM attempts WHERE user_name = ?", (self.user,)
        if question_id:
            query, args = query + " AND question_id = ?", args + (question_id,)
        with self._transaction() as db:
            rows = db.execute(self._q(query + " ORDER BY created_at, id"), args).fetchall()
        return [attempt_from_row(r) for r in rows]

    def due(self, now_: datetime | None = None) -> list[str]:
        moment = now_ or now()
        with self._transaction() as db:
            rows = db.execute(self._q("SELECT question_id, due FROM cards WHERE user_name = ? ORDER BY due"),
                              (self.user,)).fetchall()
        return [q for q, due in rows if datetime.fromisoformat(due) <= moment]

    def latest_scores(self) -> dict[str, float]:
        return {a.question_id: a.score for a in self.attempts()}

    def mastery_over_time(self) -> list[tuple[str, str, float]]:
        return mastery_over_time(self.attempts())

    def mastery_by_part(self) -> dict[str, float]:
        """Mean of the latest scores per part (0-10), over the questions attempted: today's mastery."""
        rows = self.mastery_over_time()
        last_day = rows[-1][0] if rows else None
        return {part: score for day, part, score in rows if day == last_day}

    def cards(self) -> list[tuple[str, str, str]]:
        """(question id, FSRS card JSON, due) of every review card of this user."""
        with self._transaction() as db:
            return [tuple(r) for r in db.execute(
                self._q("SELECT question_id, card, due FROM cards WHERE user_name = ?"), (self.user,)).fetchall()]

    def replace_all(self, attempts: list[Attempt], cards: list[tuple[str, str, str]]) -> None:
        """This user's progress becomes exactly ``attempts`` and ``cards``, in one transaction."""
        with self._transaction() as db:
            self._delete(db)
            for a in attempts:
                db.execute(self._q(
                    "INSERT INTO attempts (user_name, question_id, part, answer, score, verdict, covered, missed,"
                    " created_at, delivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    (self.user, a.question_id, a.part, a.answer, a.score, a.verdict, json.dumps(a.covered),
                     json.dumps(a.missed), a.created_at.isoformat(), json.dumps(a.delivery) if a.delivery else None))
            for question_id, card, due in cards:
                self._put_card(db, question_id, card, due)

    def _delete(self, db) -> None:
        db.execute(self._q("DELETE FROM attempts WHERE user_name = ?"), (self.user,))
        db.execute(self._q("DELETE FROM cards WHERE user_name = ?"), (self.user,))

    def reset(self, confirm: bool = False) -> None:
        if not confirm:
            raise ProgressError("Resetting deletes every attempt; confirm to go on.")
        with self._transaction() as db:
            self._delete(db)

    def healthy(self) -> bool:
        try:
            with self._transaction() as db:
                return db.execute("SELECT 1").fetchone()[0] == 1
        except Exception:
            return False

    def for_user(self, user: str):
        """The same store bound to ``user`` (a shallow copy: pools and paths are shared)."""
        other = copy.copy(self)
        other.user = user
        return other
