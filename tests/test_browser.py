"""End to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright), against a
live server, the real Celery worker, real containers and the dev LLM server.
Screenshots of the key pages go to tests/screenshots/ (ignored by git)."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from courses.models import Assignment, TestCase
from grading.models import Status, Submission
from grading.services import Upload, do_submit
from tests.conftest import PASSWORD, SHOTS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker, pytest.mark.worker]
# Fails the visible "small" test (3 expected, -1 got) and the others.
SUBTRACTS = "def add(a, b):\n    return a - b\n\nif __name__ == '__main__':\n    print(add(*map(int, input().split())))\n"
STARTER = "def add(a, b):\n    pass  # your code here\n"
DRAFTS = "Object.keys(localStorage).filter(k => k.startsWith('grader:draft:')).length"  # kept drafts


def code_editor(page, name):
    """A CodeMirror editor by its label, once static/build/editor.js has replaced every textarea.
    Looked up inside the editor: a click that loads a page returns once the page is committed,
    before its deferred scripts have run, and until then the bare textarea answers to the same
    label."""
    editor = page.locator(".editor").get_by_role("textbox", name=name)
    expect(editor).to_be_visible()
    expect(page.locator("textarea[data-editor]:not([data-enhanced])")).to_have_count(0)
    return editor


LINES_LINE_UP = """() => {
    // Every code line must sit on the row of its own line number, in every listing: a marked
    // line (the hint's) must not swallow the next line or shift the ones after it.
    const wrong = [];
    for (const table of document.querySelectorAll('.highlighttable')) {
        const numbers = table.querySelectorAll('.linenos .normal, .linenos span');
        const lines = table.querySelectorAll('td.code span[id]');
        lines.forEach((line, i) => {
            const number = numbers[i];
            if (!number) return;
            const row = line.getClientRects();
            const top = Array.from(row).find(r => r.height > 0);
            if (!top || Math.abs(top.top - number.getBoundingClientRect().top) > 2)
                wrong.push(line.id);
        });
    }
    return wrong;
}"""


def full_page_shot(page, name):
    """A full-page screenshot. CodeMirror measures its lines only once they are on screen (until
    then its line numbers sit at estimated heights), so every editor is scrolled into view first,
    as a reader scrolling down would."""
    for editor in page.locator(".cm-editor").all():
        editor.scroll_into_view_if_needed()
        page.wait_for_timeout(50)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=SHOTS / name, full_page=True)


def fits_the_screen(page):
    """Nothing wider than the viewport: wide tables and code scroll inside their own boxes.
    Measured once the page has loaded: a click returns as soon as the next page is committed,
    and until site.css applies the page is laid out unstyled (395 px wide on a 390 px phone)."""
    page.wait_for_load_state()
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def assert_code_lines_line_up(page):
    page.wait_for_load_state()  # styled (see fits_the_screen)
    assert page.evaluate(LINES_LINE_UP) == []


def in_new_york(when):
    """A time as Chromium's Intl shows it in en-US, New York (static/js/live.js's format)."""
    local = when.astimezone(ZoneInfo("America/New_York"))
    hour = local.hour % 12 or 12
    return f"{local:%b} {local.day}, {local.year}, {hour}:{local:%M}\u202f{local:%p}"


def open_holding_back(page, url, script):
    """Open ``url`` while ``static/js/<script>`` is held back, as on a slow connection; returns
    the function that lets the script load (once the browser has asked for it, ≤ 10 s)."""
    held = []

    def hold(route):
        held.append(route)

    page.route(f"**/js/{script}*", hold)
    page.goto(url, wait_until="commit")

    def release():
        for _ in range(500):
            if held:
                break
            page.wait_for_timeout(20)
        assert len(held) == 1
        held[0].continue_()

    return release


def log_in(page, base, username):
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your courses")).to_be_visible()


def test_a_student_submits_and_watches_the_result_arrive(
    live_server, people, assignment, celery_worker, browser
):
    # A deadline next year; this student's browser is in New York.
    deadline = (timezone.now() + timedelta(days=400)).replace(hour=17, minute=0, second=0, microsecond=0)
    Assignment.objects.filter(pk=assignment.pk).update(
        starter_files={"solution.py": STARTER},
        deadline=deadline,
        hard_deadline=deadline + timedelta(days=2),
        late_policy="penalty",
        late_penalty_percent=10,
        late_penalty_cap_percent=30,
        attempt_limit=5,
        min_seconds_between_attempts=600,
    )
    page = browser.new_page(
        viewport={"width": 1000, "height": 900}, timezone_id="America/New_York", locale="en-US"
    )
    log_in(page, live_server.url, "alice")
    page.get_by_role("link", name="Add").first.click()
    assignment_url = page.url
    # The code editor (CodeMirror, built from npm at set-up): line numbers, highlighting, Tab.
    editor = code_editor(page, "Your code")
    expect(page.locator("textarea[name=code]")).to_have_value(STARTER)  # nothing sent yet
    expect(page.locator("#attempts")).to_contain_text("0 of 5 used, 5 left.")
    expect(page.locator("#attempts")).to_contain_text("Wait at least 10 min between attempts.")
    # Deadlines in the reader's time zone, with the late rule.
    expect(page.locator("#deadline time")).to_have_text(in_new_york(deadline))
    expect(page.locator("#late-rule")).to_contain_text("Late work loses 10% per started day, at most 30%.")
    expect(page.locator("#late-rule time")).to_have_text(in_new_york(deadline + timedelta(days=2)))
    expect(page.locator(".editor .cm-lineNumbers")).to_be_visible()
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(SUBTRACTS)
    keyword = page.locator(".cm-line span", has_text="return").first
    assert keyword.evaluate("e => getComputedStyle(e).color") != editor.evaluate(
        "e => getComputedStyle(e).color"
    )
    page.keyboard.press("Control+Home")
    page.keyboard.press("Tab")
    code = page.locator("textarea[name=code]")  # the form's own field, kept in step by the editor
    assert code.input_value().startswith("    def add")
    page.keyboard.press("Shift+Tab")
    assert code.input_value() == SUBTRACTS
    # Escape then Tab leaves the editor: the keyboard is never trapped.
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert not page.evaluate("document.activeElement.closest('.editor')")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Attempt 1 received")).to_be_visible()
    # The draft kept while typing was sent: the page of the new attempt forgets it.
    page.wait_for_function(f"() => {DRAFTS} === 0")
    url = page.url
    # The status updates in place (static/js/live.js), without a reload.
    expect(page.locator("[data-status]")).to_have_text("Graded", timeout=90_000)
    expect(page.locator("#live")).to_have_attribute(
        "data-done", "1", timeout=90_000
    )  # the model's hint, not a stand-in
    expect(page.locator("#live")).to_contain_text("hint ready")
    assert page.url == url
    expect(page.locator("[data-score]")).to_have_text("0.00")
    # The message of the moment ("grading has started") went when the result arrived.
    expect(page.get_by_text("grading has started")).to_have_count(0)
    expect(page.get_by_text("Details of hidden tests are not shown.")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Outcome.")
    expect(page.locator("main")).not_to_contain_text("Status.")
    # Expected vs actual, side by side, for the visible test that failed (values of one line
    # need no diff).
    small = page.locator("article.result", has_text="small")
    expect(small.locator(".value-expected pre")).to_have_text("3")
    expect(small.locator(".value-got pre")).to_have_text("-1")
    expect(small.locator(".diff")).to_have_count(0)
    hint = page.get_by_role("complementary", name="Hint")
    expect(hint).to_be_visible()
    # The line the hint points to is highlighted in the code, also when the hint arrived live.
    target = hint.get_by_role("link", name="line").get_attribute("href")
    expect(page.locator(target)).to_have_class("hint-line")
    assert_code_lines_line_up(page)
    page.screenshot(path=SHOTS / "student-submission.png", full_page=True)
    page.get_by_role("button", name="Yes").click()
    expect(page.get_by_text("your rating helps")).to_be_visible()
    # After a reload the server marks the same line itself.
    expect(page.locator(f"{target} .hll")).to_have_count(1)
    assert_code_lines_line_up(page)
    # On a phone the page fits the screen: wide tables and code scroll inside their own boxes.
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_the_screen(page)
    assert_code_lines_line_up(page)
    page.screenshot(path=SHOTS / "student-submission-phone.png", full_page=True)

    # Back on the assignment page, the editor holds the code just submitted (not the starter
    # code), and the page says where the student stands.
    page.set_viewport_size({"width": 1000, "height": 900})
    page.goto(assignment_url)
    editor = code_editor(page, "Your code")
    code = page.locator("textarea[name=code]")
    expect(code).to_have_value(SUBTRACTS)
    expect(page.locator(".cm-content")).to_contain_text("return a - b")
    expect(page.locator("#counted")).to_contain_text("0.00 / 3.00 from attempt 1")
    expect(page.locator("#attempts")).to_contain_text("1 of 5 used, 4 left.")
    expect(page.locator("#editor-status")).to_be_empty()
    # The wait before the next attempt, from the server, counting down.
    countdown = page.locator("#submit-state .countdown")
    expect(page.locator("#submit-state")).to_contain_text(re.compile(r"You can submit again in \d+ min"))
    shown = countdown.inner_text()
    expect(countdown).not_to_have_text(shown)
    # A change not sent yet survives a reload, and the page says it was restored.
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("# not sent yet\n")
    page.reload()
    editor = code_editor(page, "Your code")
    status = page.locator("#editor-status")
    expect(status).to_contain_text("Your unsent changes from")
    expect(status).to_contain_text("were restored.")
    expect(page.locator(".cm-content")).to_contain_text("# not sent yet")
    assert code.input_value() == SUBTRACTS + "# not sent yet\n"
    page.screenshot(path=SHOTS / "student-assignment.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_the_screen(page)
    page.screenshot(path=SHOTS / "student-assignment-phone.png", full_page=True)
    page.set_viewport_size({"width": 1000, "height": 900})

    # Starting again from the starter code asks first, in the page, and submits nothing.
    page.get_by_role("button", name="Start again from the starter code").click()
    page.get_by_role("button", name="Keep my code").click()
    expect(page.get_by_role("button", name="Replace with the starter code")).to_be_hidden()
    expect(page.locator(".cm-content")).to_contain_text("# not sent yet")
    page.get_by_role("button", name="Start again from the starter code").click()
    page.get_by_role("button", name="Replace with the starter code").click()
    expect(status).to_contain_text("The editor holds the starter code now.")
    expect(page.locator(".cm-content")).to_contain_text("pass  # your code here")
    expect(page.locator(".cm-content")).not_to_contain_text("return a - b")
    assert code.input_value() == STARTER
    assert page.url == assignment_url and Submission.objects.count() == 1
    # The starter code is now the unsent work; discarding it brings back the latest attempt.
    page.reload()
    expect(status).to_contain_text("were restored.")
    expect(page.locator(".cm-content")).to_contain_text("pass  # your code here")
    status.get_by_role("button", name="Discard them").click()
    expect(status).to_contain_text("Discarded")
    expect(page.locator(".cm-content")).to_contain_text("return a - b")
    assert code.input_value() == SUBTRACTS
    page.reload()
    code_editor(page, "Your code")
    expect(status).to_be_empty()
    expect(code).to_have_value(SUBTRACTS)
    # Logging out forgets the drafts this browser kept (a shared computer's next user).
    page.locator(".cm-content").click()
    page.keyboard.insert_text("# mine only\n")
    page.wait_for_function(f"() => {DRAFTS} === 1")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.evaluate(f"() => {DRAFTS}") == 0

    # Without JavaScript: the plain textarea holds the latest attempt, the wait is the server's.
    plain = browser.new_context(java_script_enabled=False).new_page()
    log_in(plain, live_server.url, "alice")
    plain.goto(assignment_url)
    expect(plain.locator("textarea[name=code]")).to_have_value(SUBTRACTS)
    expect(plain.locator("textarea[name=code]")).to_be_visible()
    expect(plain.get_by_role("button", name="Start again from the starter code")).to_be_hidden()
    expect(plain.locator("#submit-state")).to_contain_text(re.compile(r"You can submit again in \d+ min"))
    expect(plain.get_by_role("button", name="Submit")).to_be_disabled()


def test_the_submit_button_comes_back_when_the_wait_is_over(live_server, people, assignment, browser):
    Assignment.objects.filter(pk=assignment.pk).update(min_seconds_between_attempts=60)
    Submission.objects.create(
        assignment=assignment, student=people["alice"], attempt=1, files={"solution.py": ""}
    )
    page = browser.new_page()
    page.clock.install()
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/courses/cs1/add/")
    submit = page.get_by_role("button", name="Submit")
    expect(page.locator("#submit-state")).to_contain_text("You can submit again in")
    expect(submit).to_be_disabled()
    page.clock.fast_forward(62_000)
    expect(page.locator("#submit-state")).to_have_text("You can submit again now.")
    expect(submit).to_be_enabled()
    page.close()


def test_a_title_typed_before_the_page_scripts_load_still_gets_its_slug(live_server, people, course, browser):
    # On a slow connection the instructor starts typing before authoring.js has run: hold the
    # script back, type, then let it load.
    page = browser.new_page()
    log_in(page, live_server.url, "instructor")
    release = open_holding_back(page, live_server.url + "/courses/cs1/-/new/", "authoring.js")
    page.get_by_label("Title").press_sequentially("Multiply Två")
    expect(page.get_by_label("Slug")).to_have_value("")
    release()
    expect(page.get_by_label("Slug")).to_have_value("multiply-tva")
    page.close()


def test_code_typed_before_the_page_scripts_load_is_kept(live_server, people, assignment, browser):
    # On a slow connection the student starts typing into the plain text box before
    # assignment.js and the editor have run: their text must survive both, as an unsent draft.
    page = browser.new_page()
    log_in(page, live_server.url, "alice")
    release = open_holding_back(page, live_server.url + "/courses/cs1/add/", "assignment.js")
    page.locator("textarea[name=code]").fill("def add(a, b):\n    return a + b  # typed early\n")
    release()
    editor = code_editor(page, "Your code")
    expect(editor).to_contain_text("# typed early")
    expect(page.locator("#code-origin")).to_contain_text("Not submitted yet")
    assert page.evaluate(DRAFTS) == 1
    page.close()


def test_the_script_that_asks_for_confirmation_runs_before_any_form_exists(
    live_server, people, course, browser
):
    # data-confirm (static/js/live.js) guards deleting and archiving: its listener must be on
    # the document before any such form exists, so the script is in the head and not deferred
    # (a deferred one runs after the whole page is parsed, and a quick click slips through).
    page = browser.new_page()
    log_in(page, live_server.url, "instructor")
    page.goto(live_server.url + "/courses/cs1/", wait_until="commit")
    where = page.evaluate(
        "(() => { const s = document.querySelector('script[src*=\"js/live.js\"]');"
        " return [s.parentElement.tagName, s.defer, s.async]; })()"
    )
    assert where == ["HEAD", False, False]
    page.close()


def test_the_late_penalty_settings_show_only_for_a_late_penalty(live_server, people, course, browser):
    page = browser.new_page()
    log_in(page, live_server.url, "instructor")
    page.goto(live_server.url + "/courses/cs1/-/new/")
    penalty = page.get_by_label("Late penalty percent")
    expect(page.get_by_label("Late policy")).to_have_value("reject")
    expect(penalty).to_be_hidden()
    page.get_by_label("Late policy").select_option("penalty")
    expect(penalty).to_be_visible()
    page.get_by_label("Late policy").select_option("accept")
    expect(penalty).to_be_hidden()
    # Without scripts every setting is there.
    plain = browser.new_context(java_script_enabled=False).new_page()
    log_in(plain, live_server.url, "instructor")
    plain.goto(live_server.url + "/courses/cs1/-/new/")
    expect(plain.get_by_label("Late penalty percent")).to_be_visible()
    plain.close()
    page.close()


def test_an_instructor_authors_checks_publishes_and_reads_the_results(
    live_server, people, course, celery_worker, browser
):
    base = live_server.url
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    log_in(page, base, "instructor")
    page.goto(base + "/courses/cs1/")
    page.get_by_role("link", name="New assignment").click()
    # The slug follows the title (static/js/authoring.js) until it is edited by hand.
    title, slug = page.get_by_label("Title"), page.get_by_label("Slug")
    title.press_sequentially("Multiply Två")
    expect(slug).to_have_value("multiply-tva")
    slug.fill("mul")
    title.fill("Multiply")
    expect(slug).to_have_value("mul")
    page.get_by_label("Statement", exact=True).fill(
        "Write `mul(a, b)`:\n\n| a | b | mul |\n|---|---|---|\n| 6 | 7 | 42 |"
    )
    # The preview shows the statement as students will see it (rendered by the server).
    page.get_by_role("button", name="Preview the statement").click()
    preview = page.get_by_role("region", name="Statement preview")
    expect(preview.locator("code")).to_have_text("mul(a, b)")
    expect(preview.locator("table td").last).to_have_text("42")
    page.get_by_label("Statement", exact=True).press("End")
    page.get_by_label("Statement", exact=True).press_sequentially(" ")
    expect(preview.get_by_role("heading")).to_contain_text("earlier version")
    code_editor(page, "Starter code").fill("def mul(a, b):\n    pass\n")
    code_editor(page, "Reference solution").fill(
        "def mul(a, b):\n    return a * b\n\nif __name__ == '__main__':\n    print(mul(*map(int, input().split())))\n"
    )
    page.get_by_label("Deadline", exact=True).fill("2030-12-24T18:00")
    full_page_shot(page, "instructor-new-assignment.png")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_text("Draft created")).to_be_visible()

    # A visible stdin/stdout test and a hidden expression test, each with its own form.
    page.get_by_role("link", name="Standard input / output").click()
    page.get_by_label("Name").fill("prints")
    page.get_by_label("Input (stdin)").fill("6 7\n")
    page.get_by_label("Expected output (stdout)").fill("42")
    page.get_by_label("Compare the output").select_option("whitespace")
    page.get_by_role("button", name="Save test").click()
    expect(page.get_by_text("Test “prints” saved.")).to_be_visible()
    page.get_by_role("link", name="Expression").click()
    page.get_by_label("Name").fill("hidden product")
    page.get_by_label("Visible to students").uncheck()
    page.get_by_label("Points").fill("2")
    code_editor(page, "Expression").fill("mul(6, 7")
    code_editor(page, "Expected value").fill("42")
    page.get_by_role("button", name="Save test").click()
    expect(page.get_by_role("alert")).to_contain_text("expression does not parse")  # nothing saved
    code_editor(page, "Expression").fill("mul(6, 7)")
    page.get_by_role("button", name="Save test").click()
    expect(page.get_by_text("Test “hidden product” saved.")).to_be_visible()
    expect(page.locator("#tests + div table tbody tr")).to_have_count(2)
    # Deleting asks first; saying no keeps the test.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Delete test prints").click()
    page.reload()
    expect(page.locator("#tests + div table tbody tr")).to_have_count(2)
    assert asked and "prints" in asked[0]
    full_page_shot(page, "instructor-edit-assignment.png")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_the_screen(page)
    full_page_shot(page, "instructor-edit-assignment-phone.png")
    page.set_viewport_size({"width": 1000, "height": 900})

    page.get_by_role("link", name="Submissions, reference check and publishing").click()
    page.get_by_role("button", name="Check the tests against the reference solution").click()
    expect(page.get_by_text("All 2 tests pass with the reference solution")).to_be_visible(timeout=60_000)
    expect(page.locator("main")).not_to_contain_text("Outcome.")
    page.get_by_text("Show the tests").click()  # folded into one line: they all pass
    expect(page.get_by_role("cell", name="hidden product")).to_be_visible()
    page.screenshot(path=SHOTS / "instructor-reference-check.png", full_page=True)
    page.go_back()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published: students can see it now.")).to_be_visible()

    # Two students submit, so the gradebook and the analytics have something to show.
    student = browser.new_page()
    log_in(student, base, "alice")
    student.get_by_role("link", name="Multiply").first.click()
    code_editor(student, "Your code").fill("def mul(a, b):\n    return a * b\n")  # no main: prints nothing
    student.get_by_role("button", name="Submit").click()
    other = browser.new_page()
    log_in(other, base, "bob")
    other.get_by_role("link", name="Multiply").first.click()
    code_editor(other, "Your code").fill(  # a wrong output, and an error in the hidden test
        "def mul(a, b):\n    raise ValueError('not yet')\n\nif __name__ == '__main__':\n    print('forty-two')\n"
    )
    other.get_by_role("button", name="Submit").click()
    expect(student.locator("[data-status]")).to_have_text("Graded", timeout=90_000)
    expect(other.locator("[data-status]")).to_have_text("Graded", timeout=90_000)

    page.goto(base + "/courses/cs1/-/gradebook/")
    expect(page.get_by_role("heading", name="Gradebook: CS 1")).to_be_visible()
    expect(page.get_by_role("row", name="alice")).to_contain_text("2.00")  # hidden passed, io failed
    page.screenshot(path=SHOTS / "instructor-gradebook.png", full_page=True)
    page.goto(base + "/courses/cs1/mul/analytics/")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.get_by_text("hidden product").first).to_be_visible()
    # What the class gets wrong: the visible test's values, the hidden test's kinds only.
    wrong = page.locator("section.wrong-answers")
    expect(wrong.get_by_role("table").first).to_contain_text("forty-two↵")
    expect(wrong.get_by_role("table").first).to_contain_text("Printed nothing")
    expect(wrong.get_by_role("table").nth(1)).to_contain_text("Error: ValueError")
    expect(wrong.locator("svg.chart")).to_have_count(2)
    page.screenshot(path=SHOTS / "instructor-analytics.png", full_page=True)
    wrong.get_by_role("table").first.get_by_role("row", name="forty-two").get_by_role("link").click()
    expect(page.locator("p.notice")).to_contain_text(
        "whose answer to the test “prints” is forty-two↵: 1 student."
    )
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody tr")).to_contain_text("bob")
    page.screenshot(path=SHOTS / "instructor-submissions-by-answer.png", full_page=True)

    # People, on a phone: the table scrolls in its own box; removing someone asks first.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/courses/cs1/-/members/")
    assert fits_the_screen(page)
    page.screenshot(path=SHOTS / "instructor-people-phone.png", full_page=True)
    page.get_by_role("link", name="Remove bob from the course").click()
    expect(page.get_by_role("heading", name="Remove bob from cs1?")).to_be_visible()
    assert fits_the_screen(page)
    page.screenshot(path=SHOTS / "instructor-remove-phone.png", full_page=True)
    page.get_by_role("button", name="Remove from course").click()
    expect(page.get_by_text("bob was removed from cs1")).to_be_visible()
    expect(page.get_by_role("link", name="Remove bob from the course")).to_have_count(0)


def test_a_student_who_forgot_the_password_sets_a_new_one_on_a_phone(live_server, people, course, browser):
    base = live_server.url
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(base + "/accounts/login/")
    assert fits_the_screen(page)
    page.screenshot(path=SHOTS / "student-login-phone.png", full_page=True)
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail address").fill("alice@example.edu")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    page.screenshot(path=SHOTS / "student-reset-sent-phone.png", full_page=True)
    assert [m.to for m in mail.outbox] == [["alice@example.edu"]]
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)

    page.goto(base + link)
    expect(page.get_by_text("For the account alice.")).to_be_visible()
    # A weak password is refused with the reason; the link still works for the next try.
    for label in ("New password", "The same password again"):
        page.get_by_label(label).fill("12345678")
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved. Please correct these:")
    # Each reason names the box as the page does and leads to it.
    reason = page.get_by_role("alert").get_by_role("link", name="New password").first
    expect(reason).to_have_attribute("href", "#id_new_password1")
    expect(page.get_by_role("alert")).to_contain_text("New password: This password is entirely numeric")
    assert fits_the_screen(page)
    page.screenshot(path=SHOTS / "student-new-password-refused-phone.png", full_page=True)
    for label in ("New password", "The same password again"):
        page.get_by_label(label).fill("orange-kettle-1987-walrus")
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_role("heading", name="Password set")).to_be_visible()

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("orange-kettle-1987-walrus")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your courses")).to_be_visible()
    # The link worked once.
    page.goto(base + link)
    expect(page.get_by_role("alert")).to_have_text("This link has already been used or has expired.")


def test_an_instructor_archives_an_assignment_and_the_course_then_restores_them(
    live_server, people, assignment, browser
):
    base = live_server.url
    student = browser.new_page()
    log_in(student, base, "alice")
    expect(student.get_by_role("link", name="CS 1")).to_be_visible()
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    log_in(page, base, "instructor")
    page.goto(base + "/courses/cs1/")

    # Archiving asks first; saying no changes nothing.
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.get_by_role("button", name="Archive Add").click()
    expect(page.get_by_role("button", name="Archive Add")).to_be_visible()
    assert questions and "takes no more submissions" in questions[-1]
    assert Assignment.objects.get(pk=assignment.pk).archived_at is None

    page.once("dialog", lambda dialog: answer(dialog, True))
    page.get_by_role("button", name="Archive Add").click()
    expect(page.locator(".messages")).to_contain_text("“Add” archived")
    expect(page.get_by_role("button", name="Restore Add")).to_be_visible()
    page.screenshot(path=SHOTS / "instructor-assignment-archived.png", full_page=True)
    student.goto(base + "/courses/cs1/")
    expect(student.get_by_role("link", name="Add")).to_have_count(0)

    page.once("dialog", lambda dialog: answer(dialog, True))
    page.get_by_role("button", name="Archive the course").click()
    expect(page.get_by_text("This course is archived.")).to_be_visible()
    expect(page.get_by_role("button", name="Restore Add")).to_have_count(0)  # read-only now
    page.screenshot(path=SHOTS / "instructor-course-archived.png", full_page=True)
    student.goto(base + "/")
    expect(student.get_by_role("link", name="CS 1")).to_have_count(0)

    page.get_by_role("button", name="Restore the course").click()  # restoring asks nothing
    expect(page.get_by_role("button", name="Archive the course")).to_be_visible()
    page.get_by_role("button", name="Restore Add").click()
    expect(page.get_by_role("button", name="Archive Add")).to_be_visible()
    student.goto(base + "/courses/cs1/")
    expect(student.get_by_role("link", name="Add")).to_be_visible()


def _numbers(n: int) -> str:
    return "".join(f"{i}\n" for i in range(1, n + 1))


# Right up to 34; from 50 on it also prints 3,000 debugging lines (long output, long diff).
COUNTS = "n = int(input())\nfor i in range(1, n + 1):\n    print(i)\nif n >= 50:\n    for i in range(3000):\n        print('debug', i)\n"


@pytest.fixture
def counting(course):
    """Ten stdin/stdout tests: print 1 to n (n = 100 hidden)."""
    assignment = Assignment.objects.create(
        course=course,
        slug="count",
        title="Count",
        statement="Print the numbers from 1 to `n`, one per line.",
        published=True,
        reference_files={"solution.py": "n = int(input())\nfor i in range(1, n + 1):\n    print(i)\n"},
    )
    for order, n in enumerate([1, 2, 3, 5, 8, 13, 21, 34, 50, 100]):
        TestCase.objects.create(
            assignment=assignment,
            name=f"n = {n}",
            kind="io",
            visible=n != 100,
            points=1,
            order=order,
            spec={"stdin": f"{n}\n", "stdout": _numbers(n)},
            time_limit=5,
        )
    return assignment


def test_an_instructor_reads_a_long_result_and_regrades_it_live(
    live_server, people, counting, celery_worker, wait_for, llm_server, browser
):
    base = live_server.url
    submission = do_submit(people["alice"], counting, [Upload("solution.py", COUNTS.encode())])
    assert wait_for(lambda: Submission.objects.get(pk=submission.pk).status == Status.GRADED, 90)
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    log_in(page, base, "instructor")
    page.goto(f"{base}/submissions/{submission.pk}/")
    expect(page.locator("#live")).to_have_attribute("data-done", "1", timeout=90_000)  # the hint is in
    # The two failing tests first, in full; the eight passing ones folded into one line.
    expect(page.get_by_role("heading", name="2 tests did not pass")).to_be_visible()
    failing = page.locator("article.result")
    expect(failing).to_have_count(2)
    expect(failing.first.get_by_role("heading")).to_contain_text("n = 50")
    expect(page.get_by_text("8 tests passed")).to_be_visible()
    expect(page.get_by_role("cell", name="n = 13")).to_be_hidden()
    # Long output is cut, with a way to see all of it: the diff first, the values in full folded.
    first = failing.first
    expect(first.locator(".diff-box > summary")).to_be_visible()
    expect(first.locator(".diff .diff-add").first).to_have_text("+debug 0")
    expect(first.get_by_text(re.compile(r"^Show all [\d,]+ lines of the difference$"))).to_be_visible()
    expect(first.locator(".value-got")).to_be_hidden()
    expect(page.locator("main")).not_to_contain_text("Outcome.")
    page.screenshot(path=SHOTS / "instructor-submission.png", full_page=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4000, height
    first.get_by_text("Expected and got, in full").click()
    got = first.locator(".value-got")
    expect(got.locator("summary")).to_have_text(re.compile(r"^Show all [\d,]+ lines$"))
    expect(got.locator("pre.rest")).to_be_hidden()
    got.locator("summary").click()
    expect(got.locator("pre.rest")).to_be_visible()
    page.get_by_text("8 tests passed").click()
    expect(page.get_by_role("cell", name="n = 13")).to_be_visible()
    page.screenshot(path=SHOTS / "instructor-submission-opened.png", full_page=True)

    # A regrade: the page follows it live and the staff controls come back without a reload.
    llm_server.faults(slow=1.0, slow_seconds=8)  # the new hint takes a while: the page keeps polling
    page.get_by_role("button", name="Regrade this submission").click()
    expect(page.get_by_text("Regrading: the results below update")).to_be_visible()
    expect(page.get_by_text("Being graded again")).to_be_visible()
    expect(page.get_by_label("New score")).to_have_count(0)
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("[data-status]")).to_have_text("Graded", timeout=90_000)
    expect(page.get_by_role("button", name="Regrade this submission")).to_be_visible()
    expect(page.get_by_label("New score")).to_be_visible()
    expect(page.get_by_text("Regrading: the results below update")).to_have_count(0)
    expect(page.get_by_text("Being graded again")).to_have_count(0)
    # A reason typed while the new hint is on its way stays typed, through the refreshes.
    polls = []
    page.on("request", lambda request: polls.append(request.url) if request.url.endswith("/live/") else None)
    page.get_by_label("Reason").fill("Partial credit for the debugging lines")
    expect(page.locator("#live")).to_have_attribute("data-done", "1", timeout=90_000)
    assert len(polls) >= 2  # the live part was replaced while the reason stood typed
    assert page.get_by_label("Reason").input_value() == "Partial credit for the debugging lines"
    assert page.evaluate("document.activeElement.id") == "override-reason"
    assert page.evaluate("window.stillTheSamePage") is True
    page.get_by_label("New score").fill("9")
    page.get_by_role("button", name="Override").click()
    expect(page.get_by_text("Score overridden: the student sees")).to_be_visible()
    expect(page.locator("[data-score]")).to_have_text("9.00")
    # On a phone the long results fit the screen too: long lines wrap or scroll in their own box.
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_the_screen(page)
    page.screenshot(path=SHOTS / "instructor-submission-phone.png", full_page=True)


def test_a_student_whose_code_does_not_run_reads_one_banner_and_what_was_found(
    live_server, people, assignment, llm, browser
):
    """Code Python cannot read: one banner, not an error per test; then code that runs but reads
    input at import: what reading the code found, explained for the hidden test too."""
    from grading import run as grading

    assignment.llm_hints = False
    assignment.save()
    broken = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={"solution.py": "def add(a, b)\n    return a + b\n"},
    )
    grading.grade(broken.pk)
    reads = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=2,
        files={"solution.py": "n = input()\ndef add(a, b):\n    return a + b\n"},
    )
    grading.grade(reads.pk)
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/submissions/{broken.pk}/")
    expect(page.get_by_role("alert")).to_contain_text("Your code does not run.")
    expect(page.get_by_role("alert")).to_contain_text("Python cannot read solution.py line 1")
    expect(page.locator("table.results")).to_have_count(0)
    expect(page.locator("[data-score]")).to_have_text("none")  # its 0 is no grade
    page.screenshot(path=SHOTS / "student-does-not-run.png", full_page=True)
    page.goto(f"{live_server.url}/submissions/{reads.pk}/")
    found = page.get_by_role("region", name="Found by reading your code")
    expect(found).to_contain_text("reads input at line 1 as soon as it is imported")
    expect(page.get_by_text("What reading your code found (above) may explain it.").first).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_the_screen(page)
    page.screenshot(path=SHOTS / "student-findings-phone.png", full_page=True)
