"""The judge: the local model read as a classifier, not a writer.

One forward pass over a prompt, then the probabilities of the next token restricted to a few
options (here yes or no). No sampling, so the same prompt always gives the
same judgement. Backends only answer ``choose``; the questions asked live here and in prompts.py.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from assistant.judge.prompts import NO, YES, Message, correctness_messages, support_messages


@runtime_checkable
class ChoiceBackend(Protocol):
    name: str  # shown to users and in --json output

    def choose(self, messages: Sequence[Message], options: Sequence[Sequence[str]]) -> list[float]:
        """The probability of each option as the reply's first token, normalised over the options.

        ``messages`` is a chat (the backend adds the assistant's turn); each option lists surface forms
        whose probabilities are summed ("yes", "Yes"). Raises ModelError if the model cannot run."""
        ...


class Judge:
    """Two questions to one model: how correct is an answer, and does a reference support a statement."""

    def __init__(self, backend: ChoiceBackend) -> None:
        self.backend = backend

    @property
    def name(self) -> str:
        return self.backend.name

    def correctness(self, question: str, key_points: Sequence[str], answer: str) -> float:
        """P(yes): what the answer says is true according to the key points (however short it is)."""
        yes, _ = self.backend.choose(correctness_messages(question, key_points, answer), [YES, NO])
        return float(yes)

    def supports(self, reference: str, statement: str) -> float:
        """P(yes): the reference states or implies the statement."""
        yes, _ = self.backend.choose(support_messages(reference, statement), [YES, NO])
        return float(yes)

    def warm(self, question: str, key_points: Sequence[str]) -> None:
        """Read the shared part of a question's prompts now (the KV cache keeps it for the answers)."""
        self.correctness(question, key_points, "")


def normalise(weights: Sequence[float]) -> list[float]:
    """Probabilities from non-negative weights; uniform when they are all zero."""
    total = float(sum(weights))
    return [w / total for w in weights] if total > 0 else [1.0 / len(weights)] * len(weights)
