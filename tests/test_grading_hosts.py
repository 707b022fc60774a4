"""Two grading hosts on one machine: the main Docker daemon (host A) and a second daemon (host
B), each with its own grading worker, share a deadline burst. Host B's daemon is killed
(SIGKILL) in the middle: what it was running goes back to the queue and host A grades it;
then the daemon comes back and host B takes work again. Nothing lost, nothing graded twice,
no attempt charged for the platform's failure."""

import os
import socket
import uuid

import pytest
import redis
from celery import current_app
from django.conf import settings

from bench.hosts import DockerDaemon, claimed_by, pids, start_worker, stop_worker
from grading.models import Status, Submission
from grading.services import Upload, do_submit
from tests.conftest import CORRECT, _database_url

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.docker,
    pytest.mark.worker,
    pytest.mark.slow,
]

# Slow enough that host B is surely running something when its daemon dies.
SLOW = CORRECT.replace("def add(a, b):\n", "def add(a, b):\n    __import__('time').sleep(0.4)\n")
PLATFORM_FAILURE = "platform failure"


@pytest.fixture
def host_b():
    daemon = DockerDaemon("test-b")
    daemon.start()
    yield daemon
    daemon.stop()


def burst(people, assignment, count: int) -> list[int]:
    students = [people["alice"], people["bob"]]
    code = [Upload("solution.py", SLOW.encode())]
    return [do_submit(students[i % 2], assignment, code).pk for i in range(count)]


def all_graded(ids: list[int]) -> bool:
    return Submission.objects.filter(pk__in=ids, status=Status.GRADED).count() == len(ids)


def test_a_second_host_shares_the_burst_loses_its_daemon_and_comes_back(
    people, assignment, sandbox_image, host_b, tmp_path, wait_for
):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    host_b.load(sandbox_image)
    env = {
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SANDBOX_IMAGE": sandbox_image,
    }
    env = dict(os.environ, **env)
    name_b = f"host-b-{uuid.uuid4().hex[:6]}"
    worker_a = start_worker(f"host-a-{uuid.uuid4().hex[:6]}", env, None, tmp_path / "a.log")
    worker_b = start_worker(name_b, env, host_b.url, tmp_path / "b.log")
    node_b = f"{name_b}@{socket.gethostname()}"
    b_pids = pids(worker_b)
    try:
        first = burst(people, assignment, 16)

        def running_on_b() -> list[int]:
            return [
                s.pk
                for s in Submission.objects.filter(pk__in=first, status=Status.RUNNING)
                if claimed_by(s.worker, b_pids)
            ]

        assert wait_for(
            lambda: any(claimed_by(w, b_pids) for w in graded_workers(first)) and bool(running_on_b()),
            120,
        )
        host_b.kill()
        # Host B leaves the grading queues while its daemon is gone ...
        assert wait_for(lambda: consuming(node_b) == set(), 30)
        # Host A grades the rest of the burst, including what host B was running.
        assert wait_for(lambda: all_graded(first), 240)
        before_return = {
            pk: w for pk, w in Submission.objects.filter(pk__in=first).values_list("pk", "worker")
        }

        host_b.start()
        # ... and takes them again once it answers.
        assert wait_for(lambda: consuming(node_b) == {"grading", "regrading"}, 60)
        second = burst(people, assignment, 12)
        assert wait_for(lambda: all_graded(second), 240)
        b_pids |= pids(worker_b)
    finally:
        stop_worker(worker_a)
        stop_worker(worker_b)

    everything = Submission.objects.filter(pk__in=first + second)
    assert everything.count() == 28 and all(s.status == Status.GRADED and s.score == 3 for s in everything)
    for submission in everything:
        events = list(submission.events.order_by("pk").values_list("status", "detail"))
        assert [status for status, _ in events].count(Status.GRADED) == 1  # graded once
        assert submission.results.count() == 3
        claims = [detail for status, detail in events if status == Status.RUNNING]
        failures = [detail for status, detail in events if detail.startswith(PLATFORM_FAILURE)]
        # Every claim but the last ended in a counted platform failure, never in a grade.
        assert len(claims) == len(failures) + 1 == submission.infra_failures + 1

    interrupted = [s for s in everything if s.infra_failures]
    assert interrupted  # host B was running something when its daemon died ...
    for submission in interrupted:
        assert submission.pk in first
        assert not claimed_by(before_return[submission.pk], b_pids)  # ... and host A graded it
    # No attempt charged for the platform's failure: one attempt per submission, in order.
    for student in (people["alice"], people["bob"]):
        mine = Submission.objects.filter(student=student, assignment=assignment)
        assert mine.charged().count() == mine.count() == 14
        assert sorted(mine.values_list("attempt", flat=True)) == list(range(1, 15))
    # Both hosts graded part of the burst, and host B again after its daemon came back.
    assert any(not claimed_by(w, b_pids) for w in graded_workers(first))
    assert any(claimed_by(w, b_pids) for w in graded_workers(first))
    assert any(claimed_by(w, b_pids) for w in graded_workers(second))
    # ... without failing anything for what died with its old daemon (its warm containers).
    assert not any(s.infra_failures for s in everything if s.pk in second)


def consuming(node: str) -> set[str] | None:
    """The queues a worker consumes, as it answers Celery's remote control."""
    answer = current_app.control.inspect(destination=[node], timeout=2).active_queues() or {}
    return {queue["name"] for queue in answer[node]} if node in answer else None


def graded_workers(ids: list[int]) -> list[str]:
    return list(Submission.objects.filter(pk__in=ids, status=Status.GRADED).values_list("worker", flat=True))
