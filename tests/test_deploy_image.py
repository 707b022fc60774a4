"""The deployable image (deploy/Dockerfile) and compose file: the image is built (cached by a
content tag), its migrate, web and grading-worker roles run as real containers against this
machine's PostgreSQL and Redis (host network: the daemon has no bridge), the web answers real
HTTP as in production, and the worker in its container grades a submission on the host's
Docker through the mounted socket."""

import os
import re
import socket
import subprocess
import sys
import uuid

import pytest
import requests
import yaml
from django.conf import settings

from grading.models import Status, Submission
from grading.services import enqueue_grading
from grading.states import log_created
from tests.conftest import CORRECT, ROOT, _database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker, pytest.mark.slow]

SECRET = "deploy-test-secret-" + "x" * 40


@pytest.fixture(scope="module")
def app_image():
    built = subprocess.run(
        [sys.executable, "-m", "deploy.image", "ensure"], cwd=ROOT, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return built.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def run_container(app_image):
    started = []

    def run(*args: str, env: dict, detach: bool = True, options: tuple[str, ...] = ()):
        name = f"grader-deploy-test-{uuid.uuid4().hex[:8]}"
        flags = [f"--env={key}={value}" for key, value in env.items()]
        command = ["docker", "run", "--name", name, "--network", "host", *options, *flags, app_image, *args]
        if not detach:
            return subprocess.run(["docker", "run", "--rm", *command[2:]], capture_output=True, text=True)
        subprocess.run(command[:2] + ["-d"] + command[2:], check=True, capture_output=True)
        started.append(name)
        return name

    yield run
    for name in started:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def app_env(**extra) -> dict:
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CACHE_URL": settings.CACHES["default"]["LOCATION"],
        **extra,
    }


def logs(name: str) -> str:
    out = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
    return out.stdout + out.stderr


def test_the_image_migrates_serves_the_site_and_grades(
    app_image, run_container, assignment, people, sandbox_image, wait_for
):
    migrated = run_container("migrate", env=app_env(), detach=False)
    assert migrated.returncode == 0, migrated.stderr
    assert "No migrations to apply" in migrated.stdout  # the test database is current

    port = free_port()
    web = run_container("web", env=app_env(PORT=str(port)))
    login = f"http://127.0.0.1:{port}/accounts/login/"
    proxied = {"Host": "localhost", "X-Forwarded-Proto": "https"}  # as behind the TLS proxy

    def answers() -> bool:
        try:
            return requests.get(login, headers=proxied, timeout=10).status_code == 200
        except requests.RequestException:  # not listening yet, or still starting its workers
            return False

    assert wait_for(answers, 120), logs(web)
    page = requests.get(login, headers=proxied, timeout=30)
    assert 'name="password"' in page.text and page.headers["Strict-Transport-Security"]
    # Static files were collected into the image (hashed names, served by whitenoise).
    css = next(part.split('"')[0] for part in page.text.split('href="/static/')[1:] if ".css" in part)
    assert requests.get(f"http://127.0.0.1:{port}/static/{css}", headers=proxied, timeout=30).ok
    # Plain HTTP is sent to HTTPS in production.
    plain = requests.get(login, headers={"Host": "localhost"}, timeout=5, allow_redirects=False)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    health = subprocess.run(["docker", "exec", web, "python", "/app/deploy/healthcheck.py"])
    assert health.returncode == 0

    # A grading worker in the image, on the host's Docker through the mounted socket, on a
    # queue of its own (no other worker of the test session can take the job).
    queue = f"deploy-test-{uuid.uuid4().hex[:8]}"
    docker_group = str(os.stat("/var/run/docker.sock").st_gid)
    worker = run_container(
        "grading-worker",
        "--concurrency",
        "1",
        "-Q",
        queue,
        env=app_env(SANDBOX_IMAGE=sandbox_image),
        options=("-v", "/var/run/docker.sock:/var/run/docker.sock", "--group-add", docker_group),
    )
    assert wait_for(lambda: "ready." in logs(worker), 120), logs(worker)
    ping = subprocess.run(
        ["docker", "exec", worker, "celery", "-A", "grader", "inspect", "ping", "--timeout", "10"],
        capture_output=True,
        text=True,
    )
    assert ping.returncode == 0 and "pong" in ping.stdout, ping.stdout + ping.stderr

    submission = Submission.objects.create(
        assignment=assignment, student=people["alice"], attempt=1, files={"solution.py": CORRECT}
    )
    log_created(submission)
    enqueue_grading(submission.pk, queue=queue)
    assert wait_for(lambda: Submission.objects.get(pk=submission.pk).status == Status.GRADED, 120), logs(
        worker
    )
    submission.refresh_from_db()
    assert submission.score == 3 and submission.results.count() == 3
    assert "grader.grade_submission" in logs(worker) and "succeeded" in logs(worker)


def compose(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker-compose", "-f", "deploy/compose.yaml", "--env-file", "deploy/.env.example", *args],
        cwd=ROOT,
        env=dict(os.environ, GRADER_ENV_FILE=".env.example"),
        capture_output=True,
        text=True,
    )


def test_the_compose_file_is_valid_and_complete():
    checked = compose("--profile", "gpu", "config")
    assert checked.returncode == 0, checked.stderr
    config = yaml.safe_load(checked.stdout)
    services = config["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "migrate",
        "web",
        "grading-worker",
        "worker",
        "beat",
        "prometheus",
        "vllm",
    }
    assert "/var/run/docker.sock:/var/run/docker.sock" in str(services["grading-worker"]["volumes"])
    assert not any(
        "docker.sock" in str(s.get("volumes", "")) for n, s in services.items() if n != "grading-worker"
    )
    assert services["vllm"]["profiles"] == ["gpu"]
    assert "service_completed_successfully" in str(services["web"]["depends_on"])


def test_the_example_environment_lists_every_setting():
    read = set()
    for path in (ROOT / "grader").glob("*.py"):
        read |= set(re.findall(r'env_[a-z]+\("([A-Z_0-9]+)"', path.read_text()))
    example = (ROOT / "deploy" / ".env.example").read_text()
    listed = {line.lstrip("# ").split("=", 1)[0] for line in example.splitlines() if "=" in line}
    assert read and read <= listed, sorted(read - listed)
