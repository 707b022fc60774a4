"""Shared fixtures: named personas, a course with a Python assignment, the sandbox image
and a real Celery worker process bound to the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import NamedTuple

import docker
import pytest
import redis
import requests
from django.conf import settings
from django.db import connections

from courses.models import Assignment, Course, Membership, Role, TestCase
from feedback.models import FeedbackRequest, Priority
from grading.models import Status, Submission, TestResult

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "test-pass-123"
SHOTS = ROOT / "tests" / "screenshots"  # the browser tests' screenshots (ignored by git)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

CORRECT = "def add(a, b):\n    return a + b\n\nif __name__ == '__main__':\n    print(add(*map(int, input().split())))\n"
WRONG = "def add(a, b):\n    return a - b if b > 5 else a + b\n\nif __name__ == '__main__':\n    print(add(*map(int, input().split())))\n"


# A test asks for the browser last among its fixtures: Playwright's sync API runs what follows in
# a greenlet, where Django would open (and never close) a second database connection.
@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium (Debian's), driven by Playwright."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the database calls made here
    # are ordinary synchronous ones (Django documents this switch for such tools).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # A query the test made while Playwright ran opened a connection in another context
        # (asgiref's Local follows the greenlet): closed here, it no longer keeps the test
        # database from being dropped at the end of the session.
        connections.close_all()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(django_user_model):
    def make(username: str):
        return django_user_model.objects.create_user(username, f"{username}@example.edu", PASSWORD)

    return make


@pytest.fixture
def people(make_user):
    """instructor, ta, alice and bob (students) are members; charlie is an outsider."""
    return {name: make_user(name) for name in ("instructor", "ta", "alice", "bob", "charlie")}


@pytest.fixture
def course(people):
    course = Course.objects.create(code="cs1", title="CS 1")
    for name, role in [
        ("instructor", Role.INSTRUCTOR),
        ("ta", Role.TA),
        ("alice", Role.STUDENT),
        ("bob", Role.STUDENT),
    ]:
        Membership.objects.create(user=people[name], course=course, role=role)
    return course


@pytest.fixture
def assignment(course):
    """``add(a, b)``: two visible tests (2 points) and one hidden test (1 point)."""
    assignment = Assignment.objects.create(
        course=course,
        slug="add",
        title="Add",
        statement="Add **two** numbers.",
        published=True,
        reference_files={"solution.py": CORRECT},
    )
    TestCase.objects.create(
        assignment=assignment,
        name="small",
        kind="expr",
        visible=True,
        points=1,
        order=0,
        spec={"expr": "add(1, 2)", "expected": "3"},
        time_limit=5,
    )
    TestCase.objects.create(
        assignment=assignment,
        name="stdin",
        kind="io",
        visible=True,
        points=1,
        order=1,
        spec={"stdin": "2 3\n", "stdout": "5\n"},
        time_limit=5,
    )
    TestCase.objects.create(
        assignment=assignment,
        name="big",
        kind="expr",
        visible=False,
        points=1,
        order=2,
        spec={"expr": "add(10, 20)", "expected": "30"},
        time_limit=5,
    )
    return assignment


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def sandbox_image():
    """The current sandbox image tag; the set-up script builds it, this only checks."""
    from grading.run import image_tag

    tag = image_tag()
    docker.from_env().images.get(tag)  # fails loudly if missing: run scripts/setup.sh
    return tag


class SandboxTarget(NamedTuple):
    """An image and the container runtime to run it with (red-team suites run both)."""

    image: str
    runtime: str


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, sandbox_image, tmp_path_factory, llm_server_process):
    """A real `celery worker` process (all queues, 2 pool processes) using the test database.
    It logs JSON lines to ``proc.log_path`` and serves its metrics on ``proc.metrics_port``."""
    broker = settings.CELERY_BROKER_URL
    redis.Redis.from_url(broker).flushdb()  # no stale messages from an earlier run
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    metrics_port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=broker,
        SANDBOX_IMAGE=sandbox_image,
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",  # the tests' webhook receiver
        LLM_BASE_URL=llm_server_process.url,  # hints from the project's vLLM-like server
        LLM_REDIS_URL=broker,
        LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path_factory.mktemp("worker-metrics")),
        WORKER_METRICS_PORT=str(metrics_port),
        LTI_SERVICE_TIMEOUT_SECONDS="2",  # the test LMS's slow answers outlast it
    )
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "grader",
                "worker",
                "-Q",
                "grading,regrading,feedback,default",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
                "-n",
                f"test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    _wait_for(lambda: b"ready." in log_path.read_bytes() or proc.poll() is not None, 60)
    if proc.poll() is not None:
        raise RuntimeError("the Celery worker did not start:\n" + log_path.read_text()[-3000:])
    proc.log_path, proc.metrics_port = log_path, metrics_port  # type: ignore[attr-defined]
    yield proc
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def wait_for():
    """Wait (bounded, never a performance assertion) until ``condition()`` is true."""
    return _wait_for


class LLMServer:
    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.url = self.base + "/v1"

    def faults(self, **rates):
        import requests

        zero = dict.fromkeys(
            ("fail_429", "fail_503", "slow", "drop", "invalid_json", "invalid_json_next"), 0.0
        )
        requests.post(self.base + "/admin/faults", json={**zero, **rates}, timeout=5).raise_for_status()

    def configure(self, **values):
        """The server's own settings: ``max_model_len``, ``model`` (reset after each test)."""
        import requests

        requests.post(self.base + "/admin/config", json=values, timeout=5).raise_for_status()

    def metrics(self) -> dict[str, float]:
        import re

        import requests

        text = requests.get(self.base + "/metrics", timeout=5).text
        return {
            m.group(1): float(m.group(2))
            for m in re.finditer(r"^(vllm:\w+)\{[^}]*\} ([0-9.e+-]+)$", text, re.M)
        }


def _start_devserver(tmp_path_factory, name: str):
    import socket

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path_factory.mktemp(name) / "devserver.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feedback.devserver",
            "--port",
            str(port),
            "--max-num-seqs",
            "8",
            "--step-ms",
            "5",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = LLMServer(port)

    def up():
        try:
            return requests.get(server.url + "/models", timeout=1).ok
        except requests.RequestException:
            return proc.poll() is not None

    _wait_for(up, 30)
    return proc, server


@pytest.fixture(scope="session")
def llm_server_process(tmp_path_factory):
    """The project's vLLM-like server (feedback/devserver.py) as its own process."""
    proc, server = _start_devserver(tmp_path_factory, "llm")
    yield server
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def second_llm_server_process(tmp_path_factory):
    """A second replica of the dev server, for tests of several model servers."""
    proc, server = _start_devserver(tmp_path_factory, "llm2")
    yield server
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def second_llm_server(second_llm_server_process):
    second_llm_server_process.faults()
    yield second_llm_server_process
    second_llm_server_process.faults()
    second_llm_server_process.configure(scheduling_policy="fcfs")


VLLM_PORT = 8190  # apart from the dev server's and a demo's
VLLM_MODEL = "grader-tiny"


class RealVLLM:
    """The real vLLM engine, started by scripts/vllm.sh (installed into var/vllm on first use)."""

    url = f"http://127.0.0.1:{VLLM_PORT}/v1"
    model = VLLM_MODEL

    def _run(self, *args, timeout):
        subprocess.run(
            ["bash", "scripts/vllm.sh", *args],
            cwd=ROOT,
            check=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )

    def start(self):
        self._run("start", "--port", str(VLLM_PORT), "--name", VLLM_MODEL, timeout=420)

    def stop(self):
        self._run("stop", "--port", str(VLLM_PORT), timeout=120)


@pytest.fixture(scope="module")  # stopped after its module: 2.6 GB the rest of the suite can use
def real_vllm_process():
    server = RealVLLM()
    server._run("install", timeout=1800)
    server._run("model", timeout=300)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def real_vllm(real_vllm_process, settings, redis_client):
    """Settings pointing the platform at the real engine, with answers kept short (2 CPU cores)."""
    settings.LLM_BASE_URL = real_vllm_process.url
    settings.LLM_MODEL = VLLM_MODEL
    settings.LLM_REDIS_URL = settings.CELERY_BROKER_URL
    settings.LLM_ANSWER_TOKENS, settings.LLM_MAX_ANSWER_TOKENS = 48, 96
    settings.LLM_BREAKER_THRESHOLD, settings.LLM_BREAKER_COOLDOWN_SECONDS = 2, 1.0
    settings.LLM_MAX_IN_FLIGHT, settings.LLM_MIN_IN_FLIGHT = 4, 1
    settings.LLM_TIMEOUT_SECONDS, settings.LLM_STALL_SECONDS = 120.0, 60.0
    for key in redis_client.scan_iter("llm:*"):  # every server's limit, breaker and status
        redis_client.delete(key)
    return real_vllm_process


@pytest.fixture
def llm_server(llm_server_process):
    llm_server_process.faults()
    yield llm_server_process
    llm_server_process.faults()
    llm_server_process.configure(
        max_model_len=32768, model="Qwen/Qwen2.5-Coder-32B-Instruct-AWQ", scheduling_policy="fcfs"
    )


@pytest.fixture
def redis_client():
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


@pytest.fixture
def llm(settings, llm_server, redis_client):
    settings.LLM_BASE_URL = llm_server.url
    settings.LLM_REDIS_URL = settings.CELERY_BROKER_URL
    settings.LLM_BREAKER_THRESHOLD, settings.LLM_BREAKER_COOLDOWN_SECONDS = 3, 0.5
    settings.LLM_MAX_IN_FLIGHT, settings.LLM_MIN_IN_FLIGHT = 8, 1
    for key in redis_client.scan_iter("llm:*"):  # every server's limit, breaker and status
        redis_client.delete(key)
    return llm_server


@pytest.fixture
def failing(people, assignment):
    """Graded submissions that failed the hidden test, each with a pending hint request."""

    def make(student, attempt=1, priority=Priority.INTERACTIVE):
        sub = Submission.objects.create(
            assignment=assignment,
            student=people[student],
            attempt=attempt,
            files={"solution.py": f"def add(a, b):\n    return a - b  # {attempt}\n"},
            status=Status.GRADED,
            score=2,
            raw_score=2,
            max_score=3,
        )
        test = assignment.tests.get(name="big")
        TestResult.objects.create(
            submission=sub,
            test_case=test,
            name=test.name,
            visible=False,
            outcome="failed",
            points=1,
            points_earned=0,
            expected="30",
            actual="-10",
            test_input="add(10, 20)",
        )
        return FeedbackRequest.objects.create(submission=sub, priority=priority)

    return make


def long_submission(assignment, student, lines=600, failing_line=450):
    """A graded submission whose main file is ``lines`` long (far past a small context window),
    with a visible test failing at ``failing_line``, and its pending hint request."""
    body = "\n".join(f"    total = total + {i}  # step {i} of the long computation" for i in range(lines))
    code = f"def add(a, b):\n    total = 0\n{body}\n    return a + b\n"
    lines_of = code.splitlines()
    lines_of[failing_line - 1] = "    total = total / 0  # THE FAILING LINE"
    code = "\n".join(lines_of) + "\n"
    sub = Submission.objects.create(
        assignment=assignment,
        student=student,
        attempt=1,
        files={"solution.py": code},
        status="graded",
        score=0,
        raw_score=0,
        max_score=3,
    )
    test = assignment.tests.filter(visible=True).first()
    TestResult.objects.create(
        submission=sub,
        test_case=test,
        name=test.name,
        visible=True,
        outcome="error",
        points=1,
        points_earned=0,
        test_input="add(1, 2)",
        error={"type": "ZeroDivisionError", "message": "division by zero", "line": failing_line},
    )
    return sub, FeedbackRequest.objects.create(submission=sub)


@pytest.fixture(scope="session")
def web_server(django_db_setup, tmp_path_factory, llm_server_process):
    """The site under gunicorn as in production (2 worker processes, multiprocess metrics, JSON
    logs to ``log_path``) on the test database; ``url`` is its address."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("web") / "web.log"
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        LLM_BASE_URL=llm_server_process.url,
        LLM_REDIS_URL=settings.CELERY_BROKER_URL,
        LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path_factory.mktemp("web-metrics")),
    )
    command = [sys.executable, "-m", "gunicorn", "-c", "python:grader.gunicorn_conf", "--workers", "2"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}", "grader.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(url + "/healthz", timeout=1).ok
        except requests.RequestException:
            return proc.poll() is not None

    _wait_for(up, 60)
    if proc.poll() is not None:
        raise RuntimeError("gunicorn did not start:\n" + log_path.read_text()[-3000:])
    proc.url, proc.log_path = url, log_path  # type: ignore[attr-defined]
    yield proc
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
