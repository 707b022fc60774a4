"""The warm pool hands out each pre-started container once, and cleans up after itself."""

import time

import docker
import pytest

import sandbox
from sandbox import ExprSpec, Job, Test
from sandbox.pool import WarmPool
from sandbox.runner import LABEL, OWNER_LABEL, owner

pytestmark = pytest.mark.docker

JOB = Job(
    files={"solution.py": "def f():\n    return 42\n"},
    tests=[Test(id="t", name="t", spec=ExprSpec(expr="f()", expected="42"))],
)


def ids():
    """This process's sandbox containers (the daemon is shared with other processes' workers).
    Sparse: a full listing inspects each container and fails if another process removes one."""
    owned = {"label": [LABEL, f"{OWNER_LABEL}={owner()}"]}
    return {c.id for c in docker.from_env().containers.list(all=True, sparse=True, filters=owned)}


def test_it_never_reuses_a_container(sandbox_image):
    pool = WarmPool(size=1)
    before = ids()
    try:
        seen = []
        for _ in range(3):
            started = pool.take(JOB.limits, sandbox_image)
            seen.append(started.container.id)
            result = sandbox.runner.validate_result(JOB, sandbox.runner.exchange(started, JOB))
            pool.dispose(started.container)
            assert result.score == 1
        assert len(set(seen)) == 3
    finally:
        pool.close()
    assert ids() <= before


def test_it_grades_through_the_pool(sandbox_image):
    pool = WarmPool(size=1)
    try:
        results = [sandbox.run(JOB, sandbox_image, pool=pool) for _ in range(2)]
    finally:
        pool.close()
    assert [r.tests[0].outcome.value for r in results] == ["passed", "passed"]


def test_it_discards_containers_that_waited_too_long(sandbox_image, wait_for):
    pool = WarmPool(size=1, max_idle_seconds=0.5)
    try:
        pool.dispose(pool.take(JOB.limits, sandbox_image).container)  # asks for a refill
        assert wait_for(lambda: sum(len(q) for q in pool._ready.values()) == 1, 30)
        stale = next(iter(pool._ready.values()))[0].container.id
        time.sleep(0.6)  # let it outlive max_idle
        taken = pool.take(JOB.limits, sandbox_image)
        assert taken.container.id != stale
        pool.dispose(taken.container)
        assert wait_for(lambda: stale not in ids(), 30)
    finally:
        pool.close()


def test_a_warm_containers_janitor_label_outlasts_any_job_it_may_serve(sandbox_image, wait_for):
    """Warm containers are keyed without the time limit, so a container pre-started after a
    10-second job may serve a 30-minute one: the janitor (run when any worker starts) must not
    remove it mid-run."""
    short = JOB.limits.model_copy(update={"wall_seconds": 10.0})
    pool = WarmPool(size=1)
    try:
        pool.take(short, sandbox_image)  # started now, and a warm one is pre-started for next time
        assert wait_for(lambda: any(pool._ready.values()), 60)
        warm = next(q for q in pool._ready.values() if q)[0]
        deadline = float(warm.container.labels["grader.deadline"])
        assert deadline >= time.time() + sandbox.schema.MAX_WALL_SECONDS
    finally:
        pool.close()
