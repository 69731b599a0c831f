"""Spoken answers: delivery figures, the bank's vocabulary, bad audio, the CLI and the app with a scripted transcriber."""

import json
import sqlite3
import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import InvalidInputError
from assistant.speech import ScriptedTranscriber, Transcript, bank_vocabulary, delivery_for, key_terms, priming_prompt
from assistant.speech.delivery import count_fillers

SPOKEN = "Um, so dropout, like, switches off random neurons during training, you know, and it is basically off at inference."


def write_wav(path: Path, seconds: float, tone: bool = False) -> Path:
    t = np.arange(int(16_000 * seconds)) / 16_000
    samples = (0.3 * np.sin(2 * np.pi * 220 * t) if tone else np.zeros_like(t)) * 32767
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def test_delivery_counts_pace_fillers_and_key_terms():
    delivery = delivery_for(Transcript(SPOKEN, seconds=12.0, speech_seconds=10.0), ["dropout", "neurons", "overfitting"])
    assert delivery.words == 19 and delivery.words_per_minute == pytest.approx(114)
    assert dict(delivery.fillers) == {"um": 1, "like": 1, "you know": 1, "basically": 1} and delivery.filler_count == 4
    assert delivery.terms_used == ("dropout", "neurons") and delivery.terms_missed == ("overfitting",)
    summary = delivery.summary()
    assert "114 words per minute (a calm pace)" in summary and "not used: overfitting" in summary
    assert json.loads(json.dumps(delivery.to_json()))["fillers"]["um"] == 1


def test_like_counts_only_as_a_filler():
    assert count_fillers("Swish is like a smooth ReLU.") == ()
    assert dict(count_fillers("Like, it is, like, a smooth ReLU.")) == {"like": 2}


def test_the_vocabulary_is_the_banks_and_key_terms_are_the_questions(corpus):
    vocabulary = bank_vocabulary(corpus)
    assert {"ReLU", "LSTM", "TensorFlow", "dropout"} <= set(vocabulary)
    prompt = priming_prompt(corpus)
    assert len(prompt.split()) < 120 and "ReLU" in prompt and priming_prompt(corpus, "What is dropout?").startswith("What is dropout? ")
    assert key_terms(corpus.get("p3-q26"), vocabulary)[0] == "dropout"
    assert "SGD" in key_terms(corpus.get("p3-q16"), vocabulary)


def test_bad_audio_gets_one_clear_message(tmp_path):
    pytest.importorskip("faster_whisper")
    from assistant.speech.whisper import FasterWhisperTranscriber

    transcriber = FasterWhisperTranscriber(tmp_path / "cache")
    (tmp_path / "notes.wav").write_text("not audio at all")
    with pytest.raises(InvalidInputError, match="not an audio file"):
        transcriber.transcribe(tmp_path / "notes.wav")
    with pytest.raises(InvalidInputError, match="no audio file"):
        transcriber.transcribe(tmp_path / "missing.wav")
    with pytest.raises(InvalidInputError, match="up to 3 minutes"):  # refused before any model is loaded
        transcriber.transcribe(write_wav(tmp_path / "long.wav", 181))
    assert transcriber._model is None


def test_cli_grades_a_spoken_answer(monkeypatch, capsys, tmp_path):
    from assistant.cli import main
    from assistant.engine import Engine

    scripted = ScriptedTranscriber(SPOKEN)
    monkeypatch.setattr(Engine, "transcriber", property(lambda self: scripted))
    audio = write_wav(tmp_path / "answer.wav", 1, tone=True)
    assert main(["grade", "p3-q26", "--audio", str(audio), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["transcript"] == SPOKEN and data["delivery"]["fillers"]["um"] == 1 and "dropout" in data["delivery"]["terms_used"]
    assert scripted.files == [audio] and scripted.prompts[0].startswith("What does Dropout mean? ")  # primed with the question
    assert "Dropout is applied during the training phase" not in scripted.prompts[0]  # never with the key points
    assert main(["grade", "p3-q26", "--audio", str(audio)]) == 0
    assert capsys.readouterr().out.startswith(f"Transcript: {SPOKEN}\nDelivery: ")
    assert main(["grade", "p9-q99", "--audio", str(audio)]) == 2 and scripted.files == [audio, audio]  # unknown id: not transcribed


def test_progress_keeps_delivery_and_upgrades_an_old_file(tmp_path, corpus):
    from assistant.models.embedders import FakeEmbedder
    from assistant.grading import Grader
    from assistant.progress import SQLiteStore

    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as db:  # a progress file from before spoken answers
        db.executescript("CREATE TABLE attempts (id INTEGER PRIMARY KEY, question_id TEXT NOT NULL, part TEXT NOT NULL, "
                         "answer TEXT NOT NULL, score REAL NOT NULL, verdict TEXT NOT NULL, covered TEXT NOT NULL, "
                         "missed TEXT NOT NULL, created_at TEXT NOT NULL);"
                         "INSERT INTO attempts VALUES (1, 'p3-q26', 'Part 3', 'typed', 5.0, 'partial', '[]', '[]', "
                         "'2026-11-01T10:00:00+00:00');")
    store = SQLiteStore(old)
    grade = Grader(FakeEmbedder(), corpus).grade("p3-q26", SPOKEN)
    store.record(grade, "Part 3", SPOKEN, delivery={"words_per_minute": 120})
    typed, spoken = store.attempts()
    assert typed.delivery is None and spoken.delivery == {"words_per_minute": 120}


def test_app_puts_the_transcript_in_the_answer_box_and_deletes_the_recording(app_url, monkeypatch, tmp_path):
    import app

    scripted = ScriptedTranscriber(SPOKEN)
    monkeypatch.setattr(type(app.ENGINE), "transcriber", property(lambda self: scripted))
    audio = write_wav(tmp_path / "rec.wav", 1, tone=True)
    text, note, delivery, cleared = app.transcribe(str(audio), "p3-q26", "")
    assert text == SPOKEN and "Delivery:" in note and delivery["terms_used"][0] == "dropout" and cleared is None
    assert not audio.exists()  # the recording is not kept
    graded = list(app.grade_answer("p3-q26", "", "", text, delivery))[-1]
    assert "🎙️ **Delivery:**" in graded and "### Score" in graded
    assert app._store().attempts("p3-q26")[-1].delivery["words"] == 19


def test_app_keeps_what_was_typed_when_the_audio_is_bad(app_url, tmp_path):
    pytest.importorskip("faster_whisper")
    import app

    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    text, note, delivery, _ = app.transcribe(str(bad), "p3-q26", "what I typed")
    assert text == "what I typed" and note.startswith("⚠️") and "not an audio file" in note and delivery is None
