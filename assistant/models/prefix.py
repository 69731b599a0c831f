"""Prompt prefixes read once per machine: llama.cpp's KV state of the text every prompt of one kind
starts with (the judge's system text and worked examples, the writer's system text), and of that
text followed by one reference (the judge's, and the best reference Ask gives the writer), kept in
the cache folder and restored by the next process (or the next question on that reference) instead
of being read again.

Reading the prompt is most of a fresh process's wait on 2 cores (about 40 tokens/s here). The
judge's fixed prefix for a supported-or-not check is 168 tokens: 3.7 s to read, 3 ms to restore
from its 4.8 MB file, and the logits after a restore are bit-identical to a fresh read (measured
2026-12-03 on this 2-core machine). The file is only an optimisation: any failure to read or write
it falls back to reading the tokens.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

# The folder's size cap: the oldest-used files go first. A state costs about 29 kB a token (4.8 MB for
# the judge's fixed text, 8-12 MB with a reference), so this keeps about 90 references' states: the
# judge's and the writer's for some 45 questions of the bank.
BUDGET_BYTES = 1 << 30


def cut_before(prompt: str, content: str, start: int = 0) -> int:
    """Where ``content`` (a message's text) begins in a rendered chat ``prompt``, searching from
    ``start``; 0 when it is not there (then nothing is fixed)."""
    at = prompt.find(content, start) if content else -1
    return max(at, 0)


def prime(llm, tokens: Sequence[int], folder: Path, model_sha256: str, read: Callable[[], None] | None = None) -> None:
    """Leave ``llm`` holding ``tokens`` at the start of its KV cache: kept when it already does (its
    count of tokens untouched), else restored from ``folder``, else read (by ``read``, which must
    leave exactly ``tokens`` there; by default all at once) and saved there."""
    tokens = list(tokens)
    n = len(tokens)
    if llm.n_tokens >= n and list(llm.input_ids[:n]) == tokens:
        return
    llm.n_tokens = 0
    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    if not n:
        return
    import llama_cpp

    path = folder / f"{_key(tokens, model_sha256, llama_cpp.__version__)}.kv"
    if path.is_file() and _restore(llm, path, tokens):
        path.touch()  # recently used: evicted last
        return
    if read is None:
        llm.eval(tokens)
    else:
        read()
    _save(llm, path, tokens)
    _evict(folder, BUDGET_BYTES)


def prime_in_pieces(llm, fixed: Sequence[int], shared: Sequence[int], folder: Path, model_sha256: str) -> None:
    """Leave ``llm`` holding ``fixed`` then ``shared`` (a system text, then a reference), the state
    after each kept in ``folder``. A read is always in these two pieces: llama.cpp's numbers depend
    on how tokens are batched, so a saved state is then exactly what a fresh read gives."""
    fixed, shared = list(fixed), list(shared)

    def read() -> None:
        prime(llm, fixed, folder, model_sha256)
        llm.n_tokens = len(fixed)
        llm.eval(shared)
    prime(llm, fixed + shared, folder, model_sha256, read)


def _key(tokens: Sequence[int], model_sha256: str, version: str) -> str:
    digest = hashlib.sha256(f"{model_sha256} {version} ".encode())
    digest.update(b" ".join(str(t).encode() for t in tokens))
    return digest.hexdigest()[:32]


def _restore(llm, path: Path, tokens: list[int]) -> bool:
    import llama_cpp

    n = len(tokens)
    out, count = (llama_cpp.llama_token * (n + 1))(), ctypes.c_size_t(0)
    read = llama_cpp.llama_state_seq_load_file(llm._ctx.ctx, str(path).encode(), 0, out, n + 1, ctypes.byref(count))
    if not read or count.value != n or list(out[:n]) != tokens:
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)  # a stale or damaged file: read the tokens instead
        return False
    llm.input_ids[:n] = tokens
    llm.n_tokens = n
    llm._requires_eval = True  # the logits are not restored: llama-cpp-python re-reads a token before sampling
    return True


def _save(llm, path: Path, tokens: list[int]) -> None:
    import llama_cpp

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
            pass
        array = (llama_cpp.llama_token * len(tokens))(*tokens)
        if llama_cpp.llama_state_seq_save_file(llm._ctx.ctx, tmp.name.encode(), 0, array, len(tokens)):
            os.replace(tmp.name, path)  # atomic: another process never reads half a file
        else:
            os.unlink(tmp.name)
    except OSError:
        pass  # a read-only or full cache folder: the next process reads the tokens again


def _evict(folder: Path, budget: int) -> None:
    """Delete the least recently used states until the folder fits ``budget`` bytes."""
    try:
        files = sorted(((path.stat(), path) for path in folder.glob("*.kv")), key=lambda f: f[0].st_mtime, reverse=True)
        total = 0
        for stat, path in files:
            total += stat.st_size
            if total > budget:
                path.unlink(missing_ok=True)
    except OSError:
        pass  # another process removed a file first, or the folder is read-only
