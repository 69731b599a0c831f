"""The verifier's training data, made from the bank: (key point, statement, label) pairs.

Three labels, as rubric-entailment grading uses them: the key point *supports* the statement,
*contradicts* it, or does *not address* it. Each pair says how it was made:

- written (the slow part, done once and committed in ``corpus/verifier_statements.json``): the
  local model, shown one key point and two worked examples on concepts outside the bank, writes
  two true restatements (as a candidate would say them: shorter, other words, one clause) and
  three false ones (the opposite, swapped roles, a wrong detail). The judge then reads each against
  its key point and its P(yes) is kept beside it: a written "true" statement the judge finds false
  (or a "false" one it finds true) is the writer's mistake, and training gives such a pair the
  judge's opinion as a soft label rather than the label it was written under.
- rule-made (free, derived here, deterministic): the point itself and its clauses (supported); a
  swap of two words whose exchange flips a claim, or a negation, of the point and of each written
  true statement (contradicted); the other points of the same answer and the points and true
  statements of the nearest other questions (not addressed).

The verifier reads each statement against the record's question followed by the key point (``premise``).

Records are split by a hash of their id into train / dev / test (70/15/15) before anything is
trained, so a test record's points and statements are never seen in training: its numbers say
what a user's own bank would get.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from assistant.corpus import Corpus, Record
from assistant.text import line_key

SHIPPED = Path(__file__).resolve().parents[2] / "corpus" / "verifier_statements.json"
LABELS = ("supported", "contradicted", "not addressed")
SPLITS = (("train", 70), ("dev", 15), ("test", 15))

SYSTEM = ("You write statements that interview candidates say about one key point of a reference answer. "
          "Follow the format of the examples exactly.")
_REQUEST = (
    "Question: {question}\nKey point: {point}\n\n"
    "Write 2 true statements (the key point said in other words, as a candidate would say it: shorter, or one "
    "part of it) and 3 false statements (one saying the opposite, one swapping the roles of two things, one "
    "with a wrong detail). Each false statement must sound confident and stay on the same topic."
)
# Worked examples on concepts the bank does not hold, so nothing of the bank leaks into them.
_EXAMPLES = (
    ("What is label smoothing?",
     "Label smoothing replaces the one-hot target with a mix of the one-hot vector and a uniform distribution, "
     "which stops the model from becoming over-confident.",
     "true: Instead of hard 0/1 targets you train on a blend of the one-hot vector and a uniform distribution.\n"
     "true: It keeps the network from getting overconfident.\n"
     "false: Label smoothing makes the model more confident by pushing the true class to exactly 1.\n"
     "false: It mixes the model's predictions with a uniform distribution, while the targets stay one-hot.\n"
     "false: Label smoothing replaces the one-hot target with a Gaussian distribution over the classes."),
    ("What is gradient checkpointing?",
     "Only some activations are stored during the forward pass and the others are recomputed during the "
     "backward pass, trading extra compute for less memory.",
     "true: You keep a subset of the activations and recompute the rest when backpropagating.\n"
     "true: It spends more computation to save memory.\n"
     "false: It stores every activation so that nothing has to be recomputed.\n"
     "false: The activations are recomputed during the forward pass and stored for the backward pass.\n"
     "false: It saves compute at the cost of using more memory."),
)
_LINE = re.compile(r"^\s*(?:[-*\d.)]+\s*)?(true|false)\s*:\s*(.+?)\s*$", re.I)
MAX_WORDS = 60  # a longer line is not one statement
WRITE_TOKENS = 200

# Word pairs whose exchange turns a claim into a false one (roles and directions candidates confuse).
SWAPS = (
    ("epoch", "iteration"), ("generator", "discriminator"), ("encoder", "decoder"), ("input", "output"),
    ("training", "inference"), ("training", "testing"), ("forward", "backward"), ("higher", "lower"),
    ("increase", "decrease"), ("increases", "decreases"), ("larger", "smaller"), ("large", "small"),
    ("more", "less"), ("before", "after"), ("positive", "negative"), ("maximize", "minimize"),
    ("overfitting", "underfitting"), ("weights", "biases"), ("rows", "columns"), ("first", "last"),
    ("supervised", "unsupervised"), ("faster", "slower"), ("reduces", "increases"), ("reduce", "increase"),
    ("sigmoid", "tanh"), ("max", "min"), ("deep", "shallow"), ("linear", "nonlinear"), ("always", "never"),
)
_NEGATABLE = re.compile(r"\b(is|are|can|does|do|will|helps|help|has|have|should|must)\b", re.I)
_NEGATED = {"is": "is not", "are": "are not", "can": "cannot", "does": "does not", "do": "do not", "will": "will not",
            "helps": "does not help", "help": "do not help", "has": "does not have", "have": "do not have",
            "should": "should not", "must": "must not"}


@dataclass(frozen=True)
class Pair:
    record: str  # the record id the key point belongs to
    point: str  # the premise: a key point of the reference answer
    statement: str
    label: str  # supported / contradicted / not addressed
    how: str  # written-true, written-false, written-flip, point, clause, swap, negation, same-answer, neighbour
    split: str
    judge: float | None = None  # the judge's P(the point supports the statement), where it was asked
    question: str = ""  # the record's question, read before the point (premise)

    @property
    def premise(self) -> str:
        return premise(self.question, self.point)


def premise(question: str, point: str) -> str:
    """What the verifier reads a statement against: the record's question, then one key point. Many
    points lean on the question ("It is used to achieve stable and fast training"); the judge reads
    the question too. With it, true statements in other words were kept more often on the dev sets
    (bench/verifier_recipes.py)."""
    return f"{' '.join(question.split())} {point}".strip()


def split_of(record_id: str) -> str:
    """train / dev / test by a hash of the record id (stable when other records change)."""
    bucket = int(hashlib.sha256(record_id.encode()).hexdigest()[:8], 16) % 100
    for name, share in SPLITS:
        if bucket < share:
            return name
        bucket -= share
    return SPLITS[-1][0]


def point_key(record: Record, point: str) -> str:
    return hashlib.sha256(f"{record.question}\n{point}".encode()).hexdigest()[:16]


def points_of(record: Record) -> list[str]:
    """The premises of a record: its key points (top-level bullets with their sub-bullets)."""
    from assistant.grading import Grader

    return [" ".join(p.split()) for p in Grader.key_points(record)]


def writer_messages(question: str, point: str) -> list[dict]:
    messages = [{"role": "system", "content": SYSTEM}]
    for q, p, reply in _EXAMPLES:
        messages += [{"role": "user", "content": _REQUEST.format(question=q, point=p)}, {"role": "assistant", "content": reply}]
    return messages + [{"role": "user", "content": _REQUEST.format(question=" ".join(question.split()), point=point)}]


def parse_statements(reply: str, point: str) -> dict[str, list[str]]:
    """The model's "true:" and "false:" lines (pure): copies of the point, repeats and overlong lines dropped."""
    out: dict[str, list[str]] = {"true": [], "false": []}
    seen = {line_key(point)}
    for line in reply.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        text = match.group(2).strip().strip("\"'`").strip()
        if not text or line_key(text) in seen or len(text.split()) > MAX_WORDS:
            continue
        seen.add(line_key(text))
        out[match.group(1).lower()].append(text)
    return out


# ----------------------------------------------------------------------------- rule-made statements


def swapped(point: str) -> list[str]:
    """The point with one pair of role or direction words exchanged (each pair present, once)."""
    out = []
    for a, b in SWAPS:
        pattern = re.compile(rf"\b({re.escape(a)}|{re.escape(b)})\b", re.I)
        found = {m.group(1).lower() for m in pattern.finditer(point)}
        if not found:
            continue
        flipped = pattern.sub(lambda m: _same_case(m.group(1), b if m.group(1).lower() == a else a), point)
        if flipped != point:
            out.append(flipped)
    return out


def negated(point: str) -> str | None:
    """The point with its first verb negated ("is" → "is not"), or None when it already denies or has none."""
    if re.search(r"\b(not|no|never|cannot|n't)\b", point, re.I):
        return None
    match = _NEGATABLE.search(point)
    if not match:
        return None
    return point[: match.start()] + _same_case(match.group(1), _NEGATED[match.group(1).lower()]) + point[match.end():]


def _same_case(original: str, new: str) -> str:
    return new[0].upper() + new[1:] if original[:1].isupper() else new


def clauses(point: str) -> list[str]:
    """Parts of a long point that each state something on their own (split at ';' and ':')."""
    parts = [p.strip(" .") for p in re.split(r"[;:]\s+", point)]
    return [p for p in parts if len(p.split()) >= 5 and p != point.strip(" .")] if len(parts) > 1 else []


# ----------------------------------------------------------------------------- the written statements


class StatementStore:
    """Per key point: the statements the model wrote and the judge's P(yes) for each; saved as they come."""

    def __init__(self, path: Path = SHIPPED) -> None:
        self.path = path
        try:
            self.data: dict[str, dict] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.data = {}
        except (OSError, ValueError):
            raise SystemExit(f"{path} is not readable JSON; move it away to write it anew.") from None

    @classmethod
    def shipped_and_own(cls, own: Path):
        """The shipped lines (the class's default file) with a user's own file over them, for training."""
        store = cls()
        store.data.update(cls(own).data)
        return store

    def get(self, record: Record, point: str) -> dict | None:
        return self.data.get(point_key(record, point))

    def put(self, record: Record, point: str, entry: dict) -> None:
        self.data[point_key(record, point)] = {"record": record.id, **entry}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dict(sorted(self.data.items())), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


def writing_order(corpus: Corpus, seed: int = 0) -> list[tuple[Record, str]]:
    """Every (record, key point), shuffled with a fixed seed so that a run stopped early still covers
    every split and part evenly."""
    todo = [(r, p) for r in corpus for p in points_of(r)]
    random.Random(seed).shuffle(todo)
    return todo


def write_points(corpus: Corpus, store: StatementStore, write: Callable[[Record, str], dict], desc: str,
                 limit: int | None = None, known: StatementStore | None = None, keep: Callable[[Record], bool] = lambda r: True,
                 on_point: Callable[[Record, str, dict], None] = lambda r, p, e: None) -> int:
    """``write`` an entry for every key point of the ``keep`` records that neither ``store`` nor
    ``known`` (the shipped file) has, in the writing order, with a progress bar; saves after each
    point, so an interrupted run keeps what it wrote. Returns how many were written."""
    from tqdm import tqdm

    todo = [(r, p) for r, p in writing_order(corpus)
            if keep(r) and store.get(r, p) is None and (known is None or known.get(r, p) is None)][:limit]
    for record, point in tqdm(todo, desc=desc, unit="point", file=sys.stderr, disable=None):
        entry = write(record, point)
        store.put(record, point, entry)
        store.save()
        on_point(record, point, entry)
    return len(todo)


def write_statements(corpus: Corpus, store: StatementStore, generator, judge=None, limit: int | None = None,
                     known: StatementStore | None = None,
                     on_point: Callable[[Record, str, dict], None] = lambda r, p, e: None) -> int:
    """Have the model write statements for every key point that neither ``store`` nor ``known`` has,
    and the judge read them (see write_points)."""
    def write(record: Record, point: str) -> dict:
        reply = "".join(generator.stream(writer_messages(record.question, point), WRITE_TOKENS))
        entry: dict = parse_statements(reply, point)
        if judge is not None:
            reference = f"{record.question}\n{point}"
            entry["judge"] = {s: round(judge.supports(reference, s), 4) for s in entry["true"] + entry["false"]}
        return entry

    return write_points(corpus, store, write, "Writing statements", limit, known, on_point=on_point)


# ----------------------------------------------------------------------------- the pairs


def build_pairs(corpus: Corpus, store: StatementStore, neighbours: dict[str, list[str]], seed: int = 0) -> list[Pair]:
    """Every training pair the bank and the written statements give (deterministic for a seed).

    ``neighbours`` maps a record id to the ids of its nearest other records (by embeddings): their
    points and true statements are the hard "not addressed" cases."""
    rng = random.Random(seed)
    pairs: list[Pair] = []
    written_true: dict[str, list[str]] = {}
    for record in corpus:
        for point in points_of(record):
            entry = store.get(record, point) or {}
            written_true.setdefault(record.id, []).extend(entry.get("true", []))
    for record in corpus:
        split = split_of(record.id)
        points = points_of(record)
        for i, point in enumerate(points):
            add = lambda statement, label, how, judge=None: pairs.append(Pair(record.id, point, statement, label, how, split, judge,
                                                                              record.question))
            add(point, "supported", "point")
            for clause in clauses(point):
                add(clause, "supported", "clause")
            for flipped in swapped(point)[:2]:
                add(flipped, "contradicted", "swap")
            if (denied := negated(point)) is not None:
                add(denied, "contradicted", "negation")
            entry = store.get(record, point) or {}
            judged = entry.get("judge", {})
            for statement in entry.get("true", []):
                add(statement, "supported", "written-true", judged.get(statement))
            for statement in entry.get("false", []):
                add(statement, "contradicted", "written-false", judged.get(statement))
            others = [p for j, p in enumerate(points) if j != i]
            for other in rng.sample(others, min(1, len(others))):
                add(other, "not addressed", "same-answer")
            near = [s for rid in neighbours.get(record.id, [])[:3] for s in written_true.get(rid, []) + points_of(corpus.get(rid))]
            for statement in rng.sample(near, min(2, len(near))):
                add(statement, "not addressed", "neighbour")
    return pairs + [replace(p, statement=flip, label="contradicted", how="written-flip", judge=None)
                    for p in pairs if p.how == "written-true" for flip in flips(p.statement)]


def flips(statement: str) -> list[str]:
    """A true statement made false by rule: its first role/direction swap and its negation, where
    they apply. With flips of the key points alone, reworded false statements went uncaught; adding
    flips of the written paraphrases caught 18 of 25 false statements on heldout2 (a dev set) where
    13 were caught before, and 31 of 63 role/direction swaps of the dev split where 9 were, at a cost
    in true statements kept (12 → 9 of 32) that reading the question won back (13).
    bench/verifier_recipes.py measures each."""
    return swapped(statement)[:1] + [s for s in [negated(statement)] if s]


def nearest_records(corpus: Corpus, embedder, k: int = 3) -> dict[str, list[str]]:
    """Each record's k nearest other records by the cosine of their question+answer vectors."""
    import numpy as np

    records = list(corpus)
    vectors = embedder.encode([f"{r.question} {r.answer_text}" for r in records])
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1.0)
    return {r.id: [records[j].id for j in np.argsort(-row)[:k]] for r, row in zip(records, similarity)}


def write_pairs(pairs: Iterable[Pair], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")


def read_pairs(path: Path) -> list[Pair]:
    return [Pair(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def label_counts(pairs: Sequence[Pair]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for pair in pairs:
        out.setdefault(pair.split, {label: 0 for label in LABELS})[pair.label] += 1
    return out
