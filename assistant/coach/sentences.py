"""Complete sentences out of a stream of text pieces, so each can be checked before it is shown.

A sentence is complete when its end mark ("." "!" "?", then any closing quote or bracket and any
citation tags such as "[p3-q26]") is followed by the start of the next one. Abbreviations ("e.g.",
"i.e.", "vs.") and decimals ("0.5") do not end a sentence. Pure: no model, no I/O.
"""

from __future__ import annotations

import re

_END = re.compile(r"[.!?][\"')\]]*((?:\s*\[[^\]\s]{1,40}\])*)\s+(?=[A-Z0-9\"'(`*\-])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "fig.", "eq.")


class SentenceBuffer:
    """Feed pieces; take the sentences completed so far; flush the rest at the end."""

    def __init__(self) -> None:
        self._text = ""

    def feed(self, piece: str) -> list[str]:
        self._text += piece
        out = []
        start = 0
        for match in _END.finditer(self._text):
            candidate = self._text[start:match.end()]
            if candidate.rstrip().lower().endswith(_ABBREVIATIONS):
                continue
            out.append(candidate.strip())
            start = match.end()
        self._text = self._text[start:]
        return [s for s in out if s]

    def flush(self) -> str:
        """What is left (the last sentence, possibly unfinished)."""
        rest, self._text = self._text.strip(), ""
        return rest
