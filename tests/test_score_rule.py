"""One score rule (grading.scoring): every surface shows the same number for a student and an
assignment — dashboard, assignment page, gradebook, its CSV, the API's grades, webhooks,
analytics — across late penalties, overrides, rubric scores pending or approved, last or best
attempt, and extensions. The Python rule and its SQL twin agree; query counts do not grow
with the class."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from api.models import ApiToken
from courses.models import Assignment, CountedSubmission, Extension, LatePolicy, Membership, Role
from feedback.models import RubricScore
from feedback.services import do_decide_rubric
from grading import scoring
from grading.models import Status, Submission
from grading.staff import do_override_score
from web.analytics import assignment_analytics
from webhooks.services import graded_payload

pytestmark = pytest.mark.django_db
User = get_user_model()


def _attempt(assignment, student, attempt, raw, submitted_at=None):
    """A graded attempt stored the way grading stores one (lateness from scoring.lateness)."""
    extension = Extension.objects.filter(assignment=assignment, student=student).first()
    late = scoring.lateness(assignment, submitted_at or timezone.now(), extension)
    raw = Decimal(raw)
    return Submission.objects.create(
        assignment=assignment,
        student=student,
        attempt=attempt,
        files={"solution.py": "x = 1\n"},
        status=Status.GRADED,
        raw_score=raw,
        score=scoring.apply_penalty(raw, late.penalty_percent),
        max_score=3,
        is_late=late.is_late,
        late_penalty_percent=late.penalty_percent,
        graded_at=timezone.now(),
    )


@pytest.fixture
def cases(course, assignment, people):
    """Per (student, assignment), the number every surface must show."""
    now = timezone.now()
    Assignment.objects.filter(pk=assignment.pk).update(
        published=True,
        deadline=now - timedelta(days=2),
        late_policy=LatePolicy.PENALTY,
        late_penalty_percent=10,
        late_penalty_cap_percent=50,
        late_penalty_unit="day",
    )
    assignment.refresh_from_db()
    best = Assignment.objects.create(
        course=course, slug="best", title="Best", published=True, counted_submission=CountedSubmission.BEST
    )
    best.tests.create(name="t", kind="expr", spec={"expr": "1", "expected": "1"}, points=3)
    style = assignment.rubric_items.create(name="style", max_points=2, description="d")
    names = ["ann", "ben", "cat", "dan", "eve"]
    for name in names:
        user = User.objects.create_user(name, f"{name}@example.edu", "x")
        Membership.objects.create(user=user, course=course, role=Role.STUDENT)
        people[name] = user
    early = now - timedelta(days=3)
    expected = {}
    # ann: last attempt counts (1), not her best (3).
    _attempt(assignment, people["ann"], 1, 3, early)
    _attempt(assignment, people["ann"], 2, 1, early)
    expected["ann", "add"] = Decimal("1.00")
    # ben: one day late (10%), an approved rubric point counts, a pending one does not:
    # (2 + 1) x 0.9 = 2.70.
    sub = _attempt(assignment, people["ben"], 1, 2, now - timedelta(days=1, hours=12))
    approved = RubricScore.objects.create(submission=sub, item=style, points=1, justification="j")
    do_decide_rubric(approved, True, people["instructor"])
    RubricScore.objects.create(
        submission=sub, item=assignment.rubric_items.create(name="n", max_points=1), points=1
    )
    expected["ben", "add"] = Decimal("2.70")
    # cat: an override wins over everything, even on a late attempt.
    sub = _attempt(assignment, people["cat"], 1, 0, now)
    do_override_score(sub, "2.5", "regraded by hand", people["instructor"])
    expected["cat", "add"] = Decimal("2.50")
    # dan: an extension makes his late-looking attempt on time (no penalty).
    Extension.objects.create(assignment=assignment, student=people["dan"], deadline=now + timedelta(days=1))
    _attempt(assignment, people["dan"], 1, 2, now)
    expected["dan", "add"] = Decimal("2.00")
    # eve: best attempt counts on "best" (3 of 2, 3, 1); on "add", her only attempt, 3 days late: 30% off.
    for attempt, raw in enumerate([2, 3, 1], start=1):
        _attempt(best, people["eve"], attempt, raw)
    _attempt(assignment, people["eve"], 1, 3, now + timedelta(days=1))
    expected["eve", "best"] = Decimal("3.00")
    expected["eve", "add"] = Decimal("2.10")
    return expected


def test_the_cases_are_what_the_rule_says(cases):
    counted = {(s.student.username, s.assignment.slug): s.final for s in Submission.objects.counted()}
    assert {k: counted[k] for k in cases} == cases


def test_every_surface_shows_the_same_number(cases, people, course, client):
    # The gradebook page and its CSV, as the instructor.
    client.force_login(people["instructor"])
    page = client.get("/courses/cs1/-/gradebook/").content.decode()
    rows = list(csv.reader(io.StringIO(client.get("/courses/cs1/-/gradebook.csv").content.decode())))
    header = rows[0]
    # The API's grades, with a grades token.
    _, plain = ApiToken.issue("lms", ["grades"], [course], people["instructor"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    grades = {
        (g["student"], g["assignment"]): Decimal(g["score"])
        for g in api.get("/api/v1/courses/cs1/grades/").json()
    }
    for (student, slug), number in cases.items():
        shown = f"{number:.2f}"
        row = page.split(f'<th scope="row">{student}</th>')[1].split("</tr>")[0]
        assert f">{shown}</a>" in row, (student, slug, row)
        line = next(r for r in rows if r[2] == student)
        column = next(i for i, title in enumerate(header) if title.endswith(f"({slug})"))
        assert line[column] == shown, (student, slug)
        assert grades[student, slug] == number, (student, slug)
        # Every webhook about any attempt of the pair carries the counted score.
        for sub in Submission.objects.filter(student__username=student, assignment__slug=slug):
            assert Decimal(str(graded_payload(sub)["submission"]["counted_score"])) == number
        # The student's own dashboard and assignment page.
        client.force_login(people[student])
        dashboard = client.get("/").content.decode()
        mine = dashboard.split(f'href="/courses/cs1/{slug}/"')[1].split("</tr>")[0]
        assert f"{shown} / " in mine, (student, slug, mine)
        assignment_page = client.get(f"/courses/cs1/{slug}/").content.decode()
        assert f'<dd id="counted"><strong>{shown} / ' in assignment_page, (student, slug)


def test_analytics_count_the_same_attempts(cases, assignment):
    report = assignment_analytics(assignment)
    in_add = [n for (student, slug), n in cases.items() if slug == "add"]
    assert report.students == len(in_add)
    bands = dict(report.distribution)
    for number in in_add:
        share = min(Decimal(1), number / 3)
        bands[["0–20%", "20–40%", "40–60%", "60–80%", "80–100%"][min(4, int(share * 5))]] -= 1
    assert set(bands.values()) == {0}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.decimals(min_value=0, max_value=1000, places=2),
    rubric=st.decimals(min_value=0, max_value=100, places=2),
    penalty=st.decimals(min_value=0, max_value=100, places=2),
    override=st.none() | st.decimals(min_value=0, max_value=1000, places=2),
)
def test_python_and_sql_compute_the_same_final_score(raw, rubric, penalty, override, assignment, people):
    sub = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=Submission.objects.filter(student=people["alice"]).count() + 1,
        files={},
        status=Status.GRADED,
        raw_score=raw,
        score=scoring.apply_penalty(raw, penalty),
        rubric_points=rubric,
        late_penalty_percent=penalty,
        override_score=override,
    )
    sub.refresh_from_db()
    assert Submission.objects.with_final_score().get(pk=sub.pk).final == sub.final_score


def _class_of(course, assignment, size, start):
    for n in range(start, start + size):
        user = User.objects.create_user(f"s{n}", f"s{n}@example.edu", "x")
        Membership.objects.create(user=user, course=course, role=Role.STUDENT)
        for attempt in (1, 2):
            _attempt(assignment, user, attempt, attempt)


def test_gradebook_and_grades_need_the_same_queries_for_5_or_25_students(course, assignment, people, client):
    Assignment.objects.filter(pk=assignment.pk).update(published=True)
    client.force_login(people["instructor"])
    _, plain = ApiToken.issue("lms", ["grades"], [course], people["instructor"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    counts = []
    for size, start in ((5, 0), (20, 5)):
        _class_of(course, assignment, size, start)
        with CaptureQueriesContext(connection) as page:
            assert client.get("/courses/cs1/-/gradebook/").status_code == 200
        with CaptureQueriesContext(connection) as grades:
            assert len(api.get("/api/v1/courses/cs1/grades/").json()) == start + size
        counts.append((len(page), len(grades)))
    assert counts[0] == counts[1], counts
    assert counts[0][0] <= 10, counts  # session, membership, assignments, students, counted attempts...


def test_numbers_on_pages_use_two_decimals_everywhere(cases, people, client):
    client.force_login(people["instructor"])
    page = client.get("/courses/cs1/-/gradebook/").content.decode()
    assert not re.search(r">\d+\.\d{3,}<", page)
