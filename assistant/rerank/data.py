"""The reranker's training data, made from the bank: (query, record, relevant?) pairs.

Queries worth training on are the ones an interviewer or a candidate types and today's fusion
misses: a concept described without its name, a symptom, a formula, a comparison, a casual or
misspelt one, an interviewer's follow-up. They come from three places:

- written (the slow part, done once and committed in ``corpus/reranker_queries.json``): the local
  model, shown one key point of a record and two worked examples on concepts outside the bank,
  writes one query of each style. A written query that uses the record's own title words is
  rejected (those are the rewordings of the question that the old written searches are full of);
  how many survive is counted in the file.
- the bank's own: the written searches (``corpus/expansions.json``) and the true statements the
  verifier's writer made (``corpus/verifier_statements.json``, the point in a candidate's words).
- out of scope: topics next to the bank that it does not cover, proposed by the model and read by
  hand (``corpus/reranker_out_of_scope.txt``); every record is a negative for them.

Hard negatives are the records today's fusion ranks 2-10 for a query that are not its record,
leaving out the record's near-twins (two questions the bank answers alike, such as p1-q23 and
p3-q4), which would be false negatives.

Records are split by the verifier's split (a hash of the id) before training, so dev and test
records' queries are never trained on.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from assistant.corpus import Corpus, Record
from assistant.text import line_key
from assistant.verify.data import StatementStore, points_of, split_of, write_points

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "corpus" / "reranker_queries.json"
OUT_OF_SCOPE = ROOT / "corpus" / "reranker_out_of_scope.txt"
STYLES = ("unnamed", "symptom", "formula", "compare", "casual", "followup")
WRITE_TOKENS = 150
MAX_WORDS = 30

SYSTEM = ("You write the questions interviewers and candidates type into a search box about one key point of an "
          "interview answer. Follow the format of the examples exactly.")
_REQUEST = (
    "Question: {question}\nKey point: {point}\n\n"
    "Write 6 searches, one per line: unnamed (describe the idea without naming it), symptom (a problem in "
    "practice that this point answers), formula (notation or code; or 'none'), compare (against a related idea), "
    "casual (short, lower case, one typo), followup (an interviewer's next question). Never use the words of "
    "the question's title in the unnamed, symptom and casual searches."
)
_EXAMPLES = (
    ("What is label smoothing?",
     "It replaces the one-hot target with a mix of the one-hot vector and a uniform distribution, which stops the "
     "model from becoming over-confident.",
     "unnamed: training on 0.9 for the true class and spreading the rest over the other classes\n"
     "symptom: my classifier outputs 0.999 for everything and is badly calibrated\n"
     "formula: y = (1 - eps) * onehot + eps / K\n"
     "compare: soft targets vs hard one-hot targets for classification\n"
     "casual: why not train on hard 0/1 lables\n"
     "followup: what value of epsilon would you pick and why"),
    ("What is gradient checkpointing?",
     "Only some activations are stored during the forward pass and the others are recomputed during the backward "
     "pass, trading extra compute for less memory.",
     "unnamed: keeping only some activations and recomputing the rest when backpropagating\n"
     "symptom: CUDA out of memory during the backward pass of a big model\n"
     "formula: torch.utils.checkpoint.checkpoint(block, x)\n"
     "compare: recomputing activations vs a smaller batch to save memory\n"
     "casual: how to fit a biger model on my gpu\n"
     "followup: how much slower does training get when you do this"),
)
_LINE = re.compile(r"^\s*(?:[-*\d.)]+\s*)?(" + "|".join(STYLES) + r")\s*:\s*(.+?)\s*$", re.I)
_STOP = set("a an the of in on to for and or is are what does do how why when which with by vs versus mean means "
            "explain give some list nn neural network networks deep learning it its there this that".split())


@dataclass(frozen=True)
class Query:
    text: str
    record: str | None  # the record that answers it; None: out of scope
    how: str  # written-<style>, search, statement, out-of-scope
    split: str


def title_words(question: str) -> set[str]:
    """The content words of a record's question ("What does Dropout mean?" -> {"dropout"})."""
    words = re.findall(r"[a-z0-9]+", question.lower())
    return {w for w in words if w not in _STOP and len(w) > 2 and not re.fullmatch(r"q\d+", w)}


def names_record(text: str, question: str) -> bool:
    """Does the query use a title word of the record (a plural or a prefix of 5+ letters counts)?"""
    words = set(re.findall(r"[a-z0-9]+", text.lower()))
    for title in title_words(question):
        if title in words or any(len(title) >= 5 and w.startswith(title[:5]) for w in words):
            return True
    return False


def writer_messages(question: str, point: str) -> list[dict]:
    messages = [{"role": "system", "content": SYSTEM}]
    for q, p, reply in _EXAMPLES:
        messages += [{"role": "user", "content": _REQUEST.format(question=q, point=p)}, {"role": "assistant", "content": reply}]
    return messages + [{"role": "user", "content": _REQUEST.format(question=" ".join(question.split()), point=point)}]


def parse_queries(reply: str, question: str) -> tuple[dict[str, str], dict[str, str]]:
    """The model's "style: query" lines (pure): kept, and rejected for naming the record (style -> text).

    A formula of 'none', repeats and overlong lines are dropped; compare and followup queries may
    name the record (an interviewer names what they follow up on)."""
    kept: dict[str, str] = {}
    rejected: dict[str, str] = {}
    seen: set[str] = set()
    for line in reply.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        style, text = match.group(1).lower(), match.group(2).strip().strip("\"'`").strip()
        key = line_key(text)
        if style in kept or not key or key in ("none", "n a") or key in seen or len(text.split()) > MAX_WORDS:
            continue
        seen.add(key)
        if style in ("unnamed", "symptom", "casual", "formula") and names_record(text, question):
            rejected[style] = text
        else:
            kept[style] = text
    return kept, rejected


class QueryStore(StatementStore):
    """Per key point (keyed as the verifier's statements are): the queries the model wrote, kept and
    rejected; saved after each point."""

    def __init__(self, path: Path = SHIPPED) -> None:
        super().__init__(path)


def write_queries(corpus: Corpus, store: QueryStore, generator, limit: int | None = None, splits: Sequence[str] = ("train", "dev"),
                  known: QueryStore | None = None, on_point: Callable[[Record, str, dict], None] = lambda r, p, e: None) -> int:
    """Have the model write queries for the key points of the ``splits`` records that neither
    ``store`` nor ``known`` has (see write_points). Test records get none: their numbers say what a
    bank the reranker never saw would get. Returns how many points were written."""
    def write(record: Record, point: str) -> dict:
        kept, rejected = parse_queries("".join(generator.stream(writer_messages(record.question, point), WRITE_TOKENS)),
                                       record.question)
        return {"kept": kept, "rejected": rejected}

    return write_points(corpus, store, write, "Writing queries", limit, known, keep=lambda r: split_of(r.id) in splits,
                        on_point=on_point)


def survival(store: QueryStore) -> tuple[int, int]:
    """How many written queries were kept, and how many rejected for naming their record."""
    entries = store.data.values()
    return sum(len(e.get("kept", {})) for e in entries), sum(len(e.get("rejected", {})) for e in entries)


# ----------------------------------------------------------------------------- the queries and pairs


def read_out_of_scope(path: Path = OUT_OF_SCOPE) -> list[str]:
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def training_queries(corpus: Corpus, store: QueryStore, searches: dict[str, Sequence[str]], statements,
                     out_of_scope: Sequence[str]) -> list[Query]:
    """Every query the bank gives, each with its record and split (out-of-scope ones by a hash of their text)."""
    out: list[Query] = []
    for record in corpus:
        split = split_of(record.id)
        for point in points_of(record):
            entry = store.get(record, point) or {}
            out += [Query(text, record.id, f"written-{style}", split) for style, text in entry.get("kept", {}).items()]
            written = statements.get(record, point) or {}
            out += [Query(text, record.id, "statement", split) for text in written.get("true", [])]
        out += [Query(text, record.id, "search", split) for text in searches.get(record.id, ())]
    out += [Query(text, None, "out-of-scope", split_of(text)) for text in out_of_scope]
    return out


@dataclass(frozen=True)
class Pair:
    query: str
    record: str  # the candidate record
    label: float  # 1: it answers the query
    how: str
    split: str


# Read off every pair of the bank's questions with an mpnet cosine of 0.7 or more (2026-12-02): only
# p1-q23 / p3-q4 (0.963, parameters and hyperparameters, asked twice) answer each other's queries.
# The next pairs are the distinctions a reranker must learn, not twins: overfitting / underfitting
# (0.913), deep learning / deep neural network (0.882), RNN / LSTM applications (0.870), batch /
# mini-batch gradient descent (0.847). The first guess, 0.8, left all of those out as negatives.
TWIN_COSINE = 0.93


def near_twins(corpus: Corpus, embedder, threshold: float = TWIN_COSINE) -> dict[str, set[str]]:
    """Records whose questions are so alike that either answers the other's queries (cosine of the
    question vectors at or above ``threshold``)."""
    records = list(corpus)
    vectors = embedder.encode([r.question for r in records])
    similarity = vectors @ vectors.T
    return {r.id: {records[j].id for j in range(len(records)) if j != i and similarity[i, j] >= threshold}
            for i, r in enumerate(records)}


def build_pairs(queries: Sequence[Query], candidates: Callable[[str], list[str]], twins: dict[str, set[str]],
                negatives: int = 4, seed: int = 0) -> list[Pair]:
    """(query, its record, 1) and (query, a hard negative, 0) pairs; the hard negatives are the
    fusion's candidates that are neither the record nor its near-twins (deterministic for a seed)."""
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for query in queries:
        ranked = candidates(query.text)
        if query.record is not None:
            pairs.append(Pair(query.text, query.record, 1.0, query.how, query.split))
        wrong = [rid for rid in ranked[:10] if rid != query.record and rid not in twins.get(query.record or "", set())]
        hard = wrong[:2] + rng.sample(wrong[2:], min(max(0, negatives - 2), len(wrong[2:])))
        pairs += [Pair(query.text, rid, 0.0, query.how, query.split) for rid in hard]
    return pairs

