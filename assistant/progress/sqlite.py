"""Progress in one SQLite file (WAL): the laptop default.

An attempt is acknowledged only after its transaction commits (synchronous=FULL), so a killed
process loses nothing it reported as saved. One connection per operation: WAL lets readers and
one writer work at once from several threads or processes.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator

from assistant.progress.base import ProgressError
from assistant.progress.sql import SQLStore


class SQLiteStore(SQLStore):
    dialect = "sqlite"

    def __init__(self, path: Path, user: str = "") -> None:
        super().__init__(user)
        self.path = Path(path)
        self.where = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=30)) as db:
                db.execute("PRAGMA journal_mode=WAL")
            self.migrate()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise ProgressError(
                f"Cannot open the progress file {self.path} ({exc}); set ASSISTANT_DATA_DIR to a writable folder."
            ) from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA synchronous=FULL")
            with db:  # one transaction: committed on success, rolled back on error
                yield db

    def _lock_for_migration(self, db) -> None:
        db.execute("BEGIN IMMEDIATE")  # the write lock, before reading the version

    def _applied(self, db) -> int:
        version = super()._applied(db)
        if version:
            return version
        # A file from before versioned migrations: with a delivery column it is at version 2; else
        # migration 1 (CREATE ... IF NOT EXISTS) runs again harmlessly, adding what it lacks.
        columns = {row[1] for row in db.execute("PRAGMA table_info(attempts)")}
        found = 2 if "delivery" in columns else 0
        for v in range(1, found + 1):
            db.execute("INSERT INTO schema_migrations (version, what, applied_at) VALUES (?, 'found in an older file', '')", (v,))
        return found

    def integrity_ok(self) -> bool:
        with closing(sqlite3.connect(self.path)) as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
