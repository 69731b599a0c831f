"""Speech benchmark: spoken answers transcribed on this machine, then graded.

    .venv/bin/python bench/speech.py              # 20 reference answers x 2 voices x 2 speeds, team-set answers
    .venv/bin/python bench/speech.py --answers 10

Speech is synthesised by Debian's espeak-ng (voices en-us and en-gb-x-rp, 140 and 175 words per
minute). Synthetic speech is cleaner than a person's: no background noise, no hesitations or
fillers, no accent drift, perfectly even pace, but a robotic prosody Whisper was not trained on.
It measures the transcriber, not a candidate.

- WER of the transcript against the spoken text, with no prompt and primed with the question and
  the bank's vocabulary (what the product does), on the first --answers reference answers (cut
  to 60 words).
- Key-term recall: the question's key terms that were spoken and appear in the transcript.
- Real-time factor: (model load + decoding + VAD) / audio seconds, and decoding alone.
- Inserted terms: the team set's wrong answers spoken; a key term of the question that appears in
  the transcript but was never said would hand the candidate credit they did not earn.
- Grades: the team set's good/partial/wrong answers spoken (en-us, 160 wpm); the transcript's
  judged grade against the typed text's grade.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VOICES = ("en-us", "en-gb-x-rp")
SPEEDS = (140, 175)


def speak(text: str, path: Path, voice: str = "en-us", speed: int = 160) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True, capture_output=True)
    return path


def normalise(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words): Levenshtein distance over normalised words."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1], len(ref)


def clip(text: str, words: int = 60) -> str:
    tokens = re.sub(r"[*`$\\{}_^]", " ", text).split()
    return " ".join(tokens[:words])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=20)
    args = parser.parse_args()
    from assistant.engine import Engine
    from assistant.speech import bank_vocabulary, key_terms, priming_prompt
    from assistant.speech.whisper import FasterWhisperTranscriber
    from assistant.text import stem, words
    from bench.grading import TEAM_SET, load_set

    engine = Engine(log=lambda m: None)
    corpus, vocabulary = engine.corpus, bank_vocabulary(engine.corpus)
    tmp = Path(tempfile.mkdtemp())
    started = time.perf_counter()
    transcriber = FasterWhisperTranscriber(engine.settings.cache_dir)
    transcriber.load()
    load_s = time.perf_counter() - started

    edits = {"plain": [0, 0], "primed": [0, 0]}
    recall, audio_s, decode_s = [0, 0], 0.0, 0.0
    for record in list(corpus)[: args.answers]:
        text = clip(record.answer_text)
        spoken_terms = [t for t in key_terms(record, vocabulary) if all(stem(w) in {stem(x) for x in words(text)} for w in words(t))]
        for voice in VOICES:
            for speed in SPEEDS:
                wav = speak(text, tmp / "ref.wav", voice, speed)
                for name, prompt in (("plain", ""), ("primed", priming_prompt(corpus, record.question))):
                    t0 = time.perf_counter()
                    transcript = transcriber.transcribe(wav, prompt)
                    if name == "primed":
                        decode_s += time.perf_counter() - t0
                        audio_s += transcript.seconds
                        heard = {stem(w) for w in words(transcript.text)}
                        recall[0] += sum(all(stem(w) in heard for w in words(t)) for t in spoken_terms)
                        recall[1] += len(spoken_terms)
                    e, n = wer(text, transcript.text)
                    edits[name][0] += e
                    edits[name][1] += n
    print(f"Speech: {args.answers} reference answers x {len(VOICES)} voices x {len(SPEEDS)} speeds, {audio_s:.0f} s of audio (espeak-ng)")
    for name, (e, n) in edits.items():
        print(f"  WER {name:<7} {e / n:.1%} ({e} edits / {n} words)")
    print(f"  key-term recall (primed): {recall[0]}/{recall[1]} ({recall[0] / max(1, recall[1]):.0%})")
    print(f"  real-time factor (primed, 2 threads): decoding + VAD {decode_s / audio_s:.3f}; "
          f"with the model load ({load_s:.1f} s) {(decode_s + load_s) / audio_s:.3f}")

    rows = load_set(TEAM_SET)
    inserted, spoken_wrong = [], 0
    grader = engine.best_grader()
    deltas = []
    for row in rows:
        record = corpus.get(row["id"])
        terms = key_terms(record, vocabulary)
        for kind in ("good", "partial", "wrong"):
            transcript = transcriber.transcribe(speak(row[kind], tmp / "answer.wav"), priming_prompt(corpus, record.question))
            if kind == "wrong":
                spoken_wrong += 1
                said = {stem(w) for w in words(row[kind])}
                heard = {stem(w) for w in words(transcript.text)}
                inserted += [f"{row['id']}: '{t}'" for t in terms
                             if all(stem(w) in heard for w in words(t)) and not all(stem(w) in said for w in words(t))]
            deltas.append(abs(grader.grade(row["id"], transcript.text).score - grader.grade(row["id"], row[kind]).score))
    deltas = np.array(deltas)
    print(f"  spoken wrong answers: {spoken_wrong}; reference key terms inserted that were never said: {len(inserted)}"
          + (f" ({', '.join(inserted)})" if inserted else ""))
    print(f"  grade of the transcript within 1 point of the typed text's ({getattr(grader, 'name', 'quick')}): "
          f"{int((deltas <= 1).sum())}/{len(deltas)} ({(deltas <= 1).mean():.0%}); mean |difference| {deltas.mean():.2f}")


if __name__ == "__main__":
    main()
