"""The roster service's rules hold whoever calls it (the people page, its CSV import, the API):
a course keeps an instructor, and a course never edits an account another course shares."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from api.models import ApiToken
from courses.models import Course, Membership, Role
from courses.roster import LAST_INSTRUCTOR, RosterRejected, set_role, sync_roster

pytestmark = pytest.mark.django_db
User = get_user_model()


def _roles(course):
    return dict(course.memberships.values_list("user__username", "role"))


def _token_client(course, owner, scopes=("manage",)):
    _, plain = ApiToken.issue("lms", list(scopes), [course], owner)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return api


@pytest.mark.parametrize("surface", ["service", "api-token", "page-role", "page-csv"])
def test_the_only_instructor_cannot_be_demoted_by_any_surface(surface, course, people, client):
    before = _roles(course)
    if surface == "service":
        with pytest.raises(RosterRejected, match="at least one instructor"):
            sync_roster(course, [{"email": "instructor@example.edu", "role": "ta"}])
    elif surface == "api-token":
        response = _token_client(course, people["instructor"]).put(
            "/api/v1/courses/cs1/roster/",
            {"members": [{"email": "instructor@example.edu", "role": "student"}]},
            format="json",
        )
        assert response.status_code == 400 and LAST_INSTRUCTOR in str(response.json())
    else:
        client.force_login(people["instructor"])
        mine = Membership.objects.get(course=course, user=people["instructor"])
        data = (
            {"role_for": mine.pk, "role": "ta"}
            if surface == "page-role"
            else {"csv": SimpleUploadedFile("r.csv", b"email,role\ninstructor@example.edu,student\n")}
        )
        response = client.post("/courses/cs1/-/members/", data)
        assert response.status_code == 400 and LAST_INSTRUCTOR in response.content.decode()
    assert _roles(course) == before


def test_handing_over_in_one_sync_is_allowed(course, people):
    sync_roster(
        course,
        [
            {"email": "ta@example.edu", "role": "instructor"},
            {"email": "instructor@example.edu", "role": "ta"},
        ],
    )
    assert _roles(course)["ta"] == Role.INSTRUCTOR and _roles(course)["instructor"] == Role.TA


def test_set_role_refuses_unknown_roles(course, people):
    with pytest.raises(RosterRejected, match="Unknown role"):
        set_role(course, people["alice"], "owner")


def test_a_course_token_never_edits_an_account_another_course_shares(course, people):
    other = Course.objects.create(code="cs2", title="CS 2")
    Membership.objects.create(course=other, user=people["charlie"], role=Role.STUDENT)
    Membership.objects.create(course=other, user=people["bob"], role=Role.STUDENT)
    Membership.objects.filter(course=course, user=people["bob"]).update(external_id="x-1")
    admin = User.objects.create_superuser("root", "root@example.edu", "x")
    response = _token_client(course, people["instructor"]).put(
        "/api/v1/courses/cs1/roster/",
        {
            "members": [
                # charlie is in cs2: enrolled here, but his name and e-mail are his own.
                {"email": "charlie@example.edu", "first_name": "Hijacked", "role": "student"},
                # alice belongs to cs1 alone: her LMS name is applied.
                {"email": "alice@example.edu", "first_name": "Alice", "role": "student"},
                # the platform's administrator is never renamed by a course.
                {"email": "root@example.edu", "first_name": "Mallory", "role": "student"},
                # matched by this course's external id, bob (also in cs2) keeps his address.
                {"email": "bob-new@example.edu", "external_id": "x-1", "role": "student"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["unchanged_shared_accounts"] == 3
    people["charlie"].refresh_from_db()
    people["alice"].refresh_from_db()
    admin.refresh_from_db()
    assert people["charlie"].first_name == "" and people["charlie"].email == "charlie@example.edu"
    assert people["alice"].first_name == "Alice"
    assert admin.first_name == "" and admin.is_superuser
    assert User.objects.get(pk=people["bob"].pk).email == "bob@example.edu"
    assert Membership.objects.filter(course=course, user=people["charlie"], role=Role.STUDENT).exists()
    assert not Membership.objects.filter(course=other, user=people["alice"]).exists()  # cs2 untouched


def test_a_course_never_changes_a_shared_accounts_password_or_gives_one(course, people):
    other = Course.objects.create(code="cs2", title="CS 2")
    Membership.objects.create(course=other, user=people["bob"], role=Role.STUDENT)
    hashed = people["bob"].password
    sync_roster(
        course, [{"email": "bob@example.edu", "role": "ta"}, {"email": "zed@example.edu", "role": "student"}]
    )
    people["bob"].refresh_from_db()
    assert people["bob"].password == hashed
    assert not User.objects.get(email="zed@example.edu").has_usable_password()


def test_a_course_cannot_take_another_accounts_address_or_guess_between_two(course, people, client):
    """E-mail addresses are not unique on every installation: the roster never re-addresses an
    account to another account's address (that would let it take that person's seats later),
    and refuses to guess when several accounts share one."""
    before = _roles(course)
    with pytest.raises(RosterRejected, match="already belongs to another account"):
        Membership.objects.filter(course=course, user=people["alice"]).update(external_id="a-1")
        sync_roster(course, [{"email": "BOB@example.edu", "external_id": "a-1", "role": "student"}])
    User.objects.create_user("bob2", "bob@example.edu", "x")  # a second account, same address
    with pytest.raises(RosterRejected, match="Several accounts use"):
        sync_roster(course, [{"email": "bob@example.edu", "role": "ta"}])
    client.force_login(people["instructor"])
    page = client.post("/courses/cs1/-/members/", {"who": "Bob@example.edu", "role": "ta"})
    assert page.status_code == 400 and "Several accounts use" in page.content.decode()
    assert _roles(course) == before
    assert User.objects.get(pk=people["alice"].pk).email == "alice@example.edu"
    assert client.post("/courses/cs1/-/members/", {"who": "bob2", "role": "ta"}).status_code == 302
    assert _roles(course)["bob2"] == Role.TA


def test_people_page_buttons_with_garbage_ids_change_nothing(course, people, client):
    client.force_login(people["instructor"])
    for data in ({"role_for": "x' OR 1=1", "role": "ta"}, {"role_for": "9" * 40, "role": "ta"}):
        response = client.post("/courses/cs1/-/members/", data)
        assert response.status_code == 400 and "not a member" in response.content.decode()
    assert client.post("/courses/cs1/-/tokens/abc/revoke/").status_code == 404
    assert client.post(f"/courses/cs1/-/tokens/{'9' * 40}/revoke/").status_code == 404
    assert client.post(f"/courses/cs1/-/members/{'9' * 40}/remove/").status_code == 404
    assert client.post("/courses/cs1/-/webhooks/", {"delete": "1e9"}).status_code == 302
