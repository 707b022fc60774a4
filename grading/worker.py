"""The life cycle of a Celery worker of this app (every worker loads it; connected when the app
is ready): its metrics endpoint, the ids in its log lines, and on a grading host the sandbox
containers it leaves behind.

A grading host is a Docker daemon and the worker beside it. While the daemon does not answer,
the worker stops taking grading messages (they wait in the broker for the other hosts) and
takes them again once it answers: a host that lost its daemon leaves the pool by itself and
rejoins by itself, instead of failing every submission it takes in the meantime."""

from __future__ import annotations

import functools
import logging
import threading
import time
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
from sandbox import host, janitor

log = logging.getLogger(__name__)

SANDBOX_QUEUES = {"grading", "regrading"}
GRADING_QUEUES = ("grading", "regrading")
HOST_CHECK_SECONDS = 2.0
# Containers a run could not remove because its daemon was gone (and that the restarted daemon
# left stopped) are removed by the janitor once their deadline passes: it runs this often.
JANITOR_SECONDS = 60.0
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
def watch_docker_host(sender, **_):
    """``sender``: the worker's consumer. Only workers of the grading queues need Docker."""
    queues = [q for q in GRADING_QUEUES if q in sender.app.amqp.queues.consume_from]
    if queues:
        threading.Thread(target=_watch, args=(sender, queues), name="docker-host-watch", daemon=True).start()


def _watch(consumer, queues: list[str]) -> None:
    consuming = True
    last_sweep = time.monotonic()
    while True:
        time.sleep(HOST_CHECK_SECONDS)
        up = host.reachable()
        if up and time.monotonic() - last_sweep > JANITOR_SECONDS:
            last_sweep = time.monotonic()
            try:
                janitor.sweep()
            except Exception:  # noqa: BLE001 - the watch must outlive any Docker error
                log.exception("janitor failed")
        if up == consuming:
            continue
        # The consumer's own event loop runs the change (its channel is not thread-safe).
        change = consumer.add_task_queue if up else consumer.cancel_task_queue
        for queue in queues:
            consumer.call_soon(change, queue)
        log.warning(
            "Docker daemon %s: %s queues %s",
            "back" if up else "unreachable",
            "consuming" if up else "no longer consuming",
            ", ".join(queues),
        )
        consuming = up


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
