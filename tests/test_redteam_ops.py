"""Red team of the operator's endpoints, through real requests: what /readyz tells the public,
and who /metrics trusts when a reverse proxy on the same host relays everyone's requests."""

from __future__ import annotations

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.django_db
PUBLIC = "203.0.113.9"


def test_readyz_names_a_failure_to_the_public_without_its_internals(client, settings):
    port = free_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    response = client.get("/readyz", REMOTE_ADDR=PUBLIC, HTTP_HOST="grader.example.edu")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["broker"]}
    assert str(port) not in response.content.decode()
    operator = client.get("/readyz", REMOTE_ADDR="127.0.0.1")  # METRICS_ALLOWED_NETWORKS
    assert operator.status_code == 503 and "Connection refused" in operator.json()["failed"]["broker"]


def test_metrics_are_not_served_to_a_client_relayed_by_a_local_proxy(client, settings):
    # nginx on the web host: every request arrives from 127.0.0.1, the client in X-Forwarded-For.
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED"):
        relayed = client.get("/metrics", REMOTE_ADDR="127.0.0.1", **{header: PUBLIC})
        assert relayed.status_code == 403, header
    # A client cannot make itself allowed by claiming an allowed address either.
    assert client.get("/metrics", REMOTE_ADDR=PUBLIC, HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    settings.METRICS_TOKEN = "s3cret-token"
    with_token = client.get(
        "/metrics",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR=PUBLIC,
        HTTP_AUTHORIZATION="Bearer s3cret-token",
    )
    assert with_token.status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200  # Prometheus, direct


@pytest.mark.parametrize("sent", ["abc\ndef", 'x","level":"CRITICAL', "a" * 129, "é", "a b"])
def test_a_request_id_that_could_forge_a_log_line_is_replaced(client, sent):
    returned = client.get("/accounts/login/", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]
    assert returned != sent and len(returned) == 32 and returned.isalnum()
