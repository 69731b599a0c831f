"""Progress files: a user's progress exported as a self-contained SQLite file, which either store
imports (replacing that user's rows only). Beside the stores, not inside their base class: it
writes through the SQLite store whatever store it reads."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from assistant.progress.base import ProgressError
from assistant.progress.sqlite import SQLiteStore


def export_progress(store, target: Path) -> Path:
    """This user's progress as a SQLite progress file (what every store imports)."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".sqlite3", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        SQLiteStore(Path(tmp)).replace_all(store.attempts(), store.cards())
        with closing(sqlite3.connect(tmp)) as db:
            db.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, f"{tmp}-wal", f"{tmp}-shm"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return target


def import_progress(store, source: Path) -> None:
    """Replace this user's progress with an exported file, after checking it is one."""
    source = Path(source)
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            ok = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        tables, ok = set(), False
    if not ok or not {"attempts", "cards"} <= tables:
        raise ProgressError(f"{source} is not a progress file exported by this app; nothing was changed.")
    with tempfile.TemporaryDirectory() as tmp:  # bring a copy (never the user's file) up to the schema
        copy = Path(tmp) / "import.sqlite3"
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(copy)) as dst:
            src.backup(dst)
        imported = SQLiteStore(copy)
        store.replace_all(imported.attempts(), imported.cards())
