"""Progress: graded attempts and review dates per user, in SQLite (default) or PostgreSQL."""

from __future__ import annotations

from assistant.progress.base import LATEST, MIGRATIONS, Attempt, ProgressError, ProgressStore, rating_for
from assistant.progress.sqlite import SQLiteStore


def open_store(settings=None, user: str = "") -> ProgressStore:
    """The configured store: PostgreSQL when ASSISTANT_DATABASE_URL is set, else the SQLite file."""
    from assistant.config import Settings

    settings = settings or Settings()
    if settings.database_url:
        from assistant.progress.postgres import PostgresStore

        if not settings.database_url.startswith(("postgresql://", "postgres://")):
            raise ProgressError(f"ASSISTANT_DATABASE_URL must start with postgresql:// (got {settings.database_url.split(':', 1)[0]}:…).")
        return PostgresStore(settings.database_url, user)
    return SQLiteStore(settings.data_dir / "progress.sqlite3", user)


__all__ = ["LATEST", "MIGRATIONS", "Attempt", "ProgressError", "ProgressStore", "SQLiteStore", "open_store", "rating_for"]
