"""The life cycle of a Celery worker of this app (every worker loads it; connected when the app
is ready): its metrics endpoint, the ids in its log lines, and on a grading host the sandbox
containers it leaves behind."""

from __future__ import annotations

import functools
from contextvars import Token
from typing import Any

from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
)
from django.conf import settings
from django.db import connections

from grading import health
from grading.run import close_pool
from observe import exporter, logs, metrics
from sandbox import janitor

SANDBOX_QUEUES = {"grading", "regrading"}
# The id a task's first argument is, named as log lines name it elsewhere.
FIRST_ARGUMENT = {
    "grader.grade_submission": "submission_id",
    "grader.run_trial": "trial_id",
    "webhooks.deliver": "delivery_id",
}
_bound: dict[str, Token[dict[str, Any]]] = {}
REQUEST_ID_HEADER = "grader_request_id"  # message headers become attributes of task.request


@worker_ready.connect
def remove_abandoned_sandboxes(**_):
    """Containers a crashed worker left behind on this Docker host (found by label)."""
    janitor.sweep()


@worker_process_shutdown.connect
def close_container_pool(**_):
    close_pool()


@worker_ready.connect
def serve_metrics(sender: Any = None, **_):
    """This host's /metrics (all pool processes added up), /healthz and /readyz; the Docker
    daemon and the sandbox image count for readiness where the worker takes grading queues."""
    if not settings.WORKER_METRICS_PORT:
        return
    queues = {queue.name for queue in sender.task_consumer.queues} if sender is not None else set()
    checks = functools.partial(_ready, bool(queues & SANDBOX_QUEUES))
    exporter.serve(settings.WORKER_METRICS_PORT, settings.WORKER_METRICS_ADDR, checks)


def _ready(runs_sandboxes: bool) -> dict[str, str]:
    try:
        return health.worker(runs_sandboxes)
    finally:
        connections.close_all()  # each check runs on a short-lived server thread


@worker_process_init.connect
def start_process_metrics(**_):
    metrics.process_started()


@worker_process_shutdown.connect
def forget_process(pid: int | None = None, **_):
    if pid is not None:
        exporter.process_exited(pid)


@before_task_publish.connect
def pass_request_id(headers: dict | None = None, **_):
    """A task sent while serving a request carries the request's id: the worker's lines about a
    submission name the request that made it."""
    request_id = logs.bound().get("request_id")
    if headers is not None and request_id:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@task_prerun.connect
def bind_task(task_id: str = "", task: Any = None, args: Any = (), **_):
    name = getattr(task, "name", "")
    first = FIRST_ARGUMENT.get(name)
    ids = {first: args[0]} if first and args else {}
    request_id = getattr(getattr(task, "request", None), REQUEST_ID_HEADER, None)
    _bound[task_id] = logs.bind(task_id=task_id, task=name, request_id=request_id, **ids)


@task_postrun.connect
def unbind_task(task_id: str = "", **_):
    token = _bound.pop(task_id, None)
    if token is not None:
        try:
            logs.reset(token)
        except ValueError:  # bound in another context (a thread pool): nothing of ours is left here
            pass
