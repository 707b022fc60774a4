"""Health endpoints: /healthz (alive), /readyz (database and broker) and the operator's /metrics
access rule on the web; the grading worker's readiness (database, broker, Docker daemon,
sandbox image) as a command and on its metrics port. Failures are real: a closed port, a
Docker socket that does not exist, an image tag that is missing."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys

import pytest
import requests

from tests.conftest import ROOT, _database_url, free_port

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_dependencies(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_ready_with_the_database_and_the_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_names_the_broker_it_cannot_reach(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and list(body["failed"]) == ["broker"]
    assert "Connection refused" in body["failed"]["broker"]


def test_the_ops_endpoints_skip_host_checks(client):
    # A load balancer or Prometheus calls an instance by its address, not a site name.
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_metrics_are_served_to_allowed_networks_only(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 403
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    allowed = client.get("/metrics", REMOTE_ADDR="10.0.0.7")
    assert allowed.status_code == 200 and b"grader_submissions{" in allowed.content


def test_metrics_are_served_with_the_bearer_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION="Bearer nope").status_code == 403
    response = client.get("/metrics", REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200 and b"grader_queue_depth{" in response.content


def test_a_request_keeps_a_sane_incoming_request_id_and_gets_one_otherwise(client):
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-42.abc")["X-Request-ID"] == "lb-42.abc"
    made = client.get("/accounts/login/", HTTP_X_REQUEST_ID="bad id\n<script>")["X-Request-ID"]
    assert made != "bad id\n<script>" and len(made) == 32


def ready_check(*args: str, **env: str) -> tuple[int, dict]:
    result = subprocess.run(
        [sys.executable, "manage.py", "worker_ready_check", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": _database_url(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, json.loads(result.stdout)


@pytest.mark.docker
def test_the_worker_check_passes_on_a_ready_host(sandbox_image):
    assert ready_check(SANDBOX_IMAGE=sandbox_image) == (0, {"status": "ok"})


@pytest.mark.docker
def test_the_worker_check_names_a_docker_daemon_that_is_not_there(sandbox_image, tmp_path):
    code, body = ready_check(SANDBOX_IMAGE=sandbox_image, DOCKER_HOST=f"unix://{tmp_path}/docker.sock")
    assert code == 1 and "does not answer" in body["failed"]["docker"]
    assert "database" not in body["failed"] and "broker" not in body["failed"]


@pytest.mark.docker
def test_the_worker_check_names_a_missing_sandbox_image():
    code, body = ready_check(SANDBOX_IMAGE="grader-sandbox-python:not-built")
    assert code == 1 and body["failed"] == {
        "sandbox_image": "image grader-sandbox-python:not-built is missing on this host"
    }


def test_the_worker_check_names_the_database_and_broker_it_cannot_reach():
    closed = free_port()
    code, body = ready_check(
        "--no-sandbox",
        DATABASE_URL=f"postgres://grader:grader@127.0.0.1:{closed}/grader",
        CELERY_BROKER_URL=f"redis://127.0.0.1:{closed}/0",
    )
    assert code == 1 and set(body["failed"]) == {"database", "broker"}


@pytest.mark.worker
def test_the_worker_serves_health_and_metrics_on_its_port(celery_worker):
    base = f"http://127.0.0.1:{celery_worker.metrics_port}"
    assert requests.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
    ready = requests.get(f"{base}/readyz", timeout=30)
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}
    assert "grader_sandbox_pool_ready" in requests.get(f"{base}/metrics", timeout=10).text
