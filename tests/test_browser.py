"""A whole interview round in headless Chromium (Debian's /usr/bin/chromium), as a person would."""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (.ci/run installs it)")


def test_interview_round_in_a_real_browser(app_url):
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
            page.get_by_role("tab", name="Interview me").click()
            page.get_by_label("Part 3: Model training and Evaluation").check()
            page.get_by_role("button", name="Start").click()
            question = page.locator("#interview-question")
            sync_api.expect(question).to_contain_text("Question 1 of", timeout=30_000)
            sync_api.expect(question).to_contain_text("Part 3: Model training and Evaluation")  # the part chosen
            page.locator("#interview-answer textarea").fill(
                "The cost function measures the difference between predicted and true values <script>window.__xss = 1</script>")
            page.get_by_role("button", name="Submit answer").click()
            result = page.locator("#interview-result")
            sync_api.expect(result).to_contain_text("Score", timeout=30_000)
            sync_api.expect(result).to_contain_text("Missed")  # the grader's evidence is on screen
            sync_api.expect(result).to_contain_text("Reference answer")
            sync_api.expect(question).to_contain_text("Question 2 of")
            page.get_by_role("button", name="End").click()
            sync_api.expect(result).to_contain_text("Interview summary", timeout=30_000)
            sync_api.expect(result).to_contain_text("Answered 1, skipped 0.")
            assert page.evaluate("() => window.__xss === undefined")  # the <script> in the answer never ran
            page.screenshot(path=str(ARTIFACTS / "interview.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "interview.png").stat().st_size > 10_000
