"""grading.run called directly, with the real sandbox."""

import pytest
from django.test import override_settings

from feedback.models import FeedbackRequest
from grading import run as grading
from grading.models import Status, Submission
from grading.run import GradeOutcome
from tests.conftest import CORRECT, WRONG

pytestmark = [pytest.mark.django_db, pytest.mark.docker]


@pytest.fixture
def submit(people, assignment):
    def make(code, attempt=1):
        return Submission.objects.create(
            assignment=assignment, student=people["alice"], attempt=attempt, files={"solution.py": code}
        )

    return make


def test_it_grades_a_correct_submission(submit, sandbox_image):
    submission = submit(CORRECT)
    assert grading.grade(submission.pk) is GradeOutcome.GRADED
    submission.refresh_from_db()
    assert (submission.status, submission.score, submission.max_score) == (Status.GRADED, 3, 3)
    assert submission.results.count() == 3 and submission.graded_at and submission.sandbox_seconds > 0
    assert not FeedbackRequest.objects.exists()


def test_it_requests_feedback_when_a_test_fails(submit, sandbox_image):
    submission = submit(WRONG)
    grading.grade(submission.pk)
    submission.refresh_from_db()
    assert submission.score == 2
    assert FeedbackRequest.objects.get().submission == submission


def test_it_is_idempotent(submit, sandbox_image):
    submission = submit(CORRECT)
    grading.grade(submission.pk)
    assert grading.grade(submission.pk) is GradeOutcome.SKIPPED
    assert grading.grade(submission.pk, redelivered=True) is GradeOutcome.SKIPPED
    assert submission.results.count() == 3


def test_it_takes_back_a_running_submission_only_on_redelivery(submit, sandbox_image):
    submission = submit(CORRECT)
    Submission.objects.filter(pk=submission.pk).update(status=Status.RUNNING)
    assert grading.grade(submission.pk) is GradeOutcome.SKIPPED
    assert grading.grade(submission.pk, redelivered=True) is GradeOutcome.GRADED
    submission.refresh_from_db()
    assert submission.status == Status.GRADED


def test_it_applies_the_late_penalty(submit, sandbox_image):
    submission = submit(CORRECT)
    Submission.objects.filter(pk=submission.pk).update(is_late=True, late_penalty_percent=50)
    grading.grade(submission.pk)
    submission.refresh_from_db()
    assert (submission.raw_score, submission.score) == (3, 1.5)


def test_it_puts_an_infrastructure_failure_back_in_the_queue(submit, monkeypatch):
    monkeypatch.setattr(grading, "image_tag", lambda: "grader-sandbox-python:missing")
    submission = submit(CORRECT)
    assert grading.grade(submission.pk) is GradeOutcome.INFRA_ERROR
    submission.refresh_from_db()
    assert (submission.status, submission.infra_failures, submission.score) == (Status.QUEUED, 1, None)
    assert "missing" in submission.error_message and not submission.results.exists()


def test_it_marks_a_submission_not_gradable(submit):
    submission = submit(CORRECT)
    grading.mark_not_gradable(submission.pk, "platform down")
    submission.refresh_from_db()
    assert (submission.status, submission.error_message) == (Status.ERROR, "platform down")


@override_settings(GRADING_MAX_RETRIES=0)
def test_the_task_gives_up_after_the_retry_limit(submit, monkeypatch):
    from grading.tasks import grade_submission

    monkeypatch.setattr(grading, "image_tag", lambda: "grader-sandbox-python:missing")
    submission = submit(CORRECT)
    assert grade_submission.apply(args=[submission.pk]).get() == "not_gradable"
    submission.refresh_from_db()
    assert submission.status == Status.ERROR


@pytest.mark.parametrize(
    "body", [b"[1]", b"[" * 100_000, b'{"ok": false, "error": {"type": "' + b"E" * 300 + b'"}}']
)
def test_what_the_students_code_causes_is_graded_and_counts_as_an_attempt(submit, sandbox_image, body):
    code = (
        "import os, struct\ndef add(a, b):\n"
        f"    os.write(4, struct.pack('>I', {len(body)}) + {body!r})\n    os._exit(0)\n"
    )
    submission = submit(code)
    assert grading.grade(submission.pk) is GradeOutcome.GRADED
    submission.refresh_from_db()
    assert (submission.status, submission.score, submission.infra_failures) == (Status.GRADED, 0, 0)
