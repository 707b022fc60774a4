"""Remove sandbox containers that a crashed worker left behind.

Every sandbox container carries the label ``grader.sandbox`` and a
``grader.deadline`` (epoch seconds) after which no live runner still wants it.
"""

from __future__ import annotations

import logging
import time

import docker
from docker.errors import DockerException, NotFound

from sandbox.runner import LABEL

log = logging.getLogger(__name__)


def sweep(client: docker.DockerClient | None = None, now: float | None = None) -> list[str]:
    """Force-remove expired sandbox containers; returns the ids of those removed."""
    client = client or docker.from_env()
    now = time.time() if now is None else now
    removed: list[str] = []
    # One listing call with the labels in it: the models' list() inspects each container
    # afterwards, and fails outright when another process removes one in between.
    for summary in client.api.containers(all=True, filters={"label": LABEL}):
        try:
            deadline = float((summary.get("Labels") or {}).get("grader.deadline", "0"))
        except ValueError:
            deadline = 0.0
        if deadline > now:
            continue
        try:
            client.api.remove_container(summary["Id"], force=True, v=True)
            removed.append(summary["Id"])
        except NotFound:
            pass
        except DockerException as exc:
            log.warning("janitor could not remove %s: %s", summary["Id"][:12], exc)
    if removed:
        log.info("janitor removed %d stale sandbox containers", len(removed))
    return removed
