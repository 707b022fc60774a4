"""Deep linking 2.0 over real HTTP: an instructor picks an assignment, the test LMS receives a
signed ltiResourceLink with its line item and verifies it against the tool's JWKS, then
launches the link it made."""

import pytest
from lti_tool.models import LtiUser

from courses.models import Membership, Role
from lti.models import AssignmentLink, CourseLink
from tests.lti_platform import (
    INSTRUCTOR,
    LEARNER,
    TEACHING_ASSISTANT,
    Browser,
    TestPlatform,
    form_of,
    link_course_1,
    registered,
)

pytestmark = pytest.mark.django_db(transaction=True)
ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


@pytest.fixture
def lms(live_server, settings):
    settings.LTI_FRAMED_COOKIES = False  # see tests.lti_platform.Browser
    platform = TestPlatform(live_server.url).start()
    registered(platform)
    yield platform
    platform.close()


@pytest.fixture
def linked(lms, course, assignment):
    link_course_1(lms, course, assignment)
    return course


def test_an_instructor_adds_an_assignment_with_its_grade_column(lms, linked, assignment):
    browser = Browser()
    page = browser.launch(lms, lms.deep_linking_launch("lms-teacher", [INSTRUCTOR]))
    assert page.url.endswith("/lti/deep-link/"), page.text[:300]
    assert assignment.title in page.text
    answer = browser.csrf_post(page.url, {"assignment": str(assignment.pk)})
    url, fields = form_of(answer.text)
    assert url == lms.url + "/deep-link-return"
    assert "received 1 item" in browser.post(url, fields).text  # verified by the LMS against our JWKS
    response = lms.deep_link_responses[0]
    assert response["https://purl.imsglobal.org/spec/lti/claim/message_type"] == "LtiDeepLinkingResponse"
    assert response["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-platform-data"
    [item] = response[ITEMS]
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == lms.tool_url + "/lti/launch/"
    assert item["lineItem"] == {
        "scoreMaximum": 3.0,
        "label": "Add",
        "resourceId": str(assignment.pk),
        "tag": "grade",
    }
    assert item["custom"] == {"assignment": str(assignment.pk)}


def test_the_link_it_made_opens_the_assignment(lms, linked, assignment):
    hint = lms.launch(
        "lms-student-1", [LEARNER], resource_link_id="link-new", custom={"assignment": str(assignment.pk)}
    )
    page = Browser().launch(lms, hint)
    assert page.url.endswith(f"/courses/{linked.code}/{assignment.slug}/")
    link = AssignmentLink.objects.get(resource_link__id_on_platform="link-new")
    assert link.assignment == assignment
    assert link.lineitem_url == f"{lms.url}/course-1/lineitems/link-new"


def test_a_student_may_not_deep_link(lms, linked):
    page = Browser().launch(lms, lms.deep_linking_launch("lms-student-2", [LEARNER]))
    assert page.status_code == 403
    assert "Only an instructor of this course" in page.text
    assert not lms.deep_link_responses


def test_a_teaching_assistant_may_not_deep_link(lms, linked):
    page = Browser().launch(lms, lms.deep_linking_launch("lms-ta", [TEACHING_ASSISTANT]))
    assert page.status_code == 403


def test_a_student_cannot_reach_the_picker_after_a_resource_launch(lms, linked, assignment):
    browser = Browser()
    browser.launch(lms, lms.launch("lms-student-3", [LEARNER]))
    page = browser.csrf_post(lms.tool_url + "/lti/deep-link/", {"assignment": str(assignment.pk)})
    assert page.status_code == 403
    assert not lms.deep_link_responses


def test_an_instructor_of_an_unlinked_lms_course_links_it_first(lms):
    browser = Browser()
    page = browser.launch(
        lms, lms.deep_linking_launch("lms-new-teacher", [INSTRUCTOR], context_id="course-5")
    )
    assert "/lti/link/" in page.url
    page = browser.csrf_post(page.url, {"create": "1"})
    assert page.url.endswith("/lti/deep-link/")
    assert "no assignments yet" in page.text
    course = CourseLink.objects.get(context__id_on_platform="course-5").course
    teacher = LtiUser.objects.get(sub="lms-new-teacher").auth_user
    assert Membership.objects.get(course=course, user=teacher).role == Role.INSTRUCTOR
