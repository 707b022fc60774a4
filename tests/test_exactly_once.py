"""Nothing lost, nothing graded twice: a worker process killed mid-run, Redis stopped."""

import os
import signal
import subprocess

import pytest
from django.db.models import Q
from django.urls import reverse

from feedback.models import RequestStatus
from grading import sweeper
from grading.models import Status, Submission
from tests.conftest import CORRECT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker, pytest.mark.worker]

SLOW = CORRECT.replace("def add(a, b):\n", "def add(a, b):\n    __import__('time').sleep(3)\n")
REDIS = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
]


@pytest.fixture(autouse=True)
def no_work_left_behind(wait_for):
    yield
    busy = Q(status__in=[Status.QUEUED, Status.RUNNING]) | Q(
        feedback_request__status__in=[RequestStatus.PENDING, RequestStatus.IN_PROGRESS]
    )
    assert wait_for(lambda: not Submission.objects.filter(busy).exists(), 90)


def graded_events(submission):
    return list(submission.events.filter(status=Status.GRADED))


def test_a_worker_process_killed_mid_grading_leads_to_one_grade(
    client, people, assignment, celery_worker, wait_for
):
    client.force_login(people["alice"])
    client.post(reverse("submit", args=["cs1", "add"]), {"code": SLOW})
    submission = Submission.objects.get()
    assert wait_for(lambda: Submission.objects.get(pk=submission.pk).status == Status.RUNNING, 60)
    victim = int(Submission.objects.get(pk=submission.pk).worker.rsplit(":", 1)[1])
    assert victim != celery_worker.pid  # a pool process, not the main worker
    os.kill(victim, signal.SIGKILL)

    assert wait_for(lambda: Submission.objects.get(pk=submission.pk).status == Status.GRADED, 120)
    submission.refresh_from_db()
    assert submission.score == 3 and submission.results.count() == 3
    assert len(graded_events(submission)) == 1
    claims = [e.detail for e in submission.events.filter(status=Status.RUNNING)]
    assert len(claims) == 2 and "redelivered" in claims[1]
    assert not submission.worker.endswith(f":{victim}")


def test_submissions_made_while_redis_is_down_are_all_graded(
    client, people, assignment, celery_worker, wait_for
):
    client.force_login(people["bob"])
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], check=False, capture_output=True)
    try:
        for _ in range(3):
            response = client.post(reverse("submit", args=["cs1", "add"]), {"code": CORRECT})
            assert response.status_code == 302  # stored; the message could not be sent
    finally:
        subprocess.run(REDIS, check=True, capture_output=True)
        assert wait_for(
            lambda: (
                subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).stdout.strip()
                == b"PONG"
            ),
            30,
        )
    assert set(Submission.objects.values_list("status", flat=True)) == {Status.QUEUED}

    # The periodic sweeper finds queued rows with no message in the (empty) queue.
    assert wait_for(lambda: sweeper.sweep(now=_later())["queued"] == 3, 30)
    assert wait_for(lambda: Submission.objects.filter(status=Status.GRADED).count() == 3, 120)
    for submission in Submission.objects.all():
        assert submission.score == 3 and len(graded_events(submission)) == 1


def _later():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(hours=1)
