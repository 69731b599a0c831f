"""Document expansion (doc2query): the searches a candidate would type for each record, written
once by the local model and indexed beside the record's own question.

Expansions are kept per record, keyed by a hash of the record's question and answer, so an
edited record gets new ones and an unchanged one keeps its own. The shipped bank's expansions
are committed (``corpus/expansions.json``) so a first run need not generate them; a user's own
bank gets them from ``assistant index build --expand`` (the model writes about one record every
6 s). The shipped file is the cache file that command writes for the bank from an empty cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from assistant.corpus import Record
from assistant.text import line_key

SHIPPED = Path(__file__).resolve().parents[2] / "corpus" / "expansions.json"
MAX_WORDS = 25  # longer lines are not searches
ANSWER_WORDS = 100  # of the reference shown to the model

SYSTEM = "You write the searches students type when they look for an answer. Follow the format of the example exactly."
_REQUEST = (
    "Question: {question}\nAnswer: {answer}\n\n"
    "Write 9 searches: 3 short, 2 casual, 2 unnamed, 1 symptom, 1 formula (or one more casual if there is "
    "no formula). Every search must be different from the others and from the question; unnamed searches "
    "must not use the name of the idea."
)
# Two worked examples on concepts the bank does not hold, so nothing of the bank leaks into them.
_EXAMPLES = (
    (
        "What is label smoothing?",
        "Label smoothing replaces the one-hot target with a mix of the one-hot vector and a uniform "
        "distribution, e.g. 0.9 for the true class and the rest spread over the others. It stops the "
        "model from becoming over-confident and improves calibration.",
        "short: label smoothing\nshort: lable smoothing\nshort: soft targets one-hot\n"
        "casual: why would you not train on hard 0/1 labels\ncasual: how do I stop my classifier being so overconfident\n"
        "unnamed: replacing the 1 in the target with 0.9 and sharing the rest among the other classes\n"
        "unnamed: mixing the one-hot target with a uniform distribution\n"
        "symptom: my model predicts 0.999 for everything and is badly calibrated\n"
        "formula: y = (1 - eps) * onehot + eps / K",
    ),
    (
        "What is gradient checkpointing?",
        "Gradient checkpointing saves memory during training: only some layer activations are stored in "
        "the forward pass, and the others are recomputed during the backward pass. It trades extra compute "
        "for a much smaller memory footprint, which allows bigger models or batches.",
        "short: gradient checkpointing\nshort: activation recomputation\nshort: grad checkpoint pytorch\n"
        "casual: how can I train a bigger model on the same gpu\ncasual: is it worth recomputing activations to save memory\n"
        "unnamed: storing only some activations and recomputing the rest in the backward pass\n"
        "unnamed: trading compute for memory when training deep nets\n"
        "symptom: CUDA out of memory during the backward pass\nformula: torch.utils.checkpoint",
    ),
)
_LABEL = re.compile(r"^\s*(?:[-*\d.)]+\s*)?(?:short|casual|unnamed|symptom|formula)\s*:\s*", re.I)


def record_key(record: Record) -> str:
    return hashlib.sha256(f"{record.question}\n{record.answer_text}".encode()).hexdigest()[:16]


def prompt(record: Record) -> list[dict]:
    answer = " ".join(record.answer_text.split()[:ANSWER_WORDS])
    messages = [{"role": "system", "content": SYSTEM}]
    for question, reference, searches in _EXAMPLES:
        messages.append({"role": "user", "content": _REQUEST.format(question=question, answer=reference)})
        messages.append({"role": "assistant", "content": searches})
    messages.append({"role": "user", "content": _REQUEST.format(question=record.question, answer=answer)})
    return messages


def parse_searches(reply: str, question: str) -> list[str]:
    """The model's lines as searches: labels and quotes stripped, repeats, copies of the question,
    empty and overlong lines dropped (pure)."""
    seen = {line_key(question)}
    out = []
    for line in reply.splitlines():
        text = _LABEL.sub("", line).strip().strip("\"'`").strip()
        key = line_key(text)
        if not key or key in seen or len(text.split()) > MAX_WORDS:
            continue
        seen.add(key)
        out.append(text)
    return out


class ExpansionStore:
    """Per-record expansions read from the shipped file and the user's cache; new ones go to the cache."""

    def __init__(self, cache_file: Path, shipped: Path = SHIPPED) -> None:
        self.cache_file = cache_file
        self._data: dict[str, list[str]] = {}
        self._new: dict[str, list[str]] = {}
        for path in (shipped, cache_file):
            self._data.update(_read(path))

    def get(self, record: Record) -> tuple[str, ...]:
        return tuple(self._data.get(record_key(record), ()))

    def for_records(self, records: Sequence[Record]) -> dict[str, tuple[str, ...]]:
        """Record id -> its expansions (records without any are left out)."""
        return {r.id: searches for r in records if (searches := self.get(r))}

    def missing(self, records: Sequence[Record]) -> list[Record]:
        return [r for r in records if record_key(r) not in self._data]

    def put(self, record: Record, searches: Iterable[str]) -> None:
        self._data[record_key(record)] = self._new[record_key(record)] = list(searches)

    def save(self) -> None:
        """Add the expansions written since loading to the cache file (atomically)."""
        _write(self.cache_file, {**_read(self.cache_file), **self._new})


def _write(path: Path, data: dict[str, list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(sorted(data.items())), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _read(path: Path) -> dict[str, list[str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        print(f"Ignoring unreadable expansions file {path}; run 'assistant index build --expand' to rewrite it.", file=sys.stderr)
        return {}
    return {k: [str(s) for s in v] for k, v in data.items() if isinstance(v, list)}


def expand(
    records: Sequence[Record],
    store: ExpansionStore,
    generator,
    on_record: Callable[[Record, list[str]], None] = lambda record, searches: None,
) -> int:
    """Have the model write searches for every record the store lacks; saves after each record so an
    interrupted run keeps what it wrote. Returns how many records were expanded."""
    from tqdm import tqdm

    todo = store.missing(records)
    for record in tqdm(todo, desc="Writing searches", unit="record", file=sys.stderr, disable=None):
        reply = "".join(generator.stream(prompt(record), max_tokens=220))
        searches = parse_searches(reply, record.question)
        store.put(record, searches)
        store.save()
        on_record(record, searches)
    return len(todo)


def expansion_hash(expansions: Mapping[str, Sequence[str]]) -> str:
    """One hash of the expansions an index was built with (the index rebuilds when it changes)."""
    return hashlib.sha256(json.dumps(sorted((k, list(v)) for k, v in expansions.items())).encode()).hexdigest()[:16]
