"""The gradebook: which attempt counts, per student and assignment, and its CSV export.

CSV layout (one row per student, importable by Canvas and Moodle):

    Student, ID, SIS User ID, SIS Login ID, Section, Email address, <Assignment title (slug)>...
    Points Possible, , , , , , <max points>...          <- Canvas's points row
    "Lovelace, Ada", 12, ada, ada, cs101, ada@example.edu, 8.50, ...

- Canvas: "Student", "ID", "SIS User ID", "SIS Login ID" and "Section" are its own export
  columns; it matches students by SIS Login ID (our username) and assignments by column title.
- Moodle: map "Email address" (or "SIS Login ID" as username) to the user and each assignment
  column to a grade item; the "Points Possible" row matches no user and is skipped.
- An empty cell: no graded attempt. Scores are the counted attempt's final score
  (grading.scoring: the override if any, else tests + approved rubric, less the late penalty).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from courses.models import Assignment, Course, Role
from grading.models import Submission


@dataclass
class Cell:
    submission: Submission | None  # the counted attempt, annotated with ``final``

    @property
    def score(self):
        return None if self.submission is None else self.submission.final


def course_gradebook(course: Course) -> tuple[list[Assignment], list[tuple]]:
    """(assignments, [(student, [Cell per assignment])]), in three queries whatever the size."""
    assignments = list(course.assignments.filter(published=True).order_by("deadline", "slug"))
    students = [
        m.user
        for m in course.memberships.filter(role=Role.STUDENT)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    ]
    counted = {
        (sub.student_id, sub.assignment_id): sub
        for sub in Submission.objects.filter(assignment__in=assignments).counted()
    }
    rows = [(student, [Cell(counted.get((student.pk, a.pk))) for a in assignments]) for student in students]
    return assignments, rows


class NothingToExport(Exception):
    pass


def gradebook_csv(course: Course) -> str:
    assignments, rows = course_gradebook(course)
    if not rows:
        raise NothingToExport("This course has no students yet, so there is no gradebook to export.")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Email address"]
        + [f"{a.title} ({a.slug})" for a in assignments]
    )
    writer.writerow(["Points Possible", "", "", "", "", ""] + [_fmt(a.max_points) for a in assignments])
    for student, cells in rows:
        name = f"{student.last_name}, {student.first_name}" if student.last_name else student.get_username()
        writer.writerow(
            [name, student.pk, student.get_username(), student.get_username(), course.code, student.email]
            + [_fmt(cell.score) for cell in cells]
        )
    return out.getvalue()


def _fmt(value) -> str:
    return "" if value is None else f"{value:.2f}"
