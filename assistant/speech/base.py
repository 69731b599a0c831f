"""Speech: what a transcriber returns, and the protocol every backend follows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

MAX_SECONDS = 180.0  # an interview answer; longer recordings are refused


@dataclass(frozen=True)
class Transcript:
    text: str
    seconds: float  # the recording's length
    speech_seconds: float  # from the first word heard to the last (what words per minute divide by)

    def to_json(self) -> dict:
        return {"text": self.text, "seconds": round(self.seconds, 2), "speech_seconds": round(self.speech_seconds, 2)}


@runtime_checkable
class Transcriber(Protocol):
    name: str

    def transcribe(self, audio: Path, prompt: str = "") -> Transcript:
        """The words spoken in an audio file (``prompt``: text that primes the decoder). Raises
        InvalidInputError for a file that is not audio, is longer than MAX_SECONDS or holds no
        speech, and ModelError if the model cannot run."""
        ...


class ScriptedTranscriber:
    """For tests: the same transcript for every file; records the files it was given."""

    name = "scripted"

    def __init__(self, text: str, seconds: float = 10.0) -> None:
        self.result = Transcript(text, seconds, seconds)
        self.files: list[Path] = []
        self.prompts: list[str] = []

    def transcribe(self, audio: Path, prompt: str = "") -> Transcript:
        self.files.append(Path(audio))
        self.prompts.append(prompt)
        return self.result
