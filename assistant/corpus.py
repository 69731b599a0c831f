"""The corpus: markdown question banks parsed into typed, stably-identified records.

Every ``### Q…`` heading starts one record; ``## Part N: title`` headings set the part. The
markdown is parsed with markdown-it-py; text is repaired with ftfy when it is read (the seed
document is UTF-8 that was once decoded as cp1252: "ðŸ§ " for "🧠").
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, Iterator

from assistant.errors import CorpusError, UnknownQuestionError

# Records of this file get bare ids (``p3-q26``); other files' ids carry their stem as prefix.
DEFAULT_CORPUS = "deep_learning"

_QUESTION_HEADING = re.compile(r"^Q\s*(\d+)\s*[-–:.)]\s*(.+)$", re.IGNORECASE)
_PART_HEADING = re.compile(r"^Part\s+(\d+)\s*[:.\-–]\s*(.*)$", re.IGNORECASE)
_SOURCE_LINE = re.compile(r"^[*\s]*source\s*:\s*(\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class KeyPoint:
    """A top-level bullet of a reference answer, with its sub-bullets attached."""

    text: str
    sub_points: tuple[str, ...] = ()

    @property
    def full_text(self) -> str:
        if not self.sub_points:
            return self.text
        return f"{self.text} {'; '.join(self.sub_points)}"


@dataclass(frozen=True)
class Record:
    """One interview question with its reference answer."""

    id: str  # stable, from the document: "p3-q26" or "<file stem>/p3-q26"
    corpus: str  # the file stem the record came from
    part: int
    part_title: str
    number: int
    question: str
    answer: str  # markdown of the answer, without images and source links
    answer_text: str  # the same answer as plain text (for embedding, keyword search, grading)
    key_points: tuple[KeyPoint, ...]
    images: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def part_label(self) -> str:
        return f"Part {self.part}: {self.part_title}" if self.part_title else f"Part {self.part}"


class Corpus:
    """All records of a corpus directory, in document order, addressable by id."""

    def __init__(self, records: Iterable[Record], content_hash: str = "") -> None:
        self.records: tuple[Record, ...] = tuple(records)
        self.content_hash = content_hash
        self._by_id = {r.id: r for r in self.records}
        if len(self._by_id) != len(self.records):
            dup = next(rid for rid, n in Counter(r.id for r in self.records).items() if n > 1)
            raise CorpusError(f"Question id {dup!r} appears twice; each question number must be unique within its part.")

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._by_id

    def get(self, record_id: str) -> Record:
        try:
            return self._by_id[record_id]
        except KeyError:
            raise UnknownQuestionError(
                f"No question has the id {record_id!r}; run 'assistant search' to find ids (they look like p3-q26)."
            ) from None


# --------------------------------------------------------------------------- reading


def read_text(path: Path) -> str:
    """Read a corpus file as text, repairing mis-encoded UTF-8; a non-text file is a CorpusError."""
    import ftfy

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"Cannot read corpus file {path}: {exc.strerror or exc}.") from None
    if b"\x00" in data:
        raise CorpusError(f"Corpus file {path} is not a text file (it contains NUL bytes); remove it from the corpus folder.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CorpusError(f"Corpus file {path} is not UTF-8 text; save it as UTF-8 markdown.") from None
    return ftfy.fix_text(text, normalization="NFC")


def load_corpus(corpus_dir: Path) -> Corpus:
    """Load every ``*.md`` file of ``corpus_dir``; the default bank first, then the others by name."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"Corpus folder {corpus_dir} does not exist; set ASSISTANT_CORPUS_DIR or pass --corpus.")
    files = sorted(corpus_dir.glob("*.md"), key=lambda p: (p.stem != DEFAULT_CORPUS, p.name))
    if not files:
        raise CorpusError(f"Corpus folder {corpus_dir} has no .md files; add a question bank such as deep_learning.md.")
    records: list[Record] = []
    digest = hashlib.sha256()
    for path in files:
        text = read_text(path)
        digest.update(path.name.encode() + b"\0" + text.encode() + b"\0")
        parsed = parse_markdown(text, corpus=path.stem)
        if not parsed:
            raise CorpusError(f"Corpus file {path} has no questions; each question needs a heading like '### Q1- What is …?'.")
        records.extend(parsed)
    return Corpus(records, content_hash=digest.hexdigest())


# --------------------------------------------------------------------------- parsing


def parse_markdown(text: str, corpus: str = DEFAULT_CORPUS) -> list[Record]:
    """Parse one question bank into records."""
    from markdown_it import MarkdownIt
    from markdown_it.tree import SyntaxTreeNode

    lines = text.splitlines()
    root = SyntaxTreeNode(MarkdownIt("commonmark").parse(text))
    prefix = "" if corpus == DEFAULT_CORPUS else f"{corpus}/"

    records: list[Record] = []
    part, part_title = 1, ""
    current: tuple[int, str] | None = None  # (number, question) of the open record
    blocks: list[SyntaxTreeNode] = []

    def close() -> None:
        if current is not None:
            records.append(_make_record(prefix, corpus, part, part_title, *current, blocks, lines))

    for node in root.children:
        if node.type == "heading":
            heading = _inline_text(node).strip()
            question = _QUESTION_HEADING.match(heading) if node.tag == "h3" else None
            if question or node.tag in ("h1", "h2"):
                close()
                current, blocks = None, []
            if question:
                current = (int(question.group(1)), " ".join(question.group(2).split()))
            elif node.tag == "h2" and (m := _PART_HEADING.match(heading)):
                part, part_title = int(m.group(1)), " ".join(m.group(2).split()).rstrip(".")
            elif current is not None:
                blocks.append(node)  # a deeper heading inside an answer
        elif current is not None:
            blocks.append(node)
    close()
    return records


def _make_record(prefix, corpus, part, part_title, number, question, blocks, lines) -> Record:
    answer_blocks, images, sources = [], [], []
    for block in blocks:
        found_images = _images(block)
        source = _source_link(block)
        if source:
            sources.append(source)
        elif found_images and not _block_text(block).strip():
            images.extend(found_images)  # a block that only shows a picture
        else:
            images.extend(found_images)
            answer_blocks.append(block)
    answer = "\n\n".join(_source_markdown(b, lines) for b in answer_blocks)
    answer_text = "\n".join(t for b in answer_blocks if (t := _block_text(b)))
    key_points = tuple(
        _key_point(item)
        for block in answer_blocks
        if block.type in ("bullet_list", "ordered_list")
        for item in block.children
    )
    return Record(
        id=f"{prefix}p{part}-q{number}",
        corpus=corpus,
        part=part,
        part_title=part_title,
        number=number,
        question=question,
        answer=answer,
        answer_text=answer_text,
        # A label with nothing under it ("Illustration :" before a removed image) is no point.
        key_points=tuple(kp for kp in key_points if kp.sub_points or (kp.text and not kp.text.endswith(":"))),
        images=tuple(images),
        sources=tuple(sources),
    )


def _source_markdown(node, lines: list[str]) -> str:
    """The block's own markdown source, with inline <img> tags taken out (images are kept apart)."""
    start, end = node.map
    source = "\n".join(lines[start:end])
    for html in _walk(node, "html_inline"):
        if _ImgSrc.sources_of(html.content):
            source = source.replace(html.content, "")
    return "\n".join(line.rstrip() for line in source.splitlines()).strip("\n")


def _inline_text(node) -> str:
    """Plain text of a node's own inline content (not of nested blocks)."""
    parts: list[str] = []
    for child in node.children:
        if child.type == "inline":
            parts.append(_render_inline(child))
    return " ".join(p for p in parts if p)


def _render_inline(inline) -> str:
    out: list[str] = []
    for tok in inline.children:
        if tok.type in ("text", "code_inline"):
            out.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif tok.children and tok.type != "image":  # strong, em, link: their text
            out.append(_render_inline(tok))
    return " ".join("".join(out).split())


def _block_text(node) -> str:
    """Plain text of a block and everything nested in it, one line per paragraph."""
    if node.type == "inline":
        return _render_inline(node)
    if node.type == "html_block":
        return ""
    return "\n".join(t for child in node.children if (t := _block_text(child)))


def _key_point(item) -> KeyPoint:
    head = " ".join(_block_text(c) for c in item.children if c.type not in ("bullet_list", "ordered_list"))
    subs = tuple(
        " ".join(_block_text(sub).split())
        for c in item.children
        if c.type in ("bullet_list", "ordered_list")
        for sub in c.children
    )
    return KeyPoint(text=" ".join(head.split()), sub_points=tuple(s for s in subs if s))


def _source_link(node) -> str | None:
    if node.type != "paragraph":
        return None
    m = _SOURCE_LINE.match(_inline_text(node))
    return m.group(1) if m else None


class _ImgSrc(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    @classmethod
    def sources_of(cls, html: str) -> list[str]:
        parser = cls()
        parser.feed(html)
        return parser.sources

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            src = dict(attrs).get("src")
            if src:
                self.sources.append(src)


def _walk(node, *types: str):
    """Nodes of the given types in and below ``node``, in document order."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in types:
            yield n
        stack.extend(reversed(n.children))


def _images(node) -> list[str]:
    """Image references in a block: <img> tags in HTML and markdown images."""
    found: list[str] = []
    for n in _walk(node, "html_block", "html_inline", "image"):
        found.extend([str(n.attrs.get("src", ""))] if n.type == "image" else _ImgSrc.sources_of(n.content))
    return found
