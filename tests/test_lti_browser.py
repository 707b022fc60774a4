"""An LTI launch in headless Chromium, inside the test LMS's iframe: the LMS page is on
127.0.0.1, the tool on localhost, so every tool cookie is a third-party one (SameSite=None;
Secure, which browsers accept from http://localhost) and the tool's pages must allow that LMS
to frame them. The screenshot goes to tests/screenshots/lti-launch-in-iframe.png."""

import pytest
from lti_tool.models import LtiUser
from playwright.sync_api import expect

from grading.models import Submission
from tests.conftest import SHOTS
from tests.lti_platform import LEARNER, TestPlatform, link_course_1, registered

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lms(live_server, settings):
    settings.LTI_FRAMED_COOKIES = False  # for the set-up launch by requests; the browser's launch turns it on
    platform = TestPlatform(live_server.url).start()
    registered(platform)
    yield platform
    platform.close()


def test_a_student_launches_the_assignment_inside_the_lms_iframe(lms, course, assignment, settings, browser):
    link_course_1(lms, course, assignment)
    settings.LTI_FRAMED_COOKIES = True
    page = browser.new_page(viewport={"width": 1100, "height": 850})
    page.goto(f"{lms.url}/course?launch={lms.launch('lms-student-1', [LEARNER])}")
    tool = page.frame_locator("#tool")
    expect(tool.get_by_role("heading", name="Add")).to_be_visible(timeout=30_000)
    expect(tool.get_by_text("Add two numbers.")).to_be_visible()
    frame = page.frame(name=None, url=lambda url: "/courses/" in url)
    assert frame is not None and frame.url.endswith(f"/courses/{course.code}/{assignment.slug}/")
    page.screenshot(path=SHOTS / "lti-launch-in-iframe.png", full_page=True)
    # A form posted inside the frame: the session and CSRF cookies travel as third-party ones.
    tool.locator(".editor").get_by_role("textbox", name="Your code").fill(
        "def add(a, b):\n    return a + b\n"
    )
    tool.get_by_role("button", name="Submit").click()
    expect(tool.get_by_role("heading", name="Add: attempt 1")).to_be_visible(timeout=30_000)
    # The site's messages travel in a cookie of their own, third-party too: the receipt shows.
    expect(tool.locator(".messages")).to_contain_text("Attempt 1 received")
    student = LtiUser.objects.get(sub="lms-student-1").auth_user
    assert Submission.objects.filter(student=student, assignment=assignment).count() == 1
    page.screenshot(path=SHOTS / "lti-submission-in-iframe.png", full_page=True)


def test_the_tool_is_not_framed_by_a_page_without_a_launch(live_server, lms, browser):
    page = browser.new_page()
    # set_content waits for the page's load event, which waits for the frame's (refused) load.
    with page.expect_console_message(lambda m: "X-Frame-Options" in m.text):
        page.set_content(f'<iframe id="t" src="{live_server.url}/accounts/login/"></iframe>')
    # Chromium refuses the frame (X-Frame-Options: DENY): it never renders the login form.
    assert page.frame_locator("#t").get_by_label("Username").count() == 0
