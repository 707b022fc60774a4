"""Assignments through the API: every authoring field of the site's form, validated by the same
rules (Assignment.clean, TestCase.clean); authors read everything back, students and read-only
tokens never see the tests; deleting is for assignments without submissions, archiving keeps them."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.models import ApiToken
from courses.models import Assignment
from grading.models import Status, Submission
from tests.conftest import CORRECT

pytestmark = pytest.mark.django_db
URL = "/api/v1/courses/cs1/assignments/"
PYTEST_FILE = "from solution import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
FULL = {
    "slug": "mul",
    "title": "Multiply",
    "statement": "Write `mul(a, b)`.",
    "module_name": "solution",
    "setup_code": "pairs = [(2, 3), (4, 5)]\n",
    "setup_scope": "module",
    "reference_files": {"solution.py": "def mul(a, b):\n    return a * b\n"},
    "starter_files": {"solution.py": "def mul(a, b):\n    ...\n"},
    "memory_mb": 128,
    "cpus": "0.50",
    "pids_limit": 32,
    "wall_seconds": 30,
    "show_hidden_details": True,
    "min_seconds_between_attempts": 90,
    "attempt_limit": 5,
    "late_policy": "penalty",
    "late_penalty_percent": "10.00",
    "late_penalty_unit": "hour",
    "late_penalty_cap_percent": "50.00",
    "counted_submission": "best",
    "count_broken_attempts": True,
    "llm_hints": False,
    "hint_candidates": 3,
    "published": True,
    "tests": [
        {
            "name": "small",
            "kind": "expr",
            "points": "2.00",
            "time_limit": 2.5,
            "spec": {"expr": "mul(2, 3)", "expected": "6"},
        },
        {"name": "secret", "kind": "io", "visible": False, "spec": {"stdin": "4 5\n", "stdout": "20\n"}},
        {"name": "pytest", "kind": "pytest", "spec": {"source": PYTEST_FILE}},
    ],
}
READ_ONLY = ("course", "language", "main_file", "max_points", "archived_at")


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    cache.clear()


@pytest.fixture
def token(people, course):
    def make(*scopes):
        _, text = ApiToken.issue("lms", list(scopes), [course], people["instructor"])
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
        return api

    return make


def _session(user):
    api = APIClient()
    api.force_login(user)
    return api


def test_an_author_creates_an_assignment_with_limits_and_reads_everything_back(token, course):
    api = token("manage")
    created = api.post(URL, FULL, format="json")
    assert created.status_code == 201, created.content
    back = api.get(f"{URL}mul/").json()
    for field, value in FULL.items():
        if field != "tests":
            assert back[field] == value, field
    assert [(t["name"], t["visible"], t["kind"]) for t in back["tests"]] == [
        ("small", True, "expr"),
        ("secret", False, "io"),
        ("pytest", True, "pytest"),
    ]
    assert back["tests"][0]["time_limit"] == 2.5 and back["tests"][2]["spec"]["source"] == PYTEST_FILE
    saved = Assignment.objects.get(slug="mul")
    assert (saved.memory_mb, saved.wall_seconds, saved.min_seconds_between_attempts) == (128, 30, 90)
    assert saved.sandbox_limits().memory_mb == 128 and saved.show_hidden_details


def test_what_an_author_reads_back_can_be_put_back_unchanged(token, course):
    api = token("manage")
    api.post(URL, FULL, format="json")
    back = api.get(f"{URL}mul/").json()
    body = {k: v for k, v in back.items() if k not in READ_ONLY}
    assert api.put(f"{URL}mul/", body, format="json").status_code == 200
    assert api.get(f"{URL}mul/").json() == back


@pytest.mark.parametrize("who", ["student", "read-token", "submit-token"])
def test_students_and_read_only_tokens_never_see_tests_or_setup(who, token, people, course):
    token("manage").post(URL, FULL, format="json")
    api = {
        "student": lambda: _session(people["alice"]),
        "read-token": lambda: token("read", "grades"),
        "submit-token": lambda: token("submit"),
    }[who]()
    for body in (api.get(f"{URL}mul/").json(), api.get(URL).json()["results"][0]):
        hidden = {"tests", "setup_code", "module_name", "reference_files", "memory_mb", "wall_seconds"}
        assert hidden.isdisjoint(body) and body["slug"] == "mul"
    assert "20\\n" not in api.get(URL).content.decode()


def test_a_ta_reads_the_tests_but_cannot_author(people, token, course):
    token("manage").post(URL, FULL, format="json")
    ta = _session(people["ta"])
    assert len(ta.get(f"{URL}mul/").json()["tests"]) == 3
    assert ta.put(f"{URL}mul/", {**FULL, "title": "x"}, format="json").status_code == 403


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"setup_code": "x = 1\ny = (\n"}, "setup_code", "line 2"),
        (
            {"reference_files": {"solution.py": "def mul(a, b)\n    return a * b\n"}},
            "reference_files",
            "line 1",
        ),
        (
            {"tests": [{"name": "p", "kind": "pytest", "spec": {"source": "def test_x():\n    assert (\n"}}]},
            "tests",
            "line 2",
        ),
        (
            {"tests": [{"name": "e", "kind": "expr", "spec": {"expr": "mul(2,", "expected": "6"}}]},
            "tests",
            "parse",
        ),
        ({"slug": "-mul"}, "slug", "Start with a letter or a digit"),
        ({"memory_mb": 8}, "memory_mb", "greater than or equal to 32"),
        ({"wall_seconds": 0}, "wall_seconds", "greater than or equal to 1"),
        ({"module_name": "my-module"}, "module_name", "does not match"),
    ],
)
def test_bad_code_and_limits_are_refused_naming_the_field_and_line(token, course, change, field, message):
    response = token("manage").post(URL, {**FULL, **change}, format="json")
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "validation_error"
    assert message in " ".join(error["fields"][field]), error
    assert not Assignment.objects.filter(title="Multiply").exists()


def test_the_site_form_refuses_the_same_broken_reference_solution(client, people, course):
    client.force_login(people["instructor"])
    response = client.post(
        "/courses/cs1/-/new/",
        {
            "title": "Mul",
            "slug": "",
            "module_name": "solution",
            "reference_code": "def mul(:\n",
            "memory_mb": 256,
            "cpus": "1",
            "pids_limit": 64,
            "wall_seconds": 60,
            "late_policy": "reject",
            "late_penalty_percent": 0,
            "late_penalty_unit": "day",
            "late_penalty_cap_percent": 100,
            "min_seconds_between_attempts": 0,
            "counted_submission": "last",
            "hint_candidates": 1,
        },
    )
    page = response.content.decode()
    assert response.status_code == 400 and "solution.py is not valid Python (line 1)" in page
    assert not Assignment.objects.filter(title="Mul").exists()


def test_a_missing_slug_is_made_from_the_title(token, course, assignment):
    body = {k: v for k, v in FULL.items() if k != "slug"}
    first = token("manage").post(URL, {**body, "title": "Add"}, format="json")
    assert first.status_code == 201 and first.json()["slug"] == "add-2"


# -- delete while nobody has submitted; otherwise archive ------------------------------------
def test_an_assignment_without_submissions_is_deleted(token, course):
    api = token("manage")
    api.post(URL, FULL, format="json")
    assert api.delete(f"{URL}mul/").status_code == 204
    assert not Assignment.objects.filter(slug="mul").exists()
    assert api.delete(f"{URL}mul/").status_code == 404


def test_an_assignment_with_submissions_is_archived_not_deleted(token, people, assignment):
    Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={"solution.py": CORRECT},
        status=Status.GRADED,
        score=3,
        raw_score=3,
        max_score=3,
    )
    api = token("manage", "grades", "submit")
    refused = api.delete(f"{URL}add/")
    error = refused.json()["error"]
    assert refused.status_code == 409 and error["code"] == "conflict"
    assert "1 submission" in error["message"] and "Archive it instead" in error["message"]
    assert "/api/v1/courses/cs1/assignments/add/archive/" in error["message"]
    assert Submission.objects.count() == 1

    assert api.post(f"{URL}add/archive/").json()["archived_at"]
    alice = _session(people["alice"])
    assert alice.get(URL).json()["results"] == []
    body = {"student": "alice@example.edu", "files": {"solution.py": CORRECT}}
    closed = api.post(f"{URL}add/submissions/", body, format="json")
    assert closed.status_code == 400 and "archived" in closed.json()["error"]["message"]
    assert [g["score"] for g in api.get("/api/v1/courses/cs1/grades/").json()] == ["3.00"]
    edit = api.put(f"{URL}add/", {**FULL, "slug": "add"}, format="json")
    assert edit.status_code == 400 and "restore it before" in edit.json()["error"]["message"]

    assert api.delete(f"{URL}add/archive/").json()["archived_at"] is None
    assert [a["slug"] for a in alice.get(URL).json()["results"]] == ["add"]
    assert api.post(f"{URL}add/submissions/", body, format="json").status_code == 201


def test_an_archived_assignments_tests_cannot_change_on_the_site(client, people, assignment):
    assignment.archived_at = assignment.created_at
    assignment.save(update_fields=["archived_at"])
    client.force_login(people["instructor"])
    data = {
        "name": "new",
        "points": 1,
        "time_limit": 5,
        "expr": "add(1, 1)",
        "expected": "2",
        "visible": "on",
    }
    response = client.post("/courses/cs1/add/tests/add/expr/", data)
    assert response.status_code == 400 and "restore it before changing its tests" in response.content.decode()
    assert not assignment.tests.filter(name="new").exists()
