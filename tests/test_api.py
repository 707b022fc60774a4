"""REST API v1: tokens, scopes, course scoping, students' view, idempotency, throttling, errors."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from api.auth import TokenRateThrottle
from api.models import ApiToken
from courses.models import Assignment, Course, Membership, Role
from grading.models import Status, Submission, TestResult
from tests.conftest import CORRECT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    cache.clear()


@pytest.fixture
def other_course(people):
    course = Course.objects.create(code="cs2", title="CS 2")
    Membership.objects.create(user=people["charlie"], course=course, role=Role.STUDENT)
    Assignment.objects.create(course=course, slug="secret", title="Secret", published=True)
    return course


@pytest.fixture
def token(people, course):
    def make(*scopes, courses=None, **kw):
        _, text = ApiToken.issue("LMS", list(scopes), courses or [course], people["instructor"], **kw)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
        return client

    return make


def error(response):
    return response.json()["error"]


def test_a_token_sees_only_its_courses(token, assignment, other_course):
    api = token("read")
    assert [c["code"] for c in api.get("/api/v1/courses/").json()["results"]] == ["cs1"]
    assert api.get("/api/v1/courses/cs2/").status_code == 404
    assert api.get("/api/v1/courses/cs2/assignments/").status_code == 404
    assert api.get("/api/v1/courses/cs1/assignments/add/").json()["max_points"] == "3.00"


def test_a_submit_only_token_cannot_read_grades(token, assignment):
    response = token("submit").get("/api/v1/courses/cs1/grades/")
    assert response.status_code == 403 and error(response)["code"] == "permission_denied"


@pytest.mark.parametrize("state", ["revoked", "expired", "garbage"])
def test_revoked_expired_and_unknown_tokens_fail(people, course, state):
    live, text = ApiToken.issue("LMS", ["read"], [course], people["instructor"])
    if state == "revoked":
        live.revoke()
    if state == "expired":
        ApiToken.objects.filter(pk=live.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + (text if state != "garbage" else "grd_nope_nope"))
    response = client.get("/api/v1/courses/")
    assert response.status_code == 401 and error(response)["code"] == "authentication_failed"


def test_tokens_are_stored_hashed(people, course):
    token, text = ApiToken.issue("LMS", ["read"], [course], people["instructor"])
    secret = text.split("_", 2)[2]  # the secret itself may contain "_"
    assert len(secret) >= 40 and secret not in json.dumps(list(ApiToken.objects.values()), default=str)


def graded(assignment, student, attempt=1):
    sub = Submission.objects.create(
        assignment=assignment,
        student=student,
        attempt=attempt,
        files={"solution.py": "x"},
        status=Status.GRADED,
        score=2,
        raw_score=2,
        max_score=3,
    )
    for test in assignment.tests.all():
        TestResult.objects.create(
            submission=sub,
            test_case=test,
            name=test.name,
            visible=test.visible,
            outcome="passed" if test.visible else "failed",
            points=test.points,
            points_earned=test.points if test.visible else 0,
            expected="3" if test.visible else "HIDDEN-30",
            test_input="add(10, 20)" if not test.visible else "add(1, 2)",
        )
    return sub


def test_a_students_session_sees_only_their_own_submissions_without_hidden_details(people, assignment):
    mine, theirs = graded(assignment, people["alice"]), graded(assignment, people["bob"])
    client = APIClient()
    client.force_login(people["alice"])
    body = client.get(f"/api/v1/submissions/{mine.pk}/").json()
    hidden = [r for r in body["results"] if not r["visible"]]
    assert hidden and all(r["expected"] is None and r["test_input"] is None for r in hidden)
    assert "HIDDEN-30" not in json.dumps(body)
    assert client.get(f"/api/v1/submissions/{theirs.pk}/").status_code == 404
    assert client.get("/api/v1/courses/cs1/grades/").status_code == 403


def test_a_manage_token_sees_hidden_details(token, people, assignment):
    sub = graded(assignment, people["alice"])
    assert "HIDDEN-30" in json.dumps(token("read", "manage").get(f"/api/v1/submissions/{sub.pk}/").json())
    assert "HIDDEN-30" not in json.dumps(token("read").get(f"/api/v1/submissions/{sub.pk}/").json())


def test_it_submits_on_behalf_of_a_student_once_per_idempotency_key(token, people, assignment):
    Membership.objects.filter(user=people["alice"]).update(external_id="canvas-17")
    api = token("submit")
    payload = {"student": "canvas-17", "files": {"solution.py": CORRECT}}
    first = api.post(
        "/api/v1/courses/cs1/assignments/add/submissions/",
        payload,
        format="json",
        HTTP_IDEMPOTENCY_KEY="abc-1",
    )
    again = api.post(
        "/api/v1/courses/cs1/assignments/add/submissions/",
        payload,
        format="json",
        HTTP_IDEMPOTENCY_KEY="abc-1",
    )
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again["Idempotent-Replay"] == "true"
    assert Submission.objects.get().student == people["alice"]
    other = api.post(
        "/api/v1/courses/cs1/assignments/add/submissions/",
        {"student": "alice@example.edu", "files": {"solution.py": "x = 2"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="abc-1",
    )
    assert other.status_code == 400 and "different request" in error(other)["message"]
    assert Submission.objects.count() == 1


def test_it_accepts_multipart_uploads(token, people, assignment):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = token("submit").post(
        "/api/v1/courses/cs1/assignments/add/submissions/",
        {"student": "alice@example.edu", "files": SimpleUploadedFile("solution.py", CORRECT.encode())},
        format="multipart",
    )
    assert response.status_code == 201 and Submission.objects.get().files == {"solution.py": CORRECT}


@pytest.mark.parametrize(
    "body, content_type, code, field",
    [
        ('{"student": "alice@example.edu", "files": ', "application/json", "parse_error", None),
        (
            json.dumps({"student": "alice@example.edu", "files": "print(1)"}),
            "application/json",
            "validation_error",
            "files",
        ),
        (
            json.dumps({"student": "alice@example.edu", "files": {"solution.py": "x"}, "extra": 1}),
            "application/json",
            "validation_error",
            "extra",
        ),
        (
            json.dumps({"student": "nobody@example.edu", "files": {"solution.py": "x"}}),
            "application/json",
            "validation_error",
            "student",
        ),
        (json.dumps({"files": {"solution.py": "x"}}), "application/json", "validation_error", "student"),
        (
            json.dumps({"student": "alice@example.edu", "files": {"solution.py": "#" * 300_000}}),
            "application/json",
            "validation_error",
            "files",
        ),
        (
            json.dumps({"student": "alice@example.edu", "files": {"solution.py": ""}}),
            "application/json",
            "validation_error",
            "files",
        ),
        (json.dumps([1, 2]), "application/json", "validation_error", None),
    ],
)
def test_bad_submissions_get_a_clear_4xx_and_save_nothing(token, assignment, body, content_type, code, field):
    response = token("submit").generic(
        "POST", "/api/v1/courses/cs1/assignments/add/submissions/", body, content_type=content_type
    )
    assert response.status_code == 400, response.content
    assert error(response)["code"] == code and error(response)["message"]
    if field:
        assert field in error(response)["fields"]
    assert not Submission.objects.exists()


def test_an_assignment_of_another_course_is_not_found(token, assignment, other_course):
    response = token("submit").post(
        "/api/v1/courses/cs1/assignments/secret/submissions/",
        {"student": "alice@example.edu", "files": {"solution.py": "x"}},
        format="json",
    )
    assert response.status_code == 404 and error(response)["code"] == "not_found"
    assert not Submission.objects.exists()


def test_roster_sync_upserts_by_external_id_or_email(token, course, people):
    api = token("manage")
    members = [
        {"email": "alice@example.edu", "external_id": "canvas-1", "role": "ta"},
        {"email": "new@example.edu", "external_id": "canvas-2", "first_name": "Nia"},
    ]
    assert api.put("/api/v1/courses/cs1/roster/", {"members": members}, format="json").json() == {
        "created_users": 1,
        "updated_memberships": 1,
        "unchanged_shared_accounts": 0,
        "total": 2,
    }
    alice = Membership.objects.get(course=course, external_id="canvas-1")
    assert alice.user == people["alice"] and alice.role == "ta"
    assert Membership.objects.get(course=course, external_id="canvas-2").user.first_name == "Nia"
    bad = api.put(
        "/api/v1/courses/cs1/roster/",
        {"members": [{"email": "x@example.edu", "role": "king"}]},
        format="json",
    )
    assert bad.status_code == 400 and not Membership.objects.filter(user__email="x@example.edu").exists()
    assert (
        token("read").put("/api/v1/courses/cs1/roster/", {"members": members}, format="json").status_code
        == 403
    )


def test_the_roster_reads_back_by_page_and_role(token, course, people):
    api = token("manage")
    everyone = api.get("/api/v1/courses/cs1/roster/").json()
    assert everyone["count"] == 4 and everyone["results"][0] == {
        "username": "instructor",
        "email": "instructor@example.edu",
        "first_name": "",
        "last_name": "",
        "external_id": "",
        "role": "instructor",
    }
    students = api.get("/api/v1/courses/cs1/roster/", {"role": "student", "limit": 1}).json()
    assert students["count"] == 2 and [m["username"] for m in students["results"]] == ["alice"]
    assert api.get("/api/v1/courses/cs1/roster/", {"role": "king"}).status_code == 400
    assert token("read", "grades").get("/api/v1/courses/cs1/roster/").status_code == 403


def test_grades_support_incremental_pulls(token, people, assignment):
    first = graded(assignment, people["alice"])
    api = token("grades")
    rows = api.get("/api/v1/courses/cs1/grades/").json()
    assert [(r["student"], r["score"]) for r in rows] == [("alice", "2.00")]
    later = (timezone.now() + timedelta(seconds=1)).isoformat()
    assert api.get("/api/v1/courses/cs1/grades/", {"updated_since": later}).json() == []
    Submission.objects.filter(pk=first.pk).update(status_changed_at=timezone.now() + timedelta(seconds=5))
    assert len(api.get("/api/v1/courses/cs1/grades/", {"updated_since": later}).json()) == 1
    bad = api.get("/api/v1/courses/cs1/grades/", {"updated_since": "yesterday"})
    assert bad.status_code == 400 and "updated_since" in error(bad)["fields"]


def test_it_throttles_per_token_with_retry_after(token, course, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    api, other = token("read"), token("read")
    codes = [api.get("/api/v1/courses/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = api.get("/api/v1/courses/")
    assert error(limited)["code"] == "throttled" and int(limited["Retry-After"]) > 0
    assert other.get("/api/v1/courses/").status_code == 200  # another token has its own budget


def test_gets_carry_etags(token, course):
    api = token("read")
    first = api.get("/api/v1/courses/cs1/")
    assert api.get("/api/v1/courses/cs1/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_the_schema_and_docs_are_served_without_external_resources(client):
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    assert "apiToken" in schema.json()["components"]["securitySchemes"]
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "https://" not in docs


ASSIGNMENT = {
    "slug": "mul",
    "title": "Multiply",
    "statement": "Write `mul(a, b)`.",
    "published": True,
    "reference_files": {"solution.py": "def mul(a, b):\n    return a * b\n"},
    "tests": [
        {"name": "small", "kind": "expr", "points": 2, "spec": {"expr": "mul(2, 3)", "expected": "6"}},
        {"name": "io", "kind": "io", "visible": False, "spec": {"stdin": "", "stdout": ""}},
    ],
}


def test_a_manage_token_creates_and_replaces_assignments_with_tests(token, course):
    api = token("read", "manage")
    created = api.post("/api/v1/courses/cs1/assignments/", ASSIGNMENT, format="json")
    assert created.status_code == 201 and created.json()["max_points"] == "3.00"
    assignment = Assignment.objects.get(slug="mul")
    assert [(t.name, t.visible) for t in assignment.tests.all()] == [("small", True), ("io", False)]
    replaced = api.put(
        "/api/v1/courses/cs1/assignments/mul/",
        {**ASSIGNMENT, "title": "Times", "tests": [ASSIGNMENT["tests"][0]]},
        format="json",
    )
    assert replaced.status_code == 200 and assignment.tests.count() == 1
    assert (
        api.post("/api/v1/courses/cs1/assignments/", ASSIGNMENT, format="json").status_code == 400
    )  # slug taken


def test_bad_assignments_are_refused_whole(token, course):
    api = token("manage")
    broken = {
        **ASSIGNMENT,
        "tests": [{"name": "t", "kind": "expr", "spec": {"expr": "mul(2,", "expected": "6"}}],
    }
    response = api.post("/api/v1/courses/cs1/assignments/", broken, format="json")
    assert response.status_code == 400 and "expression does not parse" in json.dumps(response.json())
    assert not Assignment.objects.filter(slug="mul").exists()
    assert (
        token("read").post("/api/v1/courses/cs1/assignments/", ASSIGNMENT, format="json").status_code == 403
    )


def test_webhook_subscriptions_through_the_api(token, course, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    api = token("manage")
    refused = api.post("/api/v1/courses/cs1/webhooks/", {"url": "http://10.0.0.1/x"}, format="json")
    assert refused.status_code == 400 and "private or local" in error(refused)["message"]
    made = api.post("/api/v1/courses/cs1/webhooks/", {"url": "https://93.184.216.34/hook"}, format="json")
    assert made.status_code == 201 and len(made.json()["secret"]) == 64
    assert [h["url"] for h in api.get("/api/v1/courses/cs1/webhooks/").json()] == [
        "https://93.184.216.34/hook"
    ]
    assert api.delete(f"/api/v1/courses/cs1/webhooks/{made.json()['id']}/").status_code == 204
    assert token("read").get("/api/v1/courses/cs1/webhooks/").status_code == 403


def test_instructors_create_and_revoke_tokens_on_the_course_page(client, people, course):
    client.force_login(people["instructor"])
    page = client.post(
        "/courses/cs1/-/tokens/", {"name": "Moodle", "scopes": ["read", "grades"]}
    ).content.decode()
    text = page.split('<pre id="new-token">')[1].split("</pre>")[0]
    assert ApiToken.find(text).scopes == ["grades", "read"]
    assert client.post("/courses/cs1/-/tokens/", {"name": "", "scopes": []}).status_code == 400
    client.post(f"/courses/cs1/-/tokens/{ApiToken.find(text).pk}/revoke/")  # after its confirmation page
    assert ApiToken.find(text) is None
    client.force_login(people["ta"])
    assert client.get("/courses/cs1/-/tokens/").status_code == 404


def test_grades_filter_by_assignment(token, people, assignment):
    graded(assignment, people["alice"])
    api = token("grades")
    assert len(api.get("/api/v1/courses/cs1/grades/", {"assignment": "add"}).json()) == 1
    assert api.get("/api/v1/courses/cs1/grades/", {"assignment": "other"}).json() == []


def test_the_openapi_schema_validates_without_warnings():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
