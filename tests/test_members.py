"""Instructors manage the course's people: add, change roles, import a roster CSV, remove."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from courses.models import Course, Membership
from courses.roster import LAST_INSTRUCTOR, RosterRejected, parse_roster, remove_member, set_role
from grading.gradebook import course_gradebook
from grading.models import Status, Submission

pytestmark = pytest.mark.django_db
URL = reverse("members", args=["cs1"])


def test_an_instructor_adds_people_by_username_or_email(client, people, course):
    client.force_login(people["instructor"])
    client.post(URL, {"who": "charlie", "role": "ta"})
    assert Membership.objects.get(user=people["charlie"], course=course).role == "ta"
    response = client.post(URL, {"who": "nobody@example.edu", "role": "ta"})
    assert response.status_code == 400 and "No account" in response.content.decode()
    # What was typed stays in the form.
    assert 'value="nobody@example.edu"' in response.content.decode()
    assert '<option value="ta" selected>' in response.content.decode()


def test_an_instructor_changes_a_role(client, people, course):
    client.force_login(people["instructor"])
    bob = Membership.objects.get(user=people["bob"], course=course)
    client.post(URL, {"role_for": bob.pk, "role": "ta"})
    bob.refresh_from_db()
    assert bob.role == "ta"
    assert client.post(URL, {"role_for": bob.pk, "role": "king"}).status_code == 400


def test_the_last_instructor_cannot_step_down(client, people, course):
    client.force_login(people["instructor"])
    me = Membership.objects.get(user=people["instructor"], course=course)
    for data in ({"role_for": me.pk, "role": "ta"}, {"who": "instructor", "role": "student"}):
        response = client.post(URL, data)
        assert response.status_code == 400 and "at least one instructor" in response.content.decode()
        me.refresh_from_db()
        assert me.role == "instructor"
    client.post(URL, {"who": "ta", "role": "instructor"})
    client.post(URL, {"role_for": me.pk, "role": "ta"})
    me.refresh_from_db()
    assert me.role == "ta"


def test_a_roster_csv_imports_people_and_keeps_existing_ones(client, people, course):
    client.force_login(people["instructor"])
    csv = (
        b"email,external_id,first_name,role\nalice@example.edu,lms-1,Alice,student\n"
        b"nia@example.edu,lms-2,Nia,ta\n"
    )
    page = client.post(URL, {"csv": SimpleUploadedFile("roster.csv", csv)}, follow=True).content.decode()
    assert "Imported 2 people (1 new accounts)." in page
    nia = get_user_model().objects.get(email="nia@example.edu")
    assert Membership.objects.get(user=nia, course=course).role == "ta"
    assert Membership.objects.get(user=people["alice"], course=course).external_id == "lms-1"
    assert Membership.objects.filter(course=course).count() == 5


@pytest.mark.parametrize(
    "data, message",
    [
        (b"name\nx\n", "including 'email'"),
        (b"email\nnot-an-address\n", "Line 2"),
        (b"email,role\na@example.edu,king\n", "role must be"),
        (b"email\n", "no rows"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_a_bad_roster_is_refused_whole(client, people, course, data, message):
    with pytest.raises(ValidationError, match=message):
        parse_roster(data)
    client.force_login(people["instructor"])
    before = Membership.objects.count()
    response = client.post(URL, {"csv": SimpleUploadedFile("roster.csv", data)})
    assert response.status_code == 400 and Membership.objects.count() == before


def test_only_instructors_manage_people(client, people, course):
    client.force_login(people["ta"])
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"who": "charlie", "role": "instructor"}).status_code == 404
    assert not Membership.objects.filter(user=people["charlie"]).exists()


# -- removing someone: a confirmation page, then courses.roster.remove_member -----------------
def _remove_url(course, user):
    member = Membership.objects.get(course=course, user=user)
    return reverse("member_remove", args=["cs1", member.pk])


def _bobs_submission(assignment, people):
    return Submission.objects.create(
        assignment=assignment,
        student=people["bob"],
        attempt=1,
        files={"solution.py": "def add(a, b):\n    return a + b\n"},
        status=Status.GRADED,
        score=3,
        raw_score=3,
        max_score=3,
    )


def test_removing_someone_asks_first_and_keeps_their_submissions(client, people, course, assignment):
    submission = _bobs_submission(assignment, people)
    client.force_login(people["instructor"])
    url = _remove_url(course, people["bob"])
    assert url in client.get(URL).content.decode()  # the people page links to the confirmation
    page = client.get(url).content.decode()
    assert "Remove bob from cs1?" in page and "Submissions in this course</dt><dd>1" in page
    assert Membership.objects.filter(course=course, user=people["bob"]).exists()  # asking changes nothing
    response = client.post(url, follow=True)
    assert "bob was removed from cs1; their submissions are kept." in response.content.decode()
    assert not Membership.objects.filter(course=course, user=people["bob"]).exists()
    assert Submission.objects.filter(pk=submission.pk).exists()
    assert "bob" not in [s.username for s, _ in course_gradebook(course)[1]]
    listing = client.get(reverse("assignment_submissions", args=["cs1", "add"])).content.decode()
    assert "bob" in listing and "not in the course" in listing
    client.force_login(people["bob"])
    assert client.get(reverse("course", args=["cs1"])).status_code == 404


def test_adding_someone_again_brings_their_grades_back(client, people, course, assignment):
    _bobs_submission(assignment, people)
    remove_member(course, people["bob"])
    client.force_login(people["instructor"])
    client.post(URL, {"who": "bob", "role": "student"})
    rows = dict(course_gradebook(course)[1])
    assert rows[people["bob"]][0].score == Decimal("3.00")


def test_the_last_instructor_cannot_be_removed(client, people, course):
    client.force_login(people["instructor"])
    response = client.post(_remove_url(course, people["instructor"]))
    assert response.status_code == 400 and LAST_INSTRUCTOR in response.content.decode()
    assert Membership.objects.filter(course=course, user=people["instructor"], role="instructor").exists()
    with pytest.raises(RosterRejected, match="at least one instructor"):
        remove_member(course, people["instructor"])


def test_an_instructor_may_leave_when_another_one_stays(client, people, course):
    set_role(course, people["ta"], "instructor")
    client.force_login(people["instructor"])
    response = client.post(_remove_url(course, people["instructor"]))
    assert response.status_code == 302 and response.url == reverse("dashboard")
    assert not Membership.objects.filter(course=course, user=people["instructor"]).exists()


@pytest.mark.parametrize("who", ["ta", "alice", "charlie"])
def test_only_instructors_remove_people(client, people, course, who):
    url = _remove_url(course, people["bob"])
    client.force_login(people[who])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert Membership.objects.filter(course=course, user=people["bob"]).exists()


def test_a_member_of_another_course_cannot_be_removed_from_here(client, people, course):
    other = Course.objects.create(code="cs2", title="CS 2")
    theirs = Membership.objects.create(course=other, user=people["charlie"], role="student")
    client.force_login(people["instructor"])
    for member_id in (theirs.pk, 9 * 10**30):
        assert client.post(reverse("member_remove", args=["cs1", member_id])).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_the_admin_removes_people_through_the_roster(admin_client, people, course):
    last = Membership.objects.get(course=course, user=people["instructor"])
    response = admin_client.post(reverse("admin:courses_membership_delete", args=[last.pk]), {"post": "yes"})
    assert response.status_code == 302 and Membership.objects.filter(pk=last.pk).exists()
    bob = Membership.objects.get(course=course, user=people["bob"])
    admin_client.post(reverse("admin:courses_membership_delete", args=[bob.pk]), {"post": "yes"})
    assert not Membership.objects.filter(pk=bob.pk).exists()
