"""Red team of the REST API's newest surfaces, through real requests with real tokens: the bulk
roster sync must never hand one person's account to another (re-addressing it, then resetting
its password by e-mail)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from api.models import ApiToken
from courses.models import Course, Membership, Role, RubricItem
from feedback.models import RubricScore, RubricStatus
from grading.models import RegradeRun, ScoreOverride, Status, Submission

pytestmark = pytest.mark.django_db
User = get_user_model()


def _token_client(course, owner, scopes=("manage",)):
    _, plain = ApiToken.issue("lms", list(scopes), [course], owner)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return api


def _sync(api, *members):
    return api.put("/api/v1/courses/cs1/roster/", {"members": list(members)}, format="json")


def test_it_never_re_addresses_an_account_someone_signed_in_to(course, people, client):
    """An account in no other course (a new colleague allowed to create courses, say) is
    enrolled by its address, then re-addressed by its external id to the attacker's mailbox;
    a password reset would then hand the attacker the account and its platform rights."""
    dana = User.objects.create_user("dana", "dana@example.edu", "dana-secret-pass")
    dana.user_permissions.add(Permission.objects.get(codename="add_course"))
    api = _token_client(course, people["instructor"])
    assert _sync(api, {"email": "dana@example.edu", "external_id": "d-1"}).status_code == 200
    answer = _sync(api, {"email": "mallory@evil.example", "external_id": "d-1", "first_name": "D"})
    assert answer.status_code == 200, answer.content
    dana.refresh_from_db()
    assert dana.email == "dana@example.edu"
    assert dana.first_name == "D"  # the LMS's name still applies
    assert answer.json()["unchanged_shared_accounts"] == 1
    client.post("/accounts/password-reset/", {"email": "mallory@evil.example"})
    assert not [m for m in mail.outbox if "mallory@evil.example" in m.to]
    assert Membership.objects.get(course=course, external_id="d-1").user == dana


def test_it_still_re_addresses_an_account_nobody_has_claimed(course, people):
    api = _token_client(course, people["instructor"])
    assert _sync(api, {"email": "zed@example.edu", "external_id": "z-1"}).status_code == 200
    assert _sync(api, {"email": "zed@new.example", "external_id": "z-1"}).status_code == 200
    zed = Membership.objects.get(course=course, external_id="z-1").user
    assert zed.email == "zed@new.example" and not zed.has_usable_password()


def test_an_account_named_after_someone_elses_address_is_not_found_by_that_address(course, people, client):
    """A roster sync may choose usernames. One named after a colleague's address (while its own
    address is the attacker's) must not be the account another course's people page finds when
    its instructor adds that colleague by e-mail."""
    other = Course.objects.create(code="cs2", title="CS 2")
    ivy = User.objects.create_user("ivy", "ivy@example.edu", "ivy-secret-pass")
    Membership.objects.create(course=other, user=ivy, role=Role.INSTRUCTOR)
    dana = User.objects.create_user("dana", "dana@example.edu", "dana-secret-pass")
    api = _token_client(course, people["instructor"])
    made = _sync(api, {"email": "mallory@evil.example", "username": "dana@example.edu"})
    assert made.status_code == 200 and made.json()["created_users"] == 1
    client.force_login(ivy)
    page = client.post("/courses/cs2/-/members/", {"who": "dana@example.edu", "role": "ta"})
    assert page.status_code == 302, page.content
    assert list(other.memberships.filter(role=Role.TA).values_list("user", flat=True)) == [dana.pk]
    # An account is still found by its username when that is not an address.
    assert client.post("/courses/cs2/-/members/", {"who": "dana", "role": "student"}).status_code == 302
    assert other.memberships.get(user=dana).role == Role.STUDENT


def test_an_archived_assignments_tests_and_rubric_cannot_be_deleted_or_added(client, people, assignment):
    """Editing an archived assignment's tests is refused (TestCase.clean); deleting its hidden
    test, or changing the rubric the model grades against, must be refused as well."""
    hidden = assignment.tests.get(visible=False)
    item = RubricItem.objects.create(assignment=assignment, name="style", max_points=1)
    assignment.archived_at = assignment.created_at
    assignment.save(update_fields=["archived_at"])
    client.force_login(people["instructor"])
    deleted = client.post(f"/courses/cs1/add/tests/{hidden.pk}/delete/", follow=True)
    assert "restore it before changing its tests" in deleted.content.decode()
    assert assignment.tests.filter(pk=hidden.pk).exists()
    client.post("/courses/cs1/add/rubric/", {"delete": item.pk})
    client.post("/courses/cs1/add/rubric/", {"name": "naming", "description": "", "max_points": 1})
    assert list(assignment.rubric_items.values_list("name", flat=True)) == ["style"]


# -- password resets: the link goes to this site, whatever the request's headers say ----------
def test_a_reset_link_never_points_at_a_host_the_attacker_names(client, people):
    poisoned = client.post(
        "/accounts/password-reset/", {"email": "alice@example.edu"}, HTTP_HOST="evil.example"
    )
    assert poisoned.status_code == 400 and mail.outbox == []
    client.post(
        "/accounts/password-reset/",
        {"email": "alice@example.edu"},
        HTTP_X_FORWARDED_HOST="evil.example",
        HTTP_FORWARDED="host=evil.example",
    )
    assert len(mail.outbox) == 1 and "evil.example" not in mail.outbox[0].body
    assert "http://testserver/accounts/reset/" in mail.outbox[0].body


def test_a_link_sent_before_the_roster_re_addressed_an_account_stops_working(client, course, people):
    api = _token_client(course, people["instructor"])
    _sync(api, {"email": "zed@example.edu", "external_id": "z-1"})
    client.post("/accounts/password-reset/", {"email": "zed@example.edu"})
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    _sync(api, {"email": "zed@new.example", "external_id": "z-1"})
    page = client.get(link, follow=True)
    assert "already been used or has expired" in page.content.decode()


# -- hidden tests, the reference solution and the setup code reach authors only -------------
SECRET = "add(91823, 7)"
CORRECT_MARK = "return a + b"  # the reference solution's


@pytest.mark.parametrize(
    "who, scopes",
    [
        ("alice", None),  # a student's session
        ("instructor", ("read",)),
        ("instructor", ("grades",)),
        ("instructor", ("submit", "read")),
        ("ta", ("read", "grades", "submit")),
    ],
)
def test_only_authors_read_an_assignments_tests_back(people, course, assignment, who, scopes):
    assignment.tests.filter(visible=False).update(spec={"expr": SECRET, "expected": "91830"})
    if scopes is None:
        api = APIClient()
        api.force_login(people[who])
    else:
        api = _token_client(course, people[who], scopes)
    for url in (
        "/api/v1/courses/cs1/assignments/",
        "/api/v1/courses/cs1/assignments/add/",
        "/api/v1/courses/",
        "/api/v1/courses/cs1/",
    ):
        body = api.get(url).content.decode()
        assert SECRET not in body and CORRECT_MARK not in body, (url, body[:300])
    for method in ("post", "delete"):
        answer = getattr(api, method)("/api/v1/courses/cs1/assignments/add/archive/")
        assert answer.status_code in (403, 404) and SECRET not in answer.content.decode()
    put = api.put("/api/v1/courses/cs1/assignments/add/", {}, format="json")
    assert put.status_code in (403, 404) and SECRET not in put.content.decode()


def test_an_author_does_read_them_back(people, course, assignment):  # the control of the test above
    assignment.tests.filter(visible=False).update(spec={"expr": SECRET, "expected": "91830"})
    body = _token_client(course, people["instructor"]).get("/api/v1/courses/cs1/assignments/add/")
    assert SECRET in body.content.decode() and CORRECT_MARK in body.content.decode()


# -- an archived assignment's grades are read-only too ---------------------------------------
def test_an_archived_assignments_grades_are_not_regraded_or_overridden(client, people, assignment):
    graded = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={"solution.py": "def add(a, b):\n    return 0\n"},
        status=Status.GRADED,
        score=1,
        raw_score=1,
        max_score=3,
    )
    item = RubricItem.objects.create(assignment=assignment, name="style", max_points=1)
    proposed = RubricScore.objects.create(submission=graded, item=item, points=1, justification="tidy")
    assignment.archived_at = assignment.created_at
    assignment.save(update_fields=["archived_at"])
    client.force_login(people["instructor"])
    client.post(f"/submissions/{graded.pk}/rubric/{proposed.pk}/", {"decision": "approve"})
    client.post("/courses/cs1/add/regrade/")
    client.post(f"/submissions/{graded.pk}/regrade/")
    refused = client.post(f"/submissions/{graded.pk}/override/", {"score": "3", "reason": "after the term"})
    assert refused.status_code == 400 and "archived" in refused.content.decode()
    graded.refresh_from_db()
    assert graded.status == Status.GRADED and graded.override_score is None and graded.final_score == 1
    assert not RegradeRun.objects.exists() and not ScoreOverride.objects.exists()
    proposed.refresh_from_db()
    assert proposed.status == RubricStatus.PENDING and graded.rubric_points == 0


# -- a token shows only the courses its creator may still see --------------------------------
def test_a_token_lists_no_course_its_creator_has_left_or_cannot_use(course, people):
    Membership.objects.create(course=course, user=people["charlie"], role=Role.INSTRUCTOR)
    Course.objects.filter(pk=course.pk).update(description="Exam on 3 March, room 12")
    api = _token_client(course, people["instructor"], ("read",))
    assert [c["code"] for c in api.get("/api/v1/courses/").json()["results"]] == ["cs1"]
    Membership.objects.filter(course=course, user=people["instructor"]).delete()
    assert api.get("/api/v1/courses/").json()["results"] == []
    assert api.get("/api/v1/courses/cs1/").status_code == 404
    dana = User.objects.create_user("dana", "dana@example.edu", "dana-secret-pass")
    Membership.objects.create(course=course, user=dana, role=Role.INSTRUCTOR)
    other = _token_client(course, dana, ("read",))
    User.objects.filter(pk=dana.pk).update(is_active=False)
    assert other.get("/api/v1/courses/").json()["results"] == []
    assert "Exam on 3 March" not in other.get("/api/v1/courses/cs1/").content.decode()


def test_an_archived_courses_assignments_are_not_archived_or_restored_one_by_one(people, course, assignment):
    manage = _token_client(course, people["instructor"])
    assert manage.post("/api/v1/courses/cs1/archive/").status_code == 200
    refused = manage.post("/api/v1/courses/cs1/assignments/add/archive/")
    assert refused.status_code == 400 and "restore the course" in refused.content.decode()
    assignment.refresh_from_db()
    assert assignment.archived_at is None
    page = Client()
    page.force_login(people["instructor"])
    shown = page.post("/courses/cs1/-/archive/", {"assignment": "add", "archived": "1"}, follow=True)
    assert "restore the course" in shown.content.decode()
    assignment.refresh_from_db()
    assert assignment.archived_at is None
