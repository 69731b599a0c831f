"""One log line per request: who, what, how long, whether it worked; never what anyone wrote."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import time
from contextlib import contextmanager
from typing import Callable, Iterator

LOG = logging.getLogger("coach.requests")


def configure() -> None:
    """Request lines to stderr, once (a server's own setup may replace this)."""
    if not LOG.handlers:
        # A duplicate of stderr's descriptor: llama.cpp (verbose=False) points descriptor 2 at
        # /dev/null while it runs, which would swallow every line written meanwhile.
        handler = logging.StreamHandler(os.fdopen(os.dup(2), "w", buffering=1))
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False


def line(user: str, action: str, seconds: float, outcome: str) -> str:
    return f"user={user or '-'} action={action} ms={seconds * 1000:.0f} {outcome}"


@contextmanager
def _one_line(action: str, user: str) -> Iterator[None]:
    started, outcome = time.perf_counter(), "ok"
    try:
        yield
    except BaseException as exc:
        outcome = f"error={type(exc).__name__}"
        raise
    finally:
        LOG.info(line(user, action, time.perf_counter() - started, outcome))


def logged(action: str, user_of: Callable[[tuple, dict], str]) -> Callable:
    """Wrap a handler (function or generator) so each call logs one line when it ends."""
    def decorate(handler: Callable) -> Callable:
        if inspect.isgeneratorfunction(handler):
            @functools.wraps(handler)
            def streaming(*args, **kwargs):
                with _one_line(action, user_of(args, kwargs)):
                    yield from handler(*args, **kwargs)
            return streaming

        @functools.wraps(handler)
        def plain(*args, **kwargs):
            with _one_line(action, user_of(args, kwargs)):
                return handler(*args, **kwargs)
        return plain
    return decorate
