"""Each flow of the app in headless Chromium (Debian's /usr/bin/chromium), checked as a person sees it."""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (.ci/run installs it)")


@pytest.fixture
def page(app_url):
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(app_url)
            yield page
        finally:
            browser.close()


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
