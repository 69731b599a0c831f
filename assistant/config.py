"""Settings: one frozen dataclass, defaults here, environment variables over them, CLI flags over both."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    # Embedding model for retrieval: "mpnet" (default: the most accurate, 12 ms per query under
    # ONNX Runtime) or "minilm" (2 ms); bench/retrieval.py measures both.
    embedder: str = field(default_factory=lambda: os.environ.get("ASSISTANT_EMBEDDER", "mpnet"))
    # Embedding model for grading and for checking that answers are supported: "minilm" (default:
    # it agrees better with human graders than mpnet, bench/grading.py) or "mpnet".
    grader_embedder: str = field(default_factory=lambda: os.environ.get("ASSISTANT_GRADER_EMBEDDER", "minilm"))
    # Who writes answers and coaching: "llama" (local llama.cpp, default), "transformers", "openai"
    # (an OpenAI-compatible server at ASSISTANT_OPENAI_URL) or "extractive" (no language model).
    backend: str = field(default_factory=lambda: os.environ.get("ASSISTANT_BACKEND", "llama"))
    # The packaged language model: "qwen-1.5b" (default) or "qwen-0.5b" (for small machines).
    llm: str = field(default_factory=lambda: os.environ.get("ASSISTANT_LLM", "qwen-1.5b"))
    # Progress in PostgreSQL (postgresql://user:password@host/db) instead of the SQLite file in
    # data_dir: for a coach that several app processes serve.
    database_url: str = field(default_factory=lambda: os.environ.get("ASSISTANT_DATABASE_URL", ""))
    # Whose progress the command line reads and writes ("" on a laptop without logins).
    user: str = field(default_factory=lambda: os.environ.get("ASSISTANT_USER", ""))
    # Queries longer than this many characters are truncated (with a notice).
    max_query_chars: int = 2000

    def with_overrides(self, **changes: object) -> "Settings":
        """A copy with the given fields replaced; None values are ignored (unset CLI flags)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
