"""Each flow of the app in headless Chromium (Debian's /usr/bin/chromium), checked as a person sees it."""

import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (.ci/run installs it)")


SPOKEN = "Dropout randomly switches off neurons during training, and it is turned off at inference."


@pytest.fixture(scope="session")
def spoken_wav(tmp_path_factory) -> Path:
    """An answer spoken by espeak-ng (Debian), for the fake microphone and the upload."""
    import shutil
    import subprocess

    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (.ci/run installs it)")
    path = tmp_path_factory.mktemp("speech") / "answer.wav"
    subprocess.run(["espeak-ng", "-s", "140", "-w", str(path), SPOKEN], check=True)
    return path


def _open(app_url, extra_args=()):
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", *extra_args],
        )
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 1400}, permissions=["microphone"]).new_page()
            page.goto(app_url)
            yield page
        finally:
            browser.close()


@pytest.fixture
def page(app_url):
    yield from _open(app_url)


@pytest.fixture
def page_with_microphone(app_url, spoken_wav):
    """Chromium's fake microphone plays the spoken answer into the app's real recorder."""
    yield from _open(app_url, ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                               f"--use-file-for-fake-audio-capture={spoken_wav}"])


def _screenshot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    assert (ARTIFACTS / name).stat().st_size > 10_000


def test_interview_round_in_a_real_browser(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Interview me").click()
    assert not page.get_by_label("Summary (markdown)").is_visible()  # nothing to download before a summary
    page.get_by_label("Part 3: Model training and Evaluation").check()
    page.get_by_role("button", name="Start").click()
    question = page.locator("#interview-question")
    expect(question).to_contain_text("Question 1 of", timeout=30_000)
    expect(question).to_contain_text("Part 3: Model training and Evaluation")  # the part chosen
    page.locator("#interview-answer textarea").fill(
        "The cost function measures the difference between predicted and true values <script>window.__xss = 1</script>")
    page.get_by_role("button", name="Submit answer").click()
    result = page.locator("#interview-result")
    expect(result).to_contain_text("Score", timeout=30_000)
    expect(result).to_contain_text("Missed")  # the grader's evidence is on screen
    expect(result).to_contain_text("Reference answer")
    expect(question).to_contain_text("Question 2 of")
    page.get_by_role("button", name="End").click()
    expect(result).to_contain_text("Interview summary", timeout=30_000)
    expect(result).to_contain_text("Answered 1, skipped 0.")
    expect(page.get_by_text("Score per part")).to_be_visible()  # the chart appears with the summary
    assert page.evaluate("() => window.__xss === undefined")  # the <script> in the answer never ran
    _screenshot(page, "interview.png")


def test_ask_then_a_follow_up_in_a_real_browser(page):
    """The follow-up is answered from the same record as the first question (Gradio 6 history parts)."""
    from playwright.sync_api import expect

    box = page.get_by_test_id("textbox")  # its placeholder goes once the chat has a message
    box.fill("is dropout used at inference?")
    box.press("Enter")
    bot = page.locator(".message.bot")
    expect(bot.first).to_contain_text("[p3-q26]", timeout=30_000)
    box.fill("and why does it help?")
    box.press("Enter")
    expect(bot).to_have_count(2, timeout=30_000)
    expect(bot.nth(1)).to_contain_text("[p3-q26]", timeout=30_000)
    assert bot.nth(1).inner_text().startswith("[p3-q26]")  # answered from the record of the first question
    _screenshot(page, "ask-follow-up.png")


def _start_interview(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Interview me").click()
    page.get_by_label("Part 3: Model training and Evaluation").check()
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#interview-question")).to_contain_text("Question 1 of", timeout=30_000)


def _submit_spoken_answer(page, screenshot: str):
    """The transcript is in the editable answer box with the delivery figures; submitting grades it."""
    from playwright.sync_api import expect

    box = page.locator("#interview-answer textarea")
    expect(box).to_have_value(re.compile(r"Dropout.*during training.*inference"), timeout=60_000)
    expect(page.locator("#interview-delivery")).to_contain_text("words per minute")
    box.fill(box.input_value() + " It prevents overfitting.")  # the transcript can be edited before grading
    page.get_by_role("button", name="Submit answer").click()
    result = page.locator("#interview-result")
    expect(result).to_contain_text("Score", timeout=60_000)
    expect(result).to_contain_text("Delivery:")  # shown beside the grade
    expect(page.locator("#interview-question")).to_contain_text("Question 2 of")
    _screenshot(page, screenshot)


@pytest.mark.slow
def test_interview_answered_through_the_microphone(page_with_microphone):
    page = page_with_microphone
    _start_interview(page)
    audio = page.locator("#interview-audio")
    audio.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_timeout(7_000)  # the clip lasts about 6 s
    audio.locator("button.stop-button").click()
    _submit_spoken_answer(page, "interview-microphone.png")


@pytest.mark.slow
def test_interview_answered_by_uploading_a_recording(page, spoken_wav):
    _start_interview(page)
    audio = page.locator("#interview-audio")
    audio.get_by_label("Upload file").click()
    audio.get_by_test_id("file-upload").set_input_files(str(spoken_wav))
    _submit_spoken_answer(page, "interview-upload.png")


def _grade_dropout(page, answer: str) -> None:
    """In the Grade tab: pick [p3-q26] by typing, answer, grade, wait for the score."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Grade").click()
    picker = page.get_by_label("Question (type to search)")
    picker.click()
    picker.fill("Dropout")
    page.get_by_role("option", name=re.compile(r"\[p3-q26\] What does Dropout mean")).click()
    page.locator("#grade-answer textarea").fill(answer)
    page.get_by_role("button", name="Grade", exact=True).click()
    expect(page.locator("#grade-result")).to_contain_text("Score", timeout=30_000)


def test_grade_a_typed_answer_and_a_custom_question(page):
    from playwright.sync_api import expect

    _grade_dropout(page, "Dropout switches off random neurons while training; at inference it is off.")
    result = page.locator("#grade-result")
    expect(result).to_contain_text("Covered")
    expect(result).to_contain_text("Follow-up")
    _screenshot(page, "grade-bank-question.png")
    page.get_by_text("…or your own question").click()
    page.get_by_label("Question", exact=True).fill("What is a variable in C++?")
    page.get_by_label("Reference answer").fill("A named location in memory that holds a value of a declared type.")
    page.locator("#grade-answer textarea").fill("A variable is a named memory location holding a value.")
    page.get_by_role("button", name="Grade", exact=True).click()
    expect(result).to_contain_text("A named location in memory", timeout=30_000)  # graded against your reference
    _screenshot(page, "grade-custom-question.png")


def test_progress_chart_export_import_and_reset(page, tmp_path):
    from playwright.sync_api import expect

    _start_interview(page)
    page.locator("#interview-answer textarea").fill("The cost function measures how far predictions are from the targets.")
    page.get_by_role("button", name="Submit answer").click()
    expect(page.locator("#interview-result")).to_contain_text("Score", timeout=30_000)
    page.get_by_role("tab", name="Progress").click()
    page.get_by_role("button", name="Refresh").click()
    chart = page.locator("#mastery-today")  # one day of attempts: bars per part
    expect(chart.locator("svg.marks")).to_be_visible(timeout=30_000)  # Vega drew it
    expect(chart).to_contain_text("Part 3")
    assert not page.locator("#mastery-over-time").is_visible()
    _screenshot(page, "progress.png")
    page.get_by_role("button", name="Export progress").click()
    link = page.locator("#progress-file a").first
    expect(link).to_be_visible(timeout=30_000)
    with page.expect_download() as download:
        link.click()
    exported = tmp_path / "progress.sqlite3"
    download.value.save_as(exported)
    assert exported.stat().st_size > 0
    page.get_by_label("I want to delete all my progress").check()
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_text("Progress reset.")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_text("No graded attempts yet")).to_be_visible(timeout=30_000)
    page.locator("#progress-import input[type=file]").set_input_files(str(exported))
    expect(page.get_by_text("Progress imported.")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_text("Review queue", exact=False)).to_be_visible(timeout=30_000)  # the attempt is back


# ----------------------------------------------------------------------------- a class on one coach


@pytest.fixture(scope="module")
def class_apps(postgres, tmp_path_factory):
    """Two app processes with logins, sharing one PostgreSQL database: a coach hosted for a class."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    import psycopg

    from assistant.progress.users import UsersFile

    with psycopg.connect(postgres.url, autocommit=True) as db:
        db.execute("CREATE DATABASE class_apps")
    url = postgres.url.rsplit("/", 1)[0] + "/class_apps"
    root = tmp_path_factory.mktemp("class")
    users = UsersFile(root / "data" / "users.json")
    users.add("ada", "ada-password")
    users.add("bob", "bob-password")
    apps = []
    for n in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "CI": "1", "ASSISTANT_PORT": str(port), "ASSISTANT_DATABASE_URL": url,
               "ASSISTANT_DATA_DIR": str(root / "data"), "ASSISTANT_INDEX_DIR": str(root / f"index{n}"),
               "ASSISTANT_CACHE_DIR": str(root / "cache"), "ASSISTANT_EMBEDDER": "fake", "ASSISTANT_GRADER_EMBEDDER": "fake",
               "ASSISTANT_BACKEND": "extractive", "ASSISTANT_RERANKER": "off"}
        log = (root / f"app{n}.log").open("w")
        apps.append((subprocess.Popen([sys.executable, str(Path(__file__).parent.parent / "app.py")], env=env,
                                      stdout=log, stderr=subprocess.STDOUT), f"http://127.0.0.1:{port}/"))
    try:
        for process, address in apps:
            for _ in range(120):
                try:
                    urllib.request.urlopen(address, timeout=2)
                    break
                except OSError:
                    assert process.poll() is None, (root / "app0.log").read_text() + (root / "app1.log").read_text()
                    time.sleep(0.5)
        yield [address for _, address in apps], url, root
    finally:
        for process, _ in apps:
            process.terminate()  # SIGTERM: uvicorn finishes running requests, then exits by the signal
        codes = [process.wait(timeout=40) for process, _ in apps]
        assert all(code in (0, -15) for code in codes), codes


def _login(page, name: str, password: str) -> None:
    page.get_by_label("username").fill(name)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()


def _progress_text(page) -> str:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Progress").click()
    page.get_by_role("button", name="Refresh").click()
    status = page.locator("#progress-status")
    expect(status).to_contain_text(re.compile("Review queue|No graded attempts"), timeout=30_000)
    return status.inner_text()


def test_each_student_sees_only_their_own_progress_across_two_app_processes(class_apps):
    from playwright.sync_api import expect

    (first, second), url, root = class_apps
    import json
    import urllib.request

    health = json.load(urllib.request.urlopen(f"{first}healthz", timeout=10))
    assert health["ready"] and health["database"] and health["index"]
    for page in _open(first):
        _login(page, "ada", "ada-password")
        _grade_dropout(page, "Dropout switches off random neurons while training.")
        assert "Review queue" in _progress_text(page)
        expect(page.locator("#mastery-today")).to_contain_text("Part 3", timeout=30_000)
    for page in _open(second):
        _login(page, "bob", "wrong-password")
        expect(page.get_by_text(re.compile("Incorrect credentials", re.I))).to_be_visible(timeout=10_000)
        _login(page, "bob", "bob-password")
        assert "No graded attempts yet" in _progress_text(page)  # ada's attempt is not his
        _screenshot(page, "class-bob-progress.png")
    for page in _open(second):  # the other process, the same database: ada's progress is there
        _login(page, "ada", "ada-password")
        assert "Review queue" in _progress_text(page)
        expect(page.locator("#mastery-today")).to_contain_text("Part 3", timeout=30_000)
    import psycopg

    with psycopg.connect(url) as db:
        rows = db.execute("SELECT user_name, question_id FROM attempts").fetchall()
    assert rows == [("ada", "p3-q26")]
    log = (root / "app0.log").read_text()  # one line per request: who, what, how long; never the answer
    assert re.search(r"user=ada action=grade ms=\d+ ok", log) and "switches off random neurons" not in log
