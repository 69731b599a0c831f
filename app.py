"""The Gradio app: Ask, Interview me, Grade, Progress. UI only: every decision is in `assistant`.

`demo` is built at import without loading any model; models load on first use (or at launch,
under __main__). Per-user state (the interview session) lives in gr.State, never in globals.
"""

from __future__ import annotations

import html
import os
import re
import sys
import tempfile
import threading
from pathlib import Path

import gradio as gr

from assistant.coach.answer import Answer
from assistant.coach.ask import Checking
from assistant.coach.step import Outcome
from assistant.engine import Engine
from assistant.errors import AssistantError
from assistant.coach.interview import Session, plan_questions, summarize
from assistant.progress import ProgressStore, open_store
from assistant.progress import portable
from assistant.progress.users import login_check
from assistant.requestlog import configure as configure_logging
from assistant.requestlog import logged

ENGINE = Engine()  # shared, read-only models and corpus; no per-user data
CHECKING = "\n\n<small>⏳ checking the next sentence against the reference…</small>"
EXAMPLES = ["What does dropout mean?", "batchnorm vs layernorm", "my gradients explode, what can I do?",
            "How is an LSTM different from a plain RNN?"]


def _username(request: gr.Request | None) -> str:
    """Who is logged in ("" when there are no logins)."""
    return getattr(request, "username", None) or ""


def _user(args: tuple, kwargs: dict) -> str:
    """The logged-in user among a handler's arguments (for the request log)."""
    return _username(next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None))


_STORE: list[ProgressStore] = []  # opened (and migrated) once, on first use
_STORE_LOCK = threading.Lock()


def _store(request: gr.Request | None = None) -> ProgressStore:
    """The progress of whoever is logged in (everyone shares "" when there are no logins)."""
    with _STORE_LOCK:
        if not _STORE:
            _STORE.append(open_store(ENGINE.settings))
    return _STORE[0].for_user(_username(request))


def _clean(text: str | None) -> str:
    """User input as plain text: control characters dropped, length bounded."""
    text = "".join(ch for ch in (text or "") if ch in "\n\t" or ch.isprintable())
    limit = ENGINE.settings.limits.input_chars
    if len(text) > limit:
        raise AssistantError(f"That is {len(text):,} characters; please keep it under {limit:,}.")
    return text.strip()


def _esc(text: str) -> str:
    return html.escape(text or "", quote=False)


def _references(answer: Answer) -> str:
    parts = []
    for rid in answer.citations:
        record = ENGINE.corpus.get(rid)
        parts.append(f"<details><summary>[{rid}] {_esc(record.question)}</summary>\n\n{record.answer}\n\n</details>")
    return "\n".join(parts)


# ----------------------------------------------------------------------------- Ask


_DETAILS = re.compile(r"<details>.*?</details>", re.S)  # the reference answers shown under a reply


def message_text(content) -> str:
    """A chat message's text: Gradio 6 passes content as a list of parts ({"type": "text", "text": …})."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(filter(None, (message_text(part) for part in content)))
    return ""  # a file or component: no text to carry over


@logged("ask", _user)
def ask(message: str, history: list[dict], request: gr.Request = None):
    try:
        question = _clean(message)
        turns = [(m["role"], text) for m in history or [] if (text := _DETAILS.sub("", message_text(m.get("content"))).strip())]
        text = ""
        for event in ENGINE.chat.ask_stream(question, turns):
            if isinstance(event, Answer):
                final = event
            elif isinstance(event, Checking):  # a sentence is held: say so, never show it unchecked
                yield _esc(text) + CHECKING
            else:
                text += event
                yield _esc(text)
    except AssistantError as exc:
        yield f"⚠️ {_esc(str(exc))}"
        return
    if not final.in_scope:
        yield f"**⚠️ Not covered by the question bank.**\n\n{_esc(final.text)}"
        return
    notes = "".join(f"\n\n> {_esc(n)}" for n in final.notices)
    yield f"{_esc(final.text)}{notes}\n\n{_references(final)}"


# ----------------------------------------------------------------------------- Grade


JUDGING = "\n\n> ⏳ This is the quick grade (key-point coverage); the local model is checking what your answer says …"


def render_grade(grade, coaching=None, delivery: dict | None = None) -> str:
    lines = [f"### Score {grade.score:.1f}/10 ({grade.verdict})", f"<small>{_esc(grade.origin)}</small>", ""]
    if delivery:
        lines += [f"🎙️ **Delivery:** {_esc(delivery['summary'])}", ""]
    for flag in grade.flags:
        lines.append(f"> ⚠️ {_esc(flag.message)}")
    if grade.covered:
        lines += ["", "**Covered**"] + [f"- ✅ {_esc(p.point)}<br><small>you said: “{_esc(p.evidence)}”</small>" for p in grade.covered]
    if grade.missed:
        lines += ["", "**Missed**"] + [f"- ❌ {_esc(p.point)}" for p in grade.missed]
    lines += ["", f"**Feedback:** {_esc(coaching.feedback if coaching else grade.feedback)}"]
    if coaching:
        lines.append(f"\n**{_esc(coaching.follow_up)}**")
    lines += ["", f"<details><summary>Reference answer</summary>\n\n{grade.reference}\n\n</details>"]
    return "\n".join(lines)


def question_choices() -> list[tuple[str, str]]:
    return [(f"[{r.id}] {r.question}", r.id) for r in ENGINE.corpus]


def _warm(session: Session) -> None:
    """Let the judge read the next question while the candidate answers it."""
    if not session.finished:
        ENGINE.answer_step.warm(session.current)


@logged("transcribe", _user)
def transcribe(audio: str | None, question_id: str | None, typed: str, request: gr.Request = None):
    """A recorded or uploaded answer, transcribed on this machine into the (editable) answer box.

    The recording is deleted once it is transcribed. Bad audio leaves what was typed as it was."""
    if not audio:
        return gr.update(), "", None, None
    try:
        transcript, delivery = ENGINE.listen(Path(audio), question_id or None)
    except AssistantError as exc:
        return typed, f"⚠️ {_esc(str(exc))}", None, None
    finally:
        Path(audio).unlink(missing_ok=True)
    figures = {**delivery.to_json(), "summary": delivery.summary()}
    note = f"🎙️ **Delivery:** {_esc(figures['summary'])}\n\nCheck the transcript in the answer box, edit it if needed, then submit."
    return transcript.text, note, figures, None


@logged("grade", _user)
def grade_answer(question_id: str | None, custom_question: str, custom_reference: str, answer: str,
                 delivery: dict | None = None, request: gr.Request = None):
    """The quick grade and its evidence at once; the judged grade (and coaching) replaces it when ready."""
    try:
        answer = _clean(answer)
        custom_question, custom_reference = _clean(custom_question), _clean(custom_reference)  # None from an unopened accordion
        custom = bool(custom_question and custom_reference)
        if not custom and not question_id:
            yield "⚠️ Pick a question from the list, or type your own question and reference answer."
            return
        for event in ENGINE.answer_step.run(answer, None if custom else question_id, question=custom_question,
                                            reference=custom_reference, store=_store(request), delivery=delivery,
                                            coaching=not custom):
            if isinstance(event, Outcome):
                yield render_grade(event.grade, event.coaching, delivery)
            else:
                yield render_grade(event, delivery=delivery) + JUDGING
    except AssistantError as exc:
        yield f"⚠️ {_esc(str(exc))}"


# ----------------------------------------------------------------------------- Interview


# The summary file and chart stay hidden until a session has a summary.
_NO_SUMMARY = (gr.update(value=None, visible=False), gr.update(value=None, visible=False))


def _question_markdown(session: Session) -> str:
    record = ENGINE.corpus.get(session.current)
    n = len(session.results) + 1
    return f"**Question {n} of {len(session.questions)}** · `{record.id}` · {_esc(record.part_label)}\n\n### {_esc(record.question)}"


@logged("interview_start", _user)
def start_interview(parts: list[str], count: float, request: gr.Request = None):
    try:
        session = Session(plan_questions(ENGINE.corpus, _store(request), parts or None, int(count)))
    except AssistantError as exc:
        return None, f"⚠️ {_esc(str(exc))}", "", "", *_NO_SUMMARY
    _warm(session)
    return session, _question_markdown(session), "", "", *_NO_SUMMARY


def _finish(session: Session):
    summary = summarize(session, ENGINE.corpus)
    path = Path(tempfile.mkdtemp()) / "interview-summary.md"
    path.write_text(summary.markdown, encoding="utf-8")
    chart = {"part": list(summary.per_part), "score": list(summary.per_part.values())}
    import pandas as pd

    return session, "### Session over", summary.markdown, gr.update(value=str(path), visible=True), gr.update(value=pd.DataFrame(chart), visible=True)


@logged("interview_answer", _user)
def submit_answer(session: Session | None, answer: str, delivery: dict | None = None, request: gr.Request = None):
    """The quick grade at once (your answer stays in the box), then the judged grade, coaching and the next question."""
    if session is None or session.finished:
        yield session, "Press **Start** to begin an interview.", "", "", *_NO_SUMMARY
        return
    question = _question_markdown(session)
    try:
        answer = _clean(answer)
        for event in ENGINE.answer_step.run(answer, session.current, store=_store(request), delivery=delivery, session=session):
            if not isinstance(event, Outcome):
                yield session, question, render_grade(event, delivery=delivery) + JUDGING, answer, *_NO_SUMMARY
                continue
            feedback, session = render_grade(event.grade, event.coaching, delivery), event.session
    except AssistantError as exc:  # not saved: the answer stays in the box to submit again
        yield session, question, f"⚠️ {_esc(str(exc))}", answer, *_NO_SUMMARY
        return
    if session.finished:
        session, question, summary, path, chart = _finish(session)
        yield session, question, feedback + "\n\n---\n\n" + summary, "", path, chart
        return
    _warm(session)
    yield session, _question_markdown(session), feedback, "", *_NO_SUMMARY


@logged("interview_skip", _user)
def skip_question(session: Session | None, show_reference: bool = False, request: gr.Request = None):
    if session is None or session.finished:
        return session, "Press **Start** to begin an interview.", "", "", *_NO_SUMMARY
    reference = ""
    if show_reference:
        record = ENGINE.corpus.get(session.current)
        reference = f"**Reference answer for [{record.id}]**\n\n{record.answer}"
    session = session.skipped()
    if session.finished:
        session, question, summary, path, chart = _finish(session)
        return session, question, reference + "\n\n---\n\n" + summary, "", path, chart
    _warm(session)
    return session, _question_markdown(session), reference, "", *_NO_SUMMARY


@logged("interview_end", _user)
def end_interview(session: Session | None, request: gr.Request = None):
    if session is None:
        return session, "Press **Start** to begin an interview.", "", "", *_NO_SUMMARY
    session, question, summary, path, chart = _finish(session.ended())
    return session, question, summary, "", path, chart


# ----------------------------------------------------------------------------- Progress


@logged("progress", _user)
def show_progress(request: gr.Request = None):
    import pandas as pd

    try:
        store = _store(request)
        history = pd.DataFrame(store.mastery_over_time(), columns=["day", "part", "score"])
        due = store.due()
    except AssistantError as exc:
        return gr.update(visible=False), gr.update(visible=False), f"⚠️ {_esc(str(exc))}"
    text = f"**Review queue:** {', '.join(due) if due else 'nothing due right now'}"
    if history.empty:
        text = "No graded attempts yet: start an interview or grade an answer."
    over_days = history["day"].nunique() > 1  # a single day draws no line: show it as bars
    return (gr.update(value=history, visible=over_days), gr.update(value=history, visible=not history.empty and not over_days), text)


@logged("progress_export", _user)
def export_progress(request: gr.Request = None):
    path = Path(tempfile.mkdtemp()) / "progress.sqlite3"
    try:
        return str(portable.export_progress(_store(request), path))
    except AssistantError as exc:
        raise gr.Error(str(exc)) from None


@logged("progress_import", _user)
def import_progress(file, request: gr.Request = None):
    if file is None:
        return "Choose a progress file first."
    try:
        portable.import_progress(_store(request), Path(file if isinstance(file, str) else file.name))
        return "Progress imported."
    except AssistantError as exc:
        return f"⚠️ {_esc(str(exc))}"


@logged("progress_reset", _user)
def reset_progress(confirmed: bool, request: gr.Request = None):
    if not confirmed:
        return "Tick the box to confirm: a reset deletes every attempt."
    try:
        _store(request).reset(confirm=True)
    except AssistantError as exc:
        return f"⚠️ {_esc(str(exc))}"
    return "Progress reset."


# The browser's own speech synthesis reads the question: nothing to install, nothing leaves the machine.
SPEAK_QUESTION = """() => {
  const q = document.querySelector('#interview-question h3');
  if (q && window.speechSynthesis) { speechSynthesis.cancel(); speechSynthesis.speak(new SpeechSynthesisUtterance(q.innerText)); }
}"""


# ----------------------------------------------------------------------------- layout


def build() -> gr.Blocks:
    parts = sorted({r.part_label for r in ENGINE.corpus}) if ENGINE.settings.corpus_dir.is_dir() else []
    with gr.Blocks(title="Deep-learning interview coach") as demo:
        gr.Markdown("# Deep-learning interview coach\nOffline: answers come from the question bank, cited by id.")
        with gr.Tab("Ask"):
            gr.ChatInterface(ask, examples=EXAMPLES, api_name="ask",
                             chatbot=gr.Chatbot(height=480, sanitize_html=True, label="Coach"))
        with gr.Tab("Interview me"):
            session = gr.State(None)
            with gr.Row():
                chosen_parts = gr.CheckboxGroup(parts, label="Parts (none: all)")
                count = gr.Slider(1, 20, value=5, step=1, label="Questions")
                start = gr.Button("Start", variant="primary")
            question = gr.Markdown("Press **Start** to begin an interview.", elem_id="interview-question")
            read_aloud = gr.Button("🔊 Read the question aloud", size="sm")
            spoken = gr.Audio(sources=["microphone", "upload"], type="filepath", elem_id="interview-audio",
                              label="Answer out loud (transcribed on this machine; the recording is then deleted)")
            heard = gr.Markdown(elem_id="interview-delivery")
            delivery = gr.State(None)
            answer = gr.Textbox(label="Your answer", lines=5, elem_id="interview-answer")
            with gr.Row():
                submit = gr.Button("Submit answer", variant="primary")
                skip = gr.Button("Skip")
                show = gr.Button("Show reference answer")
                end = gr.Button("End")
            result = gr.Markdown(elem_id="interview-result")
            chart = gr.BarPlot(x="part", y="score", y_lim=[0, 10], label="Score per part", visible=False)
            download = gr.File(label="Summary (markdown)", visible=False)
            outputs = [session, question, result, answer, download, chart]
            forget = (lambda: (None, ""), None, [delivery, heard])  # a new question: no recording yet
            start.click(start_interview, [chosen_parts, count], outputs, api_name="interview_start").then(*forget)
            submit.click(submit_answer, [session, answer, delivery], outputs, api_name="interview_answer").then(*forget)
            skip.click(skip_question, [session], outputs, api_name="interview_skip").then(*forget)
            show.click(lambda s: skip_question(s, True), [session], outputs, api_name="interview_show").then(*forget)
            end.click(end_interview, [session], outputs, api_name="interview_end").then(*forget)
            current = lambda s, audio, typed: transcribe(audio, s.current if s and not s.finished else None, typed)
            for event in (spoken.stop_recording, spoken.upload):
                event(current, [session, spoken, answer], [answer, heard, delivery, spoken], api_name=False)
            read_aloud.click(None, None, None, js=SPEAK_QUESTION)
        with gr.Tab("Grade"):
            picked = gr.Dropdown(choices=question_choices() if parts else [], label="Question (type to search)", filterable=True,
                                 allow_custom_value=True)  # an unknown id gets our message, not a validation error
            with gr.Accordion("…or your own question", open=False):
                custom_q = gr.Textbox(label="Question")
                custom_ref = gr.Textbox(label="Reference answer", lines=3)
            spoken_g = gr.Audio(sources=["microphone", "upload"], type="filepath", elem_id="grade-audio",
                                label="Answer out loud (transcribed on this machine; the recording is then deleted)")
            heard_g = gr.Markdown(elem_id="grade-delivery")
            delivery_g = gr.State(None)
            typed = gr.Textbox(label="Your answer", lines=6, elem_id="grade-answer")
            grade_button = gr.Button("Grade", variant="primary")
            graded = gr.Markdown(elem_id="grade-result")
            grade_button.click(grade_answer, [picked, custom_q, custom_ref, typed, delivery_g], graded, api_name="grade").then(
                lambda: (None, ""), None, [delivery_g, heard_g])  # the next answer is typed unless recorded again
            for event in (spoken_g.stop_recording, spoken_g.upload):
                event(transcribe, [spoken_g, picked, typed], [typed, heard_g, delivery_g, spoken_g], api_name=False)
        with gr.Tab("Progress"):
            refresh = gr.Button("Refresh")
            mastery = gr.LinePlot(x="day", y="score", color="part", y_lim=[0, 10], visible=False, elem_id="mastery-over-time",
                                  label="Mastery per part over time (latest score of each question attempted)")
            mastery_today = gr.BarPlot(x="part", y="score", y_lim=[0, 10], visible=False, elem_id="mastery-today",
                                       label="Mastery per part (latest score of each question attempted)")
            queue = gr.Markdown(elem_id="progress-status")
            with gr.Row():
                export_button = gr.Button("Export progress")
                exported = gr.File(label="Progress file", elem_id="progress-file")
                upload = gr.File(label="Import a progress file", file_types=[".sqlite3"], elem_id="progress-import")
            with gr.Row():
                confirm = gr.Checkbox(label="I want to delete all my progress")
                reset = gr.Button("Reset", variant="stop")
            status = gr.Markdown()
            refresh.click(show_progress, None, [mastery, mastery_today, queue], api_name="progress")
            export_button.click(export_progress, None, exported, api_name="progress_export")
            upload.upload(import_progress, upload, status)
            reset.click(reset_progress, confirm, status, api_name="progress_reset")
    return demo


demo = build()


def readiness() -> dict:
    """What /healthz reports: ready once the index is loaded and the progress store answers."""
    index = ENGINE.ready  # built at launch, before serving
    try:
        database = _store().healthy()
    except AssistantError:
        database = False
    return {"ready": index and database, "index": index, "database": database, **ENGINE.model.status()}


def web_app(auth):
    """The server: /healthz, then the Gradio UI (with its queue and logins) at /."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    api = FastAPI()

    @api.get("/healthz")
    def healthz():
        report = readiness()
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    return gr.mount_gradio_app(api, demo.queue(default_concurrency_limit=4), path="", auth=auth, show_error=False)


def serve(app, host: str, port: int) -> None:
    """uvicorn: on SIGTERM it stops accepting and lets running requests finish (30 s at most), so an
    answer being saved is saved; what was acknowledged is committed already."""
    import uvicorn

    if os.environ.get("CI") is None and host in ("127.0.0.1", "localhost"):
        import webbrowser

        threading.Timer(2.0, webbrowser.open, [f"http://{host}:{port}/"]).start()
    uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=30, log_level="warning")


def main() -> int:
    try:
        host, port = ENGINE.settings.address
        auth = login_check(ENGINE.settings)
        if auth is None and host not in ("127.0.0.1", "localhost", "::1"):
            raise AssistantError(f"Listening on {host} needs logins: add users with 'assistant users add NAME', "
                                 "or set ASSISTANT_USERNAME and ASSISTANT_PASSWORD; refusing to start.")
        ENGINE.retriever  # build or load the index before the first user waits for it
        _store()  # reach (and migrate) the progress store now: a wrong address fails here, not per user
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging()
    if hasattr(ENGINE.model.writer, "load"):
        threading.Thread(target=_load_model, daemon=True).start()  # answers stay extractive until it is there
    serve(web_app(auth), host, port)
    return 0


def _load_model() -> None:
    try:
        ENGINE.model.writer.load()
    except AssistantError as exc:
        ENGINE.model.failed(exc)  # said once, by the owner; /healthz reports it


if __name__ == "__main__":
    raise SystemExit(main())
