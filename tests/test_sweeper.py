"""The sweeper puts lost work back in line, and a stale run can never record results."""

from datetime import timedelta

import pytest
from django.utils import timezone

from grading import run as grading
from grading import sweeper
from grading.models import Status, Submission
from grading.tasks import grade_submission
from tests.conftest import CORRECT

pytestmark = pytest.mark.django_db


@pytest.fixture
def submission(people, assignment):
    return Submission.objects.create(
        assignment=assignment, student=people["alice"], attempt=1, files={"solution.py": CORRECT}
    )


def age(submission, seconds):
    Submission.objects.filter(pk=submission.pk).update(
        status_changed_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_it_requeues_a_submission_whose_worker_vanished(submission):
    token = grading.claim(submission.pk, redelivered=False)
    age(submission, submission.assignment.wall_seconds + 121)
    assert sweeper.sweep()["running"] == 1
    submission.refresh_from_db()
    assert submission.status == Status.QUEUED
    assert submission.events.last().detail == "worker lost; requeued by the sweeper"
    assert grading.record_result(submission.pk, token, {}, None) is False  # the lost run cannot record


def test_it_leaves_a_running_submission_alone_within_its_time(submission):
    grading.claim(submission.pk, redelivered=False)
    age(submission, submission.assignment.wall_seconds)
    assert sweeper.sweep() == {"running": 0, "queued": 0, "trials": 0}
    submission.refresh_from_db()
    assert submission.status == Status.RUNNING


def test_it_requeues_old_queued_submissions_when_the_queue_is_empty(submission, monkeypatch):
    age(submission, 3600)
    sent = []
    monkeypatch.setattr(
        sweeper, "enqueue_grading", lambda pk, queue="grading", priority=None: sent.append(pk)
    )
    monkeypatch.setattr(sweeper, "grading_backlog", lambda queue="grading": 0)
    assert sweeper.sweep()["queued"] == 1 and sent == [submission.pk]
    monkeypatch.setattr(sweeper, "grading_backlog", lambda queue="grading": 25)
    assert sweeper.sweep()["queued"] == 0  # messages are waiting: they are probably its own


def test_a_second_claim_takes_over_and_the_first_run_cannot_record(submission, sandbox_image):
    first = grading.claim(submission.pk, redelivered=False)
    assert grading.claim(submission.pk, redelivered=False) is None  # not redelivered: hands off
    second = grading.claim(submission.pk, redelivered=True)
    assert second and second != first
    assert grading.record_result(submission.pk, first, {}, None) is False
    submission.refresh_from_db()
    assert submission.status == Status.RUNNING and submission.run_token == second


# -- the retry budget lives in the database ---------------------------------------------------
def _lose_worker(submission):
    grading.claim(submission.pk, redelivered=False)
    age(submission, submission.assignment.wall_seconds + 121)


def test_every_way_a_run_is_lost_spends_the_same_budget(submission, settings, monkeypatch):
    """Celery's own retry counter starts again when a message is re-sent; the database's does not.
    A run lost again and again (a lost worker found by the sweeper, a redelivery after a killed
    worker) ends as not gradable once GRADING_MAX_RETRIES is spent, never charging an attempt."""
    settings.GRADING_MAX_RETRIES = 2
    monkeypatch.setattr(sweeper, "enqueue_grading", lambda pk, **kw: None)
    _lose_worker(submission)
    assert sweeper.sweep()["running"] == 1  # failure 1, requeued
    assert grading.claim(submission.pk, redelivered=False) is not None
    assert grading.claim(submission.pk, redelivered=True) is not None  # failure 2: a redelivery takes it back
    age(submission, submission.assignment.wall_seconds + 121)
    assert sweeper.sweep()["running"] == 0  # failure 3 > 2: given up
    submission.refresh_from_db()
    assert (submission.status, submission.infra_failures) == (Status.ERROR, 3)
    assert "no attempt was charged" in submission.error_message


def test_a_redelivery_past_the_budget_is_not_run(submission, settings):
    settings.GRADING_MAX_RETRIES = 0
    grading.claim(submission.pk, redelivered=False)
    assert grading.claim(submission.pk, redelivered=True) is None
    submission.refresh_from_db()
    assert (submission.status, submission.infra_failures) == (Status.ERROR, 1)


def test_the_task_reads_the_budget_from_the_database(submission, settings, monkeypatch):
    """A fresh message (the sweeper's, Celery retries 0) for a submission that already failed
    GRADING_MAX_RETRIES times gives up at its first failure."""
    settings.GRADING_MAX_RETRIES = 3
    Submission.objects.filter(pk=submission.pk).update(infra_failures=3)
    monkeypatch.setattr(grading, "image_tag", lambda: "grader-sandbox-python:missing")
    assert grade_submission.apply(args=[submission.pk]).get() == "not_gradable"
    submission.refresh_from_db()
    assert (submission.status, submission.infra_failures) == (Status.ERROR, 4)
