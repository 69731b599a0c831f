"""Speech to text on the laptop: faster-whisper (CTranslate2) with Whisper base, int8 on the CPU.

The model is assembled once from its two packages and checked against its SHA-256
(assistant/models.py). Decoding is greedy (beam 1) with voice-activity detection, primed with
the question and the bank's technical vocabulary (vocabulary.py), never with the key points of
the answer being graded: that would write reference terms into an answer that did not say them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from assistant.errors import InvalidInputError, ModelError
from assistant.speech.base import MAX_SECONDS, Transcript

SAMPLE_RATE = 16_000


class FasterWhisperTranscriber:
    def __init__(self, cache_dir: Path, threads: int | None = None) -> None:
        self.name = "faster-whisper:base"
        self._cache_dir = cache_dir
        self._threads = threads or min(4, os.cpu_count() or 2)
        self._model = None
        self._lock = threading.Lock()

    def load(self):
        if self._model is None:
            from assistant.models.weights import WHISPER_HINT, whisper_path

            try:
                from faster_whisper import WhisperModel
            except ImportError:
                raise ModelError(f"faster-whisper is not installed, so answers cannot be spoken (typing still works); run {WHISPER_HINT}.") from None
            path = whisper_path(self._cache_dir)
            try:
                self._model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=self._threads)
            except (RuntimeError, ValueError, OSError) as exc:
                raise ModelError(f"Cannot load the speech model at {path}: {exc}") from None
        return self._model

    def transcribe(self, audio: Path, prompt: str = "") -> Transcript:
        samples = read_audio(audio)
        seconds = len(samples) / SAMPLE_RATE
        if seconds > MAX_SECONDS:
            raise InvalidInputError(f"The recording is {seconds:.0f} s long; answers are transcribed up to "
                                    f"{MAX_SECONDS / 60:.0f} minutes, so record a shorter one.")
        with self._lock:
            model = self.load()
            segments, _ = model.transcribe(samples, language="en", beam_size=1, vad_filter=True,
                                           initial_prompt=prompt or None, condition_on_previous_text=False)
            segments = [s for s in segments if s.text.strip()]
        text = " ".join(s.text.strip() for s in segments).strip()
        if not text:
            raise InvalidInputError("No speech was heard in the recording; check the microphone and speak, or type your answer.")
        return Transcript(text, seconds, max(0.1, segments[-1].end - segments[0].start))


def read_audio(path: Path):
    """The file's audio as 16 kHz mono samples (any format ffmpeg reads), or one clear error."""
    try:
        from faster_whisper.audio import decode_audio
    except ImportError:
        raise ModelError("faster-whisper is not installed, so answers cannot be spoken (typing still works).") from None
    if not Path(path).is_file():
        raise InvalidInputError(f"There is no audio file at {path}.")
    try:
        samples = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises its own error types for every container and codec problem
        raise InvalidInputError(f"{Path(path).name} is not an audio file that can be read ({type(exc).__name__}).") from None
    if len(samples) == 0:
        raise InvalidInputError(f"{Path(path).name} holds no audio.")
    return samples
