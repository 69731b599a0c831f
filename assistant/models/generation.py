"""Text generators behind one protocol: llama.cpp (default on CPU), transformers, an
OpenAI-compatible HTTP server, and a scripted fake for tests. Models load once, lazily."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol, Sequence, runtime_checkable

from assistant.errors import ModelError
from assistant.models.weights import gguf_path, language_model

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}


@runtime_checkable
class Generator(Protocol):
    name: str  # shown to users and in --json output as "backend"

    def stream(self, messages: Sequence[Message], max_tokens: int = 200, shared: str = "") -> Iterator[str]:
        """Text pieces of the reply, greedy (deterministic), as they are produced. ``shared``: the
        opening of the last message that other prompts start with too (Ask: its best reference),
        which a backend that keeps prompt states may keep."""
        ...


class LlamaCppGenerator:
    def __init__(self, model_key: str, cache_dir: Path, threads: int | None = None, log: Callable[[str], None] | None = None) -> None:
        self.spec = language_model(model_key)
        self.name = f"llama.cpp:{model_key}"
        self._cache_dir, self._threads = cache_dir, threads or min(4, os.cpu_count() or 2)
        self._log = log or (lambda msg: print(msg, file=sys.stderr))
        self._llm = self._format = None
        self.lock = threading.RLock()  # one model at a time on the CPU; the judge shares it (re-entered by the thread that streams: Ask checks each sentence mid-stream)

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self):
        if self._llm is None:
            self._log(f"Loading {self.spec.name} …")
            self._llm = open_llama(self.spec, self._cache_dir, 4096, self._threads)
            self._format = chat_formatter(self._llm)
        return self._llm

    def stream(self, messages: Sequence[Message], max_tokens: int = 200, shared: str = "") -> Iterator[str]:
        with self.lock:
            llm = self.load()
            self._prime(llm, list(messages), shared)
            for chunk in llm.create_chat_completion(messages=list(messages), stream=True, max_tokens=max_tokens, temperature=0.0):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece

    def _prime(self, llm, messages: list[Message], shared: str = "") -> None:
        """The system text is the same for every question, and ``shared`` (the opening of the last
        message) the same for every question on one reference: the state after each is restored
        from the cache folder, not read (create_chat_completion reuses the KV cache's matching
        prefix)."""
        from assistant.models.prefix import cut_before, prime, prime_in_pieces

        if len(messages) < 2 or messages[0]["role"] != "system":
            return
        prompt = self._format(messages=messages).prompt
        system = prompt.find(messages[0]["content"]) + len(messages[0]["content"])
        cut = cut_before(prompt, messages[1]["content"], system)
        tokens = lambda text: llm.tokenize(text.encode(), add_bos=False, special=True)
        fixed, folder = tokens(prompt[:cut]), prefix_folder(self._cache_dir)
        last = prompt.rfind(messages[-1]["content"]) if shared and messages[-1]["content"].startswith(shared) else -1
        if last < cut:  # nothing shared beyond the system text
            prime(llm, fixed, folder, self.spec.sha256)
            return
        prime_in_pieces(llm, fixed, tokens(prompt[cut:last + len(shared)]), folder, self.spec.sha256)


def prefix_folder(cache_dir: Path) -> Path:
    return cache_dir / "models" / "prefixes"


def chat_formatter(llm):
    """The GGUF's own chat template (what create_chat_completion renders), to split prompts into pieces."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ModelError("The language model has no chat template; it must be an instruction-tuned model.")
    text = llm._model.token_get_text
    return Jinja2ChatFormatter(template, eos_token=text(llm.token_eos()),
                               bos_token=text(llm.token_bos()) if llm.token_bos() != -1 else "")


def open_llama(spec, cache_dir: Path, n_ctx: int, threads: int):
    """The packaged GGUF in llama.cpp (assembled and checked on first use), or one clear error."""
    path = gguf_path(spec, cache_dir)
    try:
        from llama_cpp import Llama
    except ImportError:
        raise ModelError("llama-cpp-python is not installed; run 'make llm' (it builds in about 7 minutes).") from None
    try:
        return Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False)
    except (ValueError, RuntimeError, MemoryError) as exc:
        raise ModelError(f"Cannot load {path}: {exc}.") from None


class TransformersGenerator:
    """AutoModelForCausalLM from a model directory, or from a GGUF file (gguf_file=, dequantized)."""

    def __init__(self, model: str, gguf_file: str | None = None) -> None:
        self.name = f"transformers:{Path(gguf_file or model).name}"
        self._model_ref, self._gguf = model, gguf_file
        self._model = self._tokenizer = None
        self.lock = threading.RLock()  # the judge reads the same model: one at a time (re-entered mid-stream by Ask)

    @classmethod
    def from_packaged(cls, model_key: str, cache_dir: Path) -> "TransformersGenerator":
        path = gguf_path(language_model(model_key), cache_dir)
        return cls(str(path.parent), gguf_file=path.name)

    def load(self):
        if self._model is None:
            try:
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError:
                raise ModelError("transformers is not installed; pip install transformers gguf accelerate.") from None
            kwargs = {"gguf_file": self._gguf} if self._gguf else {}
            try:
                self._tokenizer = AutoTokenizer.from_pretrained(self._model_ref, **kwargs)
                self._model = AutoModelForCausalLM.from_pretrained(self._model_ref, **kwargs)
            except (OSError, ValueError, ImportError) as exc:
                raise ModelError(f"transformers cannot load {self._model_ref}: {exc}") from None
        return self._model, self._tokenizer

    def stream(self, messages: Sequence[Message], max_tokens: int = 200, shared: str = "") -> Iterator[str]:
        from transformers import TextIteratorStreamer

        with self.lock:
            model, tokenizer = self.load()
            inputs = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True)
            streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
            worker = threading.Thread(
                target=model.generate, kwargs={**inputs, "streamer": streamer, "max_new_tokens": max_tokens, "do_sample": False}
            )
            worker.start()
            yield from (piece for piece in streamer if piece)
            worker.join()


class OpenAICompatibleGenerator:
    """A chat-completions endpoint (vLLM, llama.cpp server, Ollama) shared by many users, through
    the official openai client (streaming, timeouts, retries), built once in models/language.py."""

    def __init__(self, client, url: str, model: str) -> None:
        self.name = f"openai:{model}"
        self._client, self._url, self._model = client, url, model

    def stream(self, messages: Sequence[Message], max_tokens: int = 200, shared: str = "") -> Iterator[str]:
        import openai

        from assistant.models.language import server_error

        try:
            chunks = self._client.chat.completions.create(
                model=self._model, messages=list(messages), max_tokens=max_tokens, temperature=0, stream=True)
            for chunk in chunks:
                piece = chunk.choices[0].delta.content if chunk.choices else None
                if piece:
                    yield piece
        except openai.APIError as exc:
            raise server_error(self._url, exc) from None


class ScriptedGenerator:
    """For tests: replies from a script, one per call (the last one repeats); records the prompts."""

    def __init__(self, replies: Iterable[str] | Callable[[Sequence[Message]], str]) -> None:
        self.name = "scripted"
        self._replies = replies if callable(replies) else list(replies)
        self.prompts: list[list[Message]] = []

    def stream(self, messages: Sequence[Message], max_tokens: int = 200, shared: str = "") -> Iterator[str]:
        self.prompts.append(list(messages))
        if callable(self._replies):
            reply = self._replies(messages)
        else:
            reply = self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]
        for word in reply.split(" ")[:max_tokens]:  # one piece per word, cut at the limit like a model
            yield word + " "
