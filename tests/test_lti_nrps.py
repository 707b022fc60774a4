"""The roster from the LMS (NRPS) over real HTTP: the test LMS pages its members and checks the
tool's service token; the tool applies them through the roster service."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from lti_tool.models import LtiUser

from courses.models import Membership, Role
from lti import nrps
from lti.models import CourseLink
from lti.service_models import RosterSync
from tests.lti_platform import (
    INSTRUCTOR,
    LEARNER,
    TEACHING_ASSISTANT,
    TestPlatform,
    link_course_1,
    registered,
)
from tests.lti_services import LmsServices, member

pytestmark = pytest.mark.django_db(transaction=True)
GUEST = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Guest"


@pytest.fixture
def lms(live_server, settings, course, assignment):
    """The test LMS with its services; its course-1 is the ``cs1`` course."""
    settings.LTI_FRAMED_COOKIES = False  # see tests.lti_platform.Browser
    platform = TestPlatform(live_server.url)
    services = LmsServices(platform)
    platform.start()
    registered(platform)
    link_course_1(platform, course, assignment)  # the LMS's instructor, lms-teacher, launched once
    yield services
    platform.close()


def role_of(sub: str, course) -> str | None:
    user = LtiUser.objects.get(sub=sub).auth_user
    return Membership.objects.filter(user=user, course=course).values_list("role", flat=True).first()


def test_it_enrols_every_page_of_members_with_their_roles(lms, course):
    lms.members = [
        member("lms-s1", [LEARNER]),
        member("lms-s2", ["Learner"]),  # the short form of a context role
        member("lms-ta", [TEACHING_ASSISTANT]),
        member("lms-teacher", [INSTRUCTOR]),
        member("lms-guest", [GUEST]),  # an institution role gives nothing in a course
        member("lms-left", [LEARNER], status="Inactive"),
    ]
    summary = nrps.sync_from_lms(CourseLink.objects.get())
    assert [kind for kind, _ in lms.calls] == ["memberships"] * 3  # pages of 2, linked by rel="next"
    assert (summary["members"], summary["skipped"], summary["new_accounts"]) == (4, 2, 3)
    assert [role_of(s, course) for s in ("lms-s1", "lms-s2", "lms-ta", "lms-teacher")] == [
        Role.STUDENT,
        Role.STUDENT,
        Role.TA,
        Role.INSTRUCTOR,
    ]
    assert not LtiUser.objects.filter(sub__in=["lms-guest", "lms-left"], auth_user__isnull=False).exists()
    new = LtiUser.objects.get(sub="lms-s1").auth_user
    assert not new.has_usable_password()
    assert (new.first_name, new.last_name, new.email) == ("Person", "lms-s1", "lms-s1@lms.example.edu")
    assert LtiUser.objects.filter(sub="lms-teacher").count() == 1  # the launch's identity, found by sub


def test_a_second_sync_follows_role_changes_and_removes_nobody(lms, course, people):
    lms.members = [member("lms-s1", [LEARNER]), member("lms-s2", [LEARNER])]
    nrps.sync_from_lms(CourseLink.objects.get())
    lms.members = [member("lms-s1", [TEACHING_ASSISTANT], given_name="Ada")]
    nrps.sync_from_lms(CourseLink.objects.get())
    assert role_of("lms-s1", course) == Role.TA
    assert role_of("lms-s2", course) == Role.STUDENT  # no longer listed: kept (see lti.nrps)
    assert LtiUser.objects.get(sub="lms-s1").auth_user.first_name == "Ada"
    assert Membership.objects.filter(course=course, user=people["alice"]).exists()


def test_people_are_matched_by_sub_never_by_email(lms, course, people):
    charlie = people["charlie"]  # an outsider whose address the LMS member also uses
    lms.members = [member("lms-mallory", [INSTRUCTOR], email=charlie.email)]
    nrps.sync_from_lms(CourseLink.objects.get())
    mallory = LtiUser.objects.get(sub="lms-mallory").auth_user
    assert mallory != charlie and mallory.email == ""
    assert not Membership.objects.filter(course=course, user=charlie).exists()
    assert role_of("lms-mallory", course) == Role.INSTRUCTOR
    assert get_user_model().objects.filter(email__iexact=charlie.email).count() == 1


def test_the_token_is_asked_once_and_reused(lms):
    lms.members = [member(f"lms-s{i}", [LEARNER]) for i in range(5)]
    nrps.sync_from_lms(CourseLink.objects.get())
    nrps.sync_from_lms(CourseLink.objects.get())
    assert lms.token_requests == 1
    assert len(lms.calls) == 6


def test_an_lms_error_is_shown_and_changes_nothing(lms, course, client, people):
    lms.members = [member("lms-s1", [LEARNER]), member("lms-s2", [LEARNER]), member("lms-s3", [LEARNER])]
    lms.fail("memberships", None, 500)  # the first page, then an error on the second
    link = CourseLink.objects.get()
    RosterSync.objects.create(course_link=link, requested_at=link.created_at)
    assert "error" in nrps.run_sync(link.pk)
    assert not LtiUser.objects.filter(sub="lms-s1").exists()
    client.force_login(people["instructor"])
    page = client.get(reverse("lti:course_lms", args=["cs1"])).content.decode()
    assert "last sync failed" in page and "HTTP 500" in page


def test_only_those_who_manage_people_may_sync(lms, client, people):
    link = CourseLink.objects.get()
    for name in ("alice", "ta"):
        client.force_login(people[name])
        assert client.post(reverse("lti:sync_roster", args=["cs1", link.pk])).status_code == 404
    assert not RosterSync.objects.exists()
    with pytest.raises(PermissionError):
        nrps.request_sync(link, people["ta"])


@pytest.mark.docker
@pytest.mark.worker
def test_the_button_and_the_periodic_sync_run_on_the_worker(
    lms, course, client, people, celery_worker, wait_for
):
    lms.members = [member("lms-s1", [LEARNER]), member("lms-ta", [TEACHING_ASSISTANT])]
    client.force_login(people["instructor"])
    answer = client.post(reverse("lti:sync_roster", args=["cs1", CourseLink.objects.get().pk]))
    assert answer.status_code == 302
    assert wait_for(lambda: RosterSync.objects.filter(state=RosterSync.State.DONE).exists(), 60)
    assert role_of("lms-ta", course) == Role.TA
    lms.members.append(member("lms-s2", [LEARNER]))
    assert nrps.queue_all() == 1
    assert wait_for(lambda: LtiUser.objects.filter(sub="lms-s2", auth_user__isnull=False).exists(), 60)
    assert wait_for(lambda: RosterSync.objects.filter(state=RosterSync.State.DONE).exists(), 60)
    assert role_of("lms-s2", course) == Role.STUDENT
    page = client.get(reverse("lti:course_lms", args=["cs1"])).content.decode()
    assert "last sync done" in page and "(3 members)" in page
