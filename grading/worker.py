"""The grading worker's life cycle on its Docker host (connected when the app is ready).

A grading host is a Docker daemon and the worker beside it. While the daemon does not answer,
the worker stops taking grading messages (they wait in the broker for the other hosts) and
takes them again once it answers: a host that lost its daemon leaves the pool by itself and
rejoins by itself, instead of failing every submission it takes in the meantime."""

from __future__ import annotations

import logging
import threading
import time

from celery.signals import worker_process_shutdown, worker_ready

from grading.run import close_pool
from sandbox import host, janitor

log = logging.getLogger(__name__)

GRADING_QUEUES = ("grading", "regrading")
HOST_CHECK_SECONDS = 2.0
# Containers a run could not remove because its daemon was gone (and that the restarted daemon
# left stopped) are removed by the janitor once their deadline passes: it runs this often.
JANITOR_SECONDS = 60.0


@worker_ready.connect
def remove_abandoned_sandboxes(**_):
    """Containers a crashed worker left behind on this Docker host (found by label)."""
    janitor.sweep()


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


@worker_process_shutdown.connect
def close_container_pool(**_):
    close_pool()
