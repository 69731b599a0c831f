"""The verifier first, the judge only where the verifier is unsure.

The verifier answers in milliseconds; the 1.5B judge takes seconds per statement but reads unseen
wording better (bench/verifier.py). So the verifier's verdict stands when its probability for that
verdict is at least CONFIDENT_FROM, and the judge's P(yes) settles the rest: yes makes the statement
supported; no leaves it contradicted if the verifier leant that way, else not addressed (the judge
reads support, not the kind of failure). The share that goes to the judge is what the cascade costs.
"""

from __future__ import annotations

from assistant.verify.verifier import Verdict

# The verifier's probability for its own verdict from which the judge is not asked. Chosen for the
# verifier that reads questions (session 10) on the first two hand-written sets (dev sets;
# bench/verifier.py --dev --judge 60): at 0.9, 43 of 60 and 46 of 64 statements went to the judge and
# the binary accuracy was 0.900 and 0.906 (the judge alone 0.833 and 0.969; the verifier alone 0.667
# and 0.703), 44 of the 49 false ones rejected (judge alone 43); at 0.8 it was 0.867 and 0.859, at 0.7
# 0.800 and 0.781.
CONFIDENT_FROM = 0.9
SUPPORT_P = 0.6  # the judge's P(yes) from which a statement is supported (Ask's judge check uses it too)


def unsure(verdict: Verdict, confident_from: float = CONFIDENT_FROM) -> bool:
    """Should the judge be asked about this verdict?"""
    return verdict.scores.get(verdict.verdict, 0.0) < confident_from


def settle(verdict: Verdict, p_yes: float, support_p: float = SUPPORT_P) -> str:
    """The cascade's verdict for an unsure statement, from the judge's P(yes) (pure)."""
    if p_yes >= support_p:
        return "supported"
    return "contradicted" if verdict.verdict == "contradicted" else "not addressed"
