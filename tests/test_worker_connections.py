"""A Celery worker keeps its database connection from one task to the next, as a web process
keeps one from one request to the next, and drops it when it broke or grew too old.

Celery's Django fix-up, left to its defaults, closes every connection before and after each task:
a new PostgreSQL backend (a fork and a password handshake) for every task. These tests send the task
signals a pool process sends around each task, to the fix-up's hooks and the platform's
(grader.celery), on a real PostgreSQL connection.
"""

import time

import psycopg
import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection, transaction

from grader.celery import app
from grading.tasks import grade_submission


@pytest.fixture
def worker(monkeypatch):
    """This process's connection as a pool process has it: fresh, kept for an hour
    (DATABASE_CONN_MAX_AGE), with the hooks a worker installs on the task signals — Celery's
    fix-up's (connected here as its worker start-up does) and the platform's (grader.celery)."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 3600)
    if not connection.in_atomic_block:  # (a test's own transaction keeps its connection)
        connection.close()
    fixup = DjangoWorkerFixup(app)
    task_prerun.connect(fixup.on_task_prerun)
    task_postrun.connect(fixup.on_task_postrun)
    yield fixup
    task_prerun.disconnect(fixup.on_task_prerun)
    task_postrun.disconnect(fixup.on_task_postrun)


def around_a_task(task=grade_submission) -> None:
    """What a pool process signals before and after running a task."""
    task_prerun.send(sender=task, task_id="t1", task=task, args=(), kwargs={})
    task_postrun.send(sender=task, task_id="t1", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_same_backend_serves_task_after_task(worker):
    first = backend_pid()
    for _ in range(5):
        around_a_task()
        assert backend_pid() == first


@pytest.mark.django_db(transaction=True)
def test_a_connection_older_than_its_maximum_age_is_replaced(worker):
    first = backend_pid()
    connection.close_at = time.monotonic() - 1  # DATABASE_CONN_MAX_AGE has passed
    around_a_task()
    assert connection.connection is None
    assert backend_pid() != first


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_replaced_before_the_next_task_uses_it(worker):
    first = backend_pid()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        # PostgreSQL restarted, or an administrator ended the session, while the worker waited
        other.execute("SELECT pg_terminate_backend(%s, 5000)", [first])  # waits until it is gone
    around_a_task()
    assert backend_pid() != first  # no "server closed the connection" in the task


@pytest.mark.django_db
def test_a_task_run_eagerly_inside_a_transaction_keeps_the_callers_connection(worker):
    with transaction.atomic():
        first = backend_pid()
        assert grade_submission.apply(args=[987654321]).get() == "skipped"  # no such submission
        assert connection.in_atomic_block
        assert backend_pid() == first
