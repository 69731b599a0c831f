"""Progress in PostgreSQL (psycopg 3 with a connection pool): for a coach that several app
processes serve. ASSISTANT_DATABASE_URL=postgresql://user:password@host/db selects it."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

from assistant.progress.base import ProgressError
from assistant.progress.sql import SQLStore

_POOLS: dict[str, object] = {}
_POOLS_LOCK = threading.Lock()
_MIGRATION_LOCK = 0x436F616368  # pg_advisory_xact_lock key: one process migrates at a time


def safe_url(url: str) -> str:
    """The address without its password, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _pool(url: str, timeout: float):
    with _POOLS_LOCK:
        if url not in _POOLS:
            try:
                from psycopg_pool import ConnectionPool
            except ImportError:
                raise ProgressError("PostgreSQL needs psycopg; install it with: pip install -e '.[hosted]'") from None
            _POOLS[url] = ConnectionPool(url, min_size=1, max_size=8, timeout=timeout, open=False,
                                         check=ConnectionPool.check_connection,  # replaces connections a restart broke
                                         kwargs={"connect_timeout": max(1, int(timeout))})
        return _POOLS[url]


class PostgresStore(SQLStore):
    dialect = "postgresql"
    placeholder = "%s"

    def __init__(self, url: str, user: str = "", timeout: float = 10.0) -> None:
        super().__init__(user)
        self.where = safe_url(url)
        self._url, self._pool = url, _pool(url, timeout)
        try:
            self._pool.open(wait=True, timeout=timeout)
            self.migrate()
        except ProgressError:
            raise
        except Exception as exc:
            raise ProgressError(f"Cannot reach the progress database {self.where} ({_reason(exc)}); "
                                "check ASSISTANT_DATABASE_URL and that the server is running.") from None

    @contextmanager
    def _transaction(self) -> Iterator:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection() as db:  # commits on success, rolls back on error
                yield db
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise ProgressError(f"The progress database {self.where} is unavailable ({_reason(exc)}); "
                                "nothing was saved by this action. Try again when it is back.") from None

    def _lock_for_migration(self, db) -> None:
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def close(self) -> None:
        """Close the pool this store (and every store for_user made from it) shares."""
        with _POOLS_LOCK:
            if _POOLS.get(self._url) is self._pool:
                del _POOLS[self._url]
        self._pool.close()


def _reason(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
