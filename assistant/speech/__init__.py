"""Spoken answers: transcribed on the laptop (faster-whisper), with delivery feedback. Backends
follow the Transcriber protocol; a scripted fake serves the tests."""

from assistant.speech.base import MAX_SECONDS, ScriptedTranscriber, Transcriber, Transcript
from assistant.speech.delivery import Delivery, delivery_for
from assistant.speech.vocabulary import bank_vocabulary, key_terms, priming_prompt

__all__ = ["MAX_SECONDS", "Delivery", "ScriptedTranscriber", "Transcriber", "Transcript", "bank_vocabulary", "delivery_for",
           "key_terms", "priming_prompt"]
