"""The on-disk search index: FAISS vectors for questions, answer chunks and the searches written
for each record (doc2query expansions), BM25, and a manifest.

Layout: ``<index_dir>/<embedder key>/`` holds ``manifest.json`` (written last), the FAISS files
and the BM25 folder. A build writes into a sibling temporary folder and swaps it in with a rename,
so a crash mid-build never leaves a half index that loads. On load the manifest is checked
against the corpus and the embedder, and every file against its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from assistant.corpus import Record
from assistant.models.embedders import Embedder
from assistant.errors import IndexStoreError
from assistant.retrieval.expansion import expansion_hash
from assistant.retrieval.keyword import KeywordIndex

FORMAT_VERSION = 4
MANIFEST = "manifest.json"
RECORD_FILE, QUESTION_FILE, ANSWER_FILE = "record.faiss", "question.faiss", "answer.faiss"
CHUNK_ROWS_FILE, KEYWORD_DIR = "chunk_rows.npy", "bm25"
EXPANSION_FILE, EXPANSION_ROWS_FILE = "expansion.faiss", "expansion_rows.npy"
CHUNK_WORDS = 60  # answer chunks stay under the embedders' 256-token window


class StaleIndex(Exception):
    """The index on disk was built from something else (corpus, model, format): rebuild it."""


class CorruptIndex(Exception):
    """The index on disk is damaged: rebuild it."""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    corpus_hash: str
    embedder: str
    dim: int
    kind: str  # "flat" (exact) or "hnsw" (approximate)
    count: int
    chunk_count: int
    expansion_count: int
    expansions: str  # hash of the expansions it was built with ("" for none)
    ids: tuple[str, ...]
    built_at: str
    build_seconds: float
    files: dict[str, str]  # relative path -> sha256


@dataclass
class SearchIndex:
    manifest: Manifest
    record_vectors: object  # faiss.Index over one vector per record: question and whole answer
    question_vectors: object  # faiss.Index over one vector per record: the question alone
    answer_vectors: object  # faiss.Index over answer chunks
    chunk_rows: np.ndarray  # answer chunk -> record row
    keyword: KeywordIndex
    expansion_vectors: object  # faiss.Index over the searches written for the records
    expansion_rows: np.ndarray  # expansion -> record row


def record_text(record: Record) -> str:
    return f"{record.question}\n{record.answer_text}"


def keyword_text(record: Record, searches: Sequence[str] = ()) -> str:
    """What BM25 indexes for a record: question, answer and the searches written for it."""
    return "\n".join((record_text(record), *searches))


def answer_chunks(record: Record, words: int = CHUNK_WORDS) -> list[str]:
    """Split an answer into chunks of about ``words`` words along its lines, each led by the question."""
    chunks: list[str] = []
    current: list[str] = []
    for line in record.answer_text.splitlines():
        if current and sum(len(x.split()) for x in current) + len(line.split()) > words:
            chunks.append(" ".join(current))
            current = []
        current.append(line)
    if current:
        chunks.append(" ".join(current))
    return [f"{record.question} {chunk}" for chunk in chunks] or [record.question]


def _faiss():
    import faiss

    return faiss


def _new_faiss_index(dim: int, kind: str):
    faiss = _faiss()
    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction, index.hnsw.efSearch = 80, 64
        return index
    raise ValueError(f"unknown index kind {kind!r}; use flat or hnsw")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _embed(embedder: Embedder, texts: Sequence[str], label: str, batch: int = 64) -> np.ndarray:
    from tqdm import tqdm

    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    with tqdm(total=len(texts), desc=label, unit="text", file=sys.stderr, disable=None) as bar:
        for start in range(0, len(texts), batch):
            out[start : start + batch] = embedder.encode(texts[start : start + batch])
            bar.update(min(batch, len(texts) - start))
    return out


def build_index(
    records: Sequence[Record],
    corpus_hash: str,
    embedder: Embedder,
    directory: Path,
    kind: str = "flat",
    expansions: Mapping[str, Sequence[str]] | None = None,
) -> SearchIndex:
    """Embed and index ``records`` (and their expansions: record id -> searches) into
    ``directory``, replacing what was there atomically."""
    expansions = expansions or {}
    started = time.perf_counter()
    directory.parent.mkdir(parents=True, exist_ok=True)
    chunk_texts: list[str] = []
    chunk_rows: list[int] = []
    for row, record in enumerate(records):
        for chunk in answer_chunks(record):
            chunk_texts.append(chunk)
            chunk_rows.append(row)

    record_vectors = _new_faiss_index(embedder.dim, kind)
    record_vectors.add(_embed(embedder, [record_text(r) for r in records], "Embedding records"))
    question_vectors = _new_faiss_index(embedder.dim, kind)
    question_vectors.add(_embed(embedder, [r.question for r in records], "Embedding questions"))
    answer_vectors = _new_faiss_index(embedder.dim, kind)
    answer_vectors.add(_embed(embedder, chunk_texts, "Embedding answers"))
    searches = [(row, text) for row, r in enumerate(records) for text in expansions.get(r.id, ())]
    expansion_vectors = _new_faiss_index(embedder.dim, kind)
    if searches:
        expansion_vectors.add(_embed(embedder, [text for _, text in searches], "Embedding searches"))
    expansion_rows = np.asarray([row for row, _ in searches], dtype=np.int64)
    keyword = KeywordIndex.build([keyword_text(r, expansions.get(r.id, ())) for r in records])
    rows = np.asarray(chunk_rows, dtype=np.int64)

    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.building-", dir=directory.parent))
    try:
        faiss = _faiss()
        faiss.write_index(record_vectors, str(tmp / RECORD_FILE))
        faiss.write_index(question_vectors, str(tmp / QUESTION_FILE))
        faiss.write_index(answer_vectors, str(tmp / ANSWER_FILE))
        np.save(tmp / CHUNK_ROWS_FILE, rows)
        faiss.write_index(expansion_vectors, str(tmp / EXPANSION_FILE))
        np.save(tmp / EXPANSION_ROWS_FILE, expansion_rows)
        keyword.save(tmp / KEYWORD_DIR)
        files = {
            str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            corpus_hash=corpus_hash,
            embedder=embedder.name,
            dim=embedder.dim,
            kind=kind,
            count=len(records),
            chunk_count=len(chunk_texts),
            expansion_count=len(searches),
            expansions=expansion_hash(expansions) if expansions else "",
            ids=tuple(r.id for r in records),
            built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            build_seconds=round(time.perf_counter() - started, 3),
            files=files,
        )
        (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
        _swap_in(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SearchIndex(
        manifest, record_vectors, question_vectors, answer_vectors, rows, keyword, expansion_vectors, expansion_rows
    )


def _swap_in(new: Path, directory: Path) -> None:
    old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
    if directory.exists():
        os.replace(directory, old)
    os.replace(new, directory)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    if not path.is_file():
        raise StaleIndex("no index has been built yet")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise StaleIndex(f"index format {data.get('format_version')} is not the current {FORMAT_VERSION}")
        data["ids"] = tuple(data["ids"])
        return Manifest(**data)
    except StaleIndex:
        raise
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise CorruptIndex(f"its manifest is unreadable ({exc})") from None


def _check(directory: Path, manifest: Manifest, corpus_hash: str, embedder: str, dim: int | None,
           expansions: Mapping[str, Sequence[str]] | None) -> None:
    """Raise StaleIndex or CorruptIndex unless the index matches the corpus, the written searches and
    the embedder (``dim``: None when the embedder is not loaded) and every file has its SHA-256."""
    if manifest.corpus_hash != corpus_hash:
        raise StaleIndex("the corpus has changed since it was built")
    if manifest.expansions != (expansion_hash(expansions) if expansions else ""):
        raise StaleIndex("the searches written for the records have changed since it was built")
    if manifest.embedder != embedder or dim not in (None, manifest.dim):
        raise StaleIndex(f"it was built with {manifest.embedder} ({manifest.dim}-d), not {embedder}")
    for name, expected in manifest.files.items():
        path = directory / name
        if not path.is_file() or _sha256(path) != expected:
            raise CorruptIndex(f"{name} is missing or damaged")


def index_status(directory: Path, corpus_hash: str, embedder: str,
                 expansions: Mapping[str, Sequence[str]] | None = None) -> tuple[Manifest | None, str | None]:
    """The index's manifest (None when it cannot be read) and why it cannot be used as it is (None:
    up to date), by the same checks as load_index, without loading the vectors or the embedder."""
    try:
        manifest = read_manifest(directory)
    except (StaleIndex, CorruptIndex) as reason:
        return None, str(reason)
    try:
        _check(directory, manifest, corpus_hash, embedder, None, expansions)
    except (StaleIndex, CorruptIndex) as reason:
        return manifest, str(reason)
    return manifest, None


def load_index(
    directory: Path, corpus_hash: str, embedder: Embedder, expansions: Mapping[str, Sequence[str]] | None = None
) -> SearchIndex:
    """Load an index, refusing one that does not match the corpus, expansions and embedder or is damaged."""
    manifest = read_manifest(directory)
    _check(directory, manifest, corpus_hash, embedder.name, embedder.dim, expansions)
    try:
        faiss = _faiss()
        record_vectors = faiss.read_index(str(directory / RECORD_FILE))
        question_vectors = faiss.read_index(str(directory / QUESTION_FILE))
        answer_vectors = faiss.read_index(str(directory / ANSWER_FILE))
        rows = np.load(directory / CHUNK_ROWS_FILE)
        keyword = KeywordIndex.load(directory / KEYWORD_DIR)
        expansion_vectors = faiss.read_index(str(directory / EXPANSION_FILE))
        expansion_rows = np.load(directory / EXPANSION_ROWS_FILE)
    except CorruptIndex:
        raise
    except Exception as exc:  # faiss and bm25s raise various types on bad files
        raise CorruptIndex(f"a file could not be read ({exc})") from None
    counts = (record_vectors.ntotal, question_vectors.ntotal, answer_vectors.ntotal, len(rows))
    if counts != (manifest.count, manifest.count, manifest.chunk_count, manifest.chunk_count) or (
        expansion_vectors.ntotal != manifest.expansion_count or len(expansion_rows) != manifest.expansion_count
    ):
        raise CorruptIndex("its vector counts do not match the manifest")
    return SearchIndex(
        manifest, record_vectors, question_vectors, answer_vectors, rows, keyword, expansion_vectors, expansion_rows
    )


def open_index(
    records: Sequence[Record],
    corpus_hash: str,
    embedder: Embedder,
    directory: Path,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
    expansions: Mapping[str, Sequence[str]] | None = None,
) -> SearchIndex:
    """Load the index, or rebuild it (saying why) when it is missing, stale or damaged."""
    try:
        return load_index(directory, corpus_hash, embedder, expansions)
    except (StaleIndex, CorruptIndex) as reason:
        verb = "Rebuilding" if directory.exists() else "Building"
        log(f"{verb} the search index in {directory}: {reason}.")
    return rebuild_index(records, corpus_hash, embedder, directory, expansions)


def rebuild_index(
    records: Sequence[Record],
    corpus_hash: str,
    embedder: Embedder,
    directory: Path,
    expansions: Mapping[str, Sequence[str]] | None = None,
) -> SearchIndex:
    """build_index for users: a folder that cannot be written is a clear error, not a traceback."""
    try:
        return build_index(records, corpus_hash, embedder, directory, expansions=expansions)
    except OSError as exc:
        raise IndexStoreError(
            f"Cannot write the index to {directory} ({exc.strerror or exc}); "
            "pass --index or set ASSISTANT_INDEX_DIR to a writable folder."
        ) from None
