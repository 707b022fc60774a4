"""Rules the database itself enforces, whatever code path writes."""

import pytest
from django.db import IntegrityError, transaction

from courses.models import TestCase
from grading.models import Submission

pytestmark = pytest.mark.django_db


def test_attempt_numbers_are_unique_per_student_and_assignment(people, assignment):
    Submission.objects.create(assignment=assignment, student=people["alice"], attempt=1, files={})
    with pytest.raises(IntegrityError), transaction.atomic():
        Submission.objects.create(assignment=assignment, student=people["alice"], attempt=1, files={})
    Submission.objects.create(assignment=assignment, student=people["bob"], attempt=1, files={})


def test_points_cannot_be_negative(assignment):
    with pytest.raises(IntegrityError), transaction.atomic():
        TestCase.objects.create(
            assignment=assignment, name="neg", kind="expr", points=-1, spec={"expr": "1", "expected": "1"}
        )


def test_a_late_penalty_cannot_be_negative(assignment):
    assignment.late_penalty_percent = -5
    with pytest.raises(IntegrityError), transaction.atomic():
        assignment.save()


def test_new_assignments_take_their_limits_from_settings(course, settings):
    from courses.models import Assignment

    settings.SANDBOX_DEFAULT_MEMORY_MB, settings.SANDBOX_DEFAULT_WALL_SECONDS = 512, 30
    assignment = Assignment.objects.create(course=course, slug="x", title="X")
    assignment.refresh_from_db()
    assert (assignment.memory_mb, assignment.wall_seconds, assignment.pids_limit) == (512, 30, 64)
