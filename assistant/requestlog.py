"""One log line per request: who, what, how long, whether it worked; never what anyone wrote."""

from __future__ import annotations

import functools
import inspect
import logging
import time
from typing import Callable

LOG = logging.getLogger("coach.requests")


def configure() -> None:
    """Request lines to stderr, once (a server's own setup may replace this)."""
    if not LOG.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False


def line(user: str, action: str, seconds: float, outcome: str) -> str:
    return f"user={user or '-'} action={action} ms={seconds * 1000:.0f} {outcome}"


def logged(action: str, user_of: Callable[[tuple, dict], str]) -> Callable:
    """Wrap a handler (function or generator) so each call logs one line when it ends."""
    def decorate(handler: Callable) -> Callable:
        def outcome_of(exc: BaseException | None) -> str:
            return "ok" if exc is None else f"error={type(exc).__name__}"

        if inspect.isgeneratorfunction(handler):
            @functools.wraps(handler)
            def gen_wrapper(*args, **kwargs):
                started, error = time.perf_counter(), None
                try:
                    yield from handler(*args, **kwargs)
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    LOG.info(line(user_of(args, kwargs), action, time.perf_counter() - started, outcome_of(error)))
            return gen_wrapper

        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            started, error = time.perf_counter(), None
            try:
                return handler(*args, **kwargs)
            except BaseException as exc:
                error = exc
                raise
            finally:
                LOG.info(line(user_of(args, kwargs), action, time.perf_counter() - started, outcome_of(error)))
        return wrapper
    return decorate
