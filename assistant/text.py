"""Small text helpers shared by grading and the written training data: sentences, content-word stems,
question demoting, the key that tells two written lines apart."""

from __future__ import annotations

import re
from functools import lru_cache

# English function words: they carry no claim of their own.
STOP_WORDS = frozenset(
    """a an the of to in on for and or but is are was were be been being it its this that these those with as by at
    from which who whom what when where why how do does did doing can could should would will shall may might must
    not no nor than then so such there their they them he she we you your our i me my his her also into about over
    under between through during before after above below up down out off more most other some any each few both all
    only own same very just too if while because until again further once here s t don't isn't it's i'm there's
    has have had having am let us one""".split()
)
NEGATIONS = frozenset({"not", "no", "never", "none", "nothing", "without", "cannot", "neither", "nor"})
# Words that negate what follows them without saying "not" ("prevents the network from relying").
NEGATION_CUES = NEGATIONS | {"prevent", "prevents", "avoid", "avoids", "less", "little", "lack", "lacks", "fail", "fails", "unlike", "instead",
                             "barely", "hardly", "rarely", "seldom", "only"}

# Contractions typed without their apostrophe: "cant", "doesnt" (not "won" or "can").
_CONTRACTION = re.compile(r"\b(do|does|did|is|are|was|were|has|have|had|should|could|would|must)nt\b")
_IRREGULAR = re.compile(r"\b(ca|wo)n'?t\b")
_WORD = re.compile(r"[a-z0-9][a-z0-9+#'\-]*")


def words(text: str) -> list[str]:
    text = _IRREGULAR.sub(lambda m: "can not" if m.group(1) == "ca" else "will not", text.lower().replace("’", "'"))
    return _WORD.findall(_CONTRACTION.sub(r"\1 not", text.replace("n't", " not")))


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def content_stems(text: str, drop: frozenset[str] = frozenset()) -> list[str]:
    """Stems of the content words of ``text``, leaving out those in ``drop``."""
    out = []
    for w in words(text):
        if w in STOP_WORDS or w in NEGATIONS:
            continue
        s = stem(w.strip("'-"))
        if s and s not in drop:
            out.append(s)
    return out


def demote(text: str, question_stems: frozenset[str]) -> str:
    """``text`` without the words that repeat the question (Mohler et al. 2011's question demoting).

    Words given in the question earn nothing; an answer made only of them becomes empty."""
    kept = [t for t in text.split() if stem(re.sub(r"[^\w+#-]", "", t.lower())) not in question_stems]
    return " ".join(kept)


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+|\s+[-*•]\s+")


def sentences(text: str) -> list[str]:
    """Sentence-like segments: split at sentence ends, semicolons, line breaks and inline bullets."""
    parts = [p.strip(" -*•\t") for p in _SENTENCE_END.split(text)]
    return [p for p in parts if len(p) > 1]


def line_key(text: str) -> str:
    """Lower case, punctuation as spaces, spaces collapsed: two lines with the same key are one line
    (a model's repeat, or a copy of the question it was shown)."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def clip(text: str, words: int) -> str:
    """The first ``words`` words of the text, with " …" when something was cut."""
    tokens = text.split()
    return text.strip() if len(tokens) <= words else " ".join(tokens[:words]) + " …"
