"""Delivery feedback, as interview coaches give it: length, pace, filler words, the question's key
terms used. Pure functions over a transcript."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from assistant.speech.base import Transcript
from assistant.text import stem, words

# Fillers counted wherever they stand, and "like" only where it is set off by commas or opens a
# sentence ("so, like, the gradient…"), not in "like a sigmoid".
FILLERS = ("um", "uh", "erm", "hmm", "you know", "basically", "actually", "sort of", "kind of", "i mean")
_LIKE = re.compile(r"(^|[,.!?]\s*)like\s*,", re.IGNORECASE)
PACE = (110, 160)  # words per minute that read as a calm, clear interview answer


@dataclass(frozen=True)
class Delivery:
    seconds: float
    words: int
    words_per_minute: float
    fillers: tuple[tuple[str, int], ...]  # (filler, count), most frequent first
    terms_used: tuple[str, ...]
    terms_missed: tuple[str, ...]

    @property
    def filler_count(self) -> int:
        return sum(n for _, n in self.fillers)

    def summary(self) -> str:
        pace = ("a calm pace" if PACE[0] <= self.words_per_minute <= PACE[1]
                else "fast: slow down a little" if self.words_per_minute > PACE[1] else "slow: keep it moving")
        fillers = ", ".join(f"{f} ×{n}" for f, n in self.fillers) or "none"
        used = ", ".join(self.terms_used) or "none"
        missed = f"; not used: {', '.join(self.terms_missed)}" if self.terms_missed else ""
        return (f"{self.seconds:.0f} s, {self.words} words, {self.words_per_minute:.0f} words per minute ({pace}); "
                f"filler words: {fillers}; key terms used: {used}{missed}.")

    def to_json(self) -> dict:
        return {"seconds": round(self.seconds, 1), "words": self.words, "words_per_minute": round(self.words_per_minute),
                "fillers": dict(self.fillers), "terms_used": list(self.terms_used), "terms_missed": list(self.terms_missed)}


def count_fillers(text: str) -> tuple[tuple[str, int], ...]:
    tokens = " " + " ".join(words(text)) + " "
    counts = Counter({f: tokens.count(f" {f} ") for f in FILLERS})
    counts["like"] = len(_LIKE.findall(text))
    return tuple((f, n) for f, n in counts.most_common() if n)


def delivery_for(transcript: Transcript, key_terms: Iterable[str]) -> Delivery:
    """Delivery figures for a spoken answer; ``key_terms`` are the question's technical terms."""
    n_words = len(transcript.text.split())
    said = {stem(w) for w in words(transcript.text)}
    terms = list(dict.fromkeys(key_terms))
    used = tuple(t for t in terms if all(stem(w) in said for w in words(t)))
    return Delivery(transcript.seconds, n_words, 60 * n_words / max(transcript.speech_seconds, 1.0), count_fillers(transcript.text),
                    used, tuple(t for t in terms if t not in used))
