"""Run one job in a fresh, locked-down container and return a validated Result.

The harness inside the container is trusted; the student's code is not. This
module owns the container's isolation (network, filesystem, limits, privileges)
and the one channel the result travels on: the container's stdout, which only
the harness holds, read from the attach stream and tagged with a per-run token.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import docker
import requests
from docker.errors import DockerException, ImageNotFound
from docker.models.containers import Container
from docker.types import LogConfig, Ulimit
from docker.utils.socket import frames_iter
from pydantic import ValidationError

from sandbox.schema import Job, Limits, Outcome, Result, RunStatus, TestReport

if TYPE_CHECKING:
    from sandbox.pool import WarmPool

log = logging.getLogger(__name__)

LABEL = "grader.sandbox"
# Which process made a container ("host:pid"): for operators, and for checks that a process
# left none of its own behind on a daemon that other processes use too.
OWNER_LABEL = "grader.owner"
HARNESS = ["python3", "-I", "-B", "/opt/grader/grader_harness.py"]
MAX_RESULT_BYTES = 16 * 1024 * 1024
RESULT_MARKER = "GRADER-RESULT"
# The harness enforces every time limit itself; this margin covers container start and
# teardown before the runner gives up and kills the container as an infrastructure failure.
WALL_MARGIN_SECONDS = 15.0
# Each run draws a base uid; its tests run as base, base+1, ... (users of their own, on no
# other container's range in practice: RLIMIT_NPROC counts per uid across the host).
STUDENT_UIDS = (100_000, 2_000_000_000)


class SandboxError(Exception):
    """The infrastructure failed (Docker down, image missing, harness silent)."""


# runc and crun make the same OCI container from the same spec (crun in C, without runc's Go
# start-ups: less CPU per container); runsc: gVisor, a user-space kernel between student code
# and the host's.
RUNTIMES = ("runc", "crun", "runsc")


# gVisor's kernel (the Sentry) runs inside the container's cgroup, and its own host threads
# count against the pids limit; the student's processes are gVisor tasks, held to the job's
# limit by RLIMIT_NPROC inside the sandbox. So the cgroup gets headroom for the Sentry.
RUNSC_HOST_THREADS = 4096


# Its memory (page tables, caches) is charged to the container's cgroup too.
RUNSC_MEMORY_MB = 128


def host_pids_limit(limits: Limits, runtime: str) -> int:
    return limits.pids + RUNSC_HOST_THREADS if runtime == "runsc" else limits.pids


def host_memory(limits: Limits, runtime: str) -> str:
    return f"{limits.memory_mb + (RUNSC_MEMORY_MB if runtime == 'runsc' else 0)}m"


def container_options(
    limits: Limits, image: str, deadline: float, preload_pytest: bool = False, runtime: str = "runc"
) -> dict[str, Any]:
    """Keyword arguments of ``containers.create`` for one sandbox container."""
    if runtime not in RUNTIMES:
        raise SandboxError(f"unknown container runtime {runtime!r} (one of {', '.join(RUNTIMES)})")
    memory = host_memory(limits, runtime)
    return dict(
        image=image,
        runtime=runtime,
        command=HARNESS,
        stdin_open=True,
        network_mode="none",
        # No libnetwork sandbox at all: dockerd leaves Docker's default new network namespace in
        # the spec, so the runtime gives the container one of its own with only loopback (as
        # "none" does), without dockerd running itself again as an OCI hook to set it up: about
        # half of the CPU that dockerd and runc spent per container (bench/PROFILE.md). "none"
        # stays as the second lock.
        network_disabled=True,
        read_only=True,
        tmpfs={
            "/tmp": f"rw,nosuid,nodev,size={limits.tmpfs_mb}m,mode=1777",
            "/run/harness": "rw,nosuid,nodev,noexec,size=16m,mode=0700",
        },
        shm_size="1m",
        mem_limit=memory,
        memswap_limit=memory,
        pids_limit=host_pids_limit(limits, runtime),
        nano_cpus=int(limits.cpus * 1e9),
        # The harness needs only to become the student user and to kill the student's
        # processes without forking (a fork bomb may hold every pid); nothing else. Student
        # processes have none of these: setuid from 0 to another uid clears them.
        cap_drop=["ALL"],
        cap_add=["SETUID", "SETGID", "KILL"],
        security_opt=["no-new-privileges"],
        user="0:0",
        ulimits=[
            Ulimit(name="nofile", soft=max(256, limits.open_files), hard=max(256, limits.open_files)),
            Ulimit(name="core", soft=0, hard=0),
        ],
        # GRADER_PRELOAD_PYTEST: a pooled container for a job with pytest files imports pytest
        # while it waits for the job.
        environment={
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8",
            "GRADER_PRELOAD_PYTEST": "1" if preload_pytest else "0",
        },
        labels={LABEL: "1", "grader.deadline": str(int(deadline)), OWNER_LABEL: owner()},
        log_config=LogConfig(type="none"),
        hostname="sandbox",
        working_dir="/tmp",
    )


def owner() -> str:
    """This process, as the ``grader.owner`` label names it (read at call time: Celery forks)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def job_message(job: Job, token: str) -> bytes:
    payload = job.model_dump(mode="json")
    payload.update(
        token=token,
        main=job.main_file,
        student_uid=secrets.randbelow(STUDENT_UIDS[1] - STUDENT_UIDS[0]) + STUDENT_UIDS[0],
    )
    for test in payload["tests"]:
        test["kind"] = test["spec"]["kind"]
    return json.dumps(payload).encode("utf-8")


def run(
    job: Job,
    image: str,
    client: docker.DockerClient | None = None,
    pool: WarmPool | None = None,
    runtime: str = "runc",
) -> Result:
    """Run ``job`` in a fresh container of ``image`` (taken from ``pool`` if given, which has
    its own runtime; else started now with ``runtime``).

    Never raises for anything the student's code does: those are outcomes in the
    result. Infrastructure failures come back as ``status=infra_error`` so the
    caller can retry without charging the student. No side effects beyond the
    container, which is always removed and never used for a second job.
    """
    started = time.monotonic()
    try:
        if pool:
            sandbox = pool.take(job.limits, image, job.uses_pytest)
        else:
            sandbox = start(client or default_client(), job.limits, image, runtime=runtime)
        try:
            body = exchange(sandbox, job)
        finally:
            (pool.dispose if pool else remove_container)(sandbox.container)
        result = validate_result(job, body)
    except (SandboxError, DockerException, OSError) as exc:
        log.warning("sandbox infrastructure failure: %s", exc)
        result = Result(status=RunStatus.INFRA_ERROR, message=str(exc)[:2000])
    result.duration = round(time.monotonic() - started, 4)
    return result


_clients: dict[int, docker.DockerClient] = {}


def default_client() -> docker.DockerClient:
    """This process's Docker client, made once: each new one asks the daemon for its version,
    which makes dockerd run ``runc --version`` and ``docker-init --version``. Per process id,
    as a client's open connections must not be shared with a forked child."""
    pid = os.getpid()
    client = _clients.get(pid)
    if client is None:
        client = _clients[pid] = docker.from_env()
    return client


class AttachedSocket(Protocol):
    """What ``attach_socket`` returns for a local daemon (a ``socket.SocketIO``): the
    container's stdin and stdout, over the socket it wraps."""

    _sock: socket.socket

    def close(self) -> None: ...


@dataclass
class Started:
    """A started container whose harness waits for its job on the attached stdin."""

    container: Container
    stream: AttachedSocket
    created: float


def start(
    client: docker.DockerClient,
    limits: Limits,
    image: str,
    idle_seconds: float = 0.0,
    preload_pytest: bool = False,
    runtime: str = "runc",
) -> Started:
    """Create, attach and start a container. ``idle_seconds``: how long it may wait for a job
    (pooled containers), added to the deadline after which the janitor removes it."""
    deadline = time.time() + idle_seconds + limits.wall_seconds + WALL_MARGIN_SECONDS
    try:
        container = client.containers.create(
            **container_options(limits, image, deadline, preload_pytest=preload_pytest, runtime=runtime)
        )
    except ImageNotFound as exc:
        raise SandboxError(f"sandbox image {image} is missing; run the set-up script") from exc
    try:
        assert container.id is not None  # the daemon gives every container it creates an id
        stream = client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1, "stream": 1})
        container.start()
    except Exception:
        remove_container(container)
        raise
    return Started(container, stream, time.monotonic())


def exchange(sandbox: Started, job: Job) -> dict[str, Any]:
    """Send the job, read the harness's answer (bounded in size and time)."""
    token = secrets.token_hex(16)
    budget = job.limits.wall_seconds + WALL_MARGIN_SECONDS
    raw = sandbox.stream._sock
    raw.sendall(job_message(job, token))
    raw.shutdown(socket.SHUT_WR)
    raw.settimeout(budget)
    output = _read_stdout(sandbox.stream, time.monotonic() + budget, sandbox.container)
    sandbox.stream.close()
    try:
        return parse_result(output, token)
    except SandboxError:
        if _killed_for_memory(sandbox.container):
            return out_of_memory(job)
        raise


def _killed_for_memory(container: Container) -> bool:
    """Did the kernel's OOM killer end the whole container? Only the student's code uses memory
    worth the name; under gVisor the host sees one process (its kernel), which the OOM killer
    takes with everything in it, harness included."""
    try:
        container.wait(timeout=10)
        container.reload()
    except (DockerException, OSError, requests.exceptions.RequestException):
        return False
    return bool(container.attrs.get("State", {}).get("OOMKilled"))


def out_of_memory(job: Job) -> dict[str, Any]:
    """The verdict when the student's processes took the container down by using up its memory:
    a graded outcome (``memory``) for every test, as no test's own result survived."""
    message = "the program's processes together used more memory than the sandbox allows"
    tests = [
        {
            "id": t.id,
            "name": t.name,
            "outcome": Outcome.MEMORY.value,
            "points": t.points,
            "points_earned": 0,
            "message": message,
        }
        for t in job.tests
    ]
    return {"status": RunStatus.OK.value, "tests": tests}


def remove_container(container: Container) -> None:
    try:
        container.remove(force=True, v=True)
    except DockerException as exc:  # the janitor will find it by label
        log.warning("could not remove sandbox container %s: %s", container.short_id, exc)


def _read_stdout(stream: AttachedSocket, deadline: float, container: Container) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for kind, data in frames_iter(stream, tty=False):
            if kind == 1:
                chunks.append(data)
                size += len(data)
                if size > MAX_RESULT_BYTES:
                    raise SandboxError("harness output exceeds the result cap")
            if time.monotonic() > deadline:
                raise TimeoutError()
    except TimeoutError as exc:
        container.kill()
        raise SandboxError("the harness did not finish within the submission's wall-clock limit") from exc
    return b"".join(chunks)


def parse_result(output: bytes, token: str) -> dict[str, Any]:
    prefix = f"{RESULT_MARKER} {token} "
    for line in output.decode("utf-8", errors="replace").splitlines():
        if line.startswith(prefix):
            try:
                body: dict[str, Any] = json.loads(line[len(prefix) :])  # the harness writes an object
                return body
            except ValueError as exc:
                raise SandboxError(f"harness result is not JSON: {exc}") from exc
    raise SandboxError("the harness exited without a result")


def storable(value: object) -> object:
    """Every string made storable as PostgreSQL text: a NUL or a lone surrogate in a student's
    output would otherwise fail the write of the grade, a failure the student could cause."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    return value


def validate_result(job: Job, body: dict[str, Any]) -> Result:
    """Check the harness's answer against the job: one report per test, points from the job."""
    if body.get("status") != RunStatus.OK.value:
        raise SandboxError(str(body.get("message") or "harness reported a failure"))
    try:
        reports = [TestReport.model_validate(storable(t)) for t in body.get("tests", [])]
    except ValidationError as exc:
        raise SandboxError(f"harness result does not match the schema: {exc}") from exc
    by_id = {r.id: r for r in reports}
    if sorted(by_id) != sorted(t.id for t in job.tests) or len(reports) != len(job.tests):
        raise SandboxError("harness result does not cover the job's tests")
    for test in job.tests:
        report = by_id[test.id]
        report.points = test.points
        report.points_earned = test.points if report.outcome == Outcome.PASSED else 0.0
    return Result(status=RunStatus.OK, tests=[by_id[t.id] for t in job.tests])
