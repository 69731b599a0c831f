"""Settings: one frozen dataclass, defaults here, environment variables over them, CLI flags over both."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str = "", *fallbacks: str) -> str:
    """The first of the named environment variables that is set, else the default."""
    for key in (name, *fallbacks):
        if os.environ.get(key):
            return os.environ[key]
    return default


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def _default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("dl-interview-coach"))


def _default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("dl-interview-coach"))


@dataclass(frozen=True)
class Limits:
    """How much input is read, each with its reason. Named here once; the rest of the code reads them."""

    # A query longer than this is truncated (with a notice): no search is that long, and it bounds
    # what embedding and BM25 read per request.
    query_chars: int = 2000
    # Text in an app box over this is refused: five pages, far beyond an interview answer, and it
    # keeps one request from holding a worker.
    input_chars: int = 20_000
    # An answer over this many words is refused: an interview answer is a few paragraphs.
    answer_words: int = 1200
    # The judge reads this much of an answer: its prompt is read on 2 cores, and interview answers
    # are shorter (the key-point evidence still reads all of it).
    judged_words: int = 300


LIMITS = Limits()


@dataclass(frozen=True)
class Settings:
    # Folder of *.md question banks; every file in it is loaded.
    corpus_dir: Path = field(
        default_factory=lambda: _env_path("ASSISTANT_CORPUS_DIR", PROJECT_ROOT / "corpus")
    )
    # Where the built index and its manifest live.
    index_dir: Path = field(
        default_factory=lambda: _env_path("ASSISTANT_INDEX_DIR", PROJECT_ROOT / "index")
    )
    # Where assembled model files are unpacked once (e.g. the split mpnet archive).
    cache_dir: Path = field(
        default_factory=lambda: _env_path("ASSISTANT_CACHE_DIR", _default_cache_dir())
    )
    # Where progress (graded attempts, review dates) is kept.
    data_dir: Path = field(default_factory=lambda: _env_path("ASSISTANT_DATA_DIR", _default_data_dir()))
    # Embedding model for retrieval: "mpnet" (default: the most accurate; 20 ms a query in the hybrid
    # on 2 cores, against 6 ms for "minilm"); bench/retrieval.py measures both.
    embedder: str = field(default_factory=lambda: os.environ.get("ASSISTANT_EMBEDDER", "mpnet"))
    # Embedding model for grading and for checking that answers are supported: "minilm" (default:
    # it agrees better with human graders than mpnet, bench/grading.py) or "mpnet".
    grader_embedder: str = field(default_factory=lambda: os.environ.get("ASSISTANT_GRADER_EMBEDDER", "minilm"))
    # What reorders the fusion's first candidates and decides scope: "learned" (default: the learnt
    # ranking, rerank/learned.py; README "The learnt ranking"), "cross-encoder" (the one 'assistant
    # train reranker' made; it lowered dev R@1, README "The reranker") or "off" (the fusion alone).
    reranker: str = field(default_factory=lambda: _env("ASSISTANT_RERANKER", "learned"))
    # Who writes answers and coaching: "llama" (local llama.cpp, default), "transformers", "openai"
    # (an OpenAI-compatible server at ASSISTANT_OPENAI_URL) or "extractive" (no language model).
    backend: str = field(default_factory=lambda: os.environ.get("ASSISTANT_BACKEND", "llama"))
    # The packaged language model: "qwen-1.5b" (default) or "qwen-0.5b" (for small machines).
    llm: str = field(default_factory=lambda: os.environ.get("ASSISTANT_LLM", "qwen-1.5b"))
    # Who checks each sentence of an Ask answer: "judge" (default: the 1.5B model read as a classifier,
    # 0.83 on the hand-written statements against the verifier's 0.63, bench/verifier.py) or
    # "verifier" (the trained cross-encoder: 40 ms a sentence against the judge's 3.3 s) or "cascade"
    # (the verifier, and the judge for the sentences it is unsure of: verify/cascade.py).
    checker: str = field(default_factory=lambda: _env("ASSISTANT_CHECKER", "judge"))
    # Progress in PostgreSQL (postgresql://user:password@host/db) instead of the SQLite file in
    # data_dir: for a coach that several app processes serve.
    database_url: str = field(default_factory=lambda: os.environ.get("ASSISTANT_DATABASE_URL", ""))
    # Whose progress the command line reads and writes ("" on a laptop without logins).
    user: str = field(default_factory=lambda: os.environ.get("ASSISTANT_USER", ""))
    # The openai backend's server (vLLM, llama.cpp's server, Ollama), its model name and key.
    openai_url: str = field(default_factory=lambda: _env("ASSISTANT_OPENAI_URL"))
    openai_model: str = field(default_factory=lambda: _env("ASSISTANT_OPENAI_MODEL", "default"))
    openai_key: str = field(default_factory=lambda: _env("ASSISTANT_OPENAI_KEY"))
    # The transformers backend's model folder ("": the packaged GGUF, dequantized).
    transformers_model: str = field(default_factory=lambda: _env("ASSISTANT_TRANSFORMERS_MODEL"))
    # Where the app listens: ASSISTANT_HOST/PORT, else Gradio's own GRADIO_SERVER_NAME/PORT. Any
    # host but loopback needs logins (app.py refuses to start without them).
    host: str = field(default_factory=lambda: _env("ASSISTANT_HOST", "127.0.0.1", "GRADIO_SERVER_NAME"))
    port: str = field(default_factory=lambda: _env("ASSISTANT_PORT", "7860", "GRADIO_SERVER_PORT"))
    # One login for the app when there is no users file (a single-user hosted coach).
    username: str = field(default_factory=lambda: _env("ASSISTANT_USERNAME"))
    password: str = field(default_factory=lambda: _env("ASSISTANT_PASSWORD"), repr=False)
    limits: Limits = LIMITS

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the app listens on; a port that is not a number is one clear error."""
        from assistant.errors import InvalidInputError

        try:
            return self.host, int(self.port)
        except ValueError:
            raise InvalidInputError(f"The port {self.port!r} is not a number; set ASSISTANT_PORT (or GRADIO_SERVER_PORT) "
                                    "to e.g. 7860.") from None

    @property
    def users_file(self) -> Path:
        """The app's logins (names and argon2 hashes), kept by 'assistant users'."""
        return self.data_dir / "users.json"

    def with_overrides(self, **changes: object) -> "Settings":
        """A copy with the given fields replaced; None values are ignored (unset CLI flags)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
