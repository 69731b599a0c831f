"""The verifier first, the judge only where the verifier is unsure.

The verifier answers in milliseconds; the 1.5B judge takes seconds per statement but reads unseen
wording better (bench/verifier.py). So the verifier's verdict stands when its probability for that
verdict is at least CONFIDENT_FROM, and the judge's P(yes) settles the rest: yes makes the statement
supported; no leaves it contradicted if the verifier leant that way, else not addressed (the judge
reads support, not the kind of failure). The share that goes to the judge is what the cascade costs.
"""

from __future__ import annotations

from assistant.verify.verifier import Verdict

# The verifier's probability for its own verdict from which the judge is not asked. Chosen on the
# first hand-written set (a dev set; bench/verifier.py --dev --judge 60): at 0.7, 28 of 60 statements
# went to the judge, 23 of the 24 false ones were rejected (judge alone 20, verifier alone 15) and
# the binary accuracy equalled the judge's (0.833); 0.8 sent 39 and rejected 21 (binary 0.883).
CONFIDENT_FROM = 0.7
SUPPORT_P = 0.6  # the judge's P(yes) from which a statement is supported (Ask's judge check uses it too)


def unsure(verdict: Verdict, confident_from: float = CONFIDENT_FROM) -> bool:
    """Should the judge be asked about this verdict?"""
    return verdict.scores.get(verdict.verdict, 0.0) < confident_from


def settle(verdict: Verdict, p_yes: float, support_p: float = SUPPORT_P) -> str:
    """The cascade's verdict for an unsure statement, from the judge's P(yes) (pure)."""
    if p_yes >= support_p:
        return "supported"
    return "contradicted" if verdict.verdict == "contradicted" else "not addressed"
