"""Which attempt counts, and the CSV export."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from courses.models import Course, Membership, Role
from grading.gradebook import NothingToExport, course_gradebook, gradebook_csv
from grading.models import Status, Submission

pytestmark = pytest.mark.django_db


def attempt(assignment, student, n, score, status=Status.GRADED, override=None, late=False):
    return Submission.objects.create(
        assignment=assignment,
        student=student,
        attempt=n,
        files={},
        status=status,
        score=score,
        raw_score=score,
        max_score=3,
        override_score=override,
        is_late=late,
    )


@pytest.mark.parametrize(
    "rule, attempts, counted",
    [
        ("last", [(1, 3), (2, 1)], Decimal(1)),
        ("best", [(1, 3), (2, 1)], Decimal(3)),
        ("best", [(1, 1), (2, 2)], Decimal(2)),
        ("last", [], None),
    ],
)
def test_it_counts_the_last_or_the_best_attempt(people, assignment, rule, attempts, counted):
    assignment.counted_submission = rule
    assignment.save()
    for n, score in attempts:
        attempt(assignment, people["alice"], n, score)
    _, rows = course_gradebook(assignment.course)
    cells = dict((student.username, cells[0].score) for student, cells in rows)
    assert cells["alice"] == counted and cells["bob"] is None


def test_it_ignores_ungraded_attempts_and_honours_overrides(people, assignment):
    attempt(assignment, people["alice"], 1, 2, override=Decimal("2.75"))
    attempt(assignment, people["alice"], 2, None, status=Status.QUEUED)
    _, rows = course_gradebook(assignment.course)
    assert dict((s.username, c[0].score) for s, c in rows)["alice"] == Decimal("2.75")


def test_it_exports_a_canvas_and_moodle_friendly_csv(people, assignment):
    attempt(assignment, people["alice"], 1, Decimal("2.5"), late=True)
    rows = list(csv.reader(io.StringIO(gradebook_csv(assignment.course))))
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Email address",
        "Add (add)",
    ]
    assert rows[1] == ["Points Possible", "", "", "", "", "", "3.00"]
    assert rows[2] == ["alice", str(people["alice"].pk), "alice", "alice", "cs1", "alice@example.edu", "2.50"]
    assert rows[3][3] == "bob" and rows[3][6] == ""
    assert len(rows) == 4  # students only: no staff rows


def test_it_refuses_to_export_a_course_without_students(people):
    course = Course.objects.create(code="empty", title="Empty")
    Membership.objects.create(user=people["instructor"], course=course, role=Role.INSTRUCTOR)
    with pytest.raises(NothingToExport):
        gradebook_csv(course)


def test_the_export_view_is_for_staff_and_explains_an_empty_course(client, people, assignment):
    client.force_login(people["alice"])
    assert client.get(reverse("gradebook_csv", args=["cs1"])).status_code == 404
    assert client.get(reverse("gradebook", args=["cs1"])).status_code == 404
    client.force_login(people["ta"])
    response = client.get(reverse("gradebook_csv", args=["cs1"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    Membership.objects.filter(role=Role.STUDENT).delete()
    response = client.get(reverse("gradebook_csv", args=["cs1"]))
    assert response.status_code == 400 and "no students" in response.content.decode()


def test_the_gradebook_page_shows_late_and_override_flags(client, people, assignment):
    attempt(assignment, people["alice"], 1, 2, override=Decimal(3), late=True)
    client.force_login(people["instructor"])
    html = client.get(reverse("gradebook", args=["cs1"])).content.decode()
    assert "3.00" in html and "late</span>" in html and "override</span>" in html
