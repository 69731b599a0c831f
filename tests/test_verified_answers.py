"""Verified answers as a person sees them: the app's chat shows a status while a sentence is held and
then only verified sentences; the HTTP API and `assistant ask` give the same text."""

import io
import json
import time

import pytest

from assistant.cli import main
from assistant.models.generation import ScriptedGenerator
from assistant.models.language import LanguageModel
from assistant.verify.verifier import ScriptedVerifier

REPLY = ("Dropout randomly deactivates neurons during training. It is turned off during inference. "
         "Dropout is kept on when the model makes predictions. Dropout was invented by the Romans.")
FALSE = "kept on when the model makes predictions"


class Slow(ScriptedGenerator):
    """A model that writes a word every few milliseconds, so a person could watch it."""

    def __init__(self, replies, delay=0.0):
        super().__init__(replies)
        self.delay = delay

    def stream(self, messages, max_tokens=200, shared=""):
        for piece in super().stream(messages, max_tokens):
            time.sleep(self.delay)
            yield piece


def verifier(delay=0.0):
    def script(point, statement):
        time.sleep(delay / 8)  # a check reads every point of the record
        if FALSE in statement:
            return (0.05, 0.9, 0.05)
        return (0.9, 0.05, 0.05) if "dropout" in statement.lower() or "inference" in statement else (0.05, 0.05, 0.9)
    return ScriptedVerifier(script)


@pytest.fixture
def verified_app(app_url, monkeypatch):
    import app
    from assistant.coach.ask import Chat

    def use(delay):
        chat = Chat(app.ENGINE.search, app.ENGINE.corpus, app.ENGINE.grading_embedder,
                    LanguageModel.of(Slow([REPLY], delay), log=lambda m: None), verifier(delay))
        monkeypatch.setitem(app.ENGINE.__dict__, "chat", chat)
        return chat
    return use


def test_the_http_api_gives_the_text_the_cli_gives(verified_app, app_url, monkeypatch):
    import gradio_client

    from assistant.engine import Engine

    chat = verified_app(0.0)
    shown = gradio_client.Client(app_url, verbose=False).predict("What does Dropout mean?", api_name="/ask")
    monkeypatch.setattr(Engine, "chat", property(lambda self: chat))
    out = io.StringIO()
    assert main(["ask", "What does Dropout mean?", "--json"], stdout=out) == 0
    cli = json.loads(out.getvalue())["answer"]
    assert FALSE not in cli and cli.startswith("Dropout randomly deactivates neurons during training. [p3-q26]")
    assert shown.startswith(cli.split("\n\n")[0]) and FALSE not in shown.split("> ")[0]


CHROMIUM = pytest.importorskip("pathlib").Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (.ci/run installs it)")
def test_the_chat_shows_checking_then_only_verified_sentences(verified_app, app_url):
    from playwright.sync_api import expect
    from test_browser import _open, _screenshot

    verified_app(0.05)
    for page in _open(app_url):
        box = page.get_by_test_id("textbox")
        box.fill("What does Dropout mean?")
        box.press("Enter")
        bot = page.locator(".message.bot").first
        seen, deadline = [], time.time() + 60
        while time.time() < deadline:  # watch the answer as it is written
            text = bot.inner_text() if bot.count() else ""
            seen.append(text)
            if "What [" in text and "says:" in text:
                break
            time.sleep(0.05)
        assert any("checking" in t for t in seen), "no status was shown while a sentence was held"
        assert not any(FALSE in t.split("says:")[0] for t in seen), "a contradicted sentence reached the screen"
        expect(bot).to_contain_text("Dropout randomly deactivates neurons during training.")
        expect(bot).to_contain_text("It is turned off during inference.")
        _screenshot(page, "ask-verified.png")
