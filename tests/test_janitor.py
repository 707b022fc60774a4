"""The janitor removes sandbox containers a crashed worker left behind, and only those."""

import time

import docker
import pytest

from sandbox import janitor

pytestmark = pytest.mark.docker


def test_it_removes_expired_sandbox_containers_only(sandbox_image):
    client = docker.from_env()
    common = dict(image=sandbox_image, command=["sleep", "60"], network_mode="none")
    expired = client.containers.create(
        labels={"grader.sandbox": "1", "grader.deadline": str(int(time.time()) - 5)}, **common
    )
    live = client.containers.create(
        labels={"grader.sandbox": "1", "grader.deadline": str(int(time.time()) + 600)}, **common
    )
    other = client.containers.create(labels={"someone.else": "1"}, **common)
    try:
        # Other tests (a worker killed mid-grading) may legitimately leave expired
        # containers behind too, so check which ones went rather than how many.
        removed = set(janitor.sweep(client))
        assert expired.id in removed and not removed & {live.id, other.id}
        # Sparse: a full listing inspects each container, and other processes remove theirs meanwhile.
        remaining = {c.id for c in client.containers.list(all=True, sparse=True)}
        assert expired.id not in remaining and {live.id, other.id} <= remaining
    finally:
        for container in (live, other):
            container.remove(force=True)
