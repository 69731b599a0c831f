"""The judge role: the local model read as a classifier (one forward pass, next-token
probabilities, no sampling). It says how correct an answer is and whether a reference supports
a statement; backends (llama.cpp, an OpenAI-compatible server, transformers, a scripted fake)
only supply the probabilities."""

from assistant.judge.backends import LlamaCppChoice, OpenAIChoice, ScriptedChoice, TransformersChoice
from assistant.judge.judge import ChoiceBackend, Judge

__all__ = ["ChoiceBackend", "Judge", "LlamaCppChoice", "OpenAIChoice", "ScriptedChoice", "TransformersChoice"]
