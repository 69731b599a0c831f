"""Judge backends: where the next-token probabilities come from.

- llama.cpp (default): the packaged GGUF in process; the logits of the last position. The KV
  cache of the shared prefix (everything before the judged text) is kept between calls, so the
  answers to one question (and the sentences checked against one reference) only pay for their
  own tokens, and a new reference only for itself (the fixed system text and examples stay).
- an OpenAI-compatible server (vLLM, llama.cpp server): ``logprobs`` / ``top_logprobs`` of a
  one-token reply.
- transformers: the logits of one forward pass.
- scripted: a deterministic fake for tests.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from assistant.errors import ModelError
from assistant.judge.judge import normalise
from assistant.judge.prompts import JUDGED_STARTS, Message
from assistant.models.generation import prefix_folder
from assistant.models.prefix import cut_before, prime_in_pieces

Options = Sequence[Sequence[str]]


def _option_probabilities(logits: np.ndarray, option_ids: Sequence[Sequence[int]]) -> list[float]:
    """Softmax restricted to the options' tokens, summed per option (the vocabulary's normaliser cancels)."""
    flat = [i for ids in option_ids for i in ids]
    if not flat:
        raise ModelError("None of the judge's options is a single token of this model's vocabulary.")
    top = float(np.max(logits[flat]))
    return normalise([float(np.exp(logits[ids] - top).sum()) if ids else 0.0 for ids in option_ids])


class LlamaCppChoice:
    """The packaged GGUF through llama.cpp; its own context (so its prompt cache survives the
    generator's), behind the generator's lock (one model at a time on the CPU).

    A prompt is always read in the same three pieces: the fixed text (system text and worked
    examples), the shared part (the question or reference, up to where the judged text begins) and
    the rest. The state after the first piece, and after the first two, is kept in the cache folder
    (models/prefix.py), so a fresh process, or a question checked against a reference checked before
    on this machine, restores it instead of reading it. llama.cpp's
    numbers depend on how tokens are batched, so reading it any other way would make a judgement
    depend on what was judged before; this way a cached prefix gives exactly the probabilities a
    fresh read gives."""

    def __init__(self, model_key: str, cache_dir: Path, threads: int | None = None, lock: threading.Lock | None = None,
                 n_ctx: int = 2048) -> None:
        from assistant.models.weights import language_model

        self.spec = language_model(model_key)
        self.name = f"llama.cpp:{model_key}"
        self._cache_dir, self._threads, self._n_ctx = cache_dir, threads or min(4, os.cpu_count() or 2), n_ctx
        self._lock = lock or threading.Lock()
        self._llm = self._format = None
        self._ids: dict[str, list[int]] = {}

    def load(self):
        if self._llm is None:
            from assistant.models.generation import chat_formatter, open_llama

            llm = open_llama(self.spec, self._cache_dir, self._n_ctx, self._threads)
            self._format = chat_formatter(llm)
            self._llm = llm
        return self._llm

    def _token_ids(self, forms: Iterable[str]) -> list[int]:
        out = []
        for form in forms:
            if form not in self._ids:
                ids = self._llm.tokenize(form.encode(), add_bos=False, special=False)
                self._ids[form] = ids if len(ids) == 1 else []
            out += self._ids[form]
        return out

    def _pieces(self, llm, messages: list[Message]) -> tuple[list[int], list[int], list[int]]:
        """The prompt's tokens in its three pieces: fixed (the system text and worked examples, the
        same for every call of a kind), shared (the question or reference) and the judged text."""
        prompt = self._format(messages=messages).prompt
        judged = max((prompt.rfind(start) + len(start) for start in JUDGED_STARTS if start in prompt), default=0)
        fixed = min(cut_before(prompt, messages[-1]["content"]), judged)
        return tuple(llm.tokenize(part.encode(), add_bos=False, special=True)
                     for part in (prompt[:fixed], prompt[fixed:judged], prompt[judged:]))

    def choose(self, messages: Sequence[Message], options: Options) -> list[float]:
        with self._lock:
            llm = self.load()
            fixed, shared, rest = self._pieces(llm, list(messages))
            if len(fixed) + len(shared) + len(rest) >= self._n_ctx:
                raise ModelError(f"The judge's prompt has {len(fixed) + len(shared) + len(rest)} tokens, over its {self._n_ctx}-token context.")
            try:
                prime_in_pieces(llm, fixed, shared, prefix_folder(self._cache_dir), self.spec.sha256)
                llm.n_tokens = len(fixed) + len(shared)
                llm.eval(rest)
            except RuntimeError as exc:
                llm.reset()
                raise ModelError(f"The judge model failed on a prompt ({exc}).") from None
            logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),))
            return _option_probabilities(logits, [self._token_ids(forms) for forms in options])


class OpenAIChoice:
    """A one-token chat completion with ``logprobs`` (the official openai client, built once in
    models/language.py); options missing from ``top_logprobs`` get 0."""

    def __init__(self, client, url: str, model: str) -> None:
        self.name = f"openai:{model}"
        self._client, self._url, self._model = client, url, model

    def choose(self, messages: Sequence[Message], options: Options) -> list[float]:
        import openai

        from assistant.models.language import server_error

        try:
            reply = self._client.chat.completions.create(
                model=self._model, messages=list(messages), max_tokens=1, temperature=0, logprobs=True, top_logprobs=20)
            top = reply.choices[0].logprobs.content[0].top_logprobs
        except (openai.APIError, AttributeError, IndexError, TypeError) as exc:
            raise server_error(self._url, exc, " with logprobs, which the judge needs (vLLM and llama.cpp's "
                               "server return them)") from None
        mass: dict[str, float] = {}
        for entry in top:
            token = str(entry.token or "").strip()
            mass[token] = mass.get(token, 0.0) + float(np.exp(entry.logprob))
        return normalise([sum(mass.get(form, 0.0) for form in forms) for forms in options])


class TransformersChoice:
    """One forward pass of a transformers causal LM (shared with the transformers generator, behind its lock)."""

    def __init__(self, load: Callable[[], tuple], name: str, lock: threading.Lock | None = None) -> None:
        self._load, self.name = load, name
        self._lock = lock or threading.Lock()

    def choose(self, messages: Sequence[Message], options: Options) -> list[float]:
        import torch

        with self._lock:
            model, tokenizer = self._load()
            inputs = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True)
            with torch.no_grad():
                logits = model(**inputs).logits[0, -1].float().numpy()
        option_ids = []
        for forms in options:
            ids = [tokenizer.encode(form, add_special_tokens=False) for form in forms]
            option_ids.append([i[0] for i in ids if len(i) == 1])
        return _option_probabilities(logits, option_ids)


class ScriptedChoice:
    """For tests: ``script(messages, options)`` gives the option weights; every call is recorded."""

    name = "scripted-judge"

    def __init__(self, script: Callable[[Sequence[Message], Options], Sequence[float]]) -> None:
        self._script = script
        self.calls: list[list[Message]] = []

    def choose(self, messages: Sequence[Message], options: Options) -> list[float]:
        self.calls.append(list(messages))
        return normalise(list(self._script(messages, options)))
