"""One authorization matrix: every role and kind of token, against every capability, on every
surface that offers it (the site's pages, the API with a browser session, the API with a
token). The expectation comes from the one policy (courses.policy); each cell is a real
request through the whole stack. A last test checks that every URL of the site and the API is
in the matrix or explicitly exempt, so a new view cannot skip it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

import api.urls
import web.urls
from api.models import ApiToken
from courses.models import Assignment, Membership, Role
from courses.policy import Cap, role_capabilities, token_capabilities
from feedback.models import RubricScore, RubricStatus
from grading.models import Status, Submission, TrialPurpose, TrialRun
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Action:
    name: str  # the URL name it exercises
    cap: Cap
    surface: str  # "page" or "api"
    method: str
    path: str  # formatted with the context below
    data: dict | None = None


SUB = "{sub}"  # bob's graded submission
ACTIONS = [
    # -- pages ------------------------------------------------------------------------------
    Action("course", Cap.VIEW_COURSE, "page", "get", "/courses/cs1/"),
    Action("assignment", Cap.VIEW_COURSE, "page", "get", "/courses/cs1/add/"),
    Action("starter_file", Cap.VIEW_COURSE, "page", "get", "/courses/cs1/add/starter/solution.py"),
    Action("submit", Cap.SUBMIT, "page", "post", "/courses/cs1/add/submit/", {"code": "x = 1\n"}),
    Action("assignment", Cap.VIEW_DRAFTS, "page", "get", "/courses/cs1/draft/"),
    Action("assignment_submissions", Cap.VIEW_SUBMISSIONS, "page", "get", "/courses/cs1/add/submissions/"),
    # Filtered by one answer to one test (the analytics page's links): the same rule.
    Action(
        "assignment_submissions",
        Cap.VIEW_SUBMISSIONS,
        "page",
        "get",
        "/courses/cs1/add/submissions/?test={test}&answer=other",
    ),
    Action("submission", Cap.VIEW_SUBMISSIONS, "page", "get", f"/submissions/{SUB}/"),
    Action("submission_live", Cap.VIEW_SUBMISSIONS, "page", "get", f"/submissions/{SUB}/live/"),
    Action("attempt_diff", Cap.VIEW_SUBMISSIONS, "page", "get", f"/submissions/{SUB}/diff/"),
    Action("gradebook", Cap.VIEW_GRADES, "page", "get", "/courses/cs1/-/gradebook/"),
    Action("gradebook_csv", Cap.VIEW_GRADES, "page", "get", "/courses/cs1/-/gradebook.csv"),
    Action("analytics", Cap.VIEW_GRADES, "page", "get", "/courses/cs1/add/analytics/"),
    Action(
        "override", Cap.GRADE, "page", "post", f"/submissions/{SUB}/override/", {"score": "1", "reason": "r"}
    ),
    Action("regrade_one", Cap.GRADE, "page", "post", f"/submissions/{SUB}/regrade/"),
    Action(
        "decide_rubric",
        Cap.GRADE,
        "page",
        "post",
        f"/submissions/{SUB}/rubric/{{rubric}}/",
        {"decision": "approve"},
    ),
    Action("reference_check", Cap.CHECK_REFERENCE, "page", "post", "/courses/cs1/draft/check/"),
    Action("reference_check_result", Cap.CHECK_REFERENCE, "page", "get", "/courses/cs1/add/check/{trial}/"),
    Action("course_edit", Cap.AUTHOR, "page", "get", "/courses/cs1/-/settings/"),
    Action("course_archive", Cap.ARCHIVE, "page", "post", "/courses/cs1/-/archive/", {"archived": "1"}),
    Action("assignment_create", Cap.AUTHOR, "page", "get", "/courses/cs1/-/new/"),
    Action("assignment_edit", Cap.AUTHOR, "page", "get", "/courses/cs1/add/edit/"),
    Action("test_create", Cap.AUTHOR, "page", "get", "/courses/cs1/add/tests/add/expr/"),
    Action("test_edit", Cap.AUTHOR, "page", "get", "/courses/cs1/add/tests/{test}/"),
    Action("test_delete", Cap.AUTHOR, "page", "post", "/courses/cs1/add/tests/{test}/delete/"),
    Action("rubric", Cap.AUTHOR, "page", "post", "/courses/cs1/add/rubric/", {}),
    Action("publish", Cap.PUBLISH, "page", "post", "/courses/cs1/draft/publish/", {"published": "1"}),
    Action("regrade", Cap.BULK_REGRADE, "page", "post", "/courses/cs1/add/regrade/"),
    Action("members", Cap.MANAGE_PEOPLE, "page", "get", "/courses/cs1/-/members/"),
    Action(
        "members",
        Cap.MANAGE_PEOPLE,
        "page",
        "post",
        "/courses/cs1/-/members/",
        {"who": "charlie", "role": "ta"},
    ),
    Action("member_remove", Cap.MANAGE_PEOPLE, "page", "get", "/courses/cs1/-/members/{member}/remove/"),
    Action("member_remove", Cap.MANAGE_PEOPLE, "page", "post", "/courses/cs1/-/members/{member}/remove/"),
    Action("statement_preview", Cap.AUTHOR, "page", "post", "/courses/cs1/-/preview/", {"statement": "*x*"}),
    Action("webhooks", Cap.MANAGE_WEBHOOKS, "page", "get", "/courses/cs1/-/webhooks/"),
    Action("tokens", Cap.MANAGE_TOKENS, "page", "get", "/courses/cs1/-/tokens/"),
    Action(
        "tokens", Cap.MANAGE_TOKENS, "page", "post", "/courses/cs1/-/tokens/", {"name": "x", "scopes": "read"}
    ),
    Action("token_revoke", Cap.MANAGE_TOKENS, "page", "get", "/courses/cs1/-/tokens/{token}/revoke/"),
    Action("token_revoke", Cap.MANAGE_TOKENS, "page", "post", "/courses/cs1/-/tokens/{token}/revoke/"),
    # -- the REST API -----------------------------------------------------------------------
    Action("api-course", Cap.VIEW_COURSE, "api", "get", "/api/v1/courses/cs1/"),
    Action("api-assignments", Cap.VIEW_COURSE, "api", "get", "/api/v1/courses/cs1/assignments/"),
    Action("api-assignment", Cap.VIEW_COURSE, "api", "get", "/api/v1/courses/cs1/assignments/add/"),
    Action("api-assignment", Cap.VIEW_DRAFTS, "api", "get", "/api/v1/courses/cs1/assignments/draft/"),
    Action("api-submission", Cap.VIEW_SUBMISSIONS, "api", "get", f"/api/v1/submissions/{SUB}/"),
    Action("api-grades", Cap.VIEW_GRADES, "api", "get", "/api/v1/courses/cs1/grades/"),
    Action("api-assignments", Cap.AUTHOR, "api", "post", "/api/v1/courses/cs1/assignments/", {"slug": "n"}),
    Action(
        "api-assignment", Cap.AUTHOR, "api", "put", "/api/v1/courses/cs1/assignments/add/", {"slug": "add"}
    ),
    Action(
        "api-roster",
        Cap.MANAGE_PEOPLE,
        "api",
        "put",
        "/api/v1/courses/cs1/roster/",
        {"members": [{"email": "ta@example.edu", "role": "instructor"}]},
    ),
    Action("api-roster", Cap.MANAGE_PEOPLE, "api", "get", "/api/v1/courses/cs1/roster/"),
    Action("api-webhooks", Cap.MANAGE_WEBHOOKS, "api", "get", "/api/v1/courses/cs1/webhooks/"),
    Action("api-webhooks", Cap.MANAGE_WEBHOOKS, "api", "post", "/api/v1/courses/cs1/webhooks/", {"url": "x"}),
    Action("api-webhook", Cap.MANAGE_WEBHOOKS, "api", "delete", "/api/v1/courses/cs1/webhooks/{hook}/"),
    Action("api-assignment", Cap.AUTHOR, "api", "delete", "/api/v1/courses/cs1/assignments/draft/"),
    Action("api-course-archive", Cap.ARCHIVE, "api", "post", "/api/v1/courses/cs1/archive/"),
    Action("api-course-archive", Cap.ARCHIVE, "api", "delete", "/api/v1/courses/cs1/archive/"),
    Action(
        "api-assignment-archive", Cap.ARCHIVE, "api", "post", "/api/v1/courses/cs1/assignments/add/archive/"
    ),
    Action(
        "api-assignment-archive", Cap.ARCHIVE, "api", "delete", "/api/v1/courses/cs1/assignments/add/archive/"
    ),
]
# The API's submit endpoint needs SUBMIT with a session and SUBMIT_FOR_STUDENTS with a token.
SUBMIT_API = "/api/v1/courses/cs1/assignments/add/submissions/"

# URLs whose rule is not a course capability, with the reason.
EXEMPT = {
    "dashboard": "lists only the reader's own courses",
    "course_create": "the platform-wide courses.add_course permission (tests/test_authoring.py)",
    "rate_hint": "only the submission's own student (tests/test_feedback_views.py)",
    "api-schema": "public description of the API",
    "api-docs": "public description of the API",
    "api-courses": "lists only the caller's own courses; creating one is the platform-wide "
    "may_create_courses (tests/test_api_courses.py)",
    "api-submit": "SUBMIT or SUBMIT_FOR_STUDENTS: test_submitting_through_the_api_follows_the_policy",
}

ROLES = ["student", "ta", "instructor", "outsider"]
# Tokens: (scopes, who made it). A token made by a TA never exceeds what a TA may do.
TOKENS = {
    "token-read": (["read"], "instructor"),
    "token-submit": (["submit"], "instructor"),
    "token-grades": (["grades"], "instructor"),
    "token-manage": (["manage"], "instructor"),
    "token-all-by-ta": (["read", "submit", "grades", "manage"], "ta"),
}


@pytest.fixture
def world(course, assignment, people):
    Assignment.objects.filter(pk=assignment.pk).update(
        published=True, starter_files={"solution.py": "x = 0\n"}
    )
    draft = Assignment.objects.create(course=course, slug="draft", title="Draft", published=False)
    draft.tests.create(name="t", kind="expr", spec={"expr": "1", "expected": "1"}, points=1)
    sub = Submission.objects.create(
        assignment=assignment,
        student=people["bob"],
        attempt=1,
        files={"solution.py": "def add(a, b):\n    return a - b\n"},
        status=Status.GRADED,
        score=1,
        raw_score=1,
        max_score=3,
    )
    item = assignment.rubric_items.create(name="style", max_points=1, description="d")
    rubric = RubricScore.objects.create(
        submission=sub, item=item, points=Decimal(1), justification="j", status=RubricStatus.PENDING
    )
    hook = Webhook.objects.create(course=course, url="https://93.184.216.34/hook")
    trial = TrialRun.objects.create(assignment=assignment, purpose=TrialPurpose.REFERENCE, files={})
    token, _ = ApiToken.issue("lms", ["read"], [course], people["instructor"])
    return {
        "sub": sub.pk,
        "rubric": rubric.pk,
        "test": assignment.tests.first().pk,
        "hook": hook.pk,
        "trial": trial.pk,
        "token": token.pk,
        "member": Membership.objects.get(course=course, user=people["bob"]).pk,
    }


def _client(who, people, course, client):
    """(a client for pages or None, an API client, the capabilities the policy grants)."""
    if who in TOKENS:
        scopes, maker = TOKENS[who]
        token, plain = ApiToken.issue(who, scopes, [course], people[maker])
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        return None, api, token_capabilities(scopes, people[maker], course)
    user = people["charlie" if who == "outsider" else {"student": "alice"}.get(who, who)]
    client.force_login(user)
    api = APIClient()
    api.force_login(user)
    role = Membership.objects.filter(user=user, course=course).values_list("role", flat=True).first()
    return client, api, role_capabilities(role)


def _call(client, action: Action, context: dict):
    path = action.path.format(**context)
    if action.surface == "page":
        return getattr(client, action.method)(path, action.data or {})
    return getattr(client, action.method)(path, action.data, format="json")


CELLS = [
    pytest.param(who, action, id=f"{who}-{action.surface}-{action.method}-{action.name}-{action.cap}")
    for action in ACTIONS
    for who in ROLES + (list(TOKENS) if action.surface == "api" else [])
]


@pytest.mark.parametrize("who,action", CELLS)
def test_the_matrix(who, action, world, people, course, client):
    page, api, caps = _client(who, people, course, client)
    response = _call(page if action.surface == "page" else api, action, world)
    allowed = action.cap in caps
    if allowed:
        assert response.status_code not in (401, 403, 404), (response.status_code, response.content[:300])
    else:
        assert response.status_code in (403, 404), (response.status_code, response.content[:300])


@pytest.mark.parametrize("who", ROLES + list(TOKENS))
def test_submitting_through_the_api_follows_the_policy(who, world, people, course, client):
    _, api, caps = _client(who, people, course, client)
    body = {"files": {"solution.py": "def add(a, b):\n    return a + b\n"}}
    if who in TOKENS:
        body["student"] = "alice@example.edu"
    response = api.post(SUBMIT_API, body, format="json")
    allowed = (Cap.SUBMIT_FOR_STUDENTS if who in TOKENS else Cap.SUBMIT) in caps
    assert (response.status_code == 201) == allowed, (response.status_code, response.content[:300])


def test_every_url_is_in_the_matrix_or_exempt():
    names = {p.name for p in web.urls.urlpatterns + api.urls.urlpatterns}
    covered = {a.name for a in ACTIONS} | set(EXEMPT)
    assert names - covered == set(), f"views without an authorization rule in the matrix: {names - covered}"


def test_the_matrix_exercises_every_capability():
    assert {a.cap for a in ACTIONS} | {Cap.SUBMIT_FOR_STUDENTS, Cap.SEE_HIDDEN_DETAILS} == set(Cap)


# -- the bugs that made this matrix necessary -------------------------------------------------
def test_a_ta_cannot_make_themselves_instructor_through_the_api(world, people, course):
    api = APIClient()
    api.force_login(people["ta"])
    body = {
        "members": [
            {"email": "ta@example.edu", "role": "instructor"},
            {"email": "instructor@example.edu", "role": "student"},
        ]
    }
    assert api.put("/api/v1/courses/cs1/roster/", body, format="json").status_code == 403
    assert Membership.objects.get(user=people["ta"], course=course).role == Role.TA
    assert Membership.objects.get(user=people["instructor"], course=course).role == Role.INSTRUCTOR


def test_a_ta_cannot_read_webhook_secrets_or_create_assignments(world, people):
    api = APIClient()
    api.force_login(people["ta"])
    assert api.get("/api/v1/courses/cs1/webhooks/").status_code == 403
    assert (
        api.post(
            "/api/v1/courses/cs1/webhooks/", {"url": "https://93.184.216.34/x"}, format="json"
        ).status_code
        == 403
    )
    created = api.post(
        "/api/v1/courses/cs1/assignments/", {"slug": "new", "title": "N", "tests": []}, format="json"
    )
    assert created.status_code == 403
    assert not Assignment.objects.filter(slug="new").exists()


def test_a_deactivated_accounts_tokens_stop(world, people, course):
    token_client = _client("token-read", people, course, None)[1]
    assert token_client.get("/api/v1/courses/cs1/assignments/").status_code == 200
    people["instructor"].is_active = False
    people["instructor"].save()
    assert token_client.get("/api/v1/courses/cs1/assignments/").status_code in (403, 404)


def test_a_token_submits_for_students_only(world, people, course):
    _, api, _ = _client("token-submit", people, course, None)
    body = {"student": "ta@example.edu", "files": {"solution.py": "def add(a, b):\n    return a + b\n"}}
    response = api.post(SUBMIT_API, body, format="json")
    assert response.status_code == 400 and "No student" in response.content.decode()
    assert not Submission.objects.filter(student=people["ta"]).exists()
