"""End to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright), against a
live server, the real Celery worker, real containers and the dev LLM server.
Screenshots of the key pages go to tests/screenshots/ (ignored by git)."""

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import PASSWORD, WRONG

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker, pytest.mark.worker]
SHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


# The browser comes last among each test's fixtures: Playwright's sync API runs what follows in a
# greenlet, where Django would open (and never close) a second database connection.
@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the database calls made here
    # are ordinary synchronous ones (Django documents this switch for such tools).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def log_in(page, base, username):
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your courses")).to_be_visible()


def test_a_student_submits_and_watches_the_result_arrive(
    live_server, people, assignment, celery_worker, browser
):
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    log_in(page, live_server.url, "alice")
    page.get_by_role("link", name="Add").first.click()
    page.screenshot(path=SHOTS / "student-assignment.png", full_page=True)
    page.get_by_label("Your code").fill(WRONG)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Attempt 1 received")).to_be_visible()
    url = page.url
    # The status updates in place (static/js/live.js), without a reload.
    expect(page.locator("[data-status]")).to_have_text("Graded", timeout=90_000)
    expect(page.locator("#live")).to_contain_text("hint ready", timeout=90_000)
    assert page.url == url
    expect(page.locator("[data-score]")).to_have_text("2.00")
    expect(page.get_by_text("Details of hidden tests are not shown.")).to_be_visible()
    expect(page.get_by_role("complementary", name="Hint")).to_be_visible()
    page.screenshot(path=SHOTS / "student-submission.png", full_page=True)
    page.get_by_role("button", name="Yes").click()
    expect(page.get_by_text("your rating helps")).to_be_visible()


def test_an_instructor_checks_publishes_and_reads_the_results(
    live_server, people, assignment, celery_worker, browser
):
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    log_in(page, live_server.url, "instructor")
    page.goto(live_server.url + "/courses/cs1/add/submissions/")
    page.get_by_role("button", name="Check the tests against the reference solution").click()
    expect(page.get_by_text("All 3 tests pass with the reference solution")).to_be_visible(timeout=60_000)
    page.screenshot(path=SHOTS / "instructor-reference-check.png", full_page=True)
    page.go_back()
    page.get_by_role("button", name="Unpublish").click()
    expect(page.get_by_text("Unpublished.")).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published: students can see it now.")).to_be_visible()
    page.goto(live_server.url + "/courses/cs1/-/gradebook/")
    expect(page.get_by_role("heading", name="Gradebook: CS 1")).to_be_visible()
    page.screenshot(path=SHOTS / "instructor-gradebook.png", full_page=True)
    page.goto(live_server.url + "/courses/cs1/add/analytics/")
    expect(page.locator("svg.chart, p.muted")).to_have_count(5)
    page.screenshot(path=SHOTS / "instructor-analytics.png", full_page=True)
