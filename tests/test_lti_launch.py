"""LTI 1.3 launches over real HTTP: the test LMS (tests/lti_platform.py) on 127.0.0.1 and the
tool on the live server (localhost), through login initiation, the LMS's OIDC endpoint and the
launch. Every refusal is a page that says why."""

import time
from urllib.parse import urljoin

import pytest
import requests
from django.contrib.auth import get_user_model
from lti_tool.models import LtiDeployment, LtiUser

from courses.models import Assignment, Course, Membership, Role
from lti.launch import course_role
from lti.models import AssignmentLink, CourseLink
from tests.conftest import PASSWORD
from tests.lti_platform import (
    INSTRUCTOR,
    LEARNER,
    LTI,
    TEACHING_ASSISTANT,
    Browser,
    TestPlatform,
    form_of,
    link_course_1,
    new_key,
    registered,
)

pytestmark = pytest.mark.django_db(transaction=True)


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


def refusal(page) -> str:
    assert 'id="lti-refusal"' in page.text, page.text[:500]
    return page.text


def test_it_lands_a_student_on_the_linked_assignment(lms, linked, assignment):
    page = Browser().launch(lms, lms.launch("lms-student-1", [LEARNER]))
    assert page.status_code == 200
    assert page.url.endswith(f"/courses/{linked.code}/{assignment.slug}/")
    assert "Add <strong>two</strong> numbers" in page.text
    user = LtiUser.objects.get(sub="lms-student-1").auth_user
    assert Membership.objects.get(user=user, course=linked).role == Role.STUDENT
    assert not user.has_usable_password()


def test_it_maps_teaching_assistants_and_instructors(lms, linked):
    Browser().launch(lms, lms.launch("lms-ta", [TEACHING_ASSISTANT]))
    Browser().launch(lms, lms.launch("lms-co-teacher", [INSTRUCTOR, LEARNER]))
    roles = {
        m.user.lti_users.get().sub: m.role
        for m in Membership.objects.filter(course=linked, user__lti_users__isnull=False)
    }
    assert roles["lms-ta"] == Role.TA
    assert roles["lms-co-teacher"] == Role.INSTRUCTOR


def test_it_follows_a_role_change_in_the_lms(lms, linked):
    Browser().launch(lms, lms.launch("lms-student-2", [LEARNER]))
    Browser().launch(lms, lms.launch("lms-student-2", [TEACHING_ASSISTANT]))
    user = LtiUser.objects.get(sub="lms-student-2").auth_user
    assert Membership.objects.get(user=user, course=linked).role == Role.TA


def test_it_never_matches_an_account_by_email(lms, linked, people):
    alice = people["alice"]
    page = Browser().launch(lms, lms.launch("lms-alice", [LEARNER], email=alice.email))
    assert page.status_code == 200
    lti_user = LtiUser.objects.get(sub="lms-alice")
    assert lti_user.auth_user != alice
    assert lti_user.auth_user.email == ""  # the address stays on the LTI identity, not a second account
    assert get_user_model().objects.filter(email__iexact=alice.email).count() == 1


def test_the_same_sub_is_the_same_account_on_every_launch(lms, linked):
    Browser().launch(lms, lms.launch("lms-student-3", [LEARNER]))
    Browser().launch(lms, lms.launch("lms-student-3", [LEARNER]))
    assert LtiUser.objects.filter(sub="lms-student-3").count() == 1
    assert get_user_model().objects.filter(lti_users__sub="lms-student-3").count() == 1


def test_it_keeps_the_nrps_and_ags_endpoints_of_the_launch(lms, linked):
    Browser().launch(lms, lms.launch("lms-student-4", [LEARNER]))
    link = AssignmentLink.objects.get(resource_link__id_on_platform="link-1")
    assert link.lineitem_url == f"{lms.url}/course-1/lineitems/link-1"
    assert link.lineitems_url == f"{lms.url}/course-1/lineitems"
    assert link.can_publish_scores
    assert CourseLink.objects.get(course=linked).memberships_url == f"{lms.url}/course-1/memberships"


def test_it_fetches_the_platform_keys_once_and_caches_them(lms, linked):
    Browser().launch(lms, lms.launch("lms-student-5", [LEARNER]))
    Browser().launch(lms, lms.launch("lms-student-6", [LEARNER]))
    assert lms.jwks_hits == 1  # the fixture's launch fetched them; these two used the cache


def test_it_fetches_the_keys_again_when_the_lms_has_rotated_them(lms, linked):
    lms.rotate_key()
    page = Browser().launch(lms, lms.launch("lms-student-15", [LEARNER]))
    assert page.status_code == 200, page.text[:300]
    assert lms.jwks_hits == 2


# --- refusals ---------------------------------------------------------------------------------


def test_it_refuses_a_token_signed_with_another_key(lms, linked):
    page = Browser().launch(lms, lms.launch("mallory", [INSTRUCTOR], key=new_key()))
    assert page.status_code == 403
    assert "Signature verification failed" in refusal(page)
    assert not LtiUser.objects.filter(sub="mallory").exists()


def test_it_refuses_an_unknown_key_id(lms, linked):
    page = Browser().launch(lms, lms.launch("mallory", [INSTRUCTOR], kid="not-a-key-of-this-lms"))
    assert page.status_code == 403
    assert "Unable to find public key" in refusal(page)
    assert lms.jwks_hits == 2  # fetched once more in case the LMS had rotated its keys, then refused


def test_it_refuses_a_token_for_another_audience(lms, linked):
    page = Browser().launch(lms, lms.launch("mallory", [INSTRUCTOR], aud="another-tool", azp="another-tool"))
    assert page.status_code == 403
    assert "Registration not found" in refusal(page)


def test_it_refuses_a_token_authorized_for_another_party(lms, linked):
    page = Browser().launch(lms, lms.launch("mallory", [INSTRUCTOR], aud=[lms.client_id, "x"], azp="x"))
    assert page.status_code == 403
    assert "azp" in refusal(page)


def test_it_refuses_an_expired_token(lms, linked):
    page = Browser().launch(lms, lms.launch("mallory", [INSTRUCTOR], exp=int(time.time()) - 60))
    assert page.status_code == 403
    assert "expired" in refusal(page)


def test_it_refuses_a_replayed_launch(lms, linked):
    browser = Browser()
    url, form = browser.start_launch(lms, lms.launch("lms-student-7", [LEARNER]))
    assert browser.post(url, form).status_code == 200
    again = browser.post(url, form)
    assert again.status_code == 403
    assert "replayed nonce" in refusal(again)


def test_it_refuses_a_launch_with_another_state(lms, linked):
    browser = Browser()
    url, form = browser.start_launch(lms, lms.launch("lms-student-8", [LEARNER]))
    page = browser.post(url, {**form, "state": "state-forged"})
    assert page.status_code == 403
    assert "State not found" in refusal(page)
    assert not LtiUser.objects.filter(sub="lms-student-8").exists()


def test_it_refuses_a_launch_from_another_browser(lms, linked):
    url, form = Browser().start_launch(lms, lms.launch("lms-student-9", [LEARNER]))
    page = Browser().post(url, form)  # no state cookie: not the browser the login began in
    assert page.status_code == 403
    assert "State not found" in refusal(page)


def test_it_refuses_an_unknown_deployment_until_an_administrator_activates_it(lms, linked):
    hint = lms.launch("lms-student-10", [LEARNER], **{LTI + "deployment_id": "deployment-2"})
    page = Browser().launch(lms, hint)
    assert page.status_code == 403
    assert "deployment-2" in refusal(page) and "not activated" in page.text
    deployment = LtiDeployment.objects.get(deployment_id="deployment-2")
    assert not deployment.is_active
    assert not Membership.objects.filter(user__lti_users__sub="lms-student-10").exists()


def test_it_refuses_a_link_to_an_assignment_of_another_course(lms, linked, people):
    other = Course.objects.create(code="other", title="Other")
    secret = Assignment.objects.create(
        course=other, slug="secret", title="Secret", statement="s", published=True
    )
    hint = lms.launch(
        "lms-student-11", [LEARNER], resource_link_id="link-2", custom={"assignment": str(secret.pk)}
    )
    page = Browser().launch(lms, hint)
    assert page.status_code == 403
    assert "not in the course this LMS course is linked to" in refusal(page)
    assert not AssignmentLink.objects.filter(resource_link__id_on_platform="link-2").exists()


def test_it_refuses_a_resource_link_that_opens_another_course(lms, linked):
    other = Course.objects.create(code="other", title="Other")
    CourseLink.objects.filter(course=linked).update(course=other)  # the LMS course was re-linked
    page = Browser().launch(lms, lms.launch("lms-student-12", [LEARNER]))
    assert page.status_code == 403
    assert "another course" in refusal(page)


def test_it_refuses_a_role_that_gives_no_access(lms, linked):
    page = Browser().launch(
        lms, lms.launch("guest", ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Guest"])
    )
    assert page.status_code == 403
    assert "gives no access" in refusal(page)


def test_a_student_is_told_the_assignment_is_not_published_yet(lms, linked, assignment):
    Assignment.objects.filter(pk=assignment.pk).update(published=False)
    page = Browser().launch(lms, lms.launch("lms-student-16", [LEARNER]))
    assert page.status_code == 409
    assert "not published this assignment yet" in refusal(page)
    ta = Browser().launch(lms, lms.launch("lms-ta-2", [TEACHING_ASSISTANT]))
    assert ta.url.endswith(f"/courses/{linked.code}/{assignment.slug}/")  # staff see drafts


# --- first launches from an LMS course that is not linked yet ---------------------------------


def test_a_student_is_told_the_course_is_not_set_up(lms, course):
    page = Browser().launch(lms, lms.launch("lms-early-student", [LEARNER], context_id="course-9"))
    assert page.status_code == 409
    assert "has not set this up" in refusal(page)


def test_an_instructor_creates_a_course_for_the_lms_course(lms):
    browser = Browser()
    page = browser.launch(lms, lms.launch("lms-new-teacher", [INSTRUCTOR], context_id="course-7"))
    assert page.url.endswith("/lti/link/")
    page = browser.csrf_post(page.url, {"create": "1"})
    assert "/lti/pick/" in page.url  # the course is new: no assignment for this link yet
    link = CourseLink.objects.get(context__id_on_platform="course-7")
    assert link.course.title == "LMS course-7"
    teacher = LtiUser.objects.get(sub="lms-new-teacher").auth_user
    assert Membership.objects.get(course=link.course, user=teacher).role == Role.INSTRUCTOR


def set_cookie(response, name: str) -> str:
    return next(c for c in response.raw.headers.getlist("Set-Cookie") if c.startswith(name))


def test_a_launch_session_may_be_framed_by_its_lms_only(live_server, lms, linked, settings):
    settings.LTI_FRAMED_COOKIES = True
    browser = Browser()
    login = browser.session.get(
        lms.login_url(lms.launch("lms-student-13", [LEARNER])) + "&lti1p3_new_window=1", allow_redirects=False
    )
    # Cookies a browser sends inside the LMS's iframe (another site): SameSite=None; Secure.
    assert "SameSite=None; Secure" in set_cookie(login, "lti1p3-state-")
    url, form = form_of(browser.get(login.headers["Location"]).text)
    # requests keeps Secure cookies to itself over http; a browser sends them to localhost.
    cookies = {c.name: c.value for c in browser.session.cookies}
    launch = requests.post(url, data=form, cookies=cookies, allow_redirects=False, timeout=30)
    assert "SameSite=None; Secure" in set_cookie(launch, "sessionid=")
    page = requests.get(
        urljoin(url, launch.headers["Location"]),
        cookies={"sessionid": launch.cookies["sessionid"]},
        timeout=30,
    )
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == f"frame-ancestors 'self' {lms.url}"
    assert "X-Frame-Options" not in page.headers
    elsewhere = requests.get(live_server.url + "/accounts/login/", timeout=30)
    assert elsewhere.headers["X-Frame-Options"] == "DENY"  # a session not begun by a launch: never framed


def test_an_instructor_connects_their_grader_account_and_links_its_course(lms, course, assignment, people):
    browser = Browser()
    page = browser.launch(lms, lms.launch("lms-prof", [INSTRUCTOR], context_id="course-8"))
    assert "cs1" not in page.text  # the new LTI account teaches nothing here yet
    wrong = browser.csrf_post(lms.tool_url + "/lti/connect/", {"username": "instructor", "password": "nope"})
    assert wrong.status_code == 400 and "correct username and password" in wrong.text
    page = browser.csrf_post(lms.tool_url + "/lti/connect/", {"username": "instructor", "password": PASSWORD})
    assert page.url.endswith("/lti/link/") and "cs1: CS 1" in page.text
    page = browser.csrf_post(page.url, {"course": str(course.pk)})
    assert page.url.endswith("/lti/pick/")
    page = browser.csrf_post(page.url, {"assignment": str(assignment.pk)})
    assert page.url.endswith(f"/courses/{course.code}/{assignment.slug}/")
    assert LtiUser.objects.get(sub="lms-prof").auth_user == people["instructor"]
    assert CourseLink.objects.get(context__id_on_platform="course-8").course == course
    # The LMS's students now land on the assignment.
    student = Browser().launch(lms, lms.launch("lms-pupil", [LEARNER], context_id="course-8"))
    assert student.url.endswith(f"/courses/{course.code}/{assignment.slug}/")


def test_an_lms_identity_cannot_take_over_an_administrators_account(lms, course, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.edu", PASSWORD)
    browser = Browser()
    browser.launch(lms, lms.launch("lms-prof-2", [INSTRUCTOR], context_id="course-8"))
    page = browser.csrf_post(lms.tool_url + "/lti/connect/", {"username": "root", "password": PASSWORD})
    assert page.status_code == 403
    assert LtiUser.objects.get(sub="lms-prof-2").auth_user.username != "root"


def test_it_refuses_a_login_from_an_lms_it_does_not_know(lms, linked):
    url = lms.login_url(lms.launch("lms-student-14", [LEARNER])).replace(
        "client_id=grader-tool", "client_id=nobody"
    )
    page = Browser().get(url + "&lti1p3_new_window=1")
    assert page.status_code == 400
    assert "login was refused" in refusal(page)


def test_it_refuses_a_deactivated_account(lms, linked):
    Browser().launch(lms, lms.launch("lms-leaver", [LEARNER]))
    get_user_model().objects.filter(lti_users__sub="lms-leaver").update(is_active=False)
    page = Browser().launch(lms, lms.launch("lms-leaver", [LEARNER]))
    assert page.status_code == 403
    assert "deactivated" in refusal(page)


MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"


@pytest.mark.parametrize(
    ("roles", "role"),
    [
        ([INSTRUCTOR], Role.INSTRUCTOR),
        (["Instructor"], Role.INSTRUCTOR),  # the short form LTI allows for context roles
        ([MEMBERSHIP + "#Administrator"], Role.INSTRUCTOR),
        ([MEMBERSHIP + "/Instructor#TeachingAssistant"], Role.TA),
        ([INSTRUCTOR, MEMBERSHIP + "/Instructor#TeachingAssistant"], Role.TA),  # principal role sent along
        ([MEMBERSHIP + "#Mentor"], Role.TA),
        ([LEARNER], Role.STUDENT),
        ([LEARNER, INSTRUCTOR], Role.INSTRUCTOR),
        (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor"], None),
        (["http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"], None),
        ([], None),
    ],
)
def test_the_role_mapping(roles, role):
    assert course_role(roles) == role
