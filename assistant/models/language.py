"""The language model, owned in one place: the writer (a Generator) and the judge it serves, built
from one backend choice, and whether they are usable now.

One model serves both roles, so one failure (a missing package, a checksum mismatch, a server
that stops answering) turns both off: it is recorded here once, said once, and every reader — the
app, /healthz, the CLI, the chat, the judged grader — asks this object instead of keeping its own
idea of whether the model is there.
"""

from __future__ import annotations

import sys
from typing import Callable

from assistant.errors import ModelError

BACKENDS = ("llama", "transformers", "openai", "extractive")


class LanguageModel:
    """The writer and the judge of one backend, built on first use; None once either has failed."""

    def __init__(self, build: Callable[[], tuple], log: Callable[[str], None] | None = None) -> None:
        self._build, self.log = build, log or (lambda msg: print(msg, file=sys.stderr))
        self._roles: tuple | None = None
        self.failure: str | None = None  # why the model is off, once it has failed

    @classmethod
    def of(cls, writer=None, judge=None, log: Callable[[str], None] | None = None) -> "LanguageModel":
        """An owner of given objects (tests, and the engine given fakes)."""
        return cls(lambda: (writer, judge), log)

    def _get(self) -> tuple:
        if self._roles is None:
            try:
                self._roles = self._build()
            except ModelError as exc:  # a backend that cannot even be configured (no server address)
                self._roles = (None, None)
                self.failed(exc)
        return self._roles

    @property
    def writer(self):
        """The generator, or None: no model configured, or it failed."""
        return None if self.failure else self._get()[0]

    @property
    def judge(self):
        """The judge, or None: no model configured, or it failed."""
        return None if self.failure else self._get()[1]

    @property
    def configured(self):
        """The generator that was configured, working or not (what /healthz names)."""
        return self._get()[0]

    def failed(self, exc: Exception) -> None:
        """Record that the model stopped working; said once, and every reader sees it from now on."""
        if self.failure is None:
            self.failure = str(exc)
            self.log(f"The language model is unavailable, so answers are extractive and grades quick: {exc}")

    def status(self) -> dict:
        writer = self.configured
        return {"model": writer.name if writer else None,
                "model_loaded": bool(getattr(writer, "loaded", True)) and self.failure is None,
                "model_error": self.failure}


def language_model(settings, log: Callable[[str], None] | None = None) -> LanguageModel:
    """The configured backend's writer and judge (built on first use)."""
    return LanguageModel(lambda: backends(settings), log)


def backends(settings) -> tuple:
    """(writer, judge) for ``settings.backend``; (None, None) for 'extractive'. The one if-chain."""
    from assistant.judge import Judge
    from assistant.judge.backends import LlamaCppChoice, OpenAIChoice, TransformersChoice
    from assistant.models.generation import LlamaCppGenerator, OpenAICompatibleGenerator, TransformersGenerator

    backend = settings.backend
    if backend == "extractive":
        return None, None
    if backend == "llama":
        writer = LlamaCppGenerator(settings.llm, settings.cache_dir)
        return writer, Judge(LlamaCppChoice(settings.llm, settings.cache_dir, lock=writer.lock))
    if backend == "transformers":
        writer = (TransformersGenerator(settings.transformers_model) if settings.transformers_model
                  else TransformersGenerator.from_packaged(settings.llm, settings.cache_dir))
        return writer, Judge(TransformersChoice(writer.load, writer.name, lock=writer.lock))
    if backend == "openai":
        if not settings.openai_url:
            raise ModelError("The openai backend needs ASSISTANT_OPENAI_URL (e.g. http://127.0.0.1:8000/v1).")
        client = openai_client(settings.openai_url, settings.openai_key)
        return (OpenAICompatibleGenerator(client, settings.openai_url, settings.openai_model),
                Judge(OpenAIChoice(client, settings.openai_url, settings.openai_model)))
    raise ModelError(f"Unknown backend {backend!r}; choose {', '.join(BACKENDS[:-1])} or {BACKENDS[-1]}.")


def openai_client(base_url: str, api_key: str | None, timeout: float = 60.0, retries: int = 2):
    """The official OpenAI client for an OpenAI-compatible server (a key is optional on one's own server)."""
    try:
        from openai import OpenAI
    except ImportError:
        raise ModelError("The openai backend needs the openai client; install it with: pip install -e '.[hosted]'") from None
    return OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout, max_retries=retries)


def server_error(url: str, exc: Exception, need: str = "") -> ModelError:
    """The one message for a model server that did not answer as it should."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return ModelError(f"The model server at {url} did not answer ({first}){need}; check ASSISTANT_OPENAI_URL.")
