"""Courses through the API: who may create one (courses.policy.may_create_courses), the creator
becomes instructor through the roster, and archived courses are read-only on every surface."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.test import APIClient

from api.models import ApiToken
from courses.models import Course, Membership, Role
from grading.models import Status, Submission
from tests.conftest import CORRECT

pytestmark = pytest.mark.django_db
NEW = {"code": "cs2-2026", "title": "CS 2", "description": "Data structures"}


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    cache.clear()


def _token(owner, scopes, courses):
    _, text = ApiToken.issue("lms", scopes, courses, owner)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    return api


def _creator(people):
    user = people["instructor"]
    user.user_permissions.add(Permission.objects.get(codename="add_course"))
    return type(user).objects.get(pk=user.pk)  # permissions are cached on the instance


def test_a_token_with_the_courses_scope_creates_a_course_and_its_owner_teaches_it(people, course):
    api = _token(_creator(people), ["courses", "manage"], [course])
    response = api.post("/api/v1/courses/", NEW, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {**NEW, "archived_at": None}
    made = Course.objects.get(code="cs2-2026")
    assert Membership.objects.get(course=made).role == Role.INSTRUCTOR
    assert Membership.objects.get(course=made).user == people["instructor"]
    assert made in ApiToken.objects.get(name="lms").courses.all()
    assignment = {
        "title": "Hello",
        "tests": [{"name": "t", "kind": "expr", "spec": {"expr": "1", "expected": "1"}}],
    }
    assert api.post("/api/v1/courses/cs2-2026/assignments/", assignment, format="json").status_code == 201


@pytest.mark.parametrize(
    "scopes, permitted",
    [(["courses"], False), (["manage"], True), (["read", "submit", "grades", "manage"], True)],
)
def test_creating_a_course_needs_the_scope_and_the_owners_permission(people, course, scopes, permitted):
    owner = _creator(people) if permitted else people["instructor"]
    response = _token(owner, scopes, [course]).post("/api/v1/courses/", NEW, format="json")
    assert response.status_code == 403
    assert "may not create courses" in response.json()["error"]["message"]
    assert not Course.objects.filter(code="cs2-2026").exists()


def test_a_session_creates_a_course_with_the_permission_only(people, course, django_user_model):
    api = APIClient()
    api.force_login(people["ta"])
    assert api.post("/api/v1/courses/", NEW, format="json").status_code == 403
    admin = django_user_model.objects.create_superuser("root", "root@example.edu", "x")
    api.force_login(admin)
    assert api.post("/api/v1/courses/", NEW, format="json").status_code == 201
    assert Membership.objects.get(course__code="cs2-2026").user == admin


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({**NEW, "code": "cs1"}, "code", "already exists"),
        ({**NEW, "code": "-new"}, "code", "Start with a letter or a digit"),
        ({**NEW, "code": "a b"}, "code", "letters, numbers"),
        ({**NEW, "teacher": "x"}, "teacher", "Unknown field"),
        ({"code": "x"}, "title", "required"),
    ],
)
def test_bad_courses_are_refused_with_the_field_named(people, course, body, field, message):
    response = _token(_creator(people), ["courses"], [course]).post("/api/v1/courses/", body, format="json")
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "validation_error"
    assert message in " ".join(error["fields"][field])
    assert Course.objects.count() == 1


def test_a_retried_create_with_the_same_key_makes_one_course(people, course):
    api = _token(_creator(people), ["courses"], [course])
    first = api.post("/api/v1/courses/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api.post("/api/v1/courses/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replay"] == "true"
    assert again.json() == first.json() and Course.objects.filter(code="cs2-2026").count() == 1


# -- archived courses: read-only for everyone, off the dashboard, grades still readable ------
def _graded(assignment, student):
    return Submission.objects.create(
        assignment=assignment,
        student=student,
        attempt=1,
        files={"solution.py": CORRECT},
        status=Status.GRADED,
        score=3,
        raw_score=3,
        max_score=3,
    )


def test_an_archived_course_is_read_only_on_every_surface(people, course, assignment, client):
    _graded(assignment, people["alice"])
    manage = _token(people["instructor"], ["manage", "grades", "submit"], [course])
    archived = manage.post("/api/v1/courses/cs1/archive/")
    assert archived.status_code == 200 and archived.json()["archived_at"]
    # Grades and the course stay readable.
    assert [g["score"] for g in manage.get("/api/v1/courses/cs1/grades/").json()] == ["3.00"]
    assert manage.get("/api/v1/courses/cs1/").status_code == 200
    # Nothing changes: submissions (token and session), authoring, the roster.
    body = {"student": "alice@example.edu", "files": {"solution.py": CORRECT}}
    assert (
        manage.post("/api/v1/courses/cs1/assignments/add/submissions/", body, format="json").status_code
        == 403
    )
    alice = APIClient()
    alice.force_login(people["alice"])
    refused = alice.post(
        "/api/v1/courses/cs1/assignments/add/submissions/", {"files": body["files"]}, format="json"
    )
    assert refused.status_code == 403
    roster = {"members": [{"email": "new@example.edu"}]}
    assert manage.put("/api/v1/courses/cs1/roster/", roster, format="json").status_code == 403
    assert manage.delete("/api/v1/courses/cs1/assignments/add/").status_code == 403
    client.force_login(people["alice"])
    assert client.post("/courses/cs1/add/submit/", {"code": CORRECT}).status_code == 404
    dashboard = client.get("/").content.decode()
    assert "/courses/cs1/" not in dashboard
    assert client.get("/courses/cs1/").status_code == 200  # still readable by its members
    client.force_login(people["instructor"])
    assert client.get("/courses/cs1/add/edit/").status_code == 404
    assert client.get("/courses/cs1/-/gradebook/").status_code == 200
    assert Submission.objects.count() == 1


def test_an_archived_course_is_restored_by_its_instructor_only(people, course, assignment):
    ta = APIClient()
    ta.force_login(people["ta"])
    assert ta.post("/api/v1/courses/cs1/archive/").status_code == 403
    manage = _token(people["instructor"], ["manage", "submit"], [course])
    manage.post("/api/v1/courses/cs1/archive/")
    restored = manage.delete("/api/v1/courses/cs1/archive/")
    assert restored.status_code == 200 and restored.json()["archived_at"] is None
    body = {"student": "alice@example.edu", "files": {"solution.py": CORRECT}}
    assert (
        manage.post("/api/v1/courses/cs1/assignments/add/submissions/", body, format="json").status_code
        == 201
    )


def test_an_instructor_archives_and_restores_on_the_course_page(client, people, course, assignment):
    client.force_login(people["instructor"])
    page = client.get("/courses/cs1/").content.decode()
    assert "Archive the course" in page and 'aria-label="Archive Add"' in page
    client.post("/courses/cs1/-/archive/", {"assignment": "add", "archived": "1"})
    assignment.refresh_from_db()
    assert assignment.archived_at is not None
    client.force_login(people["alice"])
    assert "Add" not in client.get("/courses/cs1/").content.decode().split("<h2>Assignments</h2>")[1]
    assert client.get("/courses/cs1/add/").status_code == 404
    client.force_login(people["instructor"])
    client.post("/courses/cs1/-/archive/", {"assignment": "add", "archived": "0"})
    client.post("/courses/cs1/-/archive/", {"archived": "1"})
    course.refresh_from_db()
    assert course.archived and "This course is archived" in client.get("/courses/cs1/").content.decode()
    assert "/courses/cs1/" not in client.get("/").content.decode()
    client.post("/courses/cs1/-/archive/", {"archived": "0"})
    course.refresh_from_db()
    assert not course.archived and "/courses/cs1/" in client.get("/").content.decode()
