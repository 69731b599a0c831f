"""Progress: every graded attempt in SQLite (WAL), with an FSRS card per question for review dates.

An attempt is acknowledged only after its transaction commits (synchronous=FULL), so a killed
process loses nothing it reported as saved. One connection per operation: WAL lets readers and
one writer work at once from several threads or processes.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from assistant.errors import AssistantError
from assistant.grading import Grade

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    question_id TEXT NOT NULL,
    part TEXT NOT NULL,
    answer TEXT NOT NULL,
    score REAL NOT NULL,
    verdict TEXT NOT NULL,
    covered TEXT NOT NULL,  -- JSON list of key points
    missed TEXT NOT NULL,   -- JSON list of key points
    created_at TEXT NOT NULL,
    delivery TEXT           -- JSON delivery figures of a spoken answer; NULL when typed
);
CREATE INDEX IF NOT EXISTS attempts_question ON attempts (question_id, created_at);
CREATE TABLE IF NOT EXISTS cards (
    question_id TEXT PRIMARY KEY,
    card TEXT NOT NULL,     -- fsrs.Card as JSON
    due TEXT NOT NULL
);
"""


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a progress file of an older version up to SCHEMA (columns added since are nullable)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(attempts)")}
    if "delivery" not in columns:
        db.execute("ALTER TABLE attempts ADD COLUMN delivery TEXT")


def rating_for(score: float):
    """A grade's score as an FSRS rating: below 4 forgotten, then hard, good, easy."""
    from fsrs import Rating

    return Rating.Again if score < 4 else Rating.Hard if score < 7 else Rating.Good if score < 9 else Rating.Easy


@dataclass(frozen=True)
class Attempt:
    id: int
    question_id: str
    part: str
    answer: str
    score: float
    verdict: str
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    created_at: datetime
    delivery: dict | None = None  # a spoken answer's delivery figures


class ProgressError(AssistantError):
    """The progress file cannot be opened, read or written."""


class ProgressStore:
    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            from assistant.config import Settings

            path = Settings().data_dir / "progress.sqlite3"
        self.path = path
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
                _migrate(db)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise ProgressError(
                f"Cannot open the progress file {self.path} ({exc}); set ASSISTANT_DATA_DIR to a writable folder."
            ) from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA synchronous=FULL")
            with db:  # one transaction: committed on success, rolled back on error
                yield db

    def record(self, grade: Grade, part: str, answer: str, when: datetime | None = None, delivery: dict | None = None) -> Attempt:
        """Store a graded attempt and reschedule its question; returns once it is durable."""
        from fsrs import Card, Scheduler

        if not grade.question_id:
            raise ProgressError("Only answers to questions of the bank are kept in progress.")
        when = when or datetime.now(timezone.utc)
        covered = tuple(p.point for p in grade.covered)
        missed = tuple(p.point for p in grade.missed)
        with self._connect() as db:
            row = db.execute("SELECT card FROM cards WHERE question_id = ?", (grade.question_id,)).fetchone()
            card = Card.from_json(row[0]) if row else Card()
            card, _ = Scheduler(enable_fuzzing=False).review_card(card, rating_for(grade.score), when)
            cursor = db.execute(
                "INSERT INTO attempts (question_id, part, answer, score, verdict, covered, missed, created_at, delivery)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (grade.question_id, part, answer, grade.score, grade.verdict, json.dumps(covered), json.dumps(missed),
                 when.isoformat(), json.dumps(delivery) if delivery else None),
            )
            db.execute(
                "INSERT INTO cards (question_id, card, due) VALUES (?, ?, ?)"
                " ON CONFLICT(question_id) DO UPDATE SET card = excluded.card, due = excluded.due",
                (grade.question_id, card.to_json(), card.due.isoformat()),
            )
        return Attempt(cursor.lastrowid, grade.question_id, part, answer, grade.score, grade.verdict, covered, missed, when, delivery)

    def attempts(self, question_id: str | None = None) -> list[Attempt]:
        query = "SELECT id, question_id, part, answer, score, verdict, covered, missed, created_at, delivery FROM attempts"
        args: tuple = ()
        if question_id:
            query, args = query + " WHERE question_id = ?", (question_id,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at, id", args).fetchall()
        return [Attempt(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), tuple(json.loads(r[7])),
                        datetime.fromisoformat(r[8]), json.loads(r[9]) if r[9] else None) for r in rows]

    def due(self, now: datetime | None = None) -> list[str]:
        """Questions whose review is due, the most overdue first."""
        now = now or datetime.now(timezone.utc)
        with self._connect() as db:
            rows = db.execute("SELECT question_id, due FROM cards ORDER BY due").fetchall()
        return [q for q, due in rows if datetime.fromisoformat(due) <= now]

    def latest_scores(self) -> dict[str, float]:
        """Each attempted question's most recent score."""
        return {a.question_id: a.score for a in self.attempts()}

    def mastery_by_part(self) -> dict[str, float]:
        """Mean of the latest scores per part (0-10), over the questions attempted: today's mastery."""
        rows = self.mastery_over_time()
        last_day = rows[-1][0] if rows else None
        return {part: score for day, part, score in rows if day == last_day}

    def mastery_over_time(self) -> list[tuple[str, str, float]]:
        """(day, part, mastery) for each day with attempts: the mean, over the part's questions
        attempted so far, of each one's latest score on that day."""
        latest: dict[str, tuple[str, float]] = {}
        rows: list[tuple[str, str, float]] = []
        attempts = self.attempts()
        for i, attempt in enumerate(attempts):
            latest[attempt.question_id] = (attempt.part, attempt.score)
            day = attempt.created_at.date().isoformat()
            if i + 1 == len(attempts) or attempts[i + 1].created_at.date().isoformat() != day:
                per_part: dict[str, list[float]] = {}
                for part, score in latest.values():
                    per_part.setdefault(part, []).append(score)
                rows += [(day, part, round(sum(v) / len(v), 2)) for part, v in sorted(per_part.items())]
        return rows

    def export(self, target: Path) -> Path:
        """A consistent copy of the progress file (SQLite's online backup)."""
        with closing(sqlite3.connect(self.path)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
        return target

    def import_(self, source: Path) -> None:
        """Replace progress with an exported file, after checking it is one."""
        try:
            with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                ok = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            tables, ok = set(), False
        if not ok or not {"attempts", "cards"} <= tables:
            raise ProgressError(f"{source} is not a progress file exported by this app; nothing was changed.")
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(self.path)) as dst:
            src.backup(dst)
        with self._connect() as db:
            _migrate(db)  # a file exported by an older version

    def reset(self, confirm: bool = False) -> None:
        if not confirm:
            raise ProgressError("Resetting deletes every attempt; confirm to go on.")
        with self._connect() as db:
            db.execute("DELETE FROM attempts")
            db.execute("DELETE FROM cards")

    def integrity_ok(self) -> bool:
        with closing(sqlite3.connect(self.path)) as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
