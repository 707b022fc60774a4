"""A Celery worker keeps its database connection from one task to the next, as a web process
keeps one from one request to the next, and drops it when it broke or grew too old.

Celery's Django fix-up, left to its defaults, closes every connection before and after each task:
a new PostgreSQL backend (a fork and a password handshake) per task, about a tenth of what
grading a submission costs under a deadline burst (bench/burst). These tests run the fix-up's
own task hooks and the platform's (grader.celery) on a real PostgreSQL connection, as a worker's
pool process does around each task.
"""

import time
from types import SimpleNamespace

import psycopg
import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection, transaction

from grader.celery import app, recycle_connections
from grading.tasks import grade_submission


def around_a_task(fixup: DjangoWorkerFixup, task) -> None:
    """The hooks a worker runs before and after a task (signals task_prerun / task_postrun)."""
    for hook in (fixup.on_task_prerun, fixup.on_task_postrun):
        hook(sender=task)
        recycle_connections(task=task)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_same_backend_serves_task_after_task():
    fixup = DjangoWorkerFixup(app)
    first = backend_pid()
    for _ in range(5):
        around_a_task(fixup, grade_submission)
        assert backend_pid() == first


@pytest.mark.django_db(transaction=True)
def test_a_connection_older_than_its_maximum_age_is_replaced():
    fixup = DjangoWorkerFixup(app)
    first = backend_pid()
    connection.close_at = time.monotonic() - 1  # DATABASE_CONN_MAX_AGE has passed
    around_a_task(fixup, grade_submission)
    assert connection.connection is None
    assert backend_pid() != first


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_replaced_before_the_next_task_uses_it():
    fixup = DjangoWorkerFixup(app)
    first = backend_pid()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        # PostgreSQL restarted, or an administrator ended the session, while the worker waited
        other.execute("SELECT pg_terminate_backend(%s, 5000)", [first])  # waits until it is gone
    around_a_task(fixup, grade_submission)
    assert backend_pid() != first  # no "server closed the connection" in the task


@pytest.mark.django_db
def test_a_task_run_eagerly_inside_a_transaction_keeps_the_callers_connection():
    with transaction.atomic():
        first = backend_pid()
        recycle_connections(task=SimpleNamespace(request=SimpleNamespace(is_eager=True)))
        assert connection.in_atomic_block
        assert backend_pid() == first
