"""Instructors manage the course's people: add, change roles, import a roster CSV."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from courses.models import Membership
from courses.roster import parse_roster

pytestmark = pytest.mark.django_db
URL = reverse("members", args=["cs1"])


def test_an_instructor_adds_people_by_username_or_email(client, people, course):
    client.force_login(people["instructor"])
    client.post(URL, {"who": "charlie", "role": "ta"})
    assert Membership.objects.get(user=people["charlie"], course=course).role == "ta"
    response = client.post(URL, {"who": "nobody@example.edu", "role": "student"})
    assert response.status_code == 400 and "No account" in response.content.decode()


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
